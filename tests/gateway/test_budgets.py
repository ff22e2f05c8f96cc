"""Partner agencies' budgets (gateway/budgets.py): each request spends its static cost from its agency's
bucket, refused with 429 THROTTLED and Retry-After when the bucket cannot pay; at most so many of an
agency's requests at once per process; every response says what it cost. Against real Redis
(127.0.0.1:6379, a key prefix of each test's own) and real gateway processes."""

import logging
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from math import floor
from typing import Any, Final

import httpx2
import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.buckets import Window, retry_after
from gateway.budgets import fields_of
from gateway.config import Settings
from policies.principal import Principal
from tests.conftest import Api, running
from tests.examples import examples
from tests.live import served_process
from tests.planner.documents import documents

REDIS: Final = "redis://127.0.0.1:6379/0"
REDIS_SERVER: Final = shutil.which("redis-server") or "/usr/bin/redis-server"
AGENCY: Final = "agency.bhxh"
# A bucket of 100 points refilled at 1 a second (a window of 100 s): nothing flows back while a test runs
# that could change what it sees.
SMALL: Final = {"agency_points_per_second": 1, "agency_burst": 100}
# 2 fields (`officials`, `nodes`) and one for each of 30 officials: 32 points. Three fit in 100, a fourth not.
PAGE: Final = "{ officials(first: 30) { nodes { id } } }"
PAGE_COST: Final = 32


def prefix() -> str:
    """A Redis key prefix of this test's own: xdist workers and earlier runs share the server."""
    return f"ccvc-test-{uuid.uuid4().hex}"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def gateway(settings: Settings, **figures: Any) -> Iterator[Api]:
    """A gateway of its own on the session's database, with these settings changed."""
    with running(Settings(**(settings.model_dump() | figures))) as served:  # validated, as at start-up
        yield served


def ask(api: Api, query: str, as_user: str = AGENCY) -> Any:
    return api.client.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {api.token(as_user)}"})


def about(seen: list[int], expected: list[int]) -> bool:
    """What is left, give or take the point or two that flows back when a test happens to straddle the
    edge of a window of the in-memory buckets (aligned on the clock; Redis's start at the first hit)."""
    return all(want <= got <= want + 2 for got, want in zip(seen, expected, strict=True))


def cost_of(response: Any) -> dict[str, Any]:
    cost: dict[str, Any] = response.json()["extensions"]["cost"]
    return cost


@pytest.fixture(params=["memory", "redis"])
def buckets(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Where the buckets are kept: this process's memory, or Redis."""
    return {} if request.param == "memory" else {"redis_url": REDIS, "redis_key_prefix": prefix()}


def test_an_agency_over_its_budget_gets_429_throttled_with_retry_after_and_nothing_runs(
    settings: Settings, buckets: dict[str, Any]
) -> None:
    with gateway(settings, **SMALL, **buckets) as api:
        left = [cost_of(ask(api, PAGE))["remaining"] for _ in range(3)]
        assert left[0] == 100 - PAGE_COST
        assert about(left[1:], [100 - 2 * PAGE_COST, 100 - 3 * PAGE_COST])
        api.statements.clear()
        refused = ask(api, PAGE)
        assert refused.status_code == 429
        wait = int(refused.headers["Retry-After"])
        assert 1 <= wait <= 2 * 100  # the bucket is empty after two windows at most
        body = refused.json()
        [error] = body["errors"]
        assert error["extensions"] == {"code": "THROTTLED", "retryAfter": wait}
        assert "Agency bhxh" in error["message"] and f"in {wait} s" in error["message"]
        assert body["data"] is None and "receipt" not in body["extensions"]
        cost = body["extensions"]["cost"]
        assert cost["requested"] == PAGE_COST and cost["actual"] == 0 and about([cost["remaining"]], [left[2]])
        assert not [s for s in api.statements if "official" in s.lower()]  # no read ran


def test_every_response_says_what_it_cost_and_what_is_left(settings: Settings, buckets: dict[str, Any]) -> None:
    with gateway(settings, **SMALL, **buckets) as api:
        before = datetime.now(UTC).replace(microsecond=0)
        response = ask(api, "{ officials(first: 5) { nodes { id fullName } } }")
        assert response.status_code == 200
        nodes = response.json()["data"]["officials"]["nodes"]
        cost = cost_of(response)
        assert cost["requested"] == 2 + 5 * 2
        assert cost["actual"] == 2 + len(nodes) * 2
        assert cost["remaining"] == 100 - cost["requested"]
        after = datetime.now(UTC)
        reset_at = datetime.fromisoformat(cost["resetAt"])
        # At most two windows after the hit, which fell between `before` and `after`; resetAt is rounded up
        # to the second (measured from `before` alone, a slow second made it flaky: found by review).
        assert cost["resetAt"].endswith("Z") and before < reset_at <= after + timedelta(seconds=2 * 100 + 1)


def test_a_shorter_page_than_asked_costs_less_than_it_was_charged(api: Api) -> None:
    body = api.post('{ officials(first: 100, filter: {unit: "BNV.VP"}) { nodes { id } } }', as_user=AGENCY)
    nodes = body["data"]["officials"]["nodes"]
    assert len(nodes) < 100
    assert body["extensions"]["cost"]["requested"] == 102
    assert body["extensions"]["cost"]["actual"] == 2 + len(nodes)


def test_people_have_no_budget_and_see_their_requests_cost(settings: Settings) -> None:
    with gateway(settings, **SMALL) as api:
        for _ in range(5):  # 5 × 32: past the agencies' 100
            response = ask(api, PAGE, as_user="hr.BNV")
            assert response.status_code == 200
            assert cost_of(response) == {
                "requested": PAGE_COST,
                "actual": PAGE_COST,
                "remaining": None,
                "resetAt": None,
            }


def test_a_request_costing_more_than_the_whole_bucket_is_refused_for_good(settings: Settings) -> None:
    with gateway(settings, **SMALL) as api:
        body = ask(api, "{ officials(first: 100) { nodes { id } } }").json()
        [error] = body["errors"]
        assert error["extensions"]["code"] == "MAX_COST_EXCEEDED" and "can never run" in error["message"]
        assert body["extensions"]["cost"]["remaining"] == 100  # nothing was taken
        assert ask(api, PAGE).status_code == 200


def test_a_request_refused_for_its_cost_spends_nothing(settings: Settings) -> None:
    with gateway(settings, **SMALL, max_query_cost=1_000) as api:
        fields = "id code fullName birthDate gender { code } jobTitle salaryGrade salaryCoefficient personalId"
        body = ask(api, f"{{ officials(first: 100) {{ nodes {{ {fields} }} }} }}").json()
        [error] = body["errors"]
        assert error["extensions"]["code"] == "MAX_COST_EXCEEDED" and "CCVC_MAX_QUERY_COST" in error["message"]
        assert body["extensions"]["cost"]["requested"] == 1_002 and body["extensions"]["cost"]["remaining"] == 100


def test_an_agencys_own_budget_overrides_the_default(settings: Settings) -> None:
    with gateway(settings, **SMALL, agency_budgets={"bhxh": {"burst": 200}}) as api:
        assert cost_of(ask(api, PAGE))["remaining"] == 200 - PAGE_COST
        assert cost_of(ask(api, PAGE, as_user="agency.BTC"))["remaining"] == 100 - PAGE_COST


def test_all_clients_of_one_agency_share_its_bucket_and_other_agencies_do_not(settings: Settings) -> None:
    with gateway(settings, **SMALL) as api:
        for _ in range(3):
            assert ask(api, PAGE).status_code == 200
        assert ask(api, PAGE).status_code == 429  # a second token of the same account: same agency
        assert ask(api, PAGE, as_user="agency.BTC").status_code == 200


def _bhxh() -> Principal:
    return Principal(account_id=0, username=AGENCY, kind="agency", roles=frozenset(), agency_code="bhxh")


def test_an_agency_with_as_many_requests_running_as_it_may_gets_429_with_retry_after_1(settings: Settings) -> None:
    with gateway(settings, agency_max_concurrent=1) as api:
        budgets = api.state.budgets
        running = budgets.running(_bhxh())  # one of bhxh's requests, under way in this process
        api.run(running.__aenter__)
        try:
            refused = ask(api, PAGE)
            assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
            [error] = refused.json()["errors"]
            assert error["extensions"] == {"code": "THROTTLED", "retryAfter": 1}
            assert "already has 1 request running on this gateway process" in error["message"]
            assert ask(api, PAGE, as_user="agency.BTC").status_code == 200  # another agency's place is its own
            assert ask(api, PAGE, as_user="hr.BNV").status_code == 200
        finally:
            api.run(lambda: running.__aexit__(None, None, None))
        assert ask(api, PAGE).status_code == 200


def test_a_request_gives_its_place_back_however_it_ends(settings: Settings) -> None:
    with gateway(settings, agency_max_concurrent=1, **SMALL) as api:
        endings = [
            ask(api, PAGE),  # answered
            ask(api, "{ officials { nodes { nope } } }"),  # not valid
            ask(api, "{ officials("),  # does not parse
            ask(api, PAGE),
            ask(api, PAGE),
            ask(api, PAGE),  # over the budget
        ]
        assert [r.status_code for r in endings] == [200, 200, 200, 200, 200, 429]
        assert api.state.budgets.running_now("bhxh") == 0
        assert ask(api, '{ unit(code: "BNV") { code } }').status_code == 200  # costs 2: fits in what is left


def test_two_gateway_processes_share_an_agencys_budget_through_redis(settings: Settings, api: Api) -> None:
    shared = {
        "CCVC_REDIS_URL": REDIS,
        "CCVC_REDIS_KEY_PREFIX": prefix(),
        "CCVC_AGENCY_POINTS_PER_SECOND": "1",
        "CCVC_AGENCY_BURST": "100",
    }
    token = api.token(AGENCY)
    headers = {"Authorization": f"Bearer {token}"}
    with served_process(settings, **shared) as one, served_process(settings, **shared) as other:
        for _ in range(3):
            spent = httpx2.post(f"{one}/graphql", json={"query": PAGE}, headers=headers, timeout=30)
            assert spent.status_code == 200, spent.text
        refused = httpx2.post(f"{other}/graphql", json={"query": PAGE}, headers=headers, timeout=30)
        assert refused.status_code == 429, refused.text
        assert refused.json()["errors"][0]["extensions"]["code"] == "THROTTLED"
        assert refused.json()["extensions"]["cost"]["remaining"] == 100 - 3 * PAGE_COST
        assert "budgets" not in httpx2.get(f"{other}/readyz", timeout=30).json()["degraded"]


def test_without_redis_the_gateway_keeps_serving_on_its_own_buckets_and_says_so(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = f"redis://127.0.0.1:{closed_port()}/0"
    caplog.set_level(logging.WARNING, logger="ccvc.budgets")
    with gateway(settings, **SMALL, redis_url=unreachable, redis_key_prefix=prefix()) as api:
        ready = api.client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        assert "Redis" in ready.json()["degraded"]["budgets"]
        answered = [ask(api, PAGE) for _ in range(4)]
        assert [r.status_code for r in answered] == [200, 200, 200, 429]  # the budget holds, per process
        assert cost_of(answered[0])["remaining"] == 100 - PAGE_COST
        assert "budgets" in api.client.get("/readyz").json()["degraded"]
    lost = [r for r in caplog.records if r.name == "ccvc.budgets" and r.levelno == logging.WARNING]
    assert len(lost) == 1 and "does not answer" in lost[0].getMessage()  # once, not per request


@contextmanager
def redis_server(port: int) -> Iterator[None]:
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port)
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        client.close()
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_gateway_shares_its_buckets_again_once_redis_answers(settings: Settings) -> None:
    port = closed_port()
    key_prefix = prefix()
    with gateway(
        settings, **SMALL, redis_url=f"redis://127.0.0.1:{port}/0", redis_key_prefix=key_prefix, redis_retry_seconds=0.2
    ) as api:
        assert "budgets" in api.client.get("/readyz").json()["degraded"]
        with redis_server(port):
            deadline = time.monotonic() + 30
            while "budgets" in api.client.get("/readyz").json()["degraded"]:
                assert time.monotonic() < deadline, "the gateway did not find Redis again"
                time.sleep(0.1)
            assert ask(api, PAGE).status_code == 200
            keys = redis.Redis(port=port).keys(f"{key_prefix}*")
            assert keys  # the agency's bucket is in Redis now


# The bucket's arithmetic, for any state `limits` can report: windows of `length` seconds; the current
# window ends in `ends` seconds (when the previous one's points stop counting), its own points count until
# one window later.
@st.composite
def windows(draw: st.DrawFn) -> tuple[Window, int, int]:
    length = draw(st.integers(1, 3600))
    burst = draw(st.integers(1, 10**6))
    ends = draw(st.floats(0, length))
    previous = draw(st.integers(0, burst))
    current = draw(st.integers(0, burst))
    window = Window(previous, ends if previous else 0.0, current, ends + length)
    return window, length, burst


def spent_after(window: Window, seconds: float, length: int) -> float:
    """The points the bucket holds `seconds` from now if nothing more is spent (as `limits` weighs them)."""
    ends = window.current_ttl - length
    if seconds < ends:
        return window.previous * max(0.0, window.previous_ttl - seconds) / length + window.current
    return window.current * max(0.0, length - (seconds - ends)) / length


@settings(max_examples=examples(500), suppress_health_check=[HealthCheck.too_slow])
@given(state=windows(), share=st.floats(0, 1))
def test_the_wait_announced_is_the_first_moment_the_cost_fits(state: tuple[Window, int, int], share: float) -> None:
    window, length, burst = state
    cost = max(1, floor(burst * share))
    wait = window.wait_for(cost, burst, length)
    assert 0 <= wait <= 2 * length
    tolerance = 1e-6 * burst
    assert spent_after(window, wait, length) <= burst - cost + tolerance  # it fits then
    if wait > 1e-6:
        assert spent_after(window, wait - 1e-3 * wait, length) > burst - cost - tolerance  # and not before
    assert retry_after(wait) >= max(1, wait)


@settings(max_examples=examples(200), suppress_health_check=[HealthCheck.too_slow])
@given(state=windows())
def test_what_is_left_and_when_the_bucket_is_full_again_agree_with_the_bucket(state: tuple[Window, int, int]) -> None:
    window, length, burst = state
    assert window.remaining(burst, length) == max(0, burst - floor(window.spent(length)))
    full_in = window.empty_in()
    assert spent_after(window, full_in, length) <= 1e-6 * burst
    assert window.wait_for(burst, burst, length) <= full_in + 1e-9  # the whole burst fits once it is empty


@settings(max_examples=examples(40), deadline=None, suppress_health_check=list(HealthCheck))
@given(document=documents(), principal=st.sampled_from(("admin", "hr.BNV", "SH00000052", AGENCY, "agency.BTC")))
def test_no_answer_holds_more_fields_than_its_request_was_charged(
    api: Api, document: tuple[str, dict[str, Any]], principal: str
) -> None:
    query, variables = document
    response = api.client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {api.token(principal)}"},
    )
    body = response.json()
    cost = body["extensions"]["cost"]
    assert cost["actual"] == fields_of(body.get("data"))
    assert cost["actual"] <= cost["requested"], (principal, query, variables, cost)


@given(st.recursive(st.none() | st.integers() | st.text(max_size=3), lambda inner: st.lists(inner, max_size=4)))
def test_lists_and_scalars_hold_no_fields_of_their_own(value: Any) -> None:
    assert fields_of(value) == 0
    assert fields_of({"a": value, "b": [{"c": value}, {"d": None}]}) == 4
