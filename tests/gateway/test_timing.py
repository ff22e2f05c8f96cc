"""Server-Timing: where a request's time went, and how many statements it cost, on the response."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.auth import Authenticator
from gateway.config import Settings

PUBLIC = "https://ccvc.example.gov.vn"

PARTNER_LIST = """query($unit: ID!) { officials(first: 20, filter: {unit: $unit}) {
  nodes { code fullName gender { code } unit { name } position { title } } } }"""


@pytest.fixture(scope="module")
def timed(settings: Settings) -> Iterator[tuple[TestClient, Settings, list[str]]]:
    timed_settings = settings.model_copy(update={"server_timing": True})
    app = create_app(timed_settings)
    statements: list[str] = []
    # The request's own statements, and its audit record's on the audit's engine (gateway/audit.py).
    for engine in (app.state.engine, app.state.audit.engine):
        event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with TestClient(app) as client:
        yield client, timed_settings, statements


def _post(client: TestClient, settings: Settings, user: str, body: dict[str, Any]) -> Any:
    app: Any = client.app
    token = Authenticator(settings, app.state.keys, app.state.engine).issue(user)
    return client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})


def _metrics(header: str) -> dict[str, dict[str, str]]:
    metrics: dict[str, dict[str, str]] = {}
    for part in header.split(","):
        name, *params = (p.strip() for p in part.split(";"))
        metrics[name] = dict(p.split("=", 1) for p in params)
    return metrics


def test_a_partner_response_says_where_its_time_went_and_what_the_database_ran(
    timed: tuple[TestClient, Settings, list[str]],
) -> None:
    client, settings, statements = timed
    _post(client, settings, "agency.bhxh", {"query": "{ me { id } }"})  # warm the scope and account caches
    statements.clear()
    response = _post(client, settings, "agency.bhxh", {"query": PARTNER_LIST, "variables": {"unit": "1"}})
    assert response.status_code == 200, response.text
    assert "receipt" in response.json()["extensions"]
    metrics = _metrics(response.headers["server-timing"])
    for name in ("auth", "parse", "validate", "execute", "serialize", "canonical", "receipt", "sql", "total"):
        assert re.fullmatch(r"\d+\.\d{3}", metrics[name]["dur"]), (name, metrics[name])
    # One request alone in its receipt batch: its count is every statement the database saw for it.
    assert float(metrics["sql"]["desc"].strip('"')) == len(statements)
    assert float(metrics["total"]["dur"]) >= float(metrics["execute"]["dur"])


def test_an_unauthenticated_caller_gets_no_timings(timed: tuple[TestClient, Settings, list[str]]) -> None:
    client, _, _ = timed
    response = client.post("/graphql", json={"query": "{ me { id } }"}, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert "server-timing" not in response.headers


def test_a_refused_query_is_timed_too(timed: tuple[TestClient, Settings, list[str]]) -> None:
    client, settings, _ = timed
    response = _post(client, settings, "admin", {"query": "{ nosuchfield }"})
    assert response.status_code == 200
    assert {"auth", "parse", "validate", "sql", "total"} <= set(_metrics(response.headers["server-timing"]))


def test_off_unless_asked_outside_development(api: Any) -> None:
    assert api.settings.env == "test"
    response = api.client.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={"Authorization": f"Bearer {api.token('admin')}"}
    )
    assert response.status_code == 200
    assert "server-timing" not in response.headers
    assert Settings(env="development").server_timing_enabled
    production = Settings(env="production", public_url=PUBLIC, allow_sqlite_in_production=True)
    assert not production.server_timing_enabled
    assert production.model_copy(update={"server_timing": True}).server_timing_enabled


def test_the_header_says_which_read_path_answered(timed: tuple[TestClient, Settings, list[str]]) -> None:
    client, settings, _ = timed
    read = _post(client, settings, "agency.bhxh", {"query": PARTNER_LIST, "variables": {"unit": "1"}})
    assert _metrics(read.headers["server-timing"])["path"]["desc"] == '"compiled"'
    # Introspection is one of the documents the resolver tree answers.
    introspected = _post(client, settings, "admin", {"query": "{ __schema { queryType { name } } }"})
    assert _metrics(introspected.headers["server-timing"])["path"]["desc"] == '"resolvers"'


def test_production_needs_the_address_it_prints() -> None:
    """A CV prints where to verify it: in production that is never the caller's Host header."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="CCVC_PUBLIC_URL"):
        Settings(env="production", allow_sqlite_in_production=True)


def test_production_refuses_sqlite_unless_asked_and_debug_logs() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="CCVC_ALLOW_SQLITE_IN_PRODUCTION"):
        Settings(env="production", public_url=PUBLIC)
    postgres = "postgresql+asyncpg://ccvc@db.example/ccvc"
    assert Settings(env="production", public_url=PUBLIC, database_url=postgres).env == "production"
    with pytest.raises(ValidationError, match="CCVC_LOG_LEVEL=DEBUG"):
        Settings(env="production", public_url=PUBLIC, database_url=postgres, log_level="DEBUG")
