"""Configuration from `HARBOUR_*` environment variables and a `.env` file."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import Self

from pydantic import Field, SecretStr, model_validator

from models.crypto import PLACEHOLDER_SECRET as PLACEHOLDER_SECRET  # api.app reads it here
from models.crypto import KeyRingError, KeyRingSettings, parse_key_ring
from models.db import DatabaseSettings


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class SchedulerMode(StrEnum):
    embedded = "embedded"
    off = "off"


class SmtpSecurity(StrEnum):
    starttls = "starttls"
    ssl = "ssl"
    none = "none"  # development and tests only (a local relay)


class Settings(DatabaseSettings, KeyRingSettings):
    # secret_key and encryption_keys (and `key_ring()`) come from KeyRingSettings.
    env: Environment = Environment.development
    database_pool_size: int = Field(default=10, ge=1)
    scheduler: SchedulerMode = SchedulerMode.embedded
    scheduler_heartbeat_seconds: int = Field(default=30, ge=1)
    reminder_sweep_seconds: int = Field(default=300, ge=10)
    # Push: without credentials push is skipped (the inbox and sync still carry everything).
    fcm_service_account_json: SecretStr = SecretStr("")
    fcm_base_url: str = "https://fcm.googleapis.com"
    apns_team_id: str = ""
    apns_key_id: str = ""
    apns_private_key: SecretStr = SecretStr("")
    apns_topic: str = ""
    apns_base_url: str = "https://api.push.apple.com"
    # Delivery (push and webhook): how often the worker sends, retries, and the claim lease
    # (longer than any provider call can take; the HTTP timeout is 10 s).
    delivery_interval_seconds: int = Field(default=30, ge=1)
    delivery_max_attempts: int = Field(default=5, ge=1)
    delivery_backoff_seconds: int = Field(default=60, ge=1)
    delivery_lease_seconds: int = Field(default=120, ge=15)
    # Sends in flight at once per worker (providers answer in 50-200 ms).
    delivery_concurrency: int = Field(default=8, ge=1, le=64)
    # Sent and dead deliveries (the record of each send) are deleted this long after their
    # outcome; the notifications themselves stay (they are the inbox, and the once-only key).
    delivery_retention_days: int = Field(default=90, ge=7)
    # Webhook URLs must be https to a public address; allow http and private addresses only
    # for development and tests (a webhook is a request the server makes for an admin).
    webhook_allow_insecure: bool = False

    jwt_issuer: str = "harbour"
    jwt_audience: str = "harbour-api"
    access_token_minutes: int = Field(default=15, ge=1, le=60)
    refresh_token_days: int = Field(default=30, ge=1)

    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    login_lockout_seconds: int = Field(default=900, ge=1)

    # Argon2id cost (OWASP: at least 19 MiB, 2 passes). Lower only in tests.
    argon2_memory_kib: int = Field(default=19_456, ge=64)
    argon2_time_cost: int = Field(default=2, ge=1)

    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    # Web origins (scheme://host[:port], comma-separated) whose pages may call the API from the
    # browser (CORS). Empty: none (the phone app and same-origin pages need none).
    cors_origins: str = ""

    def cors_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    # Council identity (docs/identity.md). Links in invitation and reset e-mails, and the
    # browser sign-in's redirect URI (<public_url>/auth/sso/callback), start with this.
    public_url: str = "http://127.0.0.1:8000"
    # OpenID Connect: discovery documents and JWKS are cached this long; an unknown key id
    # (a rotation) refetches them, at most once per `oidc_refetch_seconds` per issuer.
    oidc_cache_seconds: int = Field(default=3600, ge=60)
    oidc_refetch_seconds: int = Field(default=30, ge=1)
    oidc_clock_skew_seconds: int = Field(default=120, ge=0, le=600)
    oidc_http_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Browser sessions: ended after this long unused, and this long after sign-in at most.
    web_session_idle_minutes: int = Field(default=60, ge=5)
    web_session_hours: int = Field(default=12, ge=1, le=24 * 30)
    # Single-use links to set a password.
    invitation_days: int = Field(default=7, ge=1, le=60)
    password_reset_minutes: int = Field(default=60, ge=5, le=24 * 60)
    # Outgoing mail; without a host, invitation links are given to the admin to pass on and
    # reset links are not sent (the answer is the same either way).
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: SmtpSecurity = SmtpSecurity.starttls
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = "Harbour <harbour@localhost>"
    smtp_timeout_seconds: float = Field(default=15.0, gt=0, le=120)

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Self:
        secret = self.secret_key.get_secret_value()
        if self.env is not Environment.development:
            if secret == PLACEHOLDER_SECRET:
                raise ValueError(
                    "HARBOUR_SECRET_KEY is still the placeholder; set a long random value "
                    "(for example `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
                )
            if len(secret) < 32:
                raise ValueError("HARBOUR_SECRET_KEY must be at least 32 characters")
        return self

    @model_validator(mode="after")
    def _refuse_plain_smtp(self) -> Self:
        """Links that set passwords never cross a network in clear text in production."""
        local = self.smtp_host in {"", "127.0.0.1", "localhost", "::1"}
        if (
            self.env is Environment.production
            and self.smtp_security is SmtpSecurity.none
            and not local
        ):
            raise ValueError(
                "HARBOUR_SMTP_SECURITY=none is only for a relay on this machine; use starttls "
                "or ssl for HARBOUR_SMTP_HOST"
            )
        return self

    @model_validator(mode="after")
    def _check_encryption_keys(self) -> Self:
        spec = self.encryption_keys.get_secret_value()
        if not spec.strip():
            if self.env is not Environment.development:
                raise ValueError(
                    "HARBOUR_ENCRYPTION_KEYS is empty; set 'kid:base64key' with a 32-byte key "
                    "(for example `python -c 'import base64,os; "
                    'print("k1:" + base64.b64encode(os.urandom(32)).decode())\'`)'
                )
            return self
        try:
            parse_key_ring(spec)
        except KeyRingError as exc:
            raise ValueError(f"HARBOUR_ENCRYPTION_KEYS: {exc}") from exc
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
