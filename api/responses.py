"""What routes share in building a response beyond the body FastAPI serialises."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Response

from models.etag import Tagged

V = TypeVar("V")


def with_etag(tagged: Tagged[V], response: Response) -> V:
    """The view a route answers, with its ETag on the response (for If-Match next time)."""
    response.headers["ETag"] = tagged.etag
    return tagged.view
