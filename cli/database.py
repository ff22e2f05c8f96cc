"""`ccvc db upgrade` and `ccvc seed`: the schema, and deterministic synthetic data."""

import argparse
import time

from cli._common import CommandError, Commands, database, run, schema_message
from db import migrate
from gateway.config import Settings
from gateway.passwords import hash_password

DEMO_PASSWORD = "ccvc-demo"  # noqa: S105 (synthetic accounts only; seeding is refused in production)


def cmd_db_upgrade(settings: Settings, _: argparse.Namespace) -> int:
    upgrade(settings)
    return 0


def upgrade(settings: Settings) -> None:
    before = run(migrate.schema_state(settings.database_url))
    if before.status in ("unreachable", "unknown"):
        raise CommandError(schema_message(before, settings.database_url))
    path = migrate.sqlite_file(settings.database_url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.database_url)
    where = migrate.display(settings.database_url)
    match before.status:
        case "current":
            print(f"Database at {where} is up to date (schema revision {migrate.head()}).")
        case "behind":
            print(f"Upgraded the database at {where} from schema revision {before.revision} to {migrate.head()}.")
        case _:
            print(f"Created the schema (revision {migrate.head()}) in the database at {where}.")


def cmd_seed(settings: Settings, args: argparse.Namespace) -> int:
    if settings.env == "production":
        raise CommandError("refusing to seed synthetic data with CCVC_ENV=production")
    run(seed(settings, officials=args.officials, seed=args.seed, password=args.password))
    return 0


async def seed(settings: Settings, *, officials: int, seed: int, password: str | None) -> None:
    from seed import seed as run_seed

    started = time.perf_counter()

    def progress(done: int) -> None:
        print(f"\r  {done:,} / {officials:,} officials ({time.perf_counter() - started:.0f} s)", end="", flush=True)

    async with database(settings) as engine:
        report = await run_seed(
            engine,
            officials=officials,
            seed=seed,
            # One hash for every synthetic account: hashing a million passwords would take hours.
            password_hash=hash_password(password) if password else None,
            progress=progress,
        )
    print(
        f"\nSeeded {report.officials:,} officials, {report.child_records:,} child records, "
        f"{report.units:,} units, {report.positions:,} positions and {report.accounts:,} accounts "
        f"in {time.perf_counter() - started:.1f} s."
    )


def register(commands: Commands) -> None:
    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="create or migrate the schema at CCVC_DATABASE_URL").set_defaults(run=cmd_db_upgrade)

    seeding = commands.add_parser("seed", help="fill an empty database with deterministic synthetic data")
    seeding.add_argument("--officials", type=int, required=True, help="how many officials")
    seeding.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")
    seeding.add_argument("--password", default=DEMO_PASSWORD, help="password of every seeded account ('' for none)")
    seeding.set_defaults(run=cmd_seed)
