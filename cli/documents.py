"""`ccvc documents`: the trusted documents of partner agencies (the GraphQL operations an agency's systems
may run, reviewed and registered here), and whether an agency's agreement lets it introspect the schema.

A document is named by the SHA-256 of its exact UTF-8 text (`sha256sum FILE` gives the same hex); a
request sends `documentId: "sha256:<hex>"` instead of the text (docs/partners.md)."""

import argparse
import getpass
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, parse, specified_rules
from strawberry.schema.schema import validate_document

from cli._common import CommandError, Commands, agency_id, database, print_json, run
from db.queries import agreements, documents
from gateway.config import Settings
from gateway.documents import PREFIX, document_id, parse_document_id


@dataclass(frozen=True, slots=True)
class Document:
    path: str
    text: str
    sha256: str
    operation_names: list[str]


def _read(path: str) -> str:
    try:
        return Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise CommandError(f"{path}: not UTF-8 text") from None


def _problems(settings: Settings, text: str) -> tuple[list[str], list[str]]:
    """The document's operation names, and why it cannot be registered (nothing when it can): what the
    gateway itself would refuse before running it (syntax, the limits, validation)."""
    from gateway.app import schema_for  # the schema's types: a second's import only `register` needs
    from schema.common import core
    from schema.limits import Limits
    from schema.shape import measure

    try:
        document = parse(text, max_tokens=settings.max_query_tokens)
    except GraphQLError as error:
        return [], [_located(error)]
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if not operations:
        return [], ["no operation (query, mutation or subscription) to run"]
    limits = Limits(
        max_fields=settings.max_query_fields,
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_cost=settings.max_query_cost,
        max_statements=settings.max_query_statements,
    )
    refusal = limits.refusal(measure(document))
    if refusal is not None:
        return [], [refusal]
    errors = validate_document(core(schema_for(settings)), document, tuple(specified_rules))
    names = sorted(o.name.value for o in operations if o.name is not None)
    return names, [_located(error) for error in errors]


def _located(error: GraphQLError) -> str:
    where = error.locations[0] if error.locations else None
    return f"{where.line}:{where.column}: {error.message}" if where else error.message


def _checked(settings: Settings, paths: list[str]) -> list[Document]:
    """Every file as a document, or a refusal naming each problem of each file (nothing is registered)."""
    checked, refused = [], []
    for path in paths:
        text = _read(path)
        names, problems = _problems(settings, text)
        refused += [f"{path}:{problem}" for problem in problems]
        checked.append(Document(path, text, document_id(text), names))
    if refused:
        raise CommandError("refused, nothing registered:\n  " + "\n  ".join(refused))
    return checked


async def _register(settings: Settings, code: str, checked: list[Document], by: str) -> list[bool]:
    async with database(settings) as engine, engine.begin() as conn:
        agency = await agency_id(conn, code)
        now = datetime.now(UTC)
        return [
            await documents.register(
                conn,
                agency_id=agency,
                sha256=d.sha256,
                document=d.text,
                operation_names=d.operation_names,
                registered_by=by,
                now=now,
            )
            for d in checked
        ]


def cmd_register(settings: Settings, args: argparse.Namespace) -> int:
    checked = _checked(settings, args.files)
    created = run(_register(settings, args.agency, checked, args.by or _operator()))
    for document, new in zip(checked, created, strict=True):
        # The id first, alone before a tab: what a partner's code sends (`cut -f1`).
        print(f"{PREFIX}{document.sha256}\t{document.path}\t{'registered' if new else 'already registered'}")
    return 0


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container's numeric user)
        return "operator"


async def _list(settings: Settings, code: str | None) -> list[dict[str, Any]]:
    async with database(settings) as engine, engine.connect() as conn:
        rows = await documents.list_(conn, agency_id=await agency_id(conn, code) if code is not None else None)
    return [
        {
            "id": PREFIX + r.sha256,
            "agency": r.agency,
            "operations": r.operation_names.split(),
            "registered_at": r.registered_at.isoformat(),
            "registered_by": r.registered_by,
            "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
        }
        for r in rows
    ]


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    rows = run(_list(settings, args.agency))
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        state = "revoked" if row["revoked_at"] else "active"
        operations = " ".join(row["operations"]) or "(anonymous)"
        print(
            f"{row['id']}  {row['agency']:<8} {state:<8} {row['registered_at'][:10]} {row['registered_by']:<12} {operations}"
        )
    return 0


async def _revoke(settings: Settings, digest: str, code: str | None) -> int:
    async with database(settings) as engine, engine.begin() as conn:
        agency = await agency_id(conn, code) if code is not None else None
        return await documents.revoke(conn, sha256=digest, agency_id=agency, now=datetime.now(UTC))


def cmd_revoke(settings: Settings, args: argparse.Namespace) -> int:
    digest = _digest(args.id)
    revoked = run(_revoke(settings, digest, args.agency))
    if not revoked:
        raise CommandError(f"no active document {PREFIX}{digest}{' of ' + args.agency if args.agency else ''}")
    print(
        f"Revoked {PREFIX}{digest} ({revoked} agenc{'y' if revoked == 1 else 'ies'}): it stops running within "
        f"CCVC_TRUSTED_DOCUMENTS_CACHE_SECONDS ({settings.trusted_documents_cache_seconds:g} s)."
    )
    return 0


def _digest(value: str) -> str:
    try:
        return parse_document_id(value)
    except Exception:  # cross_web's HTTPException: the same rule, said for the command line
        raise CommandError(f"not a document id: {value!r} (sha256:<64 hexadecimal digits>)") from None


async def _introspection(settings: Settings, code: str, allowed: bool) -> int:
    async with database(settings) as engine, engine.begin() as conn:
        return await agreements.set_introspection(conn, agency_id=await agency_id(conn, code), allowed=allowed)


def cmd_introspection(settings: Settings, args: argparse.Namespace) -> int:
    allowed = args.decision == "allow"
    changed = run(_introspection(settings, args.agency, allowed))
    if not changed:
        raise CommandError(f"agency {args.agency} has no agreement to change")
    verb = "may" if allowed else "may not"
    print(f"Agency {args.agency} {verb} introspect the schema ({changed} agreement(s)).", file=sys.stderr)
    return 0


def register(commands: Commands) -> None:
    group = commands.add_parser(
        "documents", help="partner agencies' trusted documents (the operations they may run by id)"
    ).add_subparsers(dest="documents_command", required=True)
    registering = group.add_parser(
        "register",
        help="check GraphQL documents against the schema and register them for an agency; prints each id",
        description="Register each FILE (one GraphQL document, UTF-8) for the agency, after checking it as the "
        "gateway would (syntax, limits, schema): if any is refused, none is registered. Prints, for each, "
        "its id (sha256:<hex> of the file's exact bytes), the file and whether it was new. Registering the "
        "same text again changes nothing; a revoked one is registered anew.",
    )
    registering.add_argument("--agency", required=True, help="agency code (bhxh, BTC, ...)")
    registering.add_argument("--by", help="who reviewed and registers them (default: your login name)")
    registering.add_argument("files", nargs="+", metavar="FILE.graphql")
    registering.set_defaults(run=cmd_register)
    listing = group.add_parser("list", help="list registered documents (id, agency, state, date, by, operations)")
    listing.add_argument("--agency", help="only this agency's")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=cmd_list)
    revoking = group.add_parser("revoke", help="revoke a document: requests naming it (or sending it) are refused")
    revoking.add_argument("id", metavar="ID", help="the document's id, sha256:<hex> (or the bare hex)")
    revoking.add_argument("--agency", help="only this agency's registration (default: every agency's)")
    revoking.set_defaults(run=cmd_revoke)
    introspecting = group.add_parser(
        "introspection",
        help="let an agency introspect the schema (its agreements say so), or stop it",
        description="Where CCVC_PARTNER_INTROSPECTION=agreement (production's default), a partner agency may "
        "ask __schema and __type only when one of its agreements in force allows it.",
    )
    introspecting.add_argument("--agency", required=True, help="agency code (bhxh, BTC, ...)")
    introspecting.add_argument("decision", choices=("allow", "deny"))
    introspecting.set_defaults(run=cmd_introspection)
