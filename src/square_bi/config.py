"""Typed settings, read from the environment (and flags) by pydantic-settings.

Nothing is read at import time: callers build :class:`Settings` in the CLI or server factory and
pass it down. The access token is a ``SecretStr`` so it never shows up in a repr, a log or an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from square_bi.errors import ConfigError

SQUARE_HOSTS: dict[str, str] = {
    "production": "https://connect.squareup.com",
    "sandbox": "https://connect.squareupsandbox.com",
}

DEFAULT_DB_PATH = Path("square_bi.duckdb")
DEMO_DB_PATH = Path("square_bi_demo.duckdb")
DEMO_TOKEN = "demo-token"
"""The bearer token the built-in demo merchant accepts by default."""


class Settings(BaseSettings):
    """Where to read Square from and where to write the warehouse."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    square_access_token: SecretStr | None = Field(default=None, validation_alias="SQUARE_ACCESS_TOKEN")
    """Square access token (personal or OAuth). Required for any sync; never logged."""

    square_environment: Literal["production", "sandbox"] = Field(
        default="production", validation_alias="SQUARE_ENVIRONMENT"
    )
    """Which Square host to use when no base URL is given."""

    square_base_url: str | None = Field(default=None, validation_alias="SQUARE_BASE_URL")
    """Overrides the Square host, e.g. the demo merchant's ``http://127.0.0.1:8765``."""

    db_path: Path = Field(default=DEFAULT_DB_PATH, validation_alias="SQUARE_BI_DB")
    """The DuckDB file holding staging tables, checkpoints and the star schema."""

    orders_lookback: timedelta = Field(default=timedelta(hours=72))
    """How far before the orders watermark each incremental sync starts again. Square's offline
    POS orders can arrive up to 72 hours late, so the default covers them."""

    orders_page_size: int = Field(default=500, ge=1, le=1000, validation_alias="SQUARE_BI_ORDERS_PAGE_SIZE")
    """Orders per search page (Square allows 1 to 1000)."""

    request_timeout_s: float = Field(default=30.0, gt=0, validation_alias="SQUARE_BI_REQUEST_TIMEOUT_S")
    """Per-request HTTP timeout in seconds."""

    max_concurrency: int = Field(default=8, ge=1, le=64, validation_alias="SQUARE_BI_MAX_CONCURRENCY")
    """Requests (and partitions) in flight at once across all streams."""

    max_attempts: int = Field(default=6, ge=1, le=20, validation_alias="SQUARE_BI_MAX_ATTEMPTS")
    """Attempts per page before a stream gives up on 429s, 5xx and dropped connections."""

    http_token: str | None = Field(default=None, validation_alias="SQUARE_BI_HTTP_TOKEN")
    """Bearer token required by ``serve --transport http`` (unset: no authentication; loopback only)."""

    square_webhook_signature_key: SecretStr | None = Field(
        default=None, validation_alias="SQUARE_WEBHOOK_SIGNATURE_KEY"
    )
    """The webhook subscription's signature key (Square Developer Console -> Webhooks). Set, it turns
    on ``POST /webhooks/square`` in ``serve``; never logged."""

    square_webhook_url: str | None = Field(default=None, validation_alias="SQUARE_WEBHOOK_URL")
    """The notification URL exactly as registered with Square: Square signs URL + body, so a
    different spelling (http vs https, a trailing slash) fails every signature."""

    def base_url(self) -> str:
        """The API host to talk to: the explicit base URL, else Square's host for the environment."""
        return (self.square_base_url or SQUARE_HOSTS[self.square_environment]).rstrip("/")

    def access_token(self) -> str:
        """The token, or a ConfigError naming the variable to set."""
        if self.square_access_token is None or not self.square_access_token.get_secret_value().strip():
            raise ConfigError(
                "No Square access token: set SQUARE_ACCESS_TOKEN to a personal access token from "
                "https://developer.squareup.com/apps (or run `square-bi demo` to try the demo merchant)."
            )
        return self.square_access_token.get_secret_value().strip()


@dataclass(frozen=True)
class WebhookSettings:
    """What the webhook receiver needs; built only when a signature key is set."""

    signature_key: SecretStr
    notification_url: str


def webhook_settings(settings: Settings) -> WebhookSettings | None:
    """The webhook settings, None when webhooks are off (no key), or a ConfigError when half set."""
    key = settings.square_webhook_signature_key
    url = (settings.square_webhook_url or "").strip()
    if key is None or not key.get_secret_value().strip():
        if url:
            raise ConfigError(
                "SQUARE_WEBHOOK_URL is set but SQUARE_WEBHOOK_SIGNATURE_KEY is not: copy the signature key of "
                "the webhook subscription from Square's Developer Console (or --webhook-signature-key)."
            )
        return None
    if not url:
        raise ConfigError(
            "SQUARE_WEBHOOK_SIGNATURE_KEY is set but SQUARE_WEBHOOK_URL is not: set it to the notification URL "
            "exactly as registered with Square (Square signs the URL with the body), or pass --webhook-url."
        )
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"SQUARE_WEBHOOK_URL must be an http(s) URL, got {url!r}.")
    return WebhookSettings(SecretStr(key.get_secret_value().strip()), url)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment plus explicit overrides, or a ConfigError naming the bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors(include_input=False)
        )
        raise ConfigError(f"Invalid settings: {problems}") from None
