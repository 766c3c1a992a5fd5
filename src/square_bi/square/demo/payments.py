"""Square ``Payment`` and ``PaymentRefund`` objects behind the orders' tenders and returns.

Payments (one per tender, ``id`` = the tender's ``id`` and ``payment_id``):

* ``total_money`` = the tender's ``amount_money`` (which includes the tip), ``tip_money`` = the
  tender's tip, ``amount_money`` = ``approved_money`` = total - tip;
* card payments carry ``processing_fee: [{type: INITIAL, amount_money: <the tender's
  processing_fee_money>}]`` and ``card_details`` (``CAPTURED``, the tender's card, entry method,
  authorization and capture times); cash payments carry ``cash_details`` (what the buyer handed
  over, the change) and no fee;
* ``status: COMPLETED``; ``created_at`` = the tender's ``created_at`` (the order's close), written
  with milliseconds; ``updated_at`` a moment later (capture), or the last refund's ``updated_at``;
* ``order_id``, ``location_id``, the order's ``customer_id`` (if any), the ``team_member_id`` of a
  member active at that location then, ``receipt_number`` (the id's first four characters),
  ``receipt_url``, ``version_token``; ``refunded_money`` and ``refund_ids`` once refunded.

Refunds: a return order whose net total is negative (a plain return, or an exchange that gives
money back) refunds ``-total_money`` to the payments of the sale it returns, card payments first,
never more than a payment's total minus what was already refunded from it (a second return of the
same sale sees the first one's refunds); a split sale can need two refunds. Each refund is
``COMPLETED``, ``order_id`` = the return order, ``created_at`` = its close, ``updated_at`` = its
``updated_at``; card refunds give back the processing fee in proportion (a negative ``INITIAL``
``processing_fee``, rounded half up).

The ledger writes straight into the object stores (``store``) it is given (the demo's
``payments`` and ``refunds``): a refund reads the refunded payment back from its store, changes it
and stores it again, so no payment has to stay in memory as a dict.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .draws import below
from .ids import IdFactory
from .pricing import half_up
from .store import ObjectStore
from .team import TeamRoster
from .timefmt import format_ms, parse_rfc3339_us

JSONObject = dict[str, Any]
MoneyFactory = Callable[[int, str], JSONObject]

STATEMENT_DESCRIPTION = "SQ *JUNIPER & CRUMB COFFEE"
RECEIPT_URL = "https://squareup.com/receipt/preview/"
REFUND_REASONS = {True: "Exchange", False: "Returned Goods"}


def _ms(text: str) -> int:
    return parse_rfc3339_us(text) // 1000


@dataclass
class LedgerEntries:
    """What one :meth:`PaymentLedger.record` wrote: payments created or changed (refunded), by id,
    and the refunds it created."""

    payments: dict[str, JSONObject] = field(default_factory=dict)
    refunds: list[JSONObject] = field(default_factory=list)


class PaymentLedger:
    """Creates payments for paid orders and refunds for return orders, into ``payments`` and
    ``refunds``; ``sale_of`` finds a returned sale by id (to refund its payments)."""

    def __init__(
        self,
        rng: random.Random,
        ids: IdFactory,
        money: MoneyFactory,
        roster: TeamRoster,
        end_ms: int,
        *,
        payments: ObjectStore,
        refunds: ObjectStore,
        sale_of: Callable[[str], JSONObject | None],
    ) -> None:
        self._rng = rng
        self._ids = ids
        self._money = money
        self._roster = roster
        self._end_ms = end_ms
        self.payments = payments
        self.refunds = refunds
        self._sale_of = sale_of

    def record(self, order: JSONObject, *, end_ms: int | None = None) -> LedgerEntries:
        """Payments for every tender of ``order``; a refund if it is a return giving money back.
        ``end_ms`` (default: the ledger's) bounds the payments' capture times. A return's sale
        must have been recorded before it."""
        if end_ms is not None:
            self._end_ms = end_ms
        entries = LedgerEntries()
        for tender in order.get("tenders", ()):
            payment = self._payment(order, tender)
            self.payments.put(payment)
            entries.payments[payment["id"]] = payment
        due = -order["total_money"]["amount"]
        if order.get("returns") and due > 0:
            self._refund(order, due, entries)
        return entries

    def _payment(self, order: JSONObject, tender: JSONObject) -> JSONObject:
        rng = self._rng
        money = self._money
        currency = tender["amount_money"]["currency"]
        created_ms = _ms(tender["created_at"])
        updated_ms = created_ms + 200 + below(rng, 3000 - 200)
        if updated_ms >= self._end_ms:
            updated_ms = created_ms
        total = tender["amount_money"]["amount"]
        tip = tender["tip_money"]["amount"] if "tip_money" in tender else 0
        card = tender["type"] == "CARD"
        created_at, updated_at = format_ms(created_ms), format_ms(updated_ms)
        payment: JSONObject = {
            "id": tender["id"],
            "created_at": created_at,
            "updated_at": updated_at,
            "amount_money": money(total - tip, currency),
        }
        if card:
            payment["tip_money"] = money(tip, currency)
        payment["total_money"] = tender["amount_money"]
        payment["approved_money"] = money(total - tip, currency)
        if card:
            payment["processing_fee"] = [
                {
                    "effective_at": updated_at,
                    "type": "INITIAL",
                    "amount_money": tender["processing_fee_money"],
                }
            ]
        payment["status"] = "COMPLETED"
        payment["source_type"] = tender["type"]
        if card:
            details = tender["card_details"]
            payment["card_details"] = {
                "status": "CAPTURED",
                "card": {**details["card"], "prepaid_type": "NOT_PREPAID"},
                "entry_method": details["entry_method"],
                "cvv_status": "CVV_ACCEPTED" if details["entry_method"] == "KEYED" else "CVV_NOT_CHECKED",
                "avs_status": "AVS_NOT_CHECKED",
                "statement_description": STATEMENT_DESCRIPTION,
                "card_payment_timeline": {
                    "authorized_at": created_at,
                    "captured_at": updated_at,
                },
            }
        else:
            cash = tender["cash_details"]
            payment["cash_details"] = {
                "buyer_supplied_money": cash["buyer_tendered_money"],
                "change_back_money": cash["change_back_money"],
            }
        payment["location_id"] = order["location_id"]
        payment["order_id"] = order["id"]
        if "customer_id" in order:
            payment["customer_id"] = order["customer_id"]
        payment["team_member_id"] = self._roster.pick(rng, order["location_id"], created_ms)
        payment["receipt_number"] = tender["id"][:4]
        payment["receipt_url"] = RECEIPT_URL + tender["id"]
        online = order["source"]["name"] != "Square Point of Sale"
        payment["application_details"] = {"square_product": "ONLINE_STORE" if online else "SQUARE_POS"}
        payment["version_token"] = self._ids.version_token()
        return payment

    def _refund(self, order: JSONObject, due: int, entries: LedgerEntries) -> None:
        sale = self._sale_of(order["returns"][0]["source_order_id"])
        if sale is None:
            return
        stored = (self.payments.get(tender["id"]) for tender in sale.get("tenders", ()))
        paid = [payment for payment in stored if payment is not None]
        paid.sort(key=lambda payment: payment["source_type"] != "CARD")  # card first, stable
        created_ms = _ms(order["closed_at"])
        updated_at = order["updated_at"]
        currency = order["total_money"]["currency"]
        exchange = bool(order.get("line_items"))
        team_member_id = self._roster.pick(self._rng, order["location_id"], created_ms)
        for payment in paid:
            if due <= 0:
                break
            total = payment["total_money"]["amount"]
            already = payment["refunded_money"]["amount"] if "refunded_money" in payment else 0
            amount = min(due, total - already)
            if amount <= 0:
                continue
            due -= amount
            refund: JSONObject = {
                "id": self._ids.refund(payment["id"]),
                "status": "COMPLETED",
                "location_id": payment["location_id"],
                "destination_type": payment["source_type"],
                "amount_money": self._money(amount, currency),
            }
            if payment["source_type"] == "CARD":
                fee = payment["processing_fee"][0]["amount_money"]["amount"]
                refund["processing_fee"] = [
                    {
                        "effective_at": updated_at,
                        "type": "INITIAL",
                        "amount_money": self._money(-half_up(fee * amount, total), currency),
                    }
                ]
            refund["payment_id"] = payment["id"]
            refund["order_id"] = order["id"]
            refund["reason"] = REFUND_REASONS[exchange]
            refund["created_at"] = format_ms(created_ms)
            refund["updated_at"] = updated_at
            refund["team_member_id"] = team_member_id
            self.refunds.put(refund)
            entries.refunds.append(refund)
            payment["refunded_money"] = self._money(already + amount, currency)
            payment["refund_ids"] = [*payment.get("refund_ids", ()), refund["id"]]
            if _ms(updated_at) > _ms(payment["updated_at"]):
                payment["updated_at"] = updated_at
            self.payments.put(payment)
            entries.payments[payment["id"]] = payment
