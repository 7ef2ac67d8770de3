"""An organisation's optional webhook: a URL that receives each reminder, signed.

Signatures follow the Standard Webhooks scheme (standardwebhooks.com): the receiver gets
`webhook-id` (the delivery id, the same on every retry, so it can drop repeats),
`webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256>` over
`{id}.{timestamp}.{body}` with the secret's key bytes. The secret is `whsec_<base64 of 32
random bytes>`, shown to the admin once when made, and sealed at rest under the key ring
(so `harbour rotate-keys` covers it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import TenantTable, utc_column
from models.crypto import KeyRing, associated_data, register_sealed_column

TABLE = "webhooks"
SECRET_PREFIX = "whsec_"
register_sealed_column(TABLE, "secret")


class Webhook(TenantTable, table=True):
    """The organisation's webhook endpoint (at most one)."""

    __tablename__ = TABLE
    __table_args__ = (sa.UniqueConstraint("organisation_id"),)

    url: str = Field(max_length=2000)
    # The signing secret, sealed (models/crypto.py), bound to this row and column.
    secret: str = Field(sa_type=sa.Text())
    enabled: bool = Field(default=True)
    version: int = Field(default=1)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks form."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def seal_secret(ring: KeyRing, webhook_id: uuid.UUID, secret: str) -> str:
    return ring.seal(secret.encode(), associated_data(TABLE, webhook_id, "secret"))


def open_secret(ring: KeyRing, webhook: Webhook) -> str:
    return ring.open(webhook.secret, associated_data(TABLE, webhook.id, "secret")).decode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one message."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


async def enabled_webhooks(
    session: AsyncSession, organisation_ids: set[uuid.UUID]
) -> dict[uuid.UUID, Webhook]:
    """The enabled webhook of each of these organisations that has one."""
    if not organisation_ids:
        return {}
    stmt = select(Webhook).where(
        col(Webhook.organisation_id).in_(list(organisation_ids)), col(Webhook.enabled)
    )
    return {row.organisation_id: row for row in (await session.exec(stmt)).all()}
