"""Keyset pagination for every list endpoint (`limit`, an opaque `cursor`, `next_cursor`).

A list is ordered by one sort key (a time, a date, or nothing) and then by id, so a page
boundary is a (key, id) position that stays put while rows are added: `keyset_page` takes
the list's statement and its `Keyset`, and answers one page and the cursor after it. The
cursor is base64url JSON of that position; anything this server did not issue is a 422.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession

from models.errors import Invalid
from models.json_text import json_loads

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

R = TypeVar("R")
_FOREIGN = "The cursor is not one this server issued."


def encode_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json_loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise Invalid(_FOREIGN) from exc
    if not isinstance(value, dict):
        raise Invalid(_FOREIGN)
    return value


def _parse_key(kind: type[datetime] | type[date] | None, raw: object) -> datetime | date | None:
    if kind is None:
        return None
    if kind is datetime:
        at = datetime.fromisoformat(str(raw))
        if at.tzinfo is None:  # a forged time without a zone would not compare with UTC
            raise ValueError("naive time")
        return at
    return date.fromisoformat(str(raw))


@dataclass(frozen=True)  # no slots: `Keyset[Row](...)` sets __orig_class__
class Keyset(Generic[R]):
    """A list's order: `key` (None for id order alone), then `id`; `position` reads a
    returned row's (key, id) so the next page starts after it."""

    key: Any  # `col(Table.column)`, or None for id order alone
    id: Any
    position: Callable[[R], tuple[datetime | date | None, uuid.UUID]]
    key_type: type[datetime] | type[date] | None = datetime
    descending: bool = True

    def order(self) -> list[ColumnElement[Any]]:
        columns: list[Any] = [c for c in (self.key, self.id) if c is not None]
        return [c.desc() for c in columns] if self.descending else [c.asc() for c in columns]

    def after(self, cursor: str | None) -> ColumnElement[bool] | None:
        """The condition for rows after the cursor's position (None on the first page)."""
        position = decode_cursor(cursor)
        if position is None:
            return None
        try:
            key = _parse_key(self.key_type, position["k"]) if self.key is not None else None
            after = uuid.UUID(str(position["id"]))
        except (KeyError, ValueError, TypeError) as exc:
            raise Invalid(_FOREIGN) from exc
        beyond: Callable[[ColumnElement[Any], Any], ColumnElement[bool]] = (
            (lambda c, v: c < v) if self.descending else (lambda c, v: c > v)
        )
        if self.key is None:
            return beyond(self.id, after)
        return sa.or_(beyond(self.key, key), sa.and_(self.key == key, beyond(self.id, after)))

    def cursor_after(self, row: R) -> str:
        key, row_id = self.position(row)
        return encode_cursor({"k": key.isoformat() if key is not None else None, "id": row_id})


async def keyset_page(
    session: AsyncSession, stmt: Any, keyset: Keyset[R], *, limit: int, cursor: str | None
) -> tuple[list[R], str | None]:
    """One page of `stmt` (a select of rows or of tuples) in the keyset's order."""
    condition = keyset.after(cursor)
    if condition is not None:
        stmt = stmt.where(condition)
    rows: list[R] = list(
        (await session.exec(stmt.order_by(*keyset.order()).limit(limit + 1))).all()
    )
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, keyset.cursor_after(rows[-1])
