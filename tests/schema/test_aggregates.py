"""Aggregates for dashboards: counts under the caller's scope (never a row it cannot see), dimensions it
may group by, and protected answers from which no small cell can be recovered."""

from typing import Any

import pytest

from tests.conftest import Api

STATS = """query($by: [Dimension!]!, $unit: ID, $year: Int, $subtree: Boolean! = true) {
  workforceStats(groupBy: $by, unitId: $unit, evaluationYear: $year, includeSubtree: $subtree) {
    keys { dimension code label } count suppressed averageSalaryCoefficient
  }
}"""
K = 5


def stats(
    api: Api, as_user: str, *by: str, unit: str | None = None, year: int | None = None, subtree: bool = True
) -> list[dict[str, Any]]:
    variables = {"by": list(by), "unit": unit, "year": year, "subtree": subtree}
    body = api.data(STATS, as_user=as_user, variables=variables)
    return list(body["workforceStats"])


def total(api: Api, as_user: str, unit: str | None = None) -> int:
    query = "query($u: ID) { officials(filter: {unit: $u}) { totalCount } }"
    return int(api.data(query, as_user=as_user, variables={"u": unit})["officials"]["totalCount"])


def test_counts_are_the_rows_a_page_lists_and_no_more(api: Api) -> None:
    by_gender = stats(api, "hr.BNV", "GENDER", unit="BNV")
    assert {b["keys"][0]["code"] for b in by_gender} <= {"NAM", "NU"} and not any(b["suppressed"] for b in by_gender)
    assert sum(b["count"] for b in by_gender) == total(api, "hr.BNV", "BNV")
    # Without a unit, HR counts its own ministry only: the scope, not the database.
    tops = stats(api, "hr.BNV", "TOP_LEVEL_UNIT")
    assert len(tops) == 1 and tops[0]["keys"][0]["label"] and tops[0]["count"] == total(api, "hr.BNV")
    everyone = stats(api, "admin", "TOP_LEVEL_UNIT", "GENDER")
    assert (
        sum(b["count"] for b in everyone) == total(api, "admin") and len({b["keys"][0]["code"] for b in everyone}) > 1
    )


def test_three_dimensions_and_their_labels(api: Api) -> None:
    buckets = stats(api, "admin", "EMPLOYEE_TYPE", "AGE_BAND", "PARTY_MEMBERSHIP", unit="BNV")
    assert sum(b["count"] for b in buckets) == total(api, "admin", "BNV")
    labels = {key["label"] for b in buckets for key in b["keys"]}
    assert "Công chức" in labels and any("tuổi" in label for label in labels) and "Đảng viên" in labels
    evaluated = stats(api, "admin", "EVALUATION", unit="BNV", year=2025)
    assert sum(b["count"] for b in evaluated) == total(api, "admin", "BNV")
    body = api.post(STATS, variables={"by": ["EVALUATION"], "unit": "BNV", "year": None})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(("user", "dimension"), [("approver.BNV", "RELIGION"), ("agency.bhxh", "ETHNICITY")])
def test_a_sensitive_dimension_needs_its_own_permission(api: Api, user: str, dimension: str) -> None:
    body = api.post(STATS, as_user=user, variables={"by": [dimension], "unit": "BNV"})
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN_FIELD"


def _published(buckets: list[dict[str, Any]]) -> None:
    for bucket in buckets:
        if bucket["suppressed"]:
            assert bucket["count"] is None and bucket["averageSalaryCoefficient"] is None
        else:
            assert bucket["count"] >= K and bucket["count"] % K == 0  # rounded to a multiple of k


def test_a_partner_and_an_analyst_grouping_by_what_they_do_not_read_get_protected_answers(api: Api) -> None:
    _published(stats(api, "agency.bhxh", "GENDER", "RANK"))
    analyst = stats(api, "analyst", "ETHNICITY", "TOP_LEVEL_UNIT")
    _published(analyst)
    assert any(b["suppressed"] for b in analyst)
    # What the analyst reads on every official, it gets exactly.
    exact = stats(api, "analyst", "GENDER")
    assert sum(b["count"] for b in exact) == total(api, "analyst")


def test_no_suppressed_cell_can_be_recovered_by_differencing(api: Api) -> None:
    """The analyst reads every official's ministry, so knows each ministry's exact total; by ministry and
    religion, subtracting a ministry's visible cells from its total leaves the sum of two hidden cells or
    more, never one of them, and the visible cells are themselves only known to within k; a hidden cell
    does not even say which religion it is."""
    totals = {b["keys"][0]["code"]: b["count"] for b in stats(api, "analyst", "TOP_LEVEL_UNIT")}
    truth = {tuple(k["code"] for k in b["keys"]): b["count"] for b in stats(api, "admin", "TOP_LEVEL_UNIT", "RELIGION")}
    cells = stats(api, "analyst", "TOP_LEVEL_UNIT", "RELIGION")
    hidden_cells = [b for b in cells if b["suppressed"]]
    assert hidden_cells, "the seed must give small cells, or this proves nothing"
    assert all(b["keys"][1]["code"] is None and b["count"] is None for b in hidden_cells)
    for unit, exact in totals.items():
        visible = {
            b["keys"][1]["code"]: b["count"] for b in cells if b["keys"][0]["code"] == unit and not b["suppressed"]
        }
        hidden = [n for (top, religion), n in truth.items() if top == unit and religion not in visible]
        for religion, shown in visible.items():
            assert shown % K == 0 and abs(shown - truth[unit, religion]) < K
        assert exact - sum(truth[unit, religion] for religion in visible) == sum(hidden)
        if hidden:
            assert len(hidden) >= 2 and sum(hidden) >= K


def test_the_same_officials_get_the_same_rounded_count_in_every_answer(api: Api) -> None:
    """Counts are rounded by the cell's key (its officials' record keys), not by a fresh draw: asking again,
    or for the same officials in another breakdown, gives the same number, so averaging answers tells
    nothing (tests/resolvers/test_aggregates.py measures what a subtraction across answers learns)."""
    by_ministry = stats(api, "analyst", "TOP_LEVEL_UNIT", "RELIGION")
    compared = 0
    for ministry in {b["keys"][0]["code"] for b in by_ministry if not b["suppressed"]}:
        alone = {b["keys"][0]["code"]: b["count"] for b in stats(api, "analyst", "RELIGION", unit=ministry)}
        truth = {b["keys"][0]["code"]: b["count"] for b in stats(api, "admin", "RELIGION", unit=ministry)}
        for bucket in by_ministry:
            religion = bucket["keys"][1]["code"]
            if bucket["keys"][0]["code"] == ministry and not bucket["suppressed"] and alone.get(religion) is not None:
                assert bucket["count"] == alone[religion] and abs(bucket["count"] - truth[religion]) < K
                compared += 1
    assert compared and stats(api, "analyst", "TOP_LEVEL_UNIT", "RELIGION") == by_ministry
    exact = stats(api, "admin", "TOP_LEVEL_UNIT", "RELIGION")
    assert any(b["count"] % K for b in exact), "the administrator's answers are exact"


def test_a_unit_whose_officials_share_one_value_does_not_say_it(api: Api) -> None:
    """Found by review: a protected line of one bucket told everyone's value (every official of a unit a
    Party member), and listed suppressed buckets gave lower bounds that pinned national counts."""
    for unit in ("BTC.TCCB", "BNV.VP", "HNI"):
        buckets = stats(api, "analyst", "PARTY_MEMBERSHIP", unit=unit)
        shown = [b for b in buckets if not b["suppressed"]]
        assert len(shown) != 1 or len(buckets) > 1
        assert all(b["keys"][0]["code"] is None for b in buckets if b["suppressed"])


def test_units_of_two_dimensions_are_labelled_in_one_statement(api: Api) -> None:
    query = '{ workforceStats(groupBy: [TOP_LEVEL_UNIT, UNIT], unitId: "BNV") { count } }'
    api.data("{ units { code } }")  # the account and its scope read once, as for any first request
    assert api.count_statements(query) <= 4  # the unit, the data version, the counts, the units' labels


def test_staffing_counts_holders_against_quotas(api: Api) -> None:
    query = """{ staffing(unitId: "BNV") { quota filled vacancies overQuota
      units { unit { code } quota filled positions { position { title quota } quota filled vacancies overQuota } } } }"""
    staffing = api.data(query, as_user="hr.BNV")["staffing"]
    assert staffing["units"][0]["unit"]["code"] == "BNV"
    assert staffing["quota"] == sum(u["quota"] for u in staffing["units"])
    assert staffing["filled"] == sum(u["filled"] for u in staffing["units"]) <= total(api, "hr.BNV", "BNV")
    for unit in staffing["units"]:
        for position in unit["positions"]:
            assert position["quota"] == position["position"]["quota"]
            assert position["vacancies"] - position["overQuota"] == position["quota"] - position["filled"]
        assert unit["quota"] == sum(p["quota"] for p in unit["positions"])
    # A unit's vacancies are its positions' (one's excess does not hide another's vacancy).
    vacancies = '{ staffing(unitId: "BNV") { vacancies overQuota units { positions { vacancies overQuota } } } }'
    answer = api.data(vacancies, as_user="hr.BNV")["staffing"]
    positions = [p for u in answer["units"] for p in u["positions"]]
    assert answer["vacancies"] == sum(p["vacancies"] for p in positions)
    assert answer["overQuota"] == sum(p["overQuota"] for p in positions)
    # Another ministry's HR sees none of BNV's officials: a count of them would be a false zero.
    # Nor does a manager of one of its units, or an official (found by review: partial counts).
    for reader in ("hr.BTC", "manager.BNV.VP", "SH00000052"):
        other = api.post(query, as_user=reader)
        assert other["data"] is None and other["errors"][0]["extensions"]["code"] == "FORBIDDEN_FIELD", reader


def test_a_breakdown_is_one_statement_beside_the_data_version(api: Api) -> None:
    api.data("{ units { code } }")  # the account and its scope read once, as for any first request
    assert api.count_statements(STATS, as_user="admin", variables={"by": ["GENDER", "AGE_BAND"], "unit": None}) <= 2


def test_a_protected_breakdown_takes_no_filter_that_could_be_subtracted(api: Api) -> None:
    query = """{ workforceStats(groupBy: [RELIGION], filter: {gender: NAM}) { count } }"""
    body = api.post(query, as_user="analyst")
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "errors" not in api.post(query, as_user="admin")
