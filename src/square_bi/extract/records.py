"""The parts of Square's objects we rely on, validated by pydantic at the boundary.

Each record is a ``TypedDict`` that pydantic validates (``schema_validator``): types are checked
and coerced in Rust, and the result is a plain dict of exactly the declared keys. Unknown fields
are dropped (Square adds fields all the time; ``raw`` keeps the whole JSON). TypedDicts instead of
nested ``BaseModel`` classes because an order is some 35 nested objects: validating a 1,000-order
page took 51 ms as models and 12 ms as TypedDicts (pydantic's own performance advice), and the
bulk path reads fields by key either way.

Money is ``{amount, currency}`` with integer minor units; quantities are decimal strings parsed as
``Decimal``; timestamps are RFC 3339 (with or without fractional seconds), parsed UTC-aware.
A key Square may omit is ``NotRequired``: read it with ``.get``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, NotRequired, Required

from pydantic import AfterValidator, TypeAdapter
from pydantic_core import SchemaValidator
from typing_extensions import TypedDict

UtcDatetime = datetime
"""Square writes RFC 3339 with ``Z``: pydantic parses it UTC-aware (in Rust, no Python call per
value); the warehouse stores it as UTC ``TIMESTAMP``."""


JsonObject = dict[str, Any] | str
"""One of Square's objects as it arrived: parsed JSON, or its JSON text (how the orders stream keeps
them: pydantic parses only the fields a record declares, and the text goes to ``raw`` as it is)."""


def utc_now() -> datetime:
    """Now, as a naive UTC datetime (how checkpoints and the warehouse keep time)."""
    return datetime.now(UTC).replace(tzinfo=None)


def naive_utc(value: datetime) -> datetime:
    """The same instant as a naive UTC datetime (how checkpoints and the warehouse keep time)."""
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


class Money(TypedDict):
    amount: NotRequired[int]
    """Minor units (cents); a missing amount reads as 0."""
    currency: NotRequired[str | None]


class Address(TypedDict):
    locality: NotRequired[str | None]
    country: NotRequired[str | None]


class Location(TypedDict):
    id: Required[str]
    name: NotRequired[str | None]
    business_name: NotRequired[str | None]
    timezone: NotRequired[str | None]
    currency: NotRequired[str | None]
    status: NotRequired[str | None]
    country: NotRequired[str | None]
    address: NotRequired[Address | None]
    created_at: NotRequired[UtcDatetime | None]


class OrderSource(TypedDict):
    name: NotRequired[str | None]


class AppliedMoney(TypedDict):
    """An applied tax or discount on a line: which order-level tax/discount, and how much."""

    uid: NotRequired[str | None]
    tax_uid: NotRequired[str | None]
    discount_uid: NotRequired[str | None]
    applied_money: NotRequired[Money | None]


class LineModifier(TypedDict):
    uid: NotRequired[str | None]
    name: NotRequired[str | None]
    total_price_money: NotRequired[Money | None]


class OrderTax(TypedDict):
    """An order-level tax (``taxes[]``) or a return's tax (``return_taxes[]``)."""

    uid: Required[str]
    type: NotRequired[str | None]
    """``ADDITIVE`` or ``INCLUSIVE``."""
    name: NotRequired[str | None]
    percentage: NotRequired[str | None]


class OrderLineItem(TypedDict):
    uid: Required[str]
    quantity: Required[Decimal]
    name: NotRequired[str | None]
    variation_name: NotRequired[str | None]
    catalog_object_id: NotRequired[str | None]
    catalog_version: NotRequired[int | None]
    item_type: NotRequired[str | None]
    base_price_money: NotRequired[Money | None]
    variation_total_price_money: NotRequired[Money | None]
    gross_sales_money: NotRequired[Money | None]
    total_discount_money: NotRequired[Money | None]
    total_tax_money: NotRequired[Money | None]
    total_money: NotRequired[Money | None]
    modifiers: NotRequired[list[LineModifier]]
    applied_taxes: NotRequired[list[AppliedMoney]]


class OrderReturnLineItem(TypedDict):
    uid: Required[str]
    quantity: Required[Decimal]
    source_line_item_uid: NotRequired[str | None]
    name: NotRequired[str | None]
    variation_name: NotRequired[str | None]
    catalog_object_id: NotRequired[str | None]
    item_type: NotRequired[str | None]
    base_price_money: NotRequired[Money | None]
    variation_total_price_money: NotRequired[Money | None]
    gross_return_money: NotRequired[Money | None]
    total_discount_money: NotRequired[Money | None]
    total_tax_money: NotRequired[Money | None]
    total_money: NotRequired[Money | None]
    return_modifiers: NotRequired[list[LineModifier]]
    applied_taxes: NotRequired[list[AppliedMoney]]


class OrderReturn(TypedDict):
    uid: NotRequired[str | None]
    source_order_id: NotRequired[str | None]
    return_line_items: NotRequired[list[OrderReturnLineItem]]
    return_taxes: NotRequired[list[OrderTax]]


class CardDetails(TypedDict):
    card: NotRequired[dict[str, Any] | None]


class Tender(TypedDict):
    id: Required[str]
    type: NotRequired[str | None]
    amount_money: NotRequired[Money | None]
    tip_money: NotRequired[Money | None]
    processing_fee_money: NotRequired[Money | None]
    card_details: NotRequired[CardDetails | None]
    payment_id: NotRequired[str | None]
    customer_id: NotRequired[str | None]


class OrderServiceCharge(TypedDict):
    uid: NotRequired[str | None]
    total_money: NotRequired[Money | None]


class Order(TypedDict):
    id: Required[str]
    location_id: Required[str]
    state: NotRequired[str | None]
    version: NotRequired[int | None]
    created_at: NotRequired[UtcDatetime | None]
    updated_at: NotRequired[UtcDatetime | None]
    closed_at: NotRequired[UtcDatetime | None]
    source: NotRequired[OrderSource | None]
    customer_id: NotRequired[str | None]
    line_items: NotRequired[list[OrderLineItem]]
    taxes: NotRequired[list[OrderTax]]
    returns: NotRequired[list[OrderReturn]]
    tenders: NotRequired[list[Tender]]
    service_charges: NotRequired[list[OrderServiceCharge]]
    total_money: NotRequired[Money | None]
    total_tax_money: NotRequired[Money | None]
    total_discount_money: NotRequired[Money | None]
    total_tip_money: NotRequired[Money | None]
    total_service_charge_money: NotRequired[Money | None]


class CatalogItemData(TypedDict):
    name: NotRequired[str | None]
    category_id: NotRequired[str | None]
    categories: NotRequired[list[dict[str, Any]] | None]


class CatalogItemVariationData(TypedDict):
    name: NotRequired[str | None]
    item_id: NotRequired[str | None]
    price_money: NotRequired[Money | None]


class CatalogCategoryData(TypedDict):
    name: NotRequired[str | None]


class CatalogObject(TypedDict):
    id: Required[str]
    type: Required[str]
    version: NotRequired[int | None]
    is_deleted: NotRequired[bool | None]
    updated_at: NotRequired[UtcDatetime | None]
    item_data: NotRequired[CatalogItemData | None]
    item_variation_data: NotRequired[CatalogItemVariationData | None]
    category_data: NotRequired[CatalogCategoryData | None]


class ProcessingFee(TypedDict):
    type: NotRequired[str | None]
    amount_money: NotRequired[Money | None]


class CardPaymentDetails(TypedDict):
    status: NotRequired[str | None]
    card: NotRequired[dict[str, Any] | None]
    entry_method: NotRequired[str | None]


class Payment(TypedDict):
    id: Required[str]
    location_id: NotRequired[str | None]
    order_id: NotRequired[str | None]
    customer_id: NotRequired[str | None]
    team_member_id: NotRequired[str | None]
    status: NotRequired[str | None]
    source_type: NotRequired[str | None]
    created_at: NotRequired[UtcDatetime | None]
    updated_at: NotRequired[UtcDatetime | None]
    amount_money: NotRequired[Money | None]
    tip_money: NotRequired[Money | None]
    total_money: NotRequired[Money | None]
    approved_money: NotRequired[Money | None]
    refunded_money: NotRequired[Money | None]
    processing_fee: NotRequired[list[ProcessingFee]]
    card_details: NotRequired[CardPaymentDetails | None]


class PaymentRefund(TypedDict):
    id: Required[str]
    status: NotRequired[str | None]
    location_id: NotRequired[str | None]
    payment_id: NotRequired[str | None]
    order_id: NotRequired[str | None]
    reason: NotRequired[str | None]
    created_at: NotRequired[UtcDatetime | None]
    updated_at: NotRequired[UtcDatetime | None]
    amount_money: NotRequired[Money | None]
    processing_fee: NotRequired[list[ProcessingFee]]
    team_member_id: NotRequired[str | None]


class Customer(TypedDict):
    id: Required[str]
    version: NotRequired[int | None]
    created_at: NotRequired[UtcDatetime | None]
    updated_at: NotRequired[UtcDatetime | None]
    given_name: NotRequired[str | None]
    family_name: NotRequired[str | None]
    company_name: NotRequired[str | None]
    email_address: NotRequired[str | None]
    creation_source: NotRequired[str | None]


class TeamMember(TypedDict):
    id: Required[str]
    status: NotRequired[str | None]
    is_owner: NotRequired[bool | None]
    given_name: NotRequired[str | None]
    family_name: NotRequired[str | None]
    created_at: NotRequired[UtcDatetime | None]
    updated_at: NotRequired[UtcDatetime | None]


RecordSchema = type[Any]
"""One of the record TypedDicts above (what a stream declares as its ``record``)."""


def _first_repeat(keys: Iterable[str]) -> str | None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            return key
        seen.add(key)
    return None


def _check_unique(label: str, key: str, items: list[Any]) -> None:
    keys = [item[key] for item in items]
    if len(set(keys)) != len(keys):  # the common case (all unique) costs one set, no Python loop
        raise ValueError(f"two {label} share the {key} {_first_repeat(keys)!r}; each must be unique within its order")


def _child_keys_unique(order: Order) -> Order:
    """An order's line items, return line items and tenders are staged under (order id, their
    uid or id): two that share one would be stored as one line twice, or overwrite each other.

    Runs for every order, in Python: a list of one (most orders' tenders, many orders' lines) is
    not checked at all (40k demo orders: 0.04 instead of 0.08 s in this check)."""
    lines = order.get("line_items")
    if lines is not None and len(lines) > 1:
        _check_unique("line items", "uid", lines)
    if returns := order.get("returns"):
        returned = [line for ret in returns for line in ret.get("return_line_items", ())]
        _check_unique("return line items", "uid", returned)
    tenders = order.get("tenders")
    if tenders is not None and len(tenders) > 1:
        _check_unique("tenders", "id", tenders)
    return order


_AFTER_VALIDATION: dict[RecordSchema, Callable[[Any], Any]] = {Order: _child_keys_unique}
"""Checks across fields that types alone cannot state, run after a record's fields validate."""

_VALIDATORS: dict[RecordSchema, SchemaValidator] = {}


def schema_validator(schema: RecordSchema) -> SchemaValidator:
    """pydantic's compiled validator for a record schema (built once per schema)."""
    if schema not in _VALIDATORS:
        check = _AFTER_VALIDATION.get(schema)
        annotated: Any = Annotated[schema, AfterValidator(check)] if check else schema
        validator = TypeAdapter(annotated).validator
        if not isinstance(validator, SchemaValidator):
            raise TypeError(f"No plain SchemaValidator for {schema!r}")
        _VALIDATORS[schema] = validator
    return _VALIDATORS[schema]


def validate_record(schema: RecordSchema, obj: Any) -> Any:
    """``obj`` validated as ``schema`` (raises pydantic's ValidationError)."""
    return schema_validator(schema).validate_python(obj)
