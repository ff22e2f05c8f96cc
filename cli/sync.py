"""`ccvc sync export`: a ministry's gateway signs the approved records of a month's batches for the
national gateway, with the key MOHA issued the ministry; and `ccvc ministries register-key`, on the
national side, registers the public half of that key."""

import argparse
import sys
from datetime import UTC, datetime

from cli._common import CommandError, Commands, database, read_file, read_public_key, run
from db.queries import sync
from gateway.config import Settings
from resolvers.sync import bundle_payload, sign_bundle


async def _export(settings: Settings, unit_code: str, period: str, private_pem: bytes) -> str:
    async with database(settings) as engine, engine.connect() as conn:
        unit = await sync.unit_by_code(conn, code=unit_code)
        if unit is None:
            raise CommandError(f"No unit '{unit_code}' (a ministry's or province's code, or one of its units')")
        ministry = await sync.unit_by_id(conn, unit_id=unit.top_unit_id)
        assert ministry is not None  # every unit's top-level unit exists (foreign key)
        payload = await bundle_payload(conn, unit, ministry, period, datetime.now(UTC))
    print(f"{len(payload['records'])} records of {len(payload['approvals'])} approvals", file=sys.stderr)
    return sign_bundle(payload, private_pem)


def cmd_sync_export(settings: Settings, args: argparse.Namespace) -> int:
    print(run(_export(settings, args.unit, args.period, read_file(args.key, "the ministry's private key"))))
    return 0


async def _register(settings: Settings, code: str, public_jwk: dict[str, str], kid: str) -> None:
    async with database(settings) as engine, engine.begin() as conn:
        ministry = await sync.top_unit(conn, code=code)
        if ministry is None:
            raise CommandError(f"No ministry or province '{code}' (a top-level unit's code: BNV, HNI, ...)")
        await sync.add_ministry_key(
            conn, ministry_id=ministry.id, kid=kid, public_jwk=public_jwk, now=datetime.now(UTC)
        )


def cmd_register_key(settings: Settings, args: argparse.Namespace) -> int:
    public_jwk, kid = read_public_key(args.public_key)
    run(_register(settings, args.ministry, public_jwk, kid))
    print(f"Registered a key for {args.ministry}; its bundles carry this kid:", file=sys.stderr)
    print(kid)
    return 0


def register(commands: Commands) -> None:
    group = commands.add_parser(
        "sync", help="signed bundles of approved records, from a ministry's gateway to the national one"
    ).add_subparsers(dest="sync_command", required=True)
    exporting = group.add_parser(
        "export",
        help="print the month's approved records of a unit as a JWS signed with the ministry's key",
        description="The approvals of UNIT (and the units below it) for PERIOD and the records they changed, "
        "as approved now, signed with the ministry's EC P-256 key (ES256, typ ccvc-sync+jws). Send it to "
        "the national gateway: `curl --data-binary @bundle.jws https://…/sync/batches`.",
    )
    exporting.add_argument("--unit", required=True, help="a unit's code (BNV, BNV.VP, ...)")
    exporting.add_argument("--period", required=True, help="the month, YYYY-MM")
    exporting.add_argument("--key", required=True, metavar="FILE", help="the ministry's private key (PEM)")
    exporting.set_defaults(run=cmd_sync_export)
    ministries = commands.add_parser(
        "ministries", help="keys of the ministries and provinces whose bundles this gateway accepts"
    ).add_subparsers(dest="ministries_command", required=True)
    registering = ministries.add_parser(
        "register-key", help="register a ministry's P-256 public key (PEM), issued by MOHA; prints its kid"
    )
    registering.add_argument("--ministry", required=True, help="the ministry's or province's code (BNV, HNI, ...)")
    registering.add_argument("--public-key", required=True, metavar="FILE", help="PEM SubjectPublicKeyInfo, EC P-256")
    registering.set_defaults(run=cmd_register_key)
