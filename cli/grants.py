"""`ccvc grants create | revoke | list`: written grants, through the same resolver functions as the
`grantAccess`, `revokeGrant` and `accessGrants` GraphQL fields, acting as the account named by --as:
the same validation, the same casbin decision."""

import argparse
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from cli._common import CommandError, Commands, database, print_json, run
from db.errors import DomainError
from db.queries import accounts
from gateway.auth import principal_from_account
from gateway.config import Settings
from policies.authorizer import Authorizer
from policies.written import Scopes, today
from resolvers.context import RequestContext
from resolvers.errors import Unauthenticated
from resolvers.grants import (
    GrantRequest,
    is_in_force,
    resolve_access_grants,
    resolve_grant_access,
    resolve_revoke_grant,
)

T = TypeVar("T")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date written YYYY-MM-DD") from None


def _names(text: str) -> list[str]:
    """A comma-separated list, blanks dropped ("a, b," is ["a", "b"])."""
    return [name.strip() for name in text.split(",") if name.strip()]


async def _acting_context(engine: AsyncEngine, username: str) -> RequestContext:
    """What a GraphQL request by `username` would get: its principal, its scope, the authorizer."""
    async with engine.connect() as conn:
        row = await accounts.get_by_username(conn, username)
    if row is None or row.disabled:
        raise Unauthenticated(f"No enabled account named '{username}' to act as (`ccvc accounts list`)")
    principal = principal_from_account(row)
    # No cache: a command makes one decision and exits.
    scopes = Scopes(Authorizer(), engine, ttl_seconds=0)
    scope = await scopes.for_principal(principal)
    return RequestContext(principal=principal, engine=engine, scope=scope, scopes=scopes)


def _acting(settings: Settings, username: str, action: Callable[[RequestContext], Awaitable[T]]) -> T:
    """Run `action` as `username`; a refusal is one line with its code (FORBIDDEN, ...), exit status 1."""

    async def acting() -> T:
        async with database(settings) as engine:
            return await action(await _acting_context(engine, username))

    try:
        return run(acting())
    except DomainError as error:
        raise CommandError(f"{error.code}: {error.message}", status=1) from None


def _grant_state(row: Row[Any], on: date) -> str:
    if is_in_force(row, on):
        return "active"
    if row.revoked_at is not None:
        return "revoked"
    return "expired" if row.valid_to < on else "upcoming"


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite gives back naive datetimes; the gateway stores UTC.
    return moment if moment is None or moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _grant_json(row: Row[Any], on: date) -> dict[str, Any]:
    return {
        "id": row.id,
        "grantee": row.grantee_username,
        "managing_unit": row.managing_unit_code,
        "unit": row.unit_code,
        "official_ids": None if row.official_ids is None else sorted(row.official_ids),
        "fields": [name.removeprefix("Official.") for name in row.fields.split()],
        "valid_from": row.valid_from,
        "valid_to": row.valid_to,
        "document_number": row.document_number,
        "granted_by": row.granted_by_username,
        "created_at": _utc(row.created_at),
        "revoked_at": _utc(row.revoked_at),
        "state": _grant_state(row, on),
    }


def _print_grants(rows: Sequence[Row[Any]], as_json: bool) -> None:
    on = today()
    grants = [_grant_json(row, on) for row in rows]
    if as_json:
        print_json(grants)
        return
    for grant in grants:
        target = (
            f"unit {grant['unit']}"
            if grant["unit"] is not None
            else "officials " + ",".join(str(i) for i in grant["official_ids"] or ())
        )
        print(
            f"#{grant['id']:<6} {grant['state']:<8} {grant['grantee']:<20} {target}  "
            f"fields {','.join(grant['fields'])}  {grant['valid_from']}..{grant['valid_to']}  "
            f"document {grant['document_number']}"
        )


def cmd_create(settings: Settings, args: argparse.Namespace) -> int:
    request = GrantRequest(
        grantee=args.grantee,
        unit=args.unit,
        officials=None if args.officials is None else _names(args.officials),
        fields=_names(args.fields),
        valid_from=args.valid_from,
        valid_to=args.valid_to,
        document_number=args.document,
    )
    row = _acting(settings, args.acting, lambda ctx: resolve_grant_access(ctx, request))
    _print_grants([row], args.json)
    return 0


def cmd_revoke(settings: Settings, args: argparse.Namespace) -> int:
    row = _acting(settings, args.acting, lambda ctx: resolve_revoke_grant(ctx, args.id))
    _print_grants([row], args.json)
    return 0


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    rows = _acting(settings, args.acting, lambda ctx: resolve_access_grants(ctx, args.grantee, args.in_force))
    _print_grants(rows, args.json)
    if not rows and not args.json:
        print("No grants.", file=sys.stderr)
    return 0


def register(commands: Commands) -> None:
    written = commands.add_parser(
        "grants",
        help="written grants: let an account read more officials' data than its role allows",
        description="A written grant records a ministry's or province's written consent (its document "
        "number) that an account may read more fields of some of its officials, for a period. Only the "
        "personnel department of those officials' ministry or province (hr.<CODE>) or admin may make or "
        "revoke one; --as names the account acting, and the same checks as the GraphQL API apply. "
        "Refusals print their code (FORBIDDEN, BAD_USER_INPUT, NOT_FOUND, ...) and exit with status 1.",
    )
    group = written.add_subparsers(dest="grants_command", required=True)
    create = group.add_parser(
        "create",
        help="record a grant for a unit's whole subtree or for named officials",
        description="Record a written grant. Give either --unit or --officials. Dates are Vietnam "
        "calendar days, both included.",
    )
    create.add_argument("--as", dest="acting", required=True, metavar="USERNAME", help="account acting (hr.BNV, admin)")
    create.add_argument("--grantee", required=True, metavar="USERNAME", help="account allowed to read more")
    target = create.add_mutually_exclusive_group(required=True)
    target.add_argument("--unit", metavar="UNIT", help="unit code (BNV.VP) or id: the unit and every unit below it")
    target.add_argument(
        "--officials",
        metavar="CODE_OR_ID[,...]",
        help="officials by code (SH00000012) or id, of one ministry or province",
    )
    create.add_argument(
        "--fields",
        required=True,
        metavar="NAME[,NAME...]",
        help="groups (profile, identity, work, qualification, salary, assessment, sensitive) or Official "
        "field names (religion, health, ...); sensitive fields open only when named",
    )
    create.add_argument("--from", dest="valid_from", required=True, type=_day, metavar="YYYY-MM-DD", help="first day")
    create.add_argument("--to", dest="valid_to", required=True, type=_day, metavar="YYYY-MM-DD", help="last day")
    create.add_argument("--document", required=True, metavar="NUMBER", help="số văn bản of the written consent")
    create.add_argument("--json", action="store_true", help="print JSON")
    create.set_defaults(run=cmd_create)
    revoke = group.add_parser(
        "revoke", help="revoke a grant from now on (the record of it stays)", description="Revoke a grant at once."
    )
    revoke.add_argument("--as", dest="acting", required=True, metavar="USERNAME", help="account acting")
    revoke.add_argument("--id", required=True, metavar="GRANT_ID", help="the grant's id (`ccvc grants list`)")
    revoke.add_argument("--json", action="store_true", help="print JSON")
    revoke.set_defaults(run=cmd_revoke)
    listing = group.add_parser(
        "list",
        help="list grants, newest first (state: active, upcoming, expired or revoked)",
        description="Grants of the ministries or provinces whose personnel --as manages (all of them for "
        "admin); for any other account, the grants made to it.",
    )
    listing.add_argument("--as", dest="acting", required=True, metavar="USERNAME", help="account acting")
    listing.add_argument("--grantee", metavar="USERNAME", help="only the grants made to this account")
    listing.add_argument("--in-force", action="store_true", help="only the grants in force today")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=cmd_list)
