"""`ccvc`: the operator's command line (database, synthetic data, accounts, tokens, keys, partner
agencies' keys, server)."""

import argparse
import asyncio
import os
import re
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Row
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from db import migrate
from db.engine import create_engine
from db.errors import DomainError, NotFound, Unauthenticated
from db.queries import accounts, agencies, units
from gateway.auth import principal_from_account
from gateway.cli_receipts import cmd_receipts_consistency, cmd_receipts_verify
from gateway.config import Settings, get_settings
from policies.authorizer import Authorizer
from policies.written import Scopes, today
from resolvers.context import RequestContext
from resolvers.grants import (
    GrantRequest,
    is_in_force,
    resolve_access_grants,
    resolve_grant_access,
    resolve_revoke_grant,
)

DEMO_DATABASE = "./var/demo.db"
DEMO_OFFICIALS = 5000
DEMO_PASSWORD = "ccvc-demo"  # noqa: S105 (synthetic demo accounts only; seeding is refused in production)


def _fail(message: str, status: int = 2) -> int:
    print(f"ccvc: {message}", file=sys.stderr)
    return status


def _ensure_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def cmd_db_upgrade(settings: Settings, _: argparse.Namespace) -> int:
    _ensure_sqlite_dir(settings.database_url)
    migrate.upgrade(settings.database_url)
    print(f"Database at {make_url(settings.database_url).render_as_string(hide_password=True)} is up to date.")
    return 0


async def _seed(settings: Settings, officials: int, seed: int, password: str | None) -> None:
    from db.seed import seed as run_seed
    from gateway.passwords import hash_password

    engine = create_engine(settings.database_url)
    started = time.perf_counter()

    def progress(done: int) -> None:
        print(f"\r  {done:,} / {officials:,} officials ({time.perf_counter() - started:.0f} s)", end="", flush=True)

    try:
        report = await run_seed(
            engine,
            officials=officials,
            seed=seed,
            # One hash for every synthetic account: hashing a million passwords would take hours.
            password_hash=hash_password(password) if password else None,
            progress=progress,
        )
    finally:
        await engine.dispose()
    print(
        f"\nSeeded {report.officials:,} officials, {report.child_records:,} child records, "
        f"{report.units:,} units, {report.positions:,} positions and {report.accounts:,} accounts "
        f"in {time.perf_counter() - started:.1f} s."
    )


def cmd_seed(settings: Settings, args: argparse.Namespace) -> int:
    if settings.env == "production":
        return _fail("refusing to seed synthetic data with CCVC_ENV=production")
    asyncio.run(_seed(settings, args.officials, args.seed, args.password))
    return 0


async def _accounts(settings: Settings, kinds: frozenset[str]) -> list[dict[str, Any]]:
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            rows = await accounts.list_(conn, kinds=kinds)
    finally:
        await engine.dispose()
    return [
        {"username": r.username, "kind": r.kind, "roles": r.roles.split(), "unit": r.unit_code, "agency": r.agency_code}
        for r in rows
    ]


def cmd_accounts_list(settings: Settings, args: argparse.Namespace) -> int:
    rows = asyncio.run(_accounts(settings, frozenset(args.kind or ())))
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2) + b"\n")
        return 0
    for row in rows:
        print(
            f"{row['username']:<32} {row['kind']:<9} {' '.join(row['roles']):<10} {row['unit'] or row['agency'] or ''}"
        )
    return 0


async def _token(settings: Settings, username: str) -> str:
    from gateway.auth import Authenticator
    from gateway.crypto import KeyRing

    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            row = await accounts.get_by_username(conn, username)
    finally:
        await engine.dispose()
    if row is None or row.disabled:
        raise DomainError(f"No enabled account named '{username}'")
    keys = KeyRing.load(settings.keys_dir, create=settings.env != "production")
    return Authenticator(settings, keys, engine).issue(username)


def cmd_token(settings: Settings, args: argparse.Namespace) -> int:
    token = asyncio.run(_token(settings, args.account))
    print(f"Access token for {args.account} (valid {settings.token_ttl_seconds} s):", file=sys.stderr)
    print(token)
    return 0


def cmd_keys_generate(settings: Settings, _: argparse.Namespace) -> int:
    from gateway.crypto import generate_key

    if (settings.keys_dir / "keyring.json").exists():
        return _fail(f"'{settings.keys_dir}' already holds a key ring; `ccvc keys rotate` replaces its active key")
    kid = generate_key(settings.keys_dir)
    print(f"Generated signing key {kid} in {settings.keys_dir}")
    return 0


def cmd_keys_rotate(settings: Settings, _: argparse.Namespace) -> int:
    from gateway.crypto import rotate_key

    if not (settings.keys_dir / "keyring.json").exists():
        return _fail(f"No key ring in '{settings.keys_dir}': `ccvc keys generate` makes the first key")
    kid, retired = rotate_key(settings.keys_dir)
    print(f"Key {kid} now signs; {retired} is retired and stays published so that what it signed verifies.")
    print("Running gateways pick the new key up within a second.")
    return 0


def cmd_keys_list(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.crypto import KeyRing

    ring = KeyRing.load(settings.keys_dir, create=False)
    keys = [
        {"kid": k.kid, "status": k.status, "created": k.created, "retired": k.retired, "origin": k.origin}
        for k in ring.by_kid.values()
    ]
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(keys, option=orjson.OPT_INDENT_2) + b"\n")
        return 0
    for key in keys:
        print(f"{key['kid']}  {key['status']:<8} created {key['created']}  {key['origin']}")
    return 0


async def _register_agency_key(settings: Settings, code: str, public_jwk: dict[str, str], kid: str) -> None:
    engine = create_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            agency = await agencies.get_by_code(conn, code)
            if agency is None:
                raise DomainError(f"No agency with code '{code}' (`ccvc agencies list`)")
            await agencies.add_key(conn, agency_id=agency.id, kid=kid, public_jwk=public_jwk, now=datetime.now(UTC))
    finally:
        await engine.dispose()


def cmd_agencies_register_key(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.crypto import public_jwk_from_pem, thumbprint

    try:
        pem = Path(args.public_key).read_bytes()
    except OSError as error:
        return _fail(f"cannot read '{args.public_key}': {error.strerror}")
    public_jwk = public_jwk_from_pem(pem)
    kid = thumbprint(public_jwk)
    asyncio.run(_register_agency_key(settings, args.agency, public_jwk, kid))
    # The kid is what the agency puts in its assertions' header: last line, alone, for scripts.
    print(f"Registered a key for agency {args.agency}; its assertions must carry this kid:", file=sys.stderr)
    print(kid)
    return 0


async def _revoke_agency_key(settings: Settings, kid: str) -> bool:
    engine = create_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            return await agencies.revoke_key(conn, kid=kid, now=datetime.now(UTC))
    finally:
        await engine.dispose()


def cmd_agencies_revoke_key(settings: Settings, args: argparse.Namespace) -> int:
    if not asyncio.run(_revoke_agency_key(settings, args.kid)):
        return _fail(f"no active key {args.kid}")
    print(f"Revoked key {args.kid}: assertions signed with it are refused from now on.")
    return 0


async def _agencies(settings: Settings) -> list[dict[str, Any]]:
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            rows = await agencies.list_(conn)
            kids = await agencies.active_kids(conn)
    finally:
        await engine.dispose()
    return [{"code": r.code, "name": r.name, "kids": kids.get(r.id, [])} for r in rows]


def cmd_agencies_list(settings: Settings, args: argparse.Namespace) -> int:
    rows = asyncio.run(_agencies(settings))
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2) + b"\n")
        return 0
    for row in rows:
        print(f"{row['code']:<12} {row['name']:<48} {' '.join(row['kids']) or '(no active key)'}")
    return 0


# -- written grants -----------------------------------------------------------------------------
# The same resolver functions as the `grantAccess`, `revokeGrant` and `accessGrants` GraphQL fields,
# acting as the account named by --as: the same validation, the same casbin decision.

_NUMERIC_ID = re.compile(r"[0-9]+")


def _refused(error: DomainError) -> int:
    """A domain error of a grants command: one line with its code, exit status 1."""
    return _fail(f"{error.code}: {error.message}", status=1)


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
        sys.stdout.buffer.write(orjson.dumps(grants, option=orjson.OPT_INDENT_2) + b"\n")
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


async def _grants_create(settings: Settings, args: argparse.Namespace) -> Row[Any]:
    engine = create_engine(settings.database_url)
    try:
        ctx = await _acting_context(engine, args.acting)
        unit: str | None = args.unit
        if unit is not None and not _NUMERIC_ID.fullmatch(unit):
            async with ctx.connect() as conn:
                found = await units.get_by_code(conn, scope=ctx.scope, code=unit)
            if found is None:
                raise NotFound(f"No unit with code '{unit}'")
            unit = str(found.id)
        request = GrantRequest(
            grantee=args.grantee,
            unit=unit,
            officials=None if args.officials is None else _names(args.officials),
            fields=_names(args.fields),
            valid_from=args.valid_from,
            valid_to=args.valid_to,
            document_number=args.document,
        )
        return await resolve_grant_access(ctx, request)
    finally:
        await engine.dispose()


def cmd_grants_create(settings: Settings, args: argparse.Namespace) -> int:
    try:
        row = asyncio.run(_grants_create(settings, args))
    except DomainError as error:
        return _refused(error)
    _print_grants([row], args.json)
    return 0


async def _grants_revoke(settings: Settings, args: argparse.Namespace) -> Row[Any]:
    engine = create_engine(settings.database_url)
    try:
        return await resolve_revoke_grant(await _acting_context(engine, args.acting), args.id)
    finally:
        await engine.dispose()


def cmd_grants_revoke(settings: Settings, args: argparse.Namespace) -> int:
    try:
        row = asyncio.run(_grants_revoke(settings, args))
    except DomainError as error:
        return _refused(error)
    _print_grants([row], args.json)
    return 0


async def _grants_list(settings: Settings, args: argparse.Namespace) -> list[Row[Any]]:
    engine = create_engine(settings.database_url)
    try:
        return await resolve_access_grants(await _acting_context(engine, args.acting), args.grantee, args.in_force)
    finally:
        await engine.dispose()


def cmd_grants_list(settings: Settings, args: argparse.Namespace) -> int:
    try:
        rows = asyncio.run(_grants_list(settings, args))
    except DomainError as error:
        return _refused(error)
    _print_grants(rows, args.json)
    if not rows and not args.json:
        print("No grants.", file=sys.stderr)
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(
        "gateway.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        access_log=False,
    )
    return 0


def cmd_demo(_: Settings, args: argparse.Namespace) -> int:
    os.environ.setdefault("CCVC_DATABASE_URL", f"sqlite+aiosqlite:///{DEMO_DATABASE}")
    get_settings.cache_clear()
    settings = get_settings()
    database = make_url(settings.database_url).database or ""
    if not Path(database).exists():
        print(f"Creating the demo database {database} with {DEMO_OFFICIALS:,} synthetic officials ...")
        cmd_db_upgrade(settings, args)
        asyncio.run(_seed(settings, DEMO_OFFICIALS, 1, DEMO_PASSWORD))
    else:
        cmd_db_upgrade(settings, args)
    token = asyncio.run(_token(settings, "admin"))
    print(
        f"""
CCVC Gateway demo on http://{args.host}:{args.port}/graphql  (GraphiQL in a browser)
Every account's password is '{DEMO_PASSWORD}' (admin, analyst, hr.BNV, SH00000001, ...; `ccvc accounts list`).

Try it:
curl -s http://{args.host}:{args.port}/graphql \\
  -H 'Authorization: Bearer {token}' \\
  -H 'Content-Type: application/json' \\
  -d '{{"query": "{{ officials(first: 5, filter: {{name: \\"nguyen van\\"}}) {{ totalCount nodes {{ code fullName birthDate rank {{ label }} unit {{ name }} }} }} }}"}}'
"""
    )
    return cmd_serve(settings, args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ccvc",
        description="CCVC Gateway: the GraphQL door to the national database of cadres, civil servants "
        "and public employees. Settings come from CCVC_* environment variables "
        "(CCVC_DATABASE_URL, CCVC_KEYS_DIR, CCVC_ENV, ...).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="create or migrate the schema at CCVC_DATABASE_URL").set_defaults(run=cmd_db_upgrade)

    seed = commands.add_parser("seed", help="fill an empty database with deterministic synthetic data")
    seed.add_argument("--officials", type=int, required=True, help="how many officials")
    seed.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")
    seed.add_argument("--password", default=DEMO_PASSWORD, help="password of every seeded account ('' for none)")
    seed.set_defaults(run=cmd_seed)

    acc = commands.add_parser("accounts", help="accounts").add_subparsers(dest="accounts_command", required=True)
    listing = acc.add_parser("list", help="list accounts (username, kind, roles, unit)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument("--kind", action="append", choices=("official", "staff", "agency"), help="only this kind")
    listing.set_defaults(run=cmd_accounts_list)

    token = commands.add_parser("token", help="print an access token for an account (last line of output)")
    token.add_argument("--account", required=True, help="username")
    token.set_defaults(run=cmd_token)

    keys = commands.add_parser("keys", help="signing keys").add_subparsers(dest="keys_command", required=True)
    keys.add_parser("generate", help="create the first signing key in CCVC_KEYS_DIR").set_defaults(
        run=cmd_keys_generate
    )
    keys.add_parser(
        "rotate", help="make a new signing key active; the old one is retired but still published and verifying"
    ).set_defaults(run=cmd_keys_rotate)
    key_listing = keys.add_parser("list", help="list the signing keys (kid, status, created, origin)")
    key_listing.add_argument("--json", action="store_true", help="print JSON")
    key_listing.set_defaults(run=cmd_keys_list)

    receipts = commands.add_parser(
        "receipts",
        help="verify receipts offline",
        description="Check a receipt, the data it covers and its place in the receipt log with nothing but "
        "files: no network, no database. See docs/receipts.md for the format.",
    ).add_subparsers(dest="receipts_command", required=True)
    verify = receipts.add_parser(
        "verify",
        help="verify a receipt, and optionally the data, an inclusion proof and a trusted checkpoint",
        description="Exit status 0 when every check given passes, 1 otherwise.",
    )
    verify.add_argument(
        "--receipt", required=True, metavar="R", help="the JWS, a file holding it, or a saved GraphQL response"
    )
    verify.add_argument(
        "--data", metavar="FILE", help="the response (or its `data`) as JSON, or the exported file itself"
    )
    verify.add_argument("--jwks", metavar="FILE", help="the gateway's /.well-known/jwks.json (default: local keys)")
    verify.add_argument("--proof", metavar="FILE", help="GET /receipts/{rid}/proof, saved")
    verify.add_argument(
        "--checkpoint", metavar="FILE", help="a checkpoint you already trust (GET /log/checkpoint, saved)"
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(run=cmd_receipts_verify)
    consistent = receipts.add_parser(
        "verify-consistency",
        help="check that a newer checkpoint's log extends an older one's (nothing rewritten)",
    )
    consistent.add_argument("--old", required=True, metavar="FILE", help="the older checkpoint")
    consistent.add_argument("--new", required=True, metavar="FILE", help="the newer checkpoint")
    consistent.add_argument("--proof", required=True, metavar="FILE", help="GET /log/consistency?from=M&to=N, saved")
    consistent.add_argument("--jwks", metavar="FILE", help="the gateway's /.well-known/jwks.json")
    consistent.set_defaults(run=cmd_receipts_consistency)

    partners = commands.add_parser("agencies", help="partner agencies and the public keys they sign assertions with")
    agency_commands = partners.add_subparsers(dest="agencies_command", required=True)
    register = agency_commands.add_parser(
        "register-key", help="register an agency's P-256 public key (PEM); prints the kid its assertions must carry"
    )
    register.add_argument("--agency", required=True, help="agency code (bhxh, BTC, ...)")
    register.add_argument("--public-key", required=True, metavar="FILE", help="PEM SubjectPublicKeyInfo, EC P-256")
    register.set_defaults(run=cmd_agencies_register_key)
    revoke = agency_commands.add_parser("revoke-key", help="revoke a registered key at once")
    revoke.add_argument("--kid", required=True, help="the key's kid (`ccvc agencies list`)")
    revoke.set_defaults(run=cmd_agencies_revoke_key)
    agency_listing = agency_commands.add_parser("list", help="list agencies (code, name, active key ids)")
    agency_listing.add_argument("--json", action="store_true", help="print JSON")
    agency_listing.set_defaults(run=cmd_agencies_list)

    written = commands.add_parser(
        "grants",
        help="written grants: let an account read more officials' data than its role allows",
        description="A written grant records a ministry's or province's written consent (its document "
        "number) that an account may read more fields of some of its officials, for a period. Only the "
        "personnel department of those officials' ministry or province (hr.<CODE>) or admin may make or "
        "revoke one; --as names the account acting, and the same checks as the GraphQL API apply. "
        "Refusals print their code (FORBIDDEN, BAD_USER_INPUT, NOT_FOUND, ...) and exit with status 1.",
    )
    grant_commands = written.add_subparsers(dest="grants_command", required=True)
    create = grant_commands.add_parser(
        "create",
        help="record a grant for a unit's whole subtree or for named officials",
        description="Record a written grant. Give either --unit or --officials. Dates are Vietnam "
        "calendar days, both included.",
    )
    create.add_argument("--as", dest="acting", required=True, metavar="USERNAME", help="account acting (hr.BNV, admin)")
    create.add_argument("--grantee", required=True, metavar="USERNAME", help="account allowed to read more")
    target = create.add_mutually_exclusive_group(required=True)
    target.add_argument("--unit", metavar="UNIT", help="unit code (BNV.VP) or id: the unit and every unit below it")
    target.add_argument("--officials", metavar="ID[,ID...]", help="official ids, one ministry or province only")
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
    create.set_defaults(run=cmd_grants_create)
    revoke_grant = grant_commands.add_parser(
        "revoke", help="revoke a grant from now on (the record of it stays)", description="Revoke a grant at once."
    )
    revoke_grant.add_argument("--as", dest="acting", required=True, metavar="USERNAME", help="account acting")
    revoke_grant.add_argument("--id", required=True, metavar="GRANT_ID", help="the grant's id (`ccvc grants list`)")
    revoke_grant.add_argument("--json", action="store_true", help="print JSON")
    revoke_grant.set_defaults(run=cmd_grants_revoke)
    grant_listing = grant_commands.add_parser(
        "list",
        help="list grants, newest first (state: active, upcoming, expired or revoked)",
        description="Grants of the ministries or provinces whose personnel --as manages (all of them for "
        "admin); for any other account, the grants made to it.",
    )
    grant_listing.add_argument("--as", dest="acting", required=True, metavar="USERNAME", help="account acting")
    grant_listing.add_argument("--grantee", metavar="USERNAME", help="only the grants made to this account")
    grant_listing.add_argument("--in-force", action="store_true", help="only the grants in force today")
    grant_listing.add_argument("--json", action="store_true", help="print JSON")
    grant_listing.set_defaults(run=cmd_grants_list)

    for name, helptext in (("serve", "serve the gateway"), ("demo", "create a demo database if missing, then serve")):
        server = commands.add_parser(name, help=helptext)
        server.add_argument("--host", default="127.0.0.1")
        server.add_argument("--port", type=int, default=8000)
        server.add_argument("--workers", type=int, default=1)
        server.set_defaults(run=cmd_serve if name == "serve" else cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(get_settings(), args))
    except DomainError as error:
        return _fail(error.message)


if __name__ == "__main__":
    sys.exit(main())
