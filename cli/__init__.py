"""`ccvc`: the operator's command line. One module per command group; this one assembles them and
turns every failure into one line on stderr that names the problem (a traceback only with --debug)."""

import argparse
import os
import sys
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError

from cli import (
    accounts,
    agencies,
    audit,
    backups,
    database,
    documents,
    grants,
    keys,
    receipts,
    schema,
    serve,
    sign,
    sync,
)
from cli._common import CommandError, load_settings, program
from db.backups import BackupError
from db.errors import DomainError
from evidence.keyfiles import KeyConfigurationError
from gateway.config import Settings

GROUPS = (database, accounts, keys, agencies, documents, grants, receipts, sign, sync, schema, serve, backups, audit)
# Options whose values are opaque tokens that may begin with "-": a key id is an RFC 7638 thumbprint in
# base64url, and argparse would take `--kid -gg71…` for an option with no value.
OPAQUE_VALUES = frozenset({"--kid"})


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="ccvc",
        description="CCVC Gateway: the GraphQL door to the national database of cadres, civil servants "
        "and public employees. Settings come from CCVC_* environment variables (CCVC_DATABASE_URL, "
        "default ./var/ccvc.db, the database `make demo` builds; CCVC_KEYS_DIR; CCVC_ENV; ...).",
    )
    root.add_argument("--debug", action="store_true", help="on failure, print the full traceback too")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(commands)
    return root


def join_opaque_values(argv: Sequence[str]) -> list[str]:
    """`--kid VALUE` as `--kid=VALUE`, so that a value beginning with "-" is still its value."""
    out: list[str] = []
    items = iter(argv)
    for item in items:
        value = next(items, None) if item in OPAQUE_VALUES else None
        out.append(item if value is None else f"{item}={value}")
    return out


def main(argv: Sequence[str] | None = None, *, settings: Settings | None = None) -> int:
    args = parser().parse_args(join_opaque_values(sys.argv[1:] if argv is None else argv))
    try:
        return int(args.run(settings or load_settings(), args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): nothing more to say, and nowhere to say it.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (so the interpreter's final flush is silent)
        return 0
    except Exception as error:
        if args.debug:
            raise
        message, status = _describe(error)
        print(f"ccvc: {message}", file=sys.stderr)
        return status


def _describe(error: Exception) -> tuple[str, int]:
    """One line for the operator, and the exit status."""
    match error:
        case CommandError():
            return error.message, error.status
        case DomainError() | KeyConfigurationError():
            return str(error), 2
        case BackupError():
            return str(error), 1
        case SQLAlchemyError():
            original = getattr(error, "orig", None) or error
            detail = (str(original).strip().splitlines() or [type(original).__name__])[0]
            return f"the database failed: {detail} (`{program()} --debug ...` shows the traceback)", 1
        case OSError():
            return str(error), 1
        case _:
            return f"unexpected {type(error).__name__}: {error} (`{program()} --debug ...` shows the traceback)", 1
