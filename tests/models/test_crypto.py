"""The key ring: AES-GCM sealing bound to table, row and column; settings fail fast."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from api.settings import Settings
from models.crypto import (
    KeyRingError,
    Undecryptable,
    associated_data,
    generate_key_spec,
    key_id_of,
    open_json,
    parse_key_ring,
    seal_json,
)

SECRET = "a-long-enough-secret-for-production-use-0123456789"


def test_first_key_seals_and_every_key_opens() -> None:
    old, new = generate_key_spec("old"), generate_key_spec("new")
    before = parse_key_ring(old)
    row = uuid.uuid4()
    token = seal_json(before, {"title": "Visit"}, "reflections", row, "content")
    assert key_id_of(token) == "old"
    after = parse_key_ring(f"{new},{old}")
    assert open_json(after, token, "reflections", row, "content") == {"title": "Visit"}
    resealed = seal_json(after, {"title": "Visit"}, "reflections", row, "content")
    assert key_id_of(resealed) == "new"
    assert after.is_current(resealed)
    assert not after.is_current(token)
    with pytest.raises(Undecryptable, match="no key 'new'"):
        open_json(before, resealed, "reflections", row, "content")


def test_a_value_moved_to_another_row_column_or_table_does_not_open() -> None:
    ring = parse_key_ring(generate_key_spec("k"))
    row = uuid.uuid4()
    token = ring.seal(b"private", associated_data("reflections", row, "content"))
    assert b"private" not in token.encode()
    for table, row_id, column in (
        ("reflections", uuid.uuid4(), "content"),
        ("reflections", row, "title"),
        ("checkins", row, "content"),
    ):
        with pytest.raises(Undecryptable):
            ring.open(token, associated_data(table, row_id, column))


def test_tampering_is_detected() -> None:
    ring = parse_key_ring(generate_key_spec("k"))
    ad = associated_data("reflections", uuid.uuid4(), "content")
    token = ring.seal(b"private", ad)
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(Undecryptable):
        ring.open(flipped, ad)
    with pytest.raises(Undecryptable):
        ring.open("not-a-sealed-value", ad)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "no encryption keys"),
        ("nokid", "kid:base64key"),
        ("bad kid:" + "A" * 44, "kid:base64key"),
        ("k:c2hvcnQ=", "32 bytes"),
        ("k:!!!!", "not base64"),
        # A fixed id: pytest-xdist's workers must collect the same test names.
        pytest.param(
            f"{generate_key_spec('k')},{generate_key_spec('k')}",
            "appears twice",
            id="two keys, one kid-appears twice",
        ),
    ],
)
def test_bad_key_rings_are_refused(spec: str, message: str) -> None:
    with pytest.raises(KeyRingError, match=message):
        parse_key_ring(spec)


def test_settings_refuse_missing_or_bad_keys_outside_development() -> None:
    with pytest.raises(ValidationError, match="HARBOUR_ENCRYPTION_KEYS is empty"):
        Settings(env="production", secret_key=SECRET, encryption_keys="")
    with pytest.raises(ValidationError, match="32 bytes"):
        Settings(env="production", secret_key=SECRET, encryption_keys="k:c2hvcnQ=")
    spec = generate_key_spec("live")
    assert (
        Settings(env="production", secret_key=SECRET, encryption_keys=spec).key_ring().primary
        == "live"
    )


def test_development_without_keys_derives_a_stable_key_from_the_secret() -> None:
    first = Settings(env="development", encryption_keys="").key_ring()
    second = Settings(env="development", encryption_keys="").key_ring()
    ad = associated_data("reflections", uuid.uuid4(), "content")
    assert second.open(first.seal(b"x", ad), ad) == b"x"
