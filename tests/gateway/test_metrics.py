"""GET /metrics: requests counted by endpoint, operation and outcome as the caller saw them, the pool,
receipts and approval events; who may read it. The values are read through prometheus_client's own
registry, the one /metrics serves in a single process (tests/deploy runs `ccvc serve` with workers)."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from gateway.config import Settings
from gateway.errors import json_error
from gateway.metrics import (
    ANONYMOUS,
    NOT_GRAPHQL,
    NOT_RUN,
    OTHER,
    OperationNames,
    RequestMetrics,
    error_code,
    metrics_endpoint,
    outcome,
)
from policies.principal import Principal
from resolvers.events import ApprovalEvent
from tests.conftest import Api

REQUESTS = "ccvc_http_request_duration_seconds_count"


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def requests(endpoint: str, operation: str, outcome: str) -> float:
    return value(REQUESTS, endpoint=endpoint, operation=operation, outcome=outcome)


def test_a_named_query_is_counted_under_its_name_and_ok(api: Api) -> None:
    before = requests("graphql", "MetricsProbe", "ok")
    api.data('query MetricsProbe { unit(code: "BNV") { code } }')
    api.data('query MetricsProbe { unit(code: "BNV") { code } }')
    assert requests("graphql", "MetricsProbe", "ok") == before + 2


def test_an_unnamed_query_is_counted_as_anonymous(api: Api) -> None:
    before = requests("graphql", ANONYMOUS, "ok")
    api.data('{ unit(code: "BNV") { code } }')
    assert requests("graphql", ANONYMOUS, "ok") == before + 1


def test_a_refused_request_is_counted_with_the_code_of_its_answer(api: Api) -> None:
    before = requests("graphql", NOT_RUN, "UNAUTHENTICATED")
    answered = api.client.post("/graphql", json={"query": "query Probe { me { id } }"})
    assert answered.status_code == 401
    assert requests("graphql", NOT_RUN, "UNAUTHENTICATED") == before + 1


def test_a_partial_answer_is_counted_with_its_first_errors_code(api: Api) -> None:
    before = requests("graphql", "AnalystPage", "FORBIDDEN_FIELD")
    body = api.post(
        "query AnalystPage { officials(first: 3) { nodes { fullName religion { code } } } }", as_user="analyst"
    )
    assert body["data"] and body["errors"][0]["extensions"]["code"] == "FORBIDDEN_FIELD"
    assert requests("graphql", "AnalystPage", "FORBIDDEN_FIELD") == before + 1


def test_other_endpoints_are_counted_without_an_operation(api: Api) -> None:
    before, missing = requests("health", NOT_GRAPHQL, "ok"), requests("other", NOT_GRAPHQL, "NOT_FOUND")
    api.client.get("/healthz")
    api.client.get("/no/such/path")
    assert requests("health", NOT_GRAPHQL, "ok") == before + 1
    assert requests("other", NOT_GRAPHQL, "NOT_FOUND") == missing + 1


def test_a_receipt_is_counted_when_it_is_appended_to_the_log(api: Api) -> None:
    before = value("ccvc_receipts_issued_total", kind="response")
    answered = api.client.post(
        "/graphql",
        json={"query": '{ unit(code: "BNV") { code } }'},
        headers={"Authorization": f"Bearer {api.token('admin')}", "X-CCVC-Receipt": "1"},
    )
    assert answered.json()["extensions"]["receiptId"]
    assert value("ccvc_receipts_issued_total", kind="response") == before + 1


def test_an_approval_event_reaching_the_process_is_counted(api: Api) -> None:
    event = ApprovalEvent(1, 1, "/BNV/", "2026-11", 0, "approver.BNV", datetime(2026, 11, 28, tzinfo=UTC), ())
    before = value("ccvc_approval_events_delivered_total")
    api.state.events.deliver_json(event.to_json().decode())  # as the PostgreSQL listener hands it over
    assert value("ccvc_approval_events_delivered_total") == before + 1


def test_the_pool_gauge_counts_connections_while_they_are_checked_out(api: Api) -> None:
    engine = api.state.engine

    async def inside() -> float:
        async with engine.connect():
            return value("ccvc_db_pool_checked_out")

    idle = value("ccvc_db_pool_checked_out")
    assert api.run(inside) == idle + 1
    assert value("ccvc_db_pool_checked_out") == idle
    assert value("ccvc_db_pool_size") >= 1


# -- what an outcome may be: bounded, and read from the answer ----------------------------------------------


def test_names_past_the_limit_and_unnamed_operations_collapse_to_fixed_labels() -> None:
    names = OperationNames({"agency": 2, "official": 1})
    assert [names.label(n, "agency") for n in ("A", "B", "C", "A", None)] == ["A", "B", OTHER, "A", ANONYMOUS]
    assert OperationNames().label("x" * 65, "agency") == OTHER


def test_officials_flooding_names_take_none_of_the_partners_slots() -> None:
    """Found by review: 250 names sent by one official took every slot, and a partner's operation was
    then counted as `other`."""
    names = OperationNames({"agency": 2, "official": 3})
    flooded = [names.label(f"Junk{i}", "official") for i in range(250)]
    assert flooded[:3] == ["Junk0", "Junk1", "Junk2"] and set(flooded[3:]) == {OTHER}
    assert names.label("PartnerPage", "agency") == "PartnerPage"
    assert names.label("Junk1", "agency") == "Junk1"  # admitted once, every caller's
    assert names.label("Kind", "unknown-kind") == OTHER


def test_the_code_is_the_answers_own_errors_not_a_data_key_named_errors() -> None:
    body = b'{"data":{"errors":[{"code":"BAD_REQUEST"}]},"errors":[{"message":"no \\"code\\":\\"X\\"",'
    body += b'"extensions":{"code":"FORBIDDEN_FIELD"}}],"extensions":{"receipt":"e30"}}'
    assert error_code(body) == "FORBIDDEN_FIELD"
    assert error_code(b'{"errors":[{"message":"m","extensions":{"code":"MADE_UP_BY_SOMEONE"}}]}') == OTHER
    assert error_code(b'{"error":"invalid_grant","error_description":"no"}') == "invalid_grant"
    assert outcome(503, b"not json") == "HTTP_503" and outcome(200, None) == "ok" and outcome(0, None) == "INTERNAL"


# -- rate-limit rejections, counted from the answer whoever gives it ---------------------------------------

PARTNER = Principal(account_id=9, username="agency.bhxh", kind="agency", roles=frozenset(), agency_code="BHXH")


@pytest.fixture(scope="module")
def throttling() -> Iterator[TestClient]:
    """An app that answers 429 THROTTLED as a budget would, its caller left in the request's state where
    the GraphQL view leaves it once authenticated."""

    async def over_budget(request: Request) -> Response:
        request.state.ccvc_principal = PARTNER
        return json_error("Over budget", "THROTTLED", 429, headers={"Retry-After": "1"})

    app = Starlette(routes=[Route("/graphql", over_budget, methods=["POST"])], middleware=[Middleware(RequestMetrics)])
    with TestClient(app) as client:
        yield client


def test_a_throttled_answer_is_counted_by_its_agency(throttling: TestClient) -> None:
    before = value("ccvc_rate_limit_rejections_total", agency="BHXH")
    assert throttling.post("/graphql").status_code == 429
    assert value("ccvc_rate_limit_rejections_total", agency="BHXH") == before + 1
    assert requests("graphql", NOT_RUN, "THROTTLED") >= 1


# -- who may read /metrics ---------------------------------------------------------------------------------


def metrics_client(settings: Settings, host: str) -> TestClient:
    app = Starlette(routes=[Route("/metrics", metrics_endpoint(settings))])
    return TestClient(app, client=(host, 40000))


def test_without_a_token_metrics_answer_this_machine_only() -> None:
    settings = Settings(env="test")
    assert metrics_client(settings, "127.0.0.1").get("/metrics").text.count("# TYPE ccvc_") >= 7
    assert metrics_client(settings, "10.0.0.5").get("/metrics").status_code == 403
    through_proxy = metrics_client(settings, "127.0.0.1").get("/metrics", headers={"X-Forwarded-For": "10.0.0.5"})
    assert through_proxy.status_code == 403


def test_with_a_token_metrics_answer_its_bearer_only_wherever_they_are() -> None:
    token = "t" * 40
    client = metrics_client(Settings(env="test", metrics_token=token), "10.0.0.5")
    assert client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    refused = client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401 and refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert client.get("/metrics").status_code == 401


def test_production_refuses_a_short_metrics_token_naming_the_setting() -> None:
    with pytest.raises(ValidationError, match="CCVC_METRICS_TOKEN"):
        Settings(
            env="production",
            public_url="https://ccvc.example.gov.vn",
            allow_sqlite_in_production=True,
            metrics_token="short",
        )


def test_an_empty_metrics_token_is_refused_everywhere() -> None:
    """Found by review: outside production an empty token let `Authorization: Bearer ` read /metrics."""
    with pytest.raises(ValidationError, match="metrics_token"):
        Settings(env="test", metrics_token="")
