"""``POST /webhooks/square``: Square's event notifications, verified, de-duplicated and acknowledged fast.

Square signs each delivery: ``x-square-hmacsha256-signature`` is base64(HMAC-SHA256(signature key,
notification URL + raw body)), checked here with the SDK's own ``verify_signature``. The route does
as little as possible before answering, because Square retries slow or failed deliveries: check the
signature (401, logged without the body), parse the envelope (400 for a malformed one, nothing
stored), insert the event into the inbox (a known ``event_id`` is a repeat: 200, ignored), wake the
processor, answer 200. It never waits for a sync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from square.utils.webhooks_helper import verify_signature

from square_bi.config import WebhookSettings
from square_bi.server.webhooks_inbox import InboxEvent, WebhookInbox

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/square"
SIGNATURE_HEADER = "x-square-hmacsha256-signature"
MAX_BODY_BYTES = 1_000_000
"""Square's notifications are a few KB; anything far larger is not one."""


class EventData(BaseModel):
    """``data`` of a Square event: the affected object's type and id, and (sometimes) the object."""

    model_config = ConfigDict(extra="allow")

    type: str | None = None
    id: str | None = None
    object: dict[str, Any] | None = None


class SquareEvent(BaseModel):
    """The envelope every Square webhook event shares (``OrderUpdatedEvent``, ``PaymentCreatedEvent``...)."""

    model_config = ConfigDict(extra="allow")

    event_id: str = Field(min_length=1, max_length=255)
    type: str = Field(min_length=1, max_length=255)
    merchant_id: str | None = None
    created_at: str | None = None
    data: EventData | None = None

    def object_id(self) -> str | None:
        """The affected object's id: ``data.id``, else the order id inside ``data.object``."""
        if self.data is None:
            return None
        if self.data.id:
            return self.data.id
        for value in (self.data.object or {}).values():
            if isinstance(value, dict) and isinstance(value.get("order_id"), str):
                return str(value["order_id"])
        return None

    def to_inbox(self) -> InboxEvent:
        return InboxEvent(self.event_id, self.type, self.object_id(), self.merchant_id, self.created_at)


def _json(status: int, body: dict[str, Any]) -> Response:
    return JSONResponse(body, status_code=status)


def create_webhook_app(
    webhook: WebhookSettings,
    inbox: WebhookInbox,
    on_new_event: Callable[[], None],
) -> FastAPI:
    """The webhook receiver. ``on_new_event`` is called (on the event loop) after each new event is stored."""
    app = FastAPI(title="square-bi webhooks", docs_url=None, redoc_url=None, openapi_url=None)
    key = webhook.signature_key.get_secret_value()

    @app.post(WEBHOOK_PATH)
    async def square_webhook(request: Request) -> Response:
        client = request.client.host if request.client else "unknown"
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return _json(413, {"error": "body too large"})
        body = await request.body()
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            log.warning("webhook from %s rejected: no %s header", client, SIGNATURE_HEADER)
            return _json(401, {"error": "missing signature"})
        text = body.decode("utf-8", errors="replace")
        if not verify_signature(
            request_body=text, signature_header=signature, signature_key=key, notification_url=webhook.notification_url
        ):
            log.warning(
                "webhook from %s rejected: the signature does not match (is SQUARE_WEBHOOK_URL exactly the URL "
                "registered with Square, and the signature key that subscription's?)",
                client,
            )
            return _json(401, {"error": "invalid signature"})
        if len(body) > MAX_BODY_BYTES:
            return _json(413, {"error": "body too large"})
        try:
            event = SquareEvent.model_validate_json(body)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:3])
            log.warning("webhook from %s refused as malformed: %s", client, problems)
            return _json(400, {"error": f"malformed event: {problems}"})
        if await inbox.add(event.to_inbox()):
            log.info("webhook %s %s accepted", event.type, event.event_id)
            on_new_event()
            return _json(200, {"status": "accepted"})
        log.info("webhook %s %s is a repeat; ignored", event.type, event.event_id)
        return _json(200, {"status": "duplicate"})

    return app
