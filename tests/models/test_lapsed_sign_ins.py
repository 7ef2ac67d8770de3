"""The retention job deletes sign-in rows that can no longer be used, and only those."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.delivery.sweep import retention
from models.directory.auth import RefreshToken
from models.directory.identity import LinkPurpose, PasswordLink, SsoLogin, WebSession
from models.directory.lapsed import purge_lapsed_sign_ins
from models.directory.sso_logins import record_login
from models.directory.staff import Staff
from models.directory.tokens import issue_refresh_token, rotate_refresh_token
from models.directory.web_sessions import SessionPolicy, start_web_session, web_session_staff
from tests.conftest import FrozenClock
from tests.factories.directory import make_org, make_staff

POLICY = SessionPolicy(idle=timedelta(hours=1), lifetime=timedelta(hours=12))
MONTH = timedelta(days=30)
DAY = timedelta(days=1)


async def _seed(db: AsyncSession, staff: Staff, clock: FrozenClock) -> dict[str, str]:
    """For `staff`: of each kind one row that has lapsed by `clock()` and one that has not."""
    now = clock()
    tokens = {
        "lifetime over": await start_web_session(db, staff, now - timedelta(hours=13), POLICY),
        "idle": await start_web_session(db, staff, now - timedelta(hours=2), POLICY),
        "live session": await start_web_session(db, staff, now - timedelta(minutes=5), POLICY),
        "expired refresh": (await issue_refresh_token(db, staff, now - MONTH, MONTH)).token,
        "live refresh": (
            await issue_refresh_token(db, staff, now - timedelta(days=1), MONTH)
        ).token,
    }
    # The fresh one first: starting a sign-in clears the organisation's lapsed ones.
    for state, started in (("fresh", now), ("stale", now - timedelta(hours=1))):
        await record_login(
            db,
            staff.organisation_id,
            state=f"{state}-{staff.id}",
            nonce="n",
            code_verifier="v" * 43,
            return_to="/app",
            now=started,
            lifetime=timedelta(minutes=10),
        )
    for name, expires in (("old link", now - timedelta(seconds=1)), ("new link", now + MONTH)):
        db.add(
            PasswordLink(
                organisation_id=staff.organisation_id,
                staff_id=staff.id,
                purpose=LinkPurpose.reset,
                token_hash=f"{name}-{staff.id}"[:64],
                created_at=now - timedelta(days=3),
                expires_at=expires,
            )
        )
    await db.flush()
    return tokens


async def _left(db: AsyncSession, staff: Staff) -> dict[str, int]:
    counts = {}
    for table in (WebSession, RefreshToken, SsoLogin, PasswordLink):
        stmt = select(sa.func.count()).where(col(table.organisation_id) == staff.organisation_id)
        counts[table.__tablename__] = int((await db.exec(stmt)).one())
    return counts


async def test_lapsed_sign_ins_go_live_ones_keep_working(
    db: AsyncSession, clock: FrozenClock
) -> None:
    now = clock()
    ours = await make_staff(db, await make_org(db, now=now), now=now)
    theirs = await make_staff(db, await make_org(db, now=now), now=now)
    tokens = await _seed(db, ours, clock)
    await _seed(db, theirs, clock)
    full = {"web_sessions": 3, "refresh_tokens": 2, "sso_logins": 2, "password_links": 2}
    assert await _left(db, ours) == full

    removed = await purge_lapsed_sign_ins(db, ours.organisation_id, now, web_idle=POLICY.idle)

    assert removed == 5
    live = {"web_sessions": 1, "refresh_tokens": 1, "sso_logins": 1, "password_links": 1}
    assert await _left(db, ours) == live
    assert await _left(db, theirs) == full  # another organisation's rows are its own job
    signed_in = await web_session_staff(db, tokens["live session"], now, POLICY)
    assert signed_in is not None
    assert signed_in.id == ours.id
    staff, _ = await rotate_refresh_token(db, tokens["live refresh"], now, MONTH)
    assert staff.id == ours.id

    purged = await retention(db, now, deliveries_kept=timedelta(days=90), web_idle=POLICY.idle)
    assert purged.sign_ins == 5  # the other organisation's, in the job that runs them all
    assert await _left(db, theirs) == live
