"""Shared fixtures: a real seeded database per back end (SQLite always; PostgreSQL when
CCVC_TEST_POSTGRES_URL is set), and an HTTP client on the real ASGI app in front of it."""

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from db.engine import create_engine
from db.migrate import upgrade
from evidence.crypto import KeyRing
from gateway.app import create_app
from gateway.auth import Authenticator
from gateway.config import Settings
from seed import seed

OFFICIALS = 800
SEED = 7
PASSWORD_HASH_OF = "correct horse"

BACKENDS = ["sqlite"] + (["postgres"] if os.environ.get("CCVC_TEST_POSTGRES_URL") else [])

# The suite sends thousands of requests as partner agencies, as fast as it can and many at once: far
# past any agency's budget (gateway/budgets.py). Every gateway the tests start, in this process or as
# another, reads these unless it is given figures of its own, as tests/gateway/test_budgets.py does.
UNTHROTTLED = {
    "CCVC_AGENCY_POINTS_PER_SECOND": "1000000000",
    "CCVC_AGENCY_BURST": "1000000000",
    "CCVC_AGENCY_MAX_CONCURRENT": "1000",
}
for _name, _value in UNTHROTTLED.items():
    os.environ.setdefault(_name, _value)


def _postgres_url(suffix: str = "") -> str:
    """The database CI gave the suite; with several workers (pytest -n), one database each beside it;
    with `suffix`, another one beside those (for tests that change data the shared one must keep)."""
    url = make_url(os.environ["CCVC_TEST_POSTGRES_URL"]).set(drivername="postgresql+asyncpg")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker or suffix:
        url = url.set(database=f"{url.database}{'_' + worker if worker else ''}{suffix}")
    return url.render_as_string(hide_password=False)


async def _on_server(url: str, statement: str) -> None:
    """Run `statement` outside any transaction, connected to the server's maintenance database."""
    server = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    engine = create_engine(server).execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def _reset_postgres(url: str) -> None:
    name = make_url(url).database
    if os.environ.get("PYTEST_XDIST_WORKER") or name != make_url(os.environ["CCVC_TEST_POSTGRES_URL"]).database:
        await _on_server(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await _on_server(url, f'CREATE DATABASE "{name}"')
        return
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def prepare_database(backend: str, directory: Path, *, officials: int = OFFICIALS, suffix: str = "") -> str:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{directory / 'ccvc.db'}"
    else:
        url = _postgres_url(suffix)
        asyncio.run(_reset_postgres(url))
    upgrade(url)

    async def load() -> None:
        from gateway.passwords import hash_password

        engine = create_engine(url)
        await seed(engine, officials=officials, seed=SEED, password_hash=hash_password(PASSWORD_HASH_OF))
        await engine.dispose()

    asyncio.run(load())
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = prepare_database(request.param, tmp_path_factory.mktemp(request.param))
    yield url
    if request.param == "postgres" and os.environ.get("PYTEST_XDIST_WORKER"):
        asyncio.run(_on_server(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The gateway's settings for the session's database, with the key ring a served gateway would
    have made (commands such as `ccvc token` use it and never make one)."""
    keys = tmp_path_factory.mktemp("keys")
    KeyRing.load(keys, create=True)
    return Settings(env="test", database_url=database_url, keys_dir=keys)


T = TypeVar("T")


@dataclass
class Api:
    """The real app behind a test client, with helpers to act as any seeded account."""

    client: TestClient
    settings: Settings
    statements: list[str]

    @property
    def state(self) -> Any:
        """The app's state (engine, keys, scopes, reader, …): Starlette types `client.app` as any ASGI app."""
        app: Any = self.client.app
        return app.state

    def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """`work` on the app's own event loop (its engine's connections belong to it)."""
        portal = self.client.portal
        assert portal is not None, "the test client is not started"
        return portal.call(work)

    def token(self, username: str) -> str:
        return Authenticator(self.settings, self.state.keys, self.state.engine).issue(username)

    def post(self, query: str, *, as_user: str = "admin", variables: dict[str, Any] | None = None) -> Any:
        response = self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token(as_user)}"},
        )
        assert response.status_code == 200, response.text
        return response.json()

    def data(self, query: str, **kwargs: Any) -> Any:
        body = self.post(query, **kwargs)
        assert "errors" not in body, body["errors"]
        return body["data"]

    def count_statements(self, query: str, **kwargs: Any) -> int:
        self.statements.clear()
        self.data(query, **kwargs)
        return len(self.statements)


@contextmanager
def running(settings: Settings, clock: Callable[[], datetime] | None = None) -> Iterator[Api]:
    """The gateway these settings make, started (its lifespan too) behind a test client until the block
    ends; every statement its engine runs is recorded in `statements`."""
    app = create_app(settings, clock=clock)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(app.state.engine.sync_engine, "before_cursor_execute", record)
    with TestClient(app) as client:
        yield Api(client=client, settings=settings, statements=statements)


@pytest.fixture(scope="session")
def api(settings: Settings) -> Iterator[Api]:
    with running(settings) as served:
        yield served


class Clock:
    """The time a gateway sees (create_app's `clock`), set by the test: a month's last days without
    waiting for them."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Writable:
    api: Api
    clock: Clock


@pytest.fixture(scope="module", params=BACKENDS)
def writable(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Writable]:
    """A gateway on a database of its own, per back end and per test module, for tests that change the
    approved data (approvals): the shared database stays as seeded. Its clock is the test's."""
    url = prepare_database(request.param, tmp_path_factory.mktemp("writable"), officials=400, suffix="_writable")
    keys = tmp_path_factory.mktemp("writable-keys")
    KeyRing.load(keys, create=True)
    settings = Settings(env="test", database_url=url, keys_dir=keys)
    clock = Clock(datetime(2026, 11, 10, 3, 0, tzinfo=UTC))
    with running(settings, clock) as served:
        yield Writable(served, clock)
    if request.param == "postgres":
        asyncio.run(_on_server(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))


@pytest.fixture
def own_log(tmp_path: Path) -> Iterator[Api]:
    """A gateway on a small database of its own, for tests that break the receipt log on purpose."""
    url = prepare_database("sqlite", tmp_path, officials=30)
    with running(Settings(env="test", database_url=url, keys_dir=tmp_path / "keys")) as served:
        yield served
