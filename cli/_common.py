"""What every command shares: settings read with one-line errors, the database opened only when its
schema is there (and never created by accident), and JSON output."""

import argparse
import asyncio
import os
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeAlias, TypeVar

import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db import migrate
from db.engine import create_engine
from db.queries import agencies
from evidence.keyfiles import public_jwk_from_pem, thumbprint
from gateway.config import Settings

T = TypeVar("T")
# What each command group's `register` adds its parsers to.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # argparse has no public name


class CommandError(Exception):
    """A failure the operator can fix: printed as one line on stderr, exit status `status`."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def load_settings() -> Settings:
    """Settings from the CCVC_* environment; a bad value is named with the variable that holds it."""
    try:
        return Settings()
    except ValidationError as error:
        raise CommandError("; ".join(_problem(detail) for detail in error.errors())) from None


def _problem(detail: Any) -> str:
    message = str(detail["msg"]).removeprefix("Value error, ")
    if not detail["loc"]:
        return message
    variable = "CCVC_" + "_".join(str(part) for part in detail["loc"]).upper()
    return f"{variable}={os.environ.get(variable, '')!r}: {message}"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An engine on CCVC_DATABASE_URL whose schema is present and current: a command pointed at the
    wrong place says so in one line and leaves nothing behind (SQLite would create an empty file)."""
    state = await migrate.schema_state(settings.database_url)
    if not state.current:
        raise CommandError(schema_message(state, settings.database_url))
    engine = create_engine(settings.database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def agency_id(conn: AsyncConnection, code: str) -> int:
    """The id of the agency `code` names; an unknown code is the operator's to fix."""
    agency = await agencies.get_by_code(conn, code)
    if agency is None:
        raise CommandError(f"No agency with code '{code}' (`ccvc agencies list` shows them)")
    return int(agency.id)


def program() -> str:
    """How the operator invoked us (`.venv/bin/ccvc`, `ccvc`), so a hint can be pasted as it is."""
    invoked = sys.argv[0] if sys.argv and os.path.basename(sys.argv[0]) == "ccvc" else "ccvc"
    if os.path.isabs(invoked) and invoked.startswith(os.getcwd() + os.sep):
        return os.path.relpath(invoked)
    return invoked


def schema_message(state: migrate.SchemaState, url: str) -> str:
    where = migrate.display(url)
    match state.status:
        case "missing":
            return (
                f"No database at {state.detail} (CCVC_DATABASE_URL): `make demo` creates one with synthetic "
                f"data, `{program()} db upgrade` an empty one"
            )
        case "unreachable":
            return f"Cannot use the database at {where}: {state.detail}"
        case "empty":
            return f"The database at {where} has no schema yet: run `{program()} db upgrade`"
        case "behind":
            return (
                f"The database at {where} is at schema revision {state.revision}, this gateway needs "
                f"{migrate.head()}: run `{program()} db upgrade`"
            )
        case _:
            return (
                f"The database at {where} is at schema revision {state.revision}, which this gateway does not "
                "know: a newer version wrote it"
            )


def print_json(value: Any) -> None:
    print(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


def read_file(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise CommandError(f"cannot read {what} '{path}': {error.strerror}") from None


def read_public_key(path: str) -> tuple[dict[str, str], str]:
    """A P-256 public key (PEM) someone registers, as a JWK, and its kid (the RFC 7638 thumbprint)."""
    public_jwk = public_jwk_from_pem(read_file(path, "the public key"))
    return public_jwk, thumbprint(public_jwk)
