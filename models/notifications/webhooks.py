"""An organisation's optional webhook: a URL that receives each reminder, signed; and its
configuration by the organisation's admins (the URL rules are in `check_url`).

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
import ipaddress
import re
import secrets
import uuid
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlmodel import Field, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models.actor import Actor
from models.base import TenantTable, new_id, utc_column
from models.crypto import KeyRing, associated_data, register_sealed_column
from models.db import insert_for
from models.directory.staff import Role
from models.errors import Forbidden, Invalid, NotFound, PreconditionFailed
from models.etag import content_etag, require_tag

if TYPE_CHECKING:
    from models.notifications.schemas import WebhookPut

URL_MAX_LENGTH = 2000

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


# --- the URL rules ---------------------------------------------------------------------------

# A host name: dot-separated labels of letters, digits, hyphens (and underscores, which some
# internal names carry); non-ASCII names go in their xn-- form.
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
# A last label that is a number ("127.1", "2130706433", "0x7f.1"): resolvers read these as
# IPv4 addresses, so they must be written as four decimal numbers or not at all.
_NUMERIC = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _url_error(message: str) -> Invalid:
    return Invalid(
        f"The webhook URL {message}.",
        errors=[{"loc": ["body", "url"], "msg": message, "type": "value_error"}],
    )


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), which is where it goes."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: Address) -> bool:
    """True for an address on the public internet (nothing the server alone can reach)."""
    inner = _embedded_ipv4(address)
    if inner is not None and not is_public(inner):
        return False
    return address.is_global and not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def _host_address(host: str) -> Address | None:
    """The IP address `host` is written as, None for a name; Invalid when it is neither."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise _url_error("has a host that is not a valid IPv6 address") from exc
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise _url_error("has a host that is not a valid host name")
    if _NUMERIC.match(labels[-1]):
        try:
            return ipaddress.IPv4Address(host)
        except ValueError as exc:
            raise _url_error("must write an IP address as four decimal numbers") from exc
    return None


def check_url(url: str, *, allow_insecure: bool = False) -> str:
    """The URL if it may be a webhook (422 otherwise): absolute https, no credentials, no
    fragment, and not pointed at this machine or a private network (the server makes the
    request, so a URL must not reach what only the server can). `allow_insecure` (development
    and tests) also lets through http and private or local addresses."""
    if len(url) > URL_MAX_LENGTH:
        raise _url_error(f"may be at most {URL_MAX_LENGTH} characters")
    # urlsplit silently drops tabs and newlines; what is stored must be what was checked.
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise _url_error("may not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port out of range
    except ValueError as exc:
        raise _url_error("is not a valid URL") from exc
    if port == 0:
        raise _url_error("is not a valid URL")
    if parts.scheme.lower() not in ({"https", "http"} if allow_insecure else {"https"}):
        raise _url_error("must be an absolute https:// URL")
    if "@" in parts.netloc:
        raise _url_error("may not contain a user name or password")
    if "#" in url:
        raise _url_error("may not have a fragment (#...)")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise _url_error("needs a host")
    address = _host_address(host)
    if "[" in parts.netloc and address is None:  # brackets hold IPv6 literals only
        raise _url_error("has a host that is not a valid IPv6 address")
    if allow_insecure:
        return url
    if host == "localhost" or host.endswith(".localhost"):
        raise _url_error("may not point at localhost")
    if address is not None and not is_public(address):
        raise _url_error("may not point at a loopback, private, link-local or reserved address")
    return url


# --- configuration (admins) ------------------------------------------------------------------


def webhook_etag(row: Webhook) -> str:
    # The id is part of the tag: a webhook deleted and made again starts at version 1 too, and
    # a tag read from the old one must not pass for the new one.
    return content_etag(str(row.id), row.version)


def _require_admin(actor: Actor) -> None:
    if not actor.has(Role.admin):
        raise Forbidden("This needs the admin role.")


def _mine(actor: Actor) -> SelectOfScalar[Webhook]:
    return select(Webhook).where(col(Webhook.organisation_id) == actor.organisation_id)


async def get_webhook(session: AsyncSession, actor: Actor) -> Webhook:
    """The caller's organisation's webhook (404 when it has none)."""
    _require_admin(actor)
    row = (await session.exec(_mine(actor))).first()
    if row is None:
        raise NotFound("This organisation has no webhook.")
    return row


async def _create(
    session: AsyncSession, actor: Actor, ring: KeyRing, url: str, enabled: bool, now: datetime
) -> tuple[Webhook, str] | None:
    """Insert the webhook with a new secret; None when another request made one meanwhile."""
    webhook_id = new_id()
    secret = new_secret()
    stmt = (
        insert_for(session, Webhook)
        .values(
            id=webhook_id,
            organisation_id=actor.organisation_id,
            url=url,
            secret=seal_secret(ring, webhook_id, secret),
            enabled=enabled,
            version=1,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["organisation_id"])
        .returning(col(Webhook.id))
    )
    if (await session.exec(stmt)).scalar_one_or_none() is None:
        return None
    return await session.get_one(Webhook, webhook_id), secret


async def put_webhook(
    session: AsyncSession,
    actor: Actor,
    ring: KeyRing,
    data: WebhookPut,
    if_match: str | None,
    now: datetime,
    *,
    allow_insecure: bool = False,
) -> tuple[Webhook, str | None]:
    """Create the organisation's webhook (returning its new secret, the only time it is
    shown) or replace its URL and switch (If-Match required; no secret returned)."""
    _require_admin(actor)
    url = check_url(data.url, allow_insecure=allow_insecure)
    current = (await session.exec(_mine(actor).with_for_update())).first()
    if current is None:
        # A tag names a webhook that is gone (RFC 9110: If-Match fails with nothing current).
        if if_match is not None and if_match.strip():
            raise PreconditionFailed("The webhook you read is gone; read again before changing.")
        made = await _create(session, actor, ring, url, data.enabled, now)
        if made is not None:
            return made
        # Made by a concurrent request: this one is an update now, like any other.
        current = (await session.exec(_mine(actor).with_for_update())).one()
    require_tag(if_match, webhook_etag(current))
    current.url = url
    current.enabled = data.enabled
    current.version += 1
    current.updated_at = now
    session.add(current)
    await session.flush()
    return current, None


async def rotate_secret(
    session: AsyncSession, actor: Actor, ring: KeyRing, if_match: str | None, now: datetime
) -> tuple[Webhook, str]:
    """A new signing secret (If-Match required); the old one signs nothing from now on."""
    _require_admin(actor)
    current = (await session.exec(_mine(actor).with_for_update())).first()
    if current is None:
        raise NotFound("This organisation has no webhook.")
    require_tag(if_match, webhook_etag(current))
    secret = new_secret()
    current.secret = seal_secret(ring, current.id, secret)
    current.version += 1
    current.updated_at = now
    session.add(current)
    await session.flush()
    return current, secret


async def delete_webhook(session: AsyncSession, actor: Actor) -> None:
    """Remove the webhook; its deliveries go with it (foreign key cascade)."""
    _require_admin(actor)
    result = await session.exec(
        sa.delete(Webhook).where(col(Webhook.organisation_id) == actor.organisation_id)
    )
    if result.rowcount == 0:
        raise NotFound("This organisation has no webhook.")
