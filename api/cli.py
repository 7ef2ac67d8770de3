"""The `harbour` command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from alembic import command
from pydantic import ValidationError

from api.security import Passwords
from api.settings import Settings, get_settings
from migrations import alembic_config
from models.db import create_engine, create_session_factory, session_scope
from models.directory.schemas import StaffCreate
from models.directory.service import bootstrap_admin
from models.directory.staff import Cohort, Role
from models.errors import Conflict


def migrate(settings: Settings) -> None:
    """`alembic upgrade head` with the app's key ring (migrations that seal rows use it)."""
    command.upgrade(alembic_config(settings.database_url, settings.key_ring()), "head")


async def _create_admin(settings: Settings, org: str, email: str, password: str) -> str:
    now = datetime.now(UTC)
    try:
        data = StaffCreate(
            email=email,
            display_name="Administrator",
            password=password,
            roles=[Role.admin],
            cohort=Cohort.other,
            started_on=now.date(),
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SystemExit(f"create-admin: {problems}") from exc
    password_hash = Passwords(settings).hash(password)
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with session_scope(create_session_factory(engine)) as session:
            return await bootstrap_admin(session, org, data, password_hash, now)
    except Conflict as exc:
        raise SystemExit(exc.detail) from exc
    finally:
        await engine.dispose()


async def _demo(settings: Settings) -> None:
    from api.demo.seed import DEMO_ORG, DEMO_PASSWORD, seed_demo

    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with session_scope(create_session_factory(engine)) as session:
            password_hash = Passwords(settings).hash(DEMO_PASSWORD)
            logins = await seed_demo(session, password_hash, datetime.now(UTC), settings.key_ring())
    finally:
        await engine.dispose()
    print(f"Demo organisation: {DEMO_ORG}")
    print(f"Every demo login has the password: {DEMO_PASSWORD}")
    for login in logins:
        print(f"  {login.role:<28} {login.email}")
        print(f"      {login.hint}")


async def _rotate_keys(settings: Settings, batch_size: int) -> list[str]:
    from models.key_rotation import rotate_keys

    ring = settings.key_ring()
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        reports = await rotate_keys(create_session_factory(engine), ring, batch_size=batch_size)
    finally:
        await engine.dispose()
    lines = [
        f"{r.sealed.table}.{r.sealed.column}: re-encrypted {r.rotated} under key "
        f"{ring.primary!r}; {r.left} still under older keys"
        for r in reports
    ]
    if any(r.left for r in reports):
        lines.append(
            "some values are still under older keys: restart every API process with the new "
            "key first in HARBOUR_ENCRYPTION_KEYS, then run rotate-keys again"
        )
    else:
        lines.append("nothing is left under older keys: they may be removed from the ring")
    return lines


async def _import_instrument(settings: Settings, org: str, path: str, attestation: str) -> str:
    import json

    from sqlmodel import select

    from models.directory.organisation import Organisation
    from models.errors import DomainError
    from wellbeing.catalogue import import_wording

    try:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"cannot read {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise SystemExit(f"{path} must hold one JSON object")
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with session_scope(create_session_factory(engine)) as session:
            organisation = (
                await session.exec(select(Organisation).where(Organisation.name == org))
            ).first()
            if organisation is None:
                raise SystemExit(f"no organisation called {org!r}")
            try:
                row = await import_wording(
                    session, organisation.id, raw, attestation, datetime.now(UTC)
                )
            except DomainError as exc:
                details = "".join(f"\n  {e['msg']}" for e in exc.errors or [])
                raise SystemExit(f"refused: {exc.detail}{details}") from exc
            return (
                f"imported wording for {row.instrument} version {row.version} into {org!r} "
                f"(scoring key {row.content_hash[:12]})"
            )
    finally:
        await engine.dispose()


async def _sso_disable(settings: Settings, org: str) -> str:
    from models.directory.sso import break_glass_disable
    from models.errors import NotFound

    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with session_scope(create_session_factory(engine)) as session:
            return await break_glass_disable(session, org, datetime.now(UTC))
    except NotFound as exc:
        raise SystemExit(exc.detail) from exc
    finally:
        await engine.dispose()


async def _import_bank_holidays(settings: Settings, path: str) -> str:
    import json

    from models.calendar import parse_govuk, replace_bank_holidays
    from models.errors import DomainError

    try:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
        holidays = parse_govuk(raw)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"cannot read {path}: {exc}") from exc
    except DomainError as exc:
        details = "".join(f"\n  {e['loc']}: {e['msg']}" for e in exc.errors or [])
        raise SystemExit(f"refused: {exc.detail}{details}") from exc
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with session_scope(create_session_factory(engine)) as session:
            counts = await replace_bank_holidays(session, holidays)
    finally:
        await engine.dispose()
    return "; ".join(f"{nation}: {n} bank holidays" for nation, n in counts.items())


async def _sweep(settings: Settings, at: datetime) -> str:
    import httpx

    from api.delivery.push import pusher_from_settings
    from api.delivery.sweep import sweep

    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with httpx.AsyncClient() as client:
            push = pusher_from_settings(settings, client).configured
        async with session_scope(create_session_factory(engine)) as session:
            created = await sweep(session, at, push=push)
    finally:
        await engine.dispose()
    return f"sweep as of {at.isoformat()}: {created} new notification(s)"


async def _publish(settings: Settings, org: str | None, since: str | None) -> str:
    from api.delivery.scheduler import publish_all

    try:
        first = datetime.strptime(since, "%Y-%m").date() if since else None
    except ValueError as exc:
        raise SystemExit("publish: --backfill-from takes a month, YYYY-MM") from exc
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        count = await publish_all(
            create_session_factory(engine), datetime.now(UTC), org=org, since=first
        )
    finally:
        await engine.dispose()
    return f"Published {count} measure-periods."


def _instant(value: str) -> datetime:
    """An ISO datetime; one without an offset is taken as UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO datetime: {value!r}") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harbour", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate if needed, then serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    sub.add_parser(
        "worker", help="run the scheduler process (reminders, delivery, retention, publishing)"
    )
    sub.add_parser("migrate", help="alembic upgrade head")
    sweep = sub.add_parser("sweep", help="run one reminder sweep as if it were --at")
    sweep.add_argument("--at", type=_instant, default=None, help="ISO datetime (default: now)")
    admin = sub.add_parser("create-admin", help="bootstrap an organisation and its first admin")
    admin.add_argument("--org", required=True)
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", required=True)
    sub.add_parser("demo", help="seed a demo council and print the logins")
    sub.add_parser("openapi", help="print the OpenAPI document (what /api/v1/openapi.json serves)")
    publish = sub.add_parser(
        "publish", help="publish completed periods of the anonymised release (once each)"
    )
    publish.add_argument("--org", help="only this organisation (by name)")
    publish.add_argument(
        "--backfill-from", metavar="YYYY-MM", help="every completed period from this month"
    )
    rotate = sub.add_parser(
        "rotate-keys",
        help="re-encrypt sealed values (notes, supervision records, agreements, ...) under the "
        "first key of HARBOUR_ENCRYPTION_KEYS (online)",
    )
    rotate.add_argument("--batch-size", type=int, default=500)
    instruments = sub.add_parser("instruments", help="wellbeing instruments")
    instruments_sub = instruments.add_subparsers(dest="instruments_command", required=True)
    load = instruments_sub.add_parser(
        "import", help="load an organisation's licensed item wording from a JSON file"
    )
    load.add_argument("file")
    load.add_argument("--org", required=True, help="the organisation that holds the licence")
    load.add_argument(
        "--attest", required=True, help="who holds the licence, and its reference (recorded)"
    )
    holidays = sub.add_parser("bank-holidays", help="the bank holidays deadlines skip")
    holidays_sub = holidays.add_subparsers(dest="bank_holidays_command", required=True)
    replace = holidays_sub.add_parser(
        "import",
        help="replace each nation's bank holidays from a GOV.UK bank-holidays.json file",
    )
    replace.add_argument("file")
    sso = sub.add_parser("sso", help="an organisation's single sign-on")
    sso_sub = sso.add_subparsers(dest="sso_command", required=True)
    disable = sso_sub.add_parser(
        "disable",
        help="break glass when the identity provider is broken: stop requiring single "
        "sign-on so staff can sign in with passwords (settings are kept)",
    )
    disable.add_argument("--org", required=True, help="the organisation's name")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as exc:
        print(f"harbour: configuration refused:\n{exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    if args.command == "migrate":
        migrate(settings)
    elif args.command == "serve":
        import uvicorn

        migrate(settings)
        uvicorn.run(
            "api.app:create_app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            proxy_headers=True,
        )
    elif args.command == "worker":
        from api.delivery.scheduler import run_worker
        from api.logs import configure_logging

        configure_logging()
        asyncio.run(run_worker(settings))
    elif args.command == "create-admin":
        print(asyncio.run(_create_admin(settings, args.org, args.email, args.password)))
    elif args.command == "openapi":
        import json

        from api.app import create_app

        print(json.dumps(create_app(settings, scheduler=False).openapi(), indent=2))
    elif args.command == "publish":
        print(asyncio.run(_publish(settings, args.org, args.backfill_from)))
    elif args.command == "demo":
        migrate(settings)
        asyncio.run(_demo(settings))
    elif args.command == "rotate-keys":
        if args.batch_size < 1:
            raise SystemExit("--batch-size must be at least 1")
        for line in asyncio.run(_rotate_keys(settings, args.batch_size)):
            print(line)
    elif args.command == "sweep":
        print(asyncio.run(_sweep(settings, args.at or datetime.now(UTC))))
    elif args.command == "instruments":
        print(asyncio.run(_import_instrument(settings, args.org, args.file, args.attest)))
    elif args.command == "bank-holidays":
        print(asyncio.run(_import_bank_holidays(settings, args.file)))
    elif args.command == "sso":
        print(asyncio.run(_sso_disable(settings, args.org)))


if __name__ == "__main__":
    main()
