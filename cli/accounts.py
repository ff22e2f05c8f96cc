"""`ccvc accounts list` and `ccvc token`."""

import argparse
import sys
from typing import Any

from cli._common import CommandError, Commands, database, print_json, run
from db.queries import accounts
from evidence.keyfiles import has_key_ring
from gateway.auth import Authenticator, load_keys
from gateway.config import Settings


async def _accounts(settings: Settings, kinds: frozenset[str]) -> list[dict[str, Any]]:
    async with database(settings) as engine, engine.connect() as conn:
        rows = await accounts.list_(conn, kinds=kinds)
    return [
        {"username": r.username, "kind": r.kind, "roles": r.roles.split(), "unit": r.unit_code, "agency": r.agency_code}
        for r in rows
    ]


def cmd_accounts_list(settings: Settings, args: argparse.Namespace) -> int:
    rows = run(_accounts(settings, frozenset(args.kind or ())))
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        print(
            f"{row['username']:<32} {row['kind']:<9} {' '.join(row['roles']):<10} {row['unit'] or row['agency'] or ''}"
        )
    return 0


async def issue_token(settings: Settings, username: str, *, create_keys: bool = False) -> str:
    """A token signed with the gateway's keys. Only the demo makes a key here: a token from a key the
    running gateway does not hold (a mistyped CCVC_KEYS_DIR) would be refused by it."""
    async with database(settings) as engine:
        async with engine.connect() as conn:
            row = await accounts.get_by_username(conn, username)
        if row is None or row.disabled:
            raise CommandError(f"No enabled account named '{username}' (`ccvc accounts list` shows them)")
        if not create_keys and not has_key_ring(settings.keys_dir):
            raise CommandError(
                f"No signing keys in '{settings.keys_dir.resolve()}' (CCVC_KEYS_DIR): the gateway makes a development "
                "key the first time it serves (`make demo`); run this where it runs, or `ccvc keys generate`"
            )
        return Authenticator(settings, load_keys(settings, create=create_keys), engine).issue(username)


def cmd_token(settings: Settings, args: argparse.Namespace) -> int:
    token = run(issue_token(settings, args.account))
    print(f"Access token for {args.account} (valid {settings.token_ttl_seconds} s):", file=sys.stderr)
    print(token)
    return 0


def register(commands: Commands) -> None:
    group = commands.add_parser("accounts", help="accounts").add_subparsers(dest="accounts_command", required=True)
    listing = group.add_parser("list", help="list accounts (username, kind, roles, unit)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument("--kind", action="append", choices=("official", "staff", "agency"), help="only this kind")
    listing.set_defaults(run=cmd_accounts_list)

    token = commands.add_parser("token", help="print an access token for an account (last line of output)")
    token.add_argument("--account", required=True, help="username")
    token.set_defaults(run=cmd_token)
