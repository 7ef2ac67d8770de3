"""Password sign-in: constant-cost checks and throttling that every server process shares."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.service import find_login
from models.directory.sso import sso_required
from models.directory.staff import Staff
from models.directory.throttle import (
    ThrottlePolicy,
    clear,
    record_failure,
    retry_after,
    throttle_key,
)

# A client address may fail this many times more than one account before it is locked too.
ADDRESS_FACTOR = 10


class LoginThrottled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"locked for {retry_after}s")
        self.retry_after = retry_after


class BadCredentials(Exception):
    """Unknown e-mail, wrong password, no password set, or a deactivated account: one answer."""


class SsoRequired(Exception):
    """The right password, but the person's organisation signs in with single sign-on only.

    Said only after the password verified, so it tells nothing to someone without it."""


async def password_login(
    session: AsyncSession,
    email: str,
    password: str,
    client_address: str,
    verify: Callable[[str, str | None], bool],
    policy: ThrottlePolicy,
    now: datetime,
) -> Staff:
    """Return the staff member `email` and `password` identify, or raise.

    Failures count against the e-mail address (known or not, so a lock never tells whether
    an account exists) and, more loosely, against the client address. The caller commits
    on failure too, so the counts stick.
    """
    user_key = throttle_key("user", email)
    address_key = throttle_key("ip", client_address)
    wait = await retry_after(session, [user_key, address_key], now)
    if wait is not None:
        raise LoginThrottled(wait)
    staff = await find_login(session, email)
    ok = verify(password, staff.password_hash if staff else None)
    if staff is None or not ok or not staff.active:
        address_policy = ThrottlePolicy(
            policy.max_failures * ADDRESS_FACTOR, policy.window, policy.lockout
        )
        await record_failure(session, user_key, now, policy)
        await record_failure(session, address_key, now, address_policy)
        raise BadCredentials
    await clear(session, user_key)
    if await sso_required(session, staff):
        raise SsoRequired
    return staff
