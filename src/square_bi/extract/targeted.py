"""Fetching exactly the orders a webhook named, by id, through ``POST /v2/orders/batch-retrieve``.

Square's ``order.updated`` event carries only the order's id, version, state and location, so the
order itself has to be fetched. Batch-retrieve takes up to 100 ids per call and silently leaves
out ids it does not know. The orders come back as Square's JSON, validated by the same pydantic
model as the orders stream, so they can go through the same version-aware upsert.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from square import AsyncSquare

from square_bi.errors import RetriableSourceError, SourceError
from square_bi.extract import records
from square_bi.extract.records import JsonObject
from square_bi.extract.state import DeadRecord
from square_bi.extract.validation import validate_objects
from square_bi.square.client import request_json, translate_error

log = logging.getLogger(__name__)

BATCH_RETRIEVE_ENDPOINT = "POST /v2/orders/batch-retrieve"
MAX_IDS_PER_BATCH_RETRIEVE = 100


@dataclass
class OrdersById:
    """Validated orders (with their JSON), orders that failed validation, and ids Square did not return."""

    records: list[records.Order] = field(default_factory=list)
    raw: list[JsonObject] = field(default_factory=list)
    dead: list[DeadRecord] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    requests: int = 0


def id_batches(order_ids: Sequence[str], size: int = MAX_IDS_PER_BATCH_RETRIEVE) -> list[list[str]]:
    """Distinct ids (first occurrence order) in batches of at most ``size``."""
    distinct = list(dict.fromkeys(order_ids))
    return [distinct[i : i + size] for i in range(0, len(distinct), size)]


async def fetch_orders_by_id(
    client: AsyncSquare,
    order_ids: Sequence[str],
    *,
    base_url: str,
    max_attempts: int = 6,
    backoff_base_s: float = 0.5,
    backoff_max_s: float = 30.0,
) -> OrdersById:
    """The named orders, one batch-retrieve call per 100 ids, retried with backoff on 429/5xx and
    dropped connections; a non-retriable failure raises a SourceError naming the endpoint."""
    result = OrdersById()
    for batch in id_batches(order_ids):
        body = await _batch_retrieve(client, batch, result, base_url, max_attempts, backoff_base_s, backoff_max_s)
        objects = body.get("orders") or []
        valid, valid_raw, dead = validate_objects(records.Order, objects)
        result.records.extend(valid)
        result.raw.extend(valid_raw)
        result.dead.extend(dead)
        returned = {str(obj["id"]) for obj in objects if isinstance(obj, dict) and obj.get("id")}
        result.missing.extend(order_id for order_id in batch if order_id not in returned)
    return result


async def _batch_retrieve(
    client: AsyncSquare,
    batch: list[str],
    result: OrdersById,
    base_url: str,
    max_attempts: int,
    backoff_base_s: float,
    backoff_max_s: float,
) -> dict[str, Any]:
    attempt = 0
    while True:
        attempt += 1
        result.requests += 1
        try:
            return await request_json(client, "POST", "v2/orders/batch-retrieve", json={"order_ids": batch})
        except Exception as exc:
            error = translate_error(exc, endpoint=BATCH_RETRIEVE_ENDPOINT, base_url=base_url, scope="ORDERS_READ")
            if not isinstance(error, RetriableSourceError):
                raise error from exc
            if attempt >= max_attempts:
                raise SourceError(f"{error} Gave up after {attempt} attempts.") from exc
            delay = random.uniform(0, min(backoff_max_s, backoff_base_s * 2 ** (attempt - 1)))
            if error.retry_after_s is not None:
                delay = max(delay, min(error.retry_after_s, backoff_max_s))
            log.info("%s: %s; retry %d in %.2fs", BATCH_RETRIEVE_ENDPOINT, error, attempt, delay)
            await asyncio.sleep(delay)
