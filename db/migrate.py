"""Alembic, driven from code so `ccvc db upgrade` needs no alembic.ini on the operator's machine; and
the check that a database has the schema this code expects, before anything uses it."""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from db.engine import create_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


@cache
def head() -> str:
    """The schema revision this code was written for."""
    revision = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert revision is not None, "the migrations directory has no revision"
    return revision


@cache
def later_than_head(revision: str) -> bool:
    """Whether `revision` is none of this code's migrations: a later release's, applied before this process
    is replaced (migrations are backwards-compatible, so the code before them keeps serving meanwhile)."""
    try:
        return ScriptDirectory.from_config(alembic_config("")).get_revision(revision) is None
    except CommandError:
        return True


def display(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL (None for PostgreSQL or an in-memory database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


@dataclass(frozen=True, slots=True)
class SchemaState:
    """What is at a database URL: `missing` (no SQLite file), `unreachable`, `empty` (no schema),
    `behind` or `unknown` (a revision this code does not know: a newer gateway wrote it), or `current`."""

    status: str
    revision: str | None = None
    detail: str = ""

    @property
    def current(self) -> bool:
        return self.status == "current"


async def schema_state(url: str) -> SchemaState:
    """Looks without creating anything: SQLite would make an empty file on connect, so a missing file
    is reported before any connection is opened."""
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        return SchemaState("missing", detail=str(path.resolve()))
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            if not await has_version_table(conn):
                return SchemaState("empty")
            revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except Exception as error:  # a probe: whatever the driver raises (no such database, refused, ...) is the answer
        return SchemaState("unreachable", detail=_first_line(error))
    finally:
        await engine.dispose()
    if revision == head():
        return SchemaState("current", revision)
    return SchemaState("behind" if _known(revision) else "unknown", revision)


def _known(revision: str | None) -> bool:
    try:
        return (
            revision is not None and ScriptDirectory.from_config(alembic_config("")).get_revision(revision) is not None
        )
    except CommandError:
        return False


async def has_version_table(conn: AsyncConnection) -> bool:
    return bool(await conn.run_sync(lambda sync: inspect(sync).has_table("alembic_version")))


def _first_line(error: BaseException) -> str:
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__
