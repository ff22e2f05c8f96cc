"""headcountHistory: a unit's headcount month by month from the approved versions, on both back ends.
An official retires in November and another in December, one moves between two of BNV's units; each
month's count is the record as approved at its end, under the caller's scope."""

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.approving import approve, register_approver
from tests.conftest import Writable

HISTORY = """query($unit: ID!, $from: String!, $to: String!, $subtree: Boolean! = true) {
  headcountHistory(unitId: $unit, from: $from, to: $to, includeSubtree: $subtree) {
    period headcount joined left suppressed
  }
}"""
PROPOSE = """mutation($id: ID!, $c: OfficialChangesInput!) {
  proposeChange(officialId: $id, changes: $c, reason: "Quyết định") { id }
}"""
K = 5


def history(writable: Writable, unit: str, first: str, last: str, who: str = "hr.BNV", subtree: bool = True) -> Any:
    variables = {"unit": unit, "from": first, "to": last, "subtree": subtree}
    return writable.api.data(HISTORY, as_user=who, variables=variables)["headcountHistory"]


def _holding(writable: Writable) -> list[dict[str, Any]]:
    query = """{ officials(first: 100, filter: { unit: "BNV", statuses: [ACTIVE, ON_LEAVE] }) {
      nodes { id unit { id code } } } }"""
    return list(writable.api.data(query, as_user="hr.BNV")["officials"]["nodes"])


def _propose(writable: Writable, official: str, changes: dict[str, Any]) -> None:
    writable.api.data(PROPOSE, as_user="hr.BNV", variables={"id": official, "c": changes})


@pytest.fixture(scope="module")
def months(writable: Writable, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """November: one official retires, another moves to a unit of BNV with no position; December: a
    third retires. What the test compares against: the counts before any approval."""
    key = register_approver(writable.api.settings, tmp_path_factory.mktemp("approver"))
    writable.clock.now = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)
    people = _holding(writable)
    units = sorted({p["unit"]["code"] for p in people if p["unit"]["code"] != "BNV"})
    # Two units neither of which is below the other, and two retirees outside both.
    units = [units[0], next(u for u in units if not (u + ".").startswith(units[0] + "."))]
    mover = next(p for p in people if p["unit"]["code"] == units[0])
    retired = [p for p in people if not any((p["unit"]["code"] + ".").startswith(u + ".") for u in units)][:2]
    before = {
        "BNV": history(writable, "BNV", "2026-11", "2026-11")[0]["headcount"],
        "from": history(writable, units[0], "2026-11", "2026-11")[0]["headcount"],
        "to": history(writable, units[1], "2026-11", "2026-11")[0]["headcount"],
    }
    target = writable.api.data(
        "query($c: String!) { unit(code: $c) { id } }", variables={"c": units[1]}, as_user="hr.BNV"
    )["unit"]["id"]
    _propose(writable, retired[0]["id"], {"status": "RETIRED"})
    _propose(writable, mover["id"], {"unit": target, "position": None})
    approve(writable, key, "BNV", "2026-11", datetime(2026, 11, 27, 2, 0, tzinfo=UTC))
    writable.clock.now = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)
    _propose(writable, retired[1]["id"], {"status": "RETIRED"})
    approve(writable, key, "BNV", "2026-12", datetime(2026, 12, 29, 2, 0, tzinfo=UTC))
    return {"before": before, "from": units[0], "to": units[1]}


def test_each_month_is_the_record_as_approved_at_its_end(writable: Writable, months: dict[str, Any]) -> None:
    n = months["before"]["BNV"]
    assert history(writable, "BNV", "2026-10", "2026-12") == [
        {"period": "2026-10", "headcount": n, "joined": 0, "left": 0, "suppressed": False},
        {"period": "2026-11", "headcount": n - 1, "joined": 0, "left": 1, "suppressed": False},
        {"period": "2026-12", "headcount": n - 2, "joined": 0, "left": 1, "suppressed": False},
    ]
    moved_from = history(writable, months["from"], "2026-10", "2026-12")
    moved_to = history(writable, months["to"], "2026-10", "2026-12")
    before_from, before_to = months["before"]["from"], months["before"]["to"]
    assert [(m["headcount"], m["joined"], m["left"]) for m in moved_from] == [
        (before_from, 0, 0),
        (before_from - 1, 0, 1),
        (before_from - 1, 0, 0),
    ]
    assert [(m["headcount"], m["joined"], m["left"]) for m in moved_to] == [
        (before_to, 0, 0),
        (before_to + 1, 1, 0),
        (before_to + 1, 0, 0),
    ]
    # A month with no approval carries the last count: the same as asking for one month alone.
    assert history(writable, "BNV", "2026-11", "2026-11")[0]["headcount"] == n - 1


def test_a_partner_gets_rounded_counts_and_no_moves(writable: Writable, months: dict[str, Any]) -> None:
    answer = history(writable, "BNV", "2026-10", "2026-12", who="agency.bhxh")
    for month in answer:
        assert month["joined"] is None and month["left"] is None
        assert month["headcount"] % K == 0 and abs(month["headcount"] - months["before"]["BNV"]) <= K + 2


def test_counts_are_of_the_callers_scope_and_another_ministry_may_not_count(
    writable: Writable, months: dict[str, Any]
) -> None:
    # An official of another ministry counts the officials of BNV it sees: none.
    assert all(m["headcount"] == 0 for m in history(writable, "BNV", "2026-10", "2026-12", who="SH00000001"))
    body = writable.api.post(HISTORY, as_user="hr.BTC", variables={"unit": "BNV", "from": "2026-11", "to": "2026-11"})
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN_FIELD"


@pytest.mark.parametrize(
    ("first", "last"), [("2026-12", "2026-11"), ("2027-01", "2027-01"), ("2016-01", "2026-12"), ("2026-13", "2026-12")]
)
def test_months_out_of_order_in_the_future_too_many_or_malformed_are_bad_input(
    writable: Writable, months: dict[str, Any], first: str, last: str
) -> None:
    body = writable.api.post(HISTORY, as_user="hr.BNV", variables={"unit": "BNV", "from": first, "to": last})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_the_history_is_three_statements_whatever_its_length(writable: Writable, months: dict[str, Any]) -> None:
    api = writable.api
    api.statements.clear()
    history(writable, "BNV", "2017-01", "2026-12")
    assert len(api.statements) <= 3


STATS = '{ workforceStats(groupBy: [GENDER], unitId: "BNV") { keys { code } count } }'


def test_a_breakdown_is_counted_once_per_data_version(
    writable: Writable, months: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A dashboard's breakdown is counted once, then read from memory until an approval changes the data."""
    api = writable.api
    api.statements.clear()
    first = api.data(STATS, as_user="hr.BNV")["workforceStats"]
    assert any("GROUP BY" in s for s in api.statements)
    api.statements.clear()
    assert api.data(STATS, as_user="hr.BNV")["workforceStats"] == first
    assert not any("GROUP BY" in s for s in api.statements)
    # Another scope is counted apart: the administrator's numbers are its own.
    api.statements.clear()
    api.data(STATS, as_user="admin")
    assert any("GROUP BY" in s for s in api.statements)

    writable.clock.now = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)
    men = _holding(writable)
    query = "query($id: ID!) { official(id: $id) { gender { code } } }"
    man = next(p for p in men if api.data(query, variables={"id": p["id"]})["official"]["gender"]["code"] == "NAM")
    _propose(writable, man["id"], {"gender": "NU"})
    key = register_approver(api.settings, tmp_path_factory.mktemp("again"))
    approve(writable, key, "BNV", "2026-12", datetime(2026, 12, 30, 2, 0, tzinfo=UTC))
    after = {b["keys"][0]["code"]: b["count"] for b in api.data(STATS, as_user="hr.BNV")["workforceStats"]}
    before = {b["keys"][0]["code"]: b["count"] for b in first}
    assert after == {"NAM": before["NAM"] - 1, "NU": before["NU"] + 1}


def test_an_official_counts_from_the_month_they_were_recruited(writable: Writable, months: dict[str, Any]) -> None:
    """Found by review: a month before the data existed showed today's count (1900 had BNV's staff)."""
    assert all(m["headcount"] == 0 for m in history(writable, "BNV", "1900-01", "1909-12"))
    decade = [m["headcount"] for m in history(writable, "BNV", "2016-11", "2026-10")]
    assert decade == sorted(decade) and decade[0] < decade[-1] == months["before"]["BNV"]
