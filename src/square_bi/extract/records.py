"""Pydantic models at the boundary: the parts of Square's objects we rely on, validated.

Unknown fields are tolerated (Square adds fields all the time). Money is ``{amount, currency}`` with
integer minor units; quantities are decimal strings parsed as ``Decimal``; timestamps are RFC 3339
(with or without fractional seconds) normalised to naive UTC for storage.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

UtcDatetime = datetime
"""Square writes RFC 3339 with ``Z``: pydantic parses it UTC-aware (in Rust, no Python call per
value); the warehouse stores it as UTC ``TIMESTAMP``."""


def utc_now() -> datetime:
    """Now, as a naive UTC datetime (how checkpoints and the warehouse keep time)."""
    return datetime.now(UTC).replace(tzinfo=None)


def naive_utc(value: datetime) -> datetime:
    """The same instant as a naive UTC datetime (how checkpoints and the warehouse keep time)."""
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


class SquareModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Money(SquareModel):
    amount: int = 0
    currency: str | None = None


class Address(SquareModel):
    locality: str | None = None
    country: str | None = None


class Location(SquareModel):
    id: str
    name: str | None = None
    business_name: str | None = None
    timezone: str | None = None
    currency: str | None = None
    status: str | None = None
    country: str | None = None
    address: Address | None = None
    created_at: UtcDatetime | None = None


class OrderSource(SquareModel):
    name: str | None = None


class AppliedMoney(SquareModel):
    """An applied tax or discount on a line: which order-level tax/discount, and how much."""

    uid: str | None = None
    tax_uid: str | None = None
    discount_uid: str | None = None
    applied_money: Money | None = None


class LineModifier(SquareModel):
    uid: str | None = None
    name: str | None = None
    total_price_money: Money | None = None


class OrderTax(SquareModel):
    """An order-level tax (``taxes[]``) or a return's tax (``return_taxes[]``)."""

    uid: str
    type: str | None = None
    """``ADDITIVE`` or ``INCLUSIVE``."""
    name: str | None = None
    percentage: str | None = None


class OrderLineItem(SquareModel):
    uid: str
    quantity: Decimal
    name: str | None = None
    variation_name: str | None = None
    catalog_object_id: str | None = None
    catalog_version: int | None = None
    item_type: str | None = None
    base_price_money: Money | None = None
    variation_total_price_money: Money | None = None
    gross_sales_money: Money | None = None
    total_discount_money: Money | None = None
    total_tax_money: Money | None = None
    total_money: Money | None = None
    modifiers: list[LineModifier] = Field(default_factory=list)
    applied_taxes: list[AppliedMoney] = Field(default_factory=list)


class OrderReturnLineItem(SquareModel):
    uid: str
    quantity: Decimal
    source_line_item_uid: str | None = None
    name: str | None = None
    variation_name: str | None = None
    catalog_object_id: str | None = None
    item_type: str | None = None
    base_price_money: Money | None = None
    variation_total_price_money: Money | None = None
    gross_return_money: Money | None = None
    total_discount_money: Money | None = None
    total_tax_money: Money | None = None
    total_money: Money | None = None
    return_modifiers: list[LineModifier] = Field(default_factory=list)
    applied_taxes: list[AppliedMoney] = Field(default_factory=list)


class OrderReturn(SquareModel):
    uid: str | None = None
    source_order_id: str | None = None
    return_line_items: list[OrderReturnLineItem] = Field(default_factory=list)
    return_taxes: list[OrderTax] = Field(default_factory=list)


class CardDetails(SquareModel):
    card: dict[str, Any] | None = None


class Tender(SquareModel):
    id: str
    type: str | None = None
    amount_money: Money | None = None
    tip_money: Money | None = None
    processing_fee_money: Money | None = None
    card_details: CardDetails | None = None
    payment_id: str | None = None
    customer_id: str | None = None


class OrderServiceCharge(SquareModel):
    uid: str | None = None
    total_money: Money | None = None


class Order(SquareModel):
    id: str
    location_id: str
    state: str | None = None
    version: int | None = None
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None
    closed_at: UtcDatetime | None = None
    source: OrderSource | None = None
    customer_id: str | None = None
    line_items: list[OrderLineItem] = Field(default_factory=list)
    taxes: list[OrderTax] = Field(default_factory=list)
    returns: list[OrderReturn] = Field(default_factory=list)
    tenders: list[Tender] = Field(default_factory=list)
    service_charges: list[OrderServiceCharge] = Field(default_factory=list)
    total_money: Money | None = None
    total_tax_money: Money | None = None
    total_discount_money: Money | None = None
    total_tip_money: Money | None = None
    total_service_charge_money: Money | None = None


class CatalogItemData(SquareModel):
    name: str | None = None
    category_id: str | None = None
    categories: list[dict[str, Any]] | None = None


class CatalogItemVariationData(SquareModel):
    name: str | None = None
    item_id: str | None = None
    price_money: Money | None = None


class CatalogCategoryData(SquareModel):
    name: str | None = None


class CatalogObject(SquareModel):
    id: str
    type: str
    version: int | None = None
    is_deleted: bool | None = None
    updated_at: UtcDatetime | None = None
    item_data: CatalogItemData | None = None
    item_variation_data: CatalogItemVariationData | None = None
    category_data: CatalogCategoryData | None = None


class ProcessingFee(SquareModel):
    type: str | None = None
    amount_money: Money | None = None


class CardPaymentDetails(SquareModel):
    status: str | None = None
    card: dict[str, Any] | None = None
    entry_method: str | None = None


class Payment(SquareModel):
    id: str
    location_id: str | None = None
    order_id: str | None = None
    customer_id: str | None = None
    team_member_id: str | None = None
    status: str | None = None
    source_type: str | None = None
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None
    amount_money: Money | None = None
    tip_money: Money | None = None
    total_money: Money | None = None
    approved_money: Money | None = None
    refunded_money: Money | None = None
    processing_fee: list[ProcessingFee] = Field(default_factory=list)
    card_details: CardPaymentDetails | None = None


class PaymentRefund(SquareModel):
    id: str
    status: str | None = None
    location_id: str | None = None
    payment_id: str | None = None
    order_id: str | None = None
    reason: str | None = None
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None
    amount_money: Money | None = None
    processing_fee: list[ProcessingFee] = Field(default_factory=list)
    team_member_id: str | None = None


class Customer(SquareModel):
    id: str
    version: int | None = None
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None
    given_name: str | None = None
    family_name: str | None = None
    company_name: str | None = None
    email_address: str | None = None
    creation_source: str | None = None


class TeamMember(SquareModel):
    id: str
    status: str | None = None
    is_owner: bool | None = None
    given_name: str | None = None
    family_name: str | None = None
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None
