"""Announced maintenance (Decision 832): the national administrator announces a window, anyone with a
token sees it, and during it every gateway process answers reads and refuses writes with 503
MAINTENANCE and Retry-After, having done nothing."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest

from resolvers.maintenance import Window, read_only
from tests.conftest import Api, Writable
from tests.live import served_process

ANNOUNCE = """mutation($s: DateTime!, $e: DateTime!, $r: String!) {
  announceMaintenance(start: $s, end: $e, reason: $r) { id start end reason inEffect }
}"""
CANCEL = "mutation($id: ID!) { cancelMaintenance(id: $id) { id } }"
WINDOWS = "{ maintenanceWindows { id start end reason inEffect } }"
PROPOSE = """mutation($id: ID!, $c: OfficialChangesInput!, $r: String!) {
  proposeChange(officialId: $id, changes: $c, reason: $r) { id }
}"""
REASON = "Nâng cấp máy chủ cơ sở dữ liệu; xuất tệp tạm dừng"


def ask(api: Api, query: str, *, as_user: str = "admin", **variables: Any) -> httpx2.Response:
    headers = {"Authorization": f"Bearer {api.token(as_user)}"}
    return api.client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


def codes(response: httpx2.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json().get("errors", [])]


def at(moment: datetime) -> str:
    return moment.isoformat()


def announce(api: Api, start: datetime, end: datetime, reason: str = REASON) -> httpx2.Response:
    return ask(api, ANNOUNCE, s=at(start), e=at(end), r=reason)


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def api(writable: Writable) -> Iterator[Api]:
    """A gateway on a database of its own, with no window ahead before or after the test."""
    api = writable.api
    yield api
    for window in api.data(WINDOWS)["maintenanceWindows"]:
        api.data(CANCEL, variables={"id": window["id"]})


@pytest.fixture
def official(api: Api) -> dict[str, str]:
    page = api.data('{ officials(first: 1, filter: { unit: "BNV" }) { nodes { id code } } }')
    return dict(page["officials"]["nodes"][0])


def pending(api: Api, official: dict[str, str]) -> int:
    return len(api.data("{ me { pendingChanges { id } } }", as_user=official["code"])["me"]["pendingChanges"])


def propose(api: Api, official: dict[str, str]) -> httpx2.Response:
    changes = {"otherName": "Bé"}
    return ask(api, PROPOSE, as_user=official["code"], id=official["id"], c=changes, r="Cập nhật")


def test_the_national_administrator_announces_a_window_and_anyone_with_a_token_sees_it(api: Api) -> None:
    start = now() + timedelta(hours=1)
    answer = announce(api, start, start + timedelta(hours=2))
    window = answer.json()["data"]["announceMaintenance"]
    assert answer.status_code == 200 and window["reason"] == REASON and window["inEffect"] is False
    assert datetime.fromisoformat(window["start"]) == start
    assert api.data(WINDOWS, as_user="analyst")["maintenanceWindows"] == [window]


def test_only_the_national_administrator_announces_or_cancels_maintenance(api: Api) -> None:
    start = now() + timedelta(hours=1)
    refused = ask(api, ANNOUNCE, as_user="hr.BNV", s=at(start), e=at(start + timedelta(hours=1)), r=REASON)
    assert codes(refused) == ["FORBIDDEN"] and api.data(WINDOWS)["maintenanceWindows"] == []
    window = announce(api, start, start + timedelta(hours=1)).json()["data"]["announceMaintenance"]
    assert codes(ask(api, CANCEL, as_user="hr.BNV", id=window["id"])) == ["FORBIDDEN"]
    assert len(api.data(WINDOWS)["maintenanceWindows"]) == 1


@pytest.mark.parametrize(
    ("start", "length", "reason", "named"),
    [
        (timedelta(hours=1), timedelta(hours=-1), REASON, "`end` must be after `start`"),
        (timedelta(hours=-1), timedelta(hours=2), REASON, "`start` is in the past"),
        (timedelta(hours=1), timedelta(hours=24, seconds=1), REASON, "at most 24 hours"),
        (timedelta(days=400), timedelta(hours=1), REASON, "days ahead"),
        (timedelta(hours=1), timedelta(hours=1), "ok", "`reason` must be 5 to 300"),
        (timedelta(hours=1), timedelta(hours=1), "x" * 301, "`reason` must be 5 to 300"),
    ],
)
def test_a_window_that_cannot_be_kept_is_refused_naming_why(
    api: Api, start: timedelta, length: timedelta, reason: str, named: str
) -> None:
    begins = now() + start
    refused = announce(api, begins, begins + length, reason)
    assert codes(refused) == ["BAD_USER_INPUT"] and named in refused.json()["errors"][0]["message"]
    assert api.data(WINDOWS)["maintenanceWindows"] == []


def test_a_window_without_an_offset_is_refused(api: Api) -> None:
    refused = ask(api, ANNOUNCE, s="2030-01-01T01:00:00", e="2030-01-01T02:00:00", r=REASON)
    assert codes(refused) == ["BAD_USER_INPUT"] and "offset" in refused.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("0001-01-01T00:00:00+07:00", "0001-01-01T01:00:00+07:00"),
        ("9999-12-31T20:00:00-07:00", "9999-12-31T23:00:00-07:00"),
    ],
)
def test_an_instant_beyond_the_calendar_is_bad_input_not_an_internal_error(api: Api, start: str, end: str) -> None:
    """Found by review: year 1 at +07:00 (or 9999 at -07:00) has no instant in UTC, and answered INTERNAL."""
    refused = ask(api, ANNOUNCE, s=start, e=end, r=REASON)
    assert codes(refused) == ["BAD_USER_INPUT"] and "between the years" in refused.json()["errors"][0]["message"]


def test_during_a_window_writes_get_503_maintenance_change_nothing_and_reads_continue(
    api: Api, official: dict[str, str]
) -> None:
    before = pending(api, official)
    window = announce(api, now(), now() + timedelta(minutes=10)).json()["data"]["announceMaintenance"]
    api.statements.clear()
    refused = propose(api, official)
    error = refused.json()["errors"][0]
    assert refused.status_code == 503 and error["extensions"]["code"] == "MAINTENANCE"
    assert REASON in error["message"] and error["extensions"]["until"] in error["message"]
    assert 0 < int(refused.headers["retry-after"]) <= 600 and error["extensions"]["retryAfter"] > 0
    # Refused before anything ran: no write began on the request's database (not even SQLite's lock).
    assert not [s for s in api.statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    # Reads continue, and cost no statement for the check.
    assert pending(api, official) == before
    assert not [s for s in api.statements if "maintenance_window" in s]
    ready = api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["maintenance"]["reason"] == REASON
    assert api.data(WINDOWS)["maintenanceWindows"][0]["inEffect"] is True
    bundle = api.client.post("/sync/batches", content=b"not even a bundle")
    assert bundle.status_code == 503 and bundle.json()["errors"][0]["extensions"]["code"] == "MAINTENANCE"
    # A mutation that also cancels is still a write: refused whole, the window stays.
    both = f'mutation {{ cancelMaintenance(id: "{window["id"]}") {{ id }} proposeChange(officialId: "1", changes: {{}}, reason: "x") {{ id }} }}'
    assert codes(ask(api, both)) == ["MAINTENANCE"] and len(api.data(WINDOWS)["maintenanceWindows"]) == 1
    # The administrator ends it early; this process sees it at once.
    assert ask(api, CANCEL, id=window["id"]).status_code == 200
    assert propose(api, official).json().get("errors") is None and pending(api, official) == before + 1
    assert "maintenance" not in api.client.get("/readyz").json()


def test_another_gateway_process_refuses_writes_during_the_window(api: Api, official: dict[str, str]) -> None:
    """The windows live in the database: a process that did not announce it refuses writes all the same."""
    announce(api, now(), now() + timedelta(minutes=10))
    with served_process(api.settings) as other:
        headers = {"Authorization": f"Bearer {api.token(official['code'])}"}
        body = {"query": PROPOSE, "variables": {"id": official["id"], "c": {"otherName": "Bé"}, "r": "Cập nhật"}}
        refused = httpx2.post(f"{other}/graphql", json=body, headers=headers, timeout=30)
        read = httpx2.post(f"{other}/graphql", json={"query": WINDOWS}, headers=headers, timeout=30)
    assert refused.status_code == 503 and refused.json()["errors"][0]["extensions"]["code"] == "MAINTENANCE"
    assert read.status_code == 200 and read.json()["data"]["maintenanceWindows"][0]["reason"] == REASON


T0 = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)


def window(number: int, start: int, end: int) -> Window:
    """Window `number`, from `start` to `end` minutes after T0."""
    return Window(number, T0 + timedelta(minutes=start), T0 + timedelta(minutes=end), f"window {number}")


def test_a_window_begins_at_its_start_and_ends_at_its_end_without_reading_again() -> None:
    windows = [window(1, 10, 20)]
    assert read_only(windows, T0 + timedelta(minutes=9, seconds=59)) is None
    assert read_only(windows, T0 + timedelta(minutes=10)) is not None
    assert read_only(windows, T0 + timedelta(minutes=20)) is None


def test_writes_come_back_when_the_windows_that_follow_without_a_gap_have_ended() -> None:
    closed = read_only([window(3, 40, 50), window(2, 20, 40), window(1, 0, 30)], T0 + timedelta(minutes=5))
    assert closed is not None and closed.window.id == 1 and closed.until == T0 + timedelta(minutes=50)
    apart = read_only([window(1, 0, 30), window(2, 31, 40)], T0)
    assert apart is not None and apart.until == T0 + timedelta(minutes=30)
