"""Scope queries: a manager's whole subtree, a supervisor's supervisees, never another tenant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.auth import LoginThrottle
from models.directory.organisation import Organisation, Unit
from models.directory.service import actor_for
from models.directory.staff import Role
from models.scope import managed_staff, managed_units, supervisees, unit_subtree
from tests.factories.directory import make_org, make_staff, make_unit

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


async def _chain(db: AsyncSession, org: Organisation, depth: int) -> list[Unit]:
    units = [await make_unit(db, org, "level 0", now=NOW)]
    for level in range(1, depth):
        units.append(await make_unit(db, org, f"level {level}", parent=units[-1], now=NOW))
    return units


async def test_managed_units_cover_the_whole_subtree_and_only_it(db: AsyncSession) -> None:
    org = await make_org(db, now=NOW)
    chain = await _chain(db, org, 5)
    side = await make_unit(db, org, "side", parent=chain[1], now=NOW)
    elsewhere = await make_unit(db, org, "elsewhere", now=NOW)
    manager = await make_staff(db, org, Role.manager, now=NOW)
    chain[2].manager_id = manager.id
    await db.flush()

    got = set((await db.exec(managed_units(actor_for(manager)))).all())
    assert got == {u.id for u in chain[2:]}
    assert side.id not in got
    assert elsewhere.id not in got

    below = set((await db.exec(unit_subtree(org.id, chain[1].id))).all())
    assert below == {u.id for u in chain[1:]} | {side.id}


async def test_several_managed_units_union(db: AsyncSession) -> None:
    org = await make_org(db, now=NOW)
    a, b = await _chain(db, org, 2), await _chain(db, org, 3)
    manager = await make_staff(db, org, Role.manager, now=NOW)
    a[1].manager_id = manager.id
    b[0].manager_id = manager.id
    await db.flush()
    got = set((await db.exec(managed_units(actor_for(manager)))).all())
    assert got == {a[1].id, *(u.id for u in b)}


async def test_scope_never_crosses_organisations(db: AsyncSession) -> None:
    mine, theirs = await make_org(db, now=NOW), await make_org(db, now=NOW)
    my_unit = await make_unit(db, mine, now=NOW)
    manager = await make_staff(db, mine, Role.manager, Role.supervisor, now=NOW)
    my_unit.manager_id = manager.id
    # A unit of another organisation that (wrongly) names this manager and parents under
    # this organisation's unit must still not enter the manager's scope.
    foreign = await make_unit(db, theirs, now=NOW)
    foreign.manager_id = manager.id
    foreign.parent_id = my_unit.id
    await db.flush()
    foreign_staff = await make_staff(db, theirs, unit=foreign, supervisor=manager, now=NOW)
    own_staff = await make_staff(db, mine, unit=my_unit, supervisor=manager, now=NOW)

    actor = actor_for(manager)
    assert set((await db.exec(managed_units(actor))).all()) == {my_unit.id}
    assert set((await db.exec(managed_staff(actor))).all()) == {own_staff.id}
    assert set((await db.exec(supervisees(actor))).all()) == {own_staff.id}
    assert foreign_staff.id not in set((await db.exec(supervisees(actor))).all())


@pytest.mark.parametrize("offset_hours", [0, 5.5, -8])
async def test_timestamps_come_back_as_aware_utc(db: AsyncSession, offset_hours: float) -> None:
    local = datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=offset_hours)))
    db.add(LoginThrottle(key=f"k{offset_hours}", failures=1, window_started_at=local))
    await db.flush()
    db.expunge_all()
    row = (
        await db.exec(select(LoginThrottle).where(col(LoginThrottle.key) == f"k{offset_hours}"))
    ).one()
    assert row.window_started_at.tzinfo is not None
    assert row.window_started_at.utcoffset() == timedelta(0)
    assert row.window_started_at == local


async def test_naive_timestamps_are_refused(db: AsyncSession) -> None:
    db.add(LoginThrottle(key="naive", failures=1, window_started_at=datetime(2026, 1, 1)))
    with pytest.raises(Exception, match="naive datetime"):
        await db.flush()
