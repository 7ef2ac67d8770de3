"""Sorting and filtering a page's table on the server, from query parameters.

The rows come from a domain call (already scoped to the caller); this only orders and
narrows what the caller may see, so a link with `?sort=...&order=...&status=...` is the whole
state of the table and the page works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

T = TypeVar("T")


@dataclass
class TableView(Generic[T]):
    """One sortable table: the chosen sort key and order, and links that change them."""

    path: str
    params: dict[str, str]
    sort: str
    order: str
    keys: Mapping[str, Callable[[T], Any]] = field(repr=False)
    prefix: str = ""  # a second table on the page sorts by its own parameters
    anchor: str = ""

    def sort_href(self, key: str) -> str:
        order = "desc" if key == self.sort and self.order == "asc" else "asc"
        return self.href(**{f"{self.prefix}sort": key, f"{self.prefix}order": order})

    def href(self, **changes: str | None) -> str:
        mine = {f"{self.prefix}sort": self.sort, f"{self.prefix}order": self.order}
        merged = {**self.params, **mine, **changes}
        query = {k: v for k, v in merged.items() if v not in (None, "")}
        link = f"{self.path}?{urlencode(query)}" if query else self.path
        return f"{link}#{self.anchor}" if self.anchor else link

    def apply(self, rows: Sequence[T]) -> list[T]:
        key = self.keys[self.sort]
        present = [r for r in rows if key(r) is not None]
        missing = [r for r in rows if key(r) is None]
        present.sort(key=key, reverse=self.order == "desc")
        return present + missing  # blanks last whichever way


def table_view(
    path: str,
    query: Mapping[str, str],
    keys: Mapping[str, Callable[[T], Any]],
    default_sort: str,
    *,
    keep: Sequence[str] = (),
    default_order: str = "asc",
    prefix: str = "",
    anchor: str = "",
) -> TableView[T]:
    """Read `sort` and `order` (`{prefix}sort`, `{prefix}order`; the defaults for anything
    unknown) and the parameters named in `keep`, which sort links carry along."""
    sort = query.get(f"{prefix}sort", default_sort)
    if sort not in keys:
        sort = default_sort
    order = query.get(f"{prefix}order", default_order)
    if order not in ("asc", "desc"):
        order = default_order
    params = {k: query[k][:200] for k in keep if query.get(k)}
    return TableView(
        path=path, params=params, sort=sort, order=order, keys=keys, prefix=prefix, anchor=anchor
    )


def matches(text: str, needle: str) -> bool:
    return needle.casefold() in text.casefold()
