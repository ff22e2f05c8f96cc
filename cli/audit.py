"""`ccvc audit export --from --to`: the audit of a period as JSON lines, one request a line with the
officials it exposed, oldest first, streamed (a year's audit needs no more memory than a chunk of it)."""

import argparse
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any, Final
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Row

from cli._common import CommandError, Commands, database, run
from db.queries import audit
from db.queries.audit import EventFilter
from gateway.config import Settings
from resolvers.audit import utc

# A bare date is a day in Vietnam's time zone: what an inspector asking for "November" means.
LOCAL: Final = ZoneInfo("Asia/Ho_Chi_Minh")


def instant(text: str) -> datetime:
    """An argument's instant: ISO 8601 with an offset, or a date (its first moment, Asia/Ho_Chi_Minh)."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), LOCAL)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (2026-11-01) or an instant with offset") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"'{text}' has no offset: write 2026-11-01T00:00:00+07:00, or a date")
    return moment


def line(row: Row[Any], officials: list[int]) -> bytes:
    event = dict(row._mapping)
    event["at"] = utc(event["at"]).isoformat()
    for name in ("variables", "legal_basis"):
        event[name] = None if event[name] is None else orjson.loads(event[name])
    event["error_codes"] = [code for code in event["error_codes"].split(",") if code]
    event["official_ids"] = officials
    return orjson.dumps(event) + b"\n"


async def export(settings: Settings, where: EventFilter, out: IO[bytes]) -> int:
    written = 0
    async with database(settings) as engine, engine.connect() as conn:
        async for row, officials in audit.export(conn, where):
            out.write(line(row, officials))
            written += 1
    return written


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    if args.from_ >= args.to:
        raise CommandError("--from must be before --to")
    where = EventFilter(since=args.from_, until=args.to, agency_code=args.agency, official_id=args.official)
    if args.output is None:
        written = run(export(settings, where, sys.stdout.buffer))
        sys.stdout.flush()
    else:
        path = Path(args.output)
        with path.open("wb") as out:
            written = run(export(settings, where, out))
    print(f"{written} audit records", file=sys.stderr)
    return 0


def register(commands: Commands) -> None:
    group = commands.add_parser("audit", help="the audit of every request").add_subparsers(
        dest="audit_command", required=True
    )
    exporting = group.add_parser(
        "export",
        help="write a period's audit as JSON lines (oldest first), each request with the officials it exposed",
        description="Dates are days in Asia/Ho_Chi_Minh; instants need an offset. --to is excluded: "
        "--from 2026-11-01 --to 2026-12-01 is November.",
    )
    exporting.add_argument("--from", dest="from_", required=True, type=instant, help="first day or instant")
    exporting.add_argument("--to", required=True, type=instant, help="day or instant after the last")
    exporting.add_argument("--agency", help="only this agency's requests (its code)")
    exporting.add_argument("--official", type=int, help="only requests that exposed this official (id)")
    exporting.add_argument("--output", metavar="FILE", help="write here instead of standard output")
    exporting.set_defaults(run=cmd_export)
