"""`ccvc keys generate | rotate | list`: the gateway's own signing keys (tokens, receipts, checkpoints)."""

import argparse

from cli._common import CommandError, Commands, print_json
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
