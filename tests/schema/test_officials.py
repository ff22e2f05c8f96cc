from typing import Any

import pytest

from tests.conftest import OFFICIALS, Api

PAGE = """
query Page($first: Int!, $after: String, $filter: OfficialFilter, $orderBy: OfficialOrder) {
  officials(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id fullName birthDate code } }
  }
}
"""


def page(api: Api, **variables: object) -> dict[str, Any]:
    found: dict[str, Any] = api.data(PAGE, variables={"first": 100, **variables})["officials"]
    return found


def all_ids(api: Api, *, first: int, **variables: object) -> list[str]:
    ids: list[str] = []
    after = None
    while True:
        result = page(api, first=first, after=after, **variables)
        ids += [edge["node"]["id"] for edge in result["edges"]]
        if not result["pageInfo"]["hasNextPage"]:
            return ids
        after = result["pageInfo"]["endCursor"]


def test_me_returns_the_callers_own_record(api: Api) -> None:
    me = api.data("{ me { code fullName } }", as_user="SH00000042")["me"]
    assert me["code"] == "SH00000042"


def test_me_is_null_for_staff_accounts_with_a_word_why(api: Api) -> None:
    body = api.post("{ me { code } }", as_user="admin")
    assert body["data"] == {"me": None}
    [error] = body["errors"]
    assert error["extensions"]["code"] == "NOT_FOUND" and error["path"] == ["me"]
    assert "'admin' is a staff account with no official record" in error["message"]


def test_official_by_id_returns_the_record_with_vietnamese_labels(api: Api) -> None:
    official = api.data(
        '{ official(id: "1") { id code fullName gender { code label } ethnicity { label } '
        "employeeType { code label } status { code } unit { code } topUnit { level } } }"
    )["official"]
    assert official["id"] == "1"
    assert official["gender"]["label"] in ("Nam", "Nữ")
    assert official["topUnit"]["level"] == 1
    assert official["unit"]["code"].startswith(official["unit"]["code"].split(".")[0])


def test_official_that_does_not_exist_is_null(api: Api) -> None:
    assert api.data('{ official(id: "99999999") { id } }')["official"] is None


def test_malformed_id_is_a_bad_input_error(api: Api) -> None:
    body = api.post('{ official(id: "x1") { id } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_first_above_100_is_rejected_not_truncated(api: Api) -> None:
    body = api.post("{ officials(first: 101) { totalCount } }")
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "at most 100" in body["errors"][0]["message"]


def test_total_count_counts_every_official_in_scope(api: Api) -> None:
    assert page(api, first=1)["totalCount"] == OFFICIALS


@pytest.mark.parametrize(
    "order",
    [None, {"field": "NAME", "direction": "DESC"}, {"field": "CODE"}, {"field": "BIRTH_DATE", "direction": "DESC"}],
)
def test_paging_through_a_whole_unit_returns_every_official_exactly_once(
    api: Api, order: dict[str, str] | None
) -> None:
    unit = api.data('{ unit(code: "HNI") { id officials(first: 1) { totalCount } } }')["unit"]
    ids = all_ids(api, first=7, filter={"unit": unit["id"]}, orderBy=order)
    assert len(ids) == len(set(ids)) == unit["officials"]["totalCount"] > 7


def test_pages_follow_the_requested_order(api: Api) -> None:
    births = [e["node"]["birthDate"] for e in page(api, orderBy={"field": "BIRTH_DATE"})["edges"]]
    assert births == sorted(births)
    codes = [e["node"]["code"] for e in page(api, orderBy={"field": "CODE", "direction": "DESC"})["edges"]]
    assert codes == sorted(codes, reverse=True)


def test_a_cursor_from_another_ordering_is_rejected(api: Api) -> None:
    cursor = page(api, first=2)["pageInfo"]["endCursor"]
    body = api.post(PAGE, variables={"first": 2, "after": cursor, "orderBy": {"field": "CODE"}})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_a_forged_cursor_is_rejected(api: Api) -> None:
    body = api.post(PAGE, variables={"first": 2, "after": "not-a-cursor"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_name_search_ignores_accents_and_case(api: Api) -> None:
    someone = api.data('{ official(id: "5") { fullName } }')["official"]["fullName"]
    from db.text import fold

    plain = fold(someone)
    found = page(api, filter={"name": plain.upper()})
    names = [e["node"]["fullName"] for e in found["edges"]]
    assert someone in names
    assert all(fold(n).startswith(plain) or f" {plain}" in f" {fold(n)}" for n in names)


def test_filters_narrow_the_list(api: Api) -> None:
    query = """query($f: OfficialFilter) { officials(first: 100, filter: $f) {
        totalCount nodes { gender { code } employeeType { code } birthDate rank { code } status { code } } } }"""
    women = api.data(query, variables={"f": {"gender": "NU"}})["officials"]
    assert 0 < women["totalCount"] < OFFICIALS
    assert {n["gender"]["code"] for n in women["nodes"]} == {"NU"}
    vc = api.data(query, variables={"f": {"employeeTypes": ["VIEN_CHUC"], "birthYearFrom": 1980, "birthYearTo": 1989}})
    for node in vc["officials"]["nodes"]:
        assert node["employeeType"]["code"] == "VIEN_CHUC"
        assert "1980" <= node["birthDate"][:4] <= "1989"
    ranked = api.data(query, variables={"f": {"rankCodes": ["01.003"], "statuses": ["ACTIVE"]}})["officials"]
    assert ranked["totalCount"] > 0
    assert {(n["rank"]["code"], n["status"]["code"]) for n in ranked["nodes"]} == {("01.003", "ACTIVE")}


def test_unknown_rank_code_is_rejected(api: Api) -> None:
    body = api.post('{ officials(filter: {rankCodes: ["99.999"]}) { totalCount } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_inverted_birth_year_range_is_rejected(api: Api) -> None:
    body = api.post("{ officials(filter: {birthYearFrom: 1990, birthYearTo: 1980}) { totalCount } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


NESTED = """query($first: Int!) { officials(first: $first) { nodes {
  fullName unit { name topUnit { code } } position { title unit { code } }
  training { school mode { label } } } } }"""


def test_a_page_of_100_costs_the_same_statements_as_a_page_of_10(api: Api) -> None:
    # The first request of an account in a few seconds also reads the account and its written grants
    # (cached per process afterwards); warm that up so both pages are counted alike.
    api.data("{ units { id } }")
    small = api.count_statements(NESTED, variables={"first": 10})
    large = api.count_statements(NESTED, variables={"first": 100})
    assert small == large
    # official page, units, positions, training
    assert large <= 6


def test_reading_the_account_and_its_grants_costs_at_most_three_statements(api: Api) -> None:
    api.state.scopes.forget()
    api.state.authenticator._cache.clear()
    cold = api.count_statements('{ codeList(name: "gender") { code } }', as_user="agency.bhxh")
    cold_statements = list(api.statements)
    warm = api.count_statements('{ codeList(name: "gender") { code } }', as_user="agency.bhxh")
    # A partner's response always gets a receipt: appending it to the log is two statements (take the
    # next index with the data version it cites, insert the leaf), whatever the response holds.
    assert warm == 2 and receipt_statements(api.statements) == 2
    assert cold - receipt_statements(cold_statements) <= 3  # the account, its grants, its agency's agreements


def receipt_statements(statements: list[str]) -> int:
    return sum(any(t in s for t in ("log_head", "receipt_log")) for s in statements)


def test_child_records_come_with_the_official(api: Api) -> None:
    official = api.data(
        """{ official(id: "3") { workHistory { fromDate toDate description }
        salaryHistory { effectiveDate grade coefficient rank { code } }
        familyMembers { side { code } relation fullName birthYear }
        evaluations { year level { label } } rewards { year form } disciplines { year } } }"""
    )["official"]
    assert official["workHistory"][-1]["toDate"] is None
    assert official["familyMembers"]
    assert {e["year"] for e in official["evaluations"]} <= {2023, 2024, 2025}


@pytest.mark.parametrize("bad", ["99999999999999999999", "2147483648", "1_0", " 10", "+10", "0", "-3"])
def test_ids_out_of_range_or_oddly_written_are_bad_input(api: Api, bad: str) -> None:
    body = api.post("query($id: ID!) { official(id: $id) { id } }", variables={"id": bad})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("payload", [["name:asc", "x", 2**63], ["name:asc", "x", True], ["name:asc", "a\u0000", 5]])
def test_crafted_cursors_are_bad_input(api: Api, payload: list[object]) -> None:
    import base64
    import json

    cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    body = api.post(PAGE, variables={"first": 2, "after": cursor})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_nul_in_a_search_is_bad_input(api: Api) -> None:
    body = api.post(PAGE, variables={"first": 2, "filter": {"name": "nguyen\u0000"}})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_a_variable_of_the_wrong_type_is_bad_input(api: Api) -> None:
    body = api.post(PAGE, variables={"first": "many"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = api.post(PAGE, variables={})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_a_unit_filter_keeps_the_statement_inside_the_units_ministry(api: Api) -> None:
    # A subtree lies inside its top-level unit. Saying so in the statement lets PostgreSQL walk the
    # ministry's range of the (top_unit_id, name_sort, id) index; without it, a page of one ministry
    # walked the whole table in name order and filtered (10 ms against 1 ms at 200,000 officials).
    ministry = api.data('{ unit(code: "BNV") { id } }')["unit"]["id"]
    department = api.data('{ unit(code: "BNV.VP") { id } }')["unit"]["id"]
    for unit in (ministry, department):
        api.statements.clear()
        listed = page(api, filter={"unit": unit})
        statement = next(s for s in api.statements if "ORDER BY official.name_sort" in s)
        assert "official.top_unit_id =" in statement, statement
        everyone = all_ids(api, first=100, filter={"unit": unit})
        assert listed["totalCount"] == len(everyone) == len(set(everyone))


def test_postgresql_plans_each_page_for_its_own_unit(api: Api) -> None:
    # A generic plan (PostgreSQL's choice after five runs of a prepared statement) does not know which
    # unit it serves and can sort a whole ministry for one page; every run is planned for its values.
    engine = api.state.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no plan cache to configure")

    async def mode() -> str:
        async with engine.connect() as conn:
            return str((await conn.exec_driver_sql("SHOW plan_cache_mode")).scalar_one())

    assert api.run(mode) == "force_custom_plan"
