"""`ccvc agencies`: partner agencies and the public keys their systems sign client assertions with;
and `assertion`, which signs one for a partner who would rather not write that code."""

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from cli._common import CommandError, Commands, agency_id, database, print_json, read_file, read_public_key, run
from db.queries import agencies
from evidence.crypto import sign_client_assertion
from gateway.config import Settings

MAX_ASSERTION_SECONDS = 300  # what the token endpoint accepts (README, Partner agencies)


async def _register_key(settings: Settings, code: str, public_jwk: dict[str, str], kid: str) -> None:
    async with database(settings) as engine, engine.begin() as conn:
        await agencies.add_key(
            conn, agency_id=await agency_id(conn, code), kid=kid, public_jwk=public_jwk, now=datetime.now(UTC)
        )


def cmd_register_key(settings: Settings, args: argparse.Namespace) -> int:
    public_jwk, kid = read_public_key(args.public_key)
    run(_register_key(settings, args.agency, public_jwk, kid))
    # The kid is what the agency puts in its assertions' header: last line, alone, for scripts.
    print(f"Registered a key for agency {args.agency}; its assertions must carry this kid:", file=sys.stderr)
    print(kid)
    return 0


async def _revoke_key(settings: Settings, kid: str) -> bool:
    async with database(settings) as engine, engine.begin() as conn:
        return await agencies.revoke_key(conn, kid=kid, now=datetime.now(UTC))


def cmd_revoke_key(settings: Settings, args: argparse.Namespace) -> int:
    if not run(_revoke_key(settings, args.kid)):
        raise CommandError(f"no active key {args.kid}")
    print(f"Revoked key {args.kid}: assertions signed with it are refused from now on.")
    return 0


async def _agencies(settings: Settings) -> list[dict[str, Any]]:
    async with database(settings) as engine, engine.connect() as conn:
        rows = await agencies.list_(conn)
        kids = await agencies.active_kids(conn)
    return [{"code": r.code, "name": r.name, "kids": kids.get(r.id, [])} for r in rows]


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    rows = run(_agencies(settings))
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        print(f"{row['code']:<12} {row['name']:<48} {' '.join(row['kids']) or '(no active key)'}")
    return 0


def cmd_assertion(settings: Settings, args: argparse.Namespace) -> int:
    if not 1 <= args.lifetime <= MAX_ASSERTION_SECONDS:
        raise CommandError(f"--lifetime must be 1 to {MAX_ASSERTION_SECONDS} seconds")
    assertion = sign_client_assertion(
        read_file(args.key, "the private key"),
        client_id=f"agency.{args.agency}",
        audience=args.audience or settings.issuer,
        lifetime_seconds=args.lifetime,
    )
    print(assertion)
    return 0


def register(commands: Commands) -> None:
    group = commands.add_parser(
        "agencies", help="partner agencies and the public keys they sign assertions with"
    ).add_subparsers(dest="agencies_command", required=True)
    registering = group.add_parser(
        "register-key", help="register an agency's P-256 public key (PEM); prints the kid its assertions must carry"
    )
    registering.add_argument("--agency", required=True, help="agency code (bhxh, BTC, ...)")
    registering.add_argument("--public-key", required=True, metavar="FILE", help="PEM SubjectPublicKeyInfo, EC P-256")
    registering.set_defaults(run=cmd_register_key)
    revoking = group.add_parser("revoke-key", help="revoke a registered key at once")
    revoking.add_argument("--kid", required=True, help="the key's kid (`ccvc agencies list`)")
    revoking.set_defaults(run=cmd_revoke_key)
    listing = group.add_parser("list", help="list agencies (code, name, active key ids)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=cmd_list)
    asserting = group.add_parser(
        "assertion",
        help="sign a client assertion with an agency's private key (for the client_credentials grant)",
        description="Print a fresh, single-use client assertion (RFC 7523, ES256) for the account "
        "agency.CODE, signed with the agency's private key, whose kid is the key's thumbprint: what "
        "`register-key` printed. It needs no database: a partner runs it on its own premises.",
    )
    asserting.add_argument("--agency", required=True, help="agency code (bhxh, BTC, ...): the client is agency.CODE")
    asserting.add_argument("--key", required=True, metavar="FILE", help="the agency's EC P-256 private key (PEM)")
    asserting.add_argument("--audience", help="the gateway's issuer identifier (default: CCVC_ISSUER, ccvc-gateway)")
    asserting.add_argument("--lifetime", type=int, default=60, help="seconds until it expires (default 60, max 300)")
    asserting.set_defaults(run=cmd_assertion)
