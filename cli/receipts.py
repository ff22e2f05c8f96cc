"""`ccvc receipts verify` and `ccvc receipts verify-consistency`: everything a holder of a receipt needs,
from files alone (no network, no database)."""

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from cli._common import Commands, print_json
from db.errors import DomainError
from evidence.crypto import KeyRing, PublicKeys
from evidence.keyfiles import has_key_ring
from evidence.receipts import verify_consistency_proof, verify_inclusion_proof, verify_receipt
from gateway.config import Settings


def _read_text(argument: str, what: str) -> str:
    path = Path(argument)
    if path.is_file():
        try:
            return path.read_text(encoding="utf-8").strip()
        except UnicodeDecodeError:
            raise DomainError(f"{what}: '{argument}' is not UTF-8 text") from None
    if argument.startswith("ey") and argument.count(".") == 2:
        return argument  # the JWS itself on the command line
    raise DomainError(f"{what}: no file '{argument}'")


def _read_json(path: str | None, what: str) -> Any:
    if path is None:
        return None
    try:
        return orjson.loads(Path(path).read_bytes())
    except FileNotFoundError:
        raise DomainError(f"{what}: no file '{path}'") from None
    except orjson.JSONDecodeError:
        raise DomainError(f"{what}: '{path}' is not JSON") from None


def _receipt_argument(argument: str) -> str:
    """A JWS, or a file holding one, or a file holding a GraphQL response with `extensions.receipt`."""
    text = _read_text(argument, "--receipt")
    if text.startswith("{"):
        try:
            document = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise DomainError("--receipt: the file starts like JSON but is not JSON") from None
        extensions = document.get("extensions") if isinstance(document, dict) else None
        receipt = (extensions if isinstance(extensions, dict) else {}).get("receipt") or document.get("receipt")
        if not isinstance(receipt, str):
            raise DomainError("--receipt: the JSON holds no `extensions.receipt` or `receipt`")
        return receipt
    return text


def _data_argument(path: str | None, kind: str | None) -> Any:
    """The data a receipt covers: an export file's bytes; or a response's `data` member, from a file
    holding the whole response (`{"data": ..., "extensions": ...}`) or the data alone."""
    if path is None:
        return None
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise DomainError(f"--data: no file '{path}'") from None
    if kind == "export":
        return raw
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw  # not JSON: it cannot match, and the report will say so
    if isinstance(document, dict) and "data" in document and set(document) <= {"data", "errors", "extensions"}:
        return document["data"]
    return document


def _public_keys(settings: Settings, jwks_path: str | None) -> PublicKeys:
    if jwks_path is not None:
        return PublicKeys.from_jwks(_read_json(jwks_path, "--jwks"))
    if has_key_ring(settings.keys_dir):
        return KeyRing.load(settings.keys_dir, create=False).public_keys()
    raise DomainError("Give --jwks FILE (the gateway's /.well-known/jwks.json)")


def cmd_receipts_verify(settings: Settings, args: argparse.Namespace) -> int:
    keys = _public_keys(settings, args.jwks)
    receipt = _receipt_argument(args.receipt)
    check = verify_receipt(receipt, keys)
    kind = check.payload.get("kind") if check.payload else None
    data = _data_argument(args.data, kind)
    if data is not None and check.payload is not None:
        check = verify_receipt(receipt, keys, data=data)
    problems = list(check.problems)
    proof, trusted = _read_json(args.proof, "--proof"), _read_json(args.checkpoint, "--checkpoint")
    inclusion = None if proof is None else verify_inclusion_proof(receipt, proof, keys, trusted=trusted)
    problems += inclusion or []
    if proof is None and trusted is not None:
        problems.append("--checkpoint needs --proof (the receipt's inclusion proof at that tree size)")
    report = {
        "valid": not problems,
        "problems": problems,
        "checked": {
            "signature": check.signature_valid,
            "data": check.data_matches,
            "inclusion": None if inclusion is None else not inclusion,
        },
        "kid": check.kid,
        "key_status": check.key_status,
        "receipt": check.payload,
    }
    if args.json:
        print_json(report)
    else:
        _print_report(report)
    return 0 if not problems else 1


def _print_report(report: dict[str, Any]) -> None:
    payload = report["receipt"] or {}
    if payload:
        print(
            f"Receipt {payload.get('rid')} (log index {payload.get('log_index')}), issued {_when(payload.get('iat'))}"
        )
        agency = f" (agency {payload['agency']})" if payload.get("agency") else ""
        print(f"  to {payload.get('sub')}{agency}, basis {', '.join(payload.get('basis', [])) or 'none cited'}")
        print(f"  {payload.get('officials', {}).get('count')} officials, policy {payload.get('policy_version')}")
        print(f"  signed by key {report['kid']} ({report['key_status']})")
    for name, outcome in report["checked"].items():
        print(f"  {name:<10} {'not checked' if outcome is None else 'ok' if outcome else 'FAILED'}")
    for problem in report["problems"]:
        print(f"  problem: {problem}")
    print("VALID" if report["valid"] else "NOT VALID")


def _when(iat: Any) -> str:
    """`iat` as UTC time for a person, the epoch seconds beside it for a machine."""
    if not isinstance(iat, int) or isinstance(iat, bool):
        return repr(iat)
    return f"{datetime.fromtimestamp(iat, UTC).isoformat().replace('+00:00', 'Z')} ({iat})"


def cmd_receipts_consistency(settings: Settings, args: argparse.Namespace) -> int:
    keys = _public_keys(settings, args.jwks)
    proof = _read_json(args.proof, "--proof")
    problems = verify_consistency_proof(_read_json(args.old, "--old"), _read_json(args.new, "--new"), proof, keys)
    for problem in problems:
        print(f"problem: {problem}")
    print("CONSISTENT: the newer log extends the older one" if not problems else "NOT CONSISTENT")
    return 0 if not problems else 1


def register(commands: Commands) -> None:
    group = commands.add_parser(
        "receipts",
        help="verify receipts offline",
        description="Check a receipt, the data it covers and its place in the receipt log with nothing but "
        "files: no network, no database. See docs/receipts.md for the format.",
    ).add_subparsers(dest="receipts_command", required=True)
    verify = group.add_parser(
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
    consistent = group.add_parser(
        "verify-consistency",
        help="check that a newer checkpoint's log extends an older one's (nothing rewritten)",
    )
    consistent.add_argument("--old", required=True, metavar="FILE", help="the older checkpoint")
    consistent.add_argument("--new", required=True, metavar="FILE", help="the newer checkpoint")
    consistent.add_argument("--proof", required=True, metavar="FILE", help="GET /log/consistency?from=M&to=N, saved")
    consistent.add_argument("--jwks", metavar="FILE", help="the gateway's /.well-known/jwks.json")
    consistent.set_defaults(run=cmd_receipts_consistency)
