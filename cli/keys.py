"""`ccvc keys generate | rotate | list`: the gateway's own signing keys (tokens, receipts, checkpoints);
`ccvc keys register | revoke | signers`: the public keys of the people who sign what the gateway accepts
(approvers' monthly approvals), whose private halves the gateway never holds."""

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from cli._common import CommandError, Commands, database, print_json, read_public_key, run
from db.queries import accounts, signers
from evidence.crypto import KeyRing
from evidence.keyfiles import generate_key, has_key_ring, rotate_key
from gateway.config import Settings


def cmd_keys_generate(settings: Settings, _: argparse.Namespace) -> int:
    if has_key_ring(settings.keys_dir):
        raise CommandError(
            f"'{settings.keys_dir}' already holds a key ring; `ccvc keys rotate` replaces its active key"
        )
    kid = generate_key(settings.keys_dir)
    print(f"Generated signing key {kid} in {settings.keys_dir}")
    return 0


def cmd_keys_rotate(settings: Settings, _: argparse.Namespace) -> int:
    if not has_key_ring(settings.keys_dir):
        raise CommandError(f"No key ring in '{settings.keys_dir}': `ccvc keys generate` makes the first key")
    kid, retired = rotate_key(settings.keys_dir)
    print(f"Key {kid} now signs; {retired} is retired and stays published so that what it signed verifies.")
    print("Running gateways pick the new key up within a second.")
    return 0


def cmd_keys_list(settings: Settings, args: argparse.Namespace) -> int:
    ring = KeyRing.load(settings.keys_dir, create=False)
    keys = [
        {"kid": k.kid, "status": k.status, "created": k.created, "retired": k.retired, "origin": k.origin}
        for k in ring.by_kid.values()
    ]
    if args.json:
        print_json(keys)
        return 0
    for key in keys:
        print(f"{key['kid']}  {key['status']:<8} created {key['created']}  {key['origin']}")
    return 0


async def _register(settings: Settings, username: str, public_jwk: dict[str, str], kid: str) -> None:
    async with database(settings) as engine, engine.begin() as conn:
        account = await accounts.get_by_username(conn, username)
        if account is None or account.disabled:
            raise CommandError(f"No enabled account '{username}' (`ccvc accounts list` shows them)")
        await signers.add_key(conn, account_id=account.id, kid=kid, public_jwk=public_jwk, now=datetime.now(UTC))


def cmd_keys_register(settings: Settings, args: argparse.Namespace) -> int:
    public_jwk, kid = read_public_key(args.public_key)
    run(_register(settings, args.account, public_jwk, kid))
    print(f"Registered a signing key for {args.account}; what it signs carries this kid:", file=sys.stderr)
    print(kid)
    return 0


async def _revoke(settings: Settings, kid: str) -> bool:
    async with database(settings) as engine, engine.begin() as conn:
        return await signers.revoke_key(conn, kid=kid, now=datetime.now(UTC))


def cmd_keys_revoke(settings: Settings, args: argparse.Namespace) -> int:
    if not run(_revoke(settings, args.kid)):
        raise CommandError(f"no active signer key {args.kid}")
    print(f"Revoked signer key {args.kid}: approvals signed with it are refused from now on.")
    return 0


async def _signers(settings: Settings) -> list[dict[str, Any]]:
    async with database(settings) as engine, engine.connect() as conn:
        rows = await signers.list_(conn)
    return [
        {
            "account": r.username,
            "kid": r.kid,
            "created": r.created_at.isoformat(),
            "revoked": r.revoked_at.isoformat() if r.revoked_at else None,
        }
        for r in rows
    ]


def cmd_keys_signers(settings: Settings, args: argparse.Namespace) -> int:
    rows = run(_signers(settings))
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        state = f"revoked {row['revoked']}" if row["revoked"] else "active"
        print(f"{row['account']:<24} {row['kid']}  {state}")
    return 0


def register(commands: Commands) -> None:
    group = commands.add_parser("keys", help="the gateway's signing keys").add_subparsers(
        dest="keys_command", required=True
    )
    group.add_parser("generate", help="create the first signing key in CCVC_KEYS_DIR").set_defaults(
        run=cmd_keys_generate
    )
    group.add_parser(
        "rotate", help="make a new signing key active; the old one is retired but still published and verifying"
    ).set_defaults(run=cmd_keys_rotate)
    listing = group.add_parser("list", help="list the signing keys (kid, status, created, origin)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=cmd_keys_list)
    registering = group.add_parser(
        "register",
        help="register the P-256 public key (PEM) an account signs approvals with; prints its kid",
        description="Register a signer's public key: an approver (approver.BNV) signs each month's batch with "
        "the private half, which never leaves them. Make a pair with openssl: `openssl genpkey -algorithm EC "
        "-pkeyopt ec_paramgen_curve:P-256 -out approver.pem` and `openssl pkey -in approver.pem -pubout -out "
        "approver.pub.pem`.",
    )
    registering.add_argument("--account", required=True, help="the signer's username (approver.BNV, ...)")
    registering.add_argument("--public-key", required=True, metavar="FILE", help="PEM SubjectPublicKeyInfo, EC P-256")
    registering.set_defaults(run=cmd_keys_register)
    revoking = group.add_parser("revoke", help="revoke a signer's key at once (`ccvc keys signers` lists them)")
    revoking.add_argument("--kid", required=True, help="the key's kid")
    revoking.set_defaults(run=cmd_keys_revoke)
    signing = group.add_parser("signers", help="list the signers' registered keys (account, kid, state)")
    signing.add_argument("--json", action="store_true", help="print JSON")
    signing.set_defaults(run=cmd_keys_signers)
