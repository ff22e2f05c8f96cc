"""When the database is down, unreachable, saturated or slow, the gateway answers 503
SERVICE_UNAVAILABLE with Retry-After within its configured waits, never 500 or a hang, and recovers by
itself once the database is back. Every other failure a caller can provoke is a JSON 4xx."""

import asyncio
import os
import select
import socket
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from db import engine as db_engine
from db.engine import Limits, create_engine, unavailable
from db.migrate import head, upgrade
from gateway.app import create_app
from gateway.auth import Authenticator
from gateway.config import Settings
from tests.conftest import Api

POSTGRES = os.environ.get("CCVC_TEST_POSTGRES_URL")
QUERY = {"query": "{ units { code } }"}
OLDER = "0005"  # a revision before the newest (db/migrations/versions)


def answer(settings: Settings, body: dict[str, Any] = QUERY) -> Any:
    app = create_app(settings)
    with TestClient(app) as client:
        token = Authenticator(settings, app.state.keys, app.state.engine).issue("admin")
        return client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"].isdigit()
    assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"


def quick(settings: Settings, url: str) -> Settings:
    return settings.model_copy(
        update={"database_url": url, "db_connect_timeout_seconds": 0.5, "db_pool_timeout_seconds": 0.5}
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_database_refusing_connections_is_503(settings: Settings) -> None:
    assert_unavailable(answer(quick(settings, f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/x")))


def test_a_database_that_accepts_and_never_answers_is_503_after_the_connect_timeout(settings: Settings) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        assert_unavailable(answer(quick(settings, f"postgresql+asyncpg://postgres@127.0.0.1:{port}/x")))


def test_a_missing_database_file_is_503_and_readyz_says_not_ready(settings: Settings, tmp_path: Path) -> None:
    missing = quick(settings, f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'ccvc.db'}")
    assert_unavailable(answer(missing))
    with TestClient(create_app(missing)) as client:
        response = client.get("/readyz")
        assert_unavailable(response)
        assert response.json()["checks"]["database"].startswith("not answering")
        assert client.get("/healthz").status_code == 200  # alive, not ready


def test_readyz_names_a_schema_behind_this_gateway(settings: Settings, tmp_path: Path) -> None:
    """A database migrated to an older revision answers, but this code cannot serve it: not ready, and
    the check says which revision it needs and how to get there."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade(url)
    with sqlite3.connect(tmp_path / "old.db") as raw:
        raw.execute("UPDATE alembic_version SET version_num = ?", (OLDER,))
    with TestClient(create_app(quick(settings, url))) as client:
        response = client.get("/readyz")
        assert_unavailable(response)
        checks = response.json()["checks"]
        assert checks["database"] == "ok" and checks["keys"] == "ok"
        assert checks["migrations"] == f"at {OLDER}, this gateway needs {head()}: `ccvc db upgrade`"


@pytest.mark.parametrize(
    ("url", "slow"),
    [
        (
            "sqlite+aiosqlite:///{tmp}/slow.db",
            "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r",
        ),
        (POSTGRES, "SELECT pg_sleep(5)"),
    ],
    ids=["sqlite", "postgres"],
)
def test_a_statement_past_its_time_limit_is_stopped_and_counts_as_unavailable(
    url: str | None, slow: str, tmp_path: Path
) -> None:
    if url is None:
        pytest.skip("needs CCVC_TEST_POSTGRES_URL")
    url = (
        make_url(url.format(tmp=tmp_path))
        .set(drivername="sqlite+aiosqlite" if url.startswith("sqlite") else "postgresql+asyncpg")
        .render_as_string(hide_password=False)
    )

    async def run() -> BaseException:
        engine = create_engine(url, limits=Limits(statement_seconds=0.3))
        try:
            async with engine.connect() as conn:
                await conn.execute(text(slow))
        except Exception as error:  # what the gateway would see
            return error
        finally:
            await engine.dispose()
        raise AssertionError("the statement was not stopped")

    assert unavailable(asyncio.run(run()))


@contextmanager
def proxy(target: tuple[str, int]) -> Iterator["Proxy"]:
    """A TCP forwarder in front of the database, which the test can cut and restore."""
    relay = Proxy(target)
    try:
        yield relay
    finally:
        relay.stop()


class Proxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.listener.listen()
        self.up = True
        self.links: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            server = socket.create_connection(self.target)
            self.links += [client, server]
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while self.up:
                ready, _, _ = select.select([a, b], [], [], 0.1)
                for source in ready:
                    data = source.recv(65536)
                    if not data:
                        return
                    (b if source is a else a).sendall(data)
        except (OSError, ValueError):  # cut() closed a socket under select (ValueError: its fd is -1)
            return
        finally:
            a.close()
            b.close()

    def cut(self) -> None:
        """Every open connection dropped, new ones refused: the database server went away."""
        self.up = False
        for link in self.links:
            link.close()
        self.links.clear()

    def restore(self) -> None:
        self.up = True

    def stop(self) -> None:
        self.cut()
        self.listener.close()


@contextmanager
def through_relay(settings: Settings) -> Iterator[tuple[Proxy, Any]]:
    """A gateway on PostgreSQL through a relay that can cut it off (the relay, and a POST as admin)."""
    if make_url(settings.database_url).get_backend_name() != "postgresql":
        pytest.skip("the PostgreSQL server is what goes away")
    real = make_url(settings.database_url)
    with proxy((real.host or "127.0.0.1", real.port or 5432)) as relay:
        through = quick(settings, real.set(port=relay.port).render_as_string(hide_password=False))
        app = create_app(through)
        with TestClient(app) as client:
            token = Authenticator(through, app.state.keys, app.state.engine).issue("admin")
            yield relay, lambda: client.post("/graphql", json=QUERY, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.skipif(not POSTGRES, reason="needs CCVC_TEST_POSTGRES_URL")
def test_the_gateway_answers_503_while_the_database_is_gone_and_recovers_by_itself(settings: Settings) -> None:
    with through_relay(settings) as (relay, post):
        assert post().status_code == 200  # pooled connections now
        relay.cut()
        assert_unavailable(post())
        relay.restore()
        # The pooled connections died with the server; the failed request's disconnect made the pool
        # replace them all (and an idle one is pinged at checkout), so the first request after the
        # return already works.
        response = post()
        assert response.status_code == 200, response.text


@pytest.mark.skipif(not POSTGRES, reason="needs CCVC_TEST_POSTGRES_URL")
def test_a_server_that_restarted_while_the_gateway_was_idle_costs_no_request(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connections idle past PING_AFTER_IDLE_SECONDS are pinged at checkout: the ones the restart
    dropped are replaced there, and no request sees them fail."""
    monkeypatch.setattr(db_engine, "PING_AFTER_IDLE_SECONDS", 0.0)
    with through_relay(settings) as (relay, post):
        assert post().status_code == 200
        relay.cut()
        relay.restore()  # a restart between two requests: every pooled connection is gone
        response = post()
        assert response.status_code == 200, response.text


@pytest.mark.skipif(not POSTGRES, reason="needs CCVC_TEST_POSTGRES_URL")
def test_a_pool_with_no_free_connection_is_503_not_a_wait_without_end(settings: Settings) -> None:
    if make_url(settings.database_url).get_backend_name() != "postgresql":
        pytest.skip("SQLite has no connection pool to exhaust")
    tight = quick(settings, settings.database_url).model_copy(update={"db_pool_size": 1})
    app = create_app(tight)

    async def hold_every_connection_and_ask() -> int:
        import httpx2

        engine = app.state.engine
        held = [await engine.connect() for _ in range(2)]  # pool_size 1 + overflow 1
        try:
            transport = httpx2.ASGITransport(app=app)
            async with httpx2.AsyncClient(transport=transport, base_url="http://gateway") as client:
                token = Authenticator(tight, app.state.keys, engine).issue("admin")
                response = await client.post("/graphql", json=QUERY, headers={"Authorization": f"Bearer {token}"})
                assert_unavailable(response)
                return response.status_code
        finally:
            for conn in held:
                await conn.close()
            await engine.dispose()

    assert asyncio.run(hold_every_connection_and_ask()) == 503


def test_a_nul_anywhere_a_caller_can_put_one_is_400(api: Api) -> None:
    token = api.client.post("/auth/token", data={"username": "admin\x00", "password": "x"})
    assert token.status_code == 400 and token.json()["error"] == "invalid_grant"
    body = api.post('{ unit(code: "BNV\\u0000") { id } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("PUT", "/graphql", 405, "BAD_REQUEST"),
        ("DELETE", "/auth/token", 405, "BAD_REQUEST"),
        ("GET", "/no/such/place", 404, "NOT_FOUND"),
        ("GET", "/receipts/x/y/z", 404, "NOT_FOUND"),
    ],
)
def test_starlettes_own_refusals_come_in_the_api_error_shape(
    api: Api, method: str, path: str, status: int, code: str
) -> None:
    response = api.client.request(method, path)
    assert response.status_code == status and response.headers["content-type"] == "application/json"
    assert response.json()["errors"][0]["extensions"]["code"] == code


def test_several_operations_without_operation_name_are_refused(api: Api) -> None:
    body = api.post("query A { units { code } } query B { units { name } }")
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "operationName" in body["errors"][0]["message"]
    named = api.client.post(
        "/graphql",
        json={"query": "query A { units { code } } query B { units { name } }", "operationName": "B"},
        headers={"Authorization": f"Bearer {api.token('admin')}"},
    ).json()
    assert "errors" not in named and "name" in named["data"]["units"][0]


def test_a_bug_in_a_statement_is_not_mistaken_for_an_unavailable_database(settings: Settings) -> None:
    """SQLite reports both "database is locked" and "no such column" as OperationalError: only the
    first is a 503; a statement the code got wrong stays a 500 that someone will see."""

    async def run() -> BaseException:
        engine = create_engine(settings.database_url)
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT no_such_column FROM unit"))
        except Exception as error:
            return error
        finally:
            await engine.dispose()
        raise AssertionError("the statement ran")

    assert not unavailable(asyncio.run(run()))


def test_a_driver_refusing_a_statement_is_a_bug_but_a_lost_connection_is_unavailability() -> None:
    from sqlalchemy import exc

    too_many = exc.InterfaceError("SELECT …", {}, Exception("the number of query arguments cannot exceed 32767"))
    closed = exc.InterfaceError("SELECT …", {}, Exception("connection is closed"))
    assert not unavailable(too_many) and unavailable(closed)
