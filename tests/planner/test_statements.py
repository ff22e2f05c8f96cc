"""The compiled path's bounds that do not depend on the machine: one SQL statement for a read, whatever
the page size and however deep the selection; and what it does not compile is counted and logged."""

import logging
from typing import Any, get_args

import pytest

from db.queries.officials import OrderField, Ordering, order_column
from planner.layout import OFFICIAL_ALWAYS
from tests.conftest import Api

PARTNER_PAGE = """query($first: Int!) { officials(first: $first, filter: {unit: "BNV"}) {
  totalCount pageInfo { hasNextPage endCursor }
  nodes { code fullName gender { code label } birthDate unit { name topUnit { code } }
          position { title unit { code } } } } }"""

SELF = """{ me { code fullName unit { name parent { code } } position { title }
  training { school } workHistory { fromDate description } familyMembers { side { label } relation fullName } salaryHistory { effectiveDate } } }"""


# A partner's response carries a receipt: its group-committed batch runs these, whatever was read.
RECEIPT_TABLES = ("log_head", "receipt_log")


def _warm(api: Api, user: str) -> None:
    """The account, its grants and the unit directory are read once and cached per process."""
    api.data('{ officials(first: 1, filter: {unit: "BNV"}) { totalCount } }', as_user=user)


def _reads(api: Api, query: str, user: str, variables: dict[str, Any] | None = None) -> list[str]:
    api.count_statements(query, as_user=user, variables=variables)
    return [s for s in api.statements if not any(table in s for table in RECEIPT_TABLES)]


@pytest.mark.parametrize("first", [1, 100])
@pytest.mark.parametrize("user", ["agency.bhxh", "hr.BNV"])
def test_a_partner_page_is_one_statement_whatever_its_size(api: Api, first: int, user: str) -> None:
    _warm(api, user)
    assert len(_reads(api, PARTNER_PAGE, user, {"first": first})) == 1


def test_an_officials_own_record_with_its_lists_is_one_statement(api: Api) -> None:
    _warm(api, "SH00000003")
    assert len(_reads(api, SELF, "SH00000003")) == 1


UNITS_DEEP = """{ units(kind: MINISTRY) { code parent { code } topUnit { name }
  children { code topUnit { code } children { name positions { title unit { code } } } positions { code } } } }"""


def test_units_and_positions_inside_lists_are_still_one_statement(api: Api) -> None:
    api.data(UNITS_DEEP, as_user="hr.BNV")  # and the cost bound's largest list sizes, kept per process
    reader: Any = api.state.reader
    compiled = reader.stats.compiled
    assert len(_reads(api, UNITS_DEEP, "hr.BNV")) == 1
    assert reader.stats.compiled == compiled + 1


OFFICIALS_OF_A_UNIT = """{ unit(code: "BNV") { name parent { code }
  officials(first: 3) { totalCount nodes { code unit { code } } }
  positions { title } } }"""
HOLDERS = """{ official(code: "SH00000007") { code position { title holders(first: 5) { nodes { code } } } } }"""


@pytest.mark.parametrize("query", [OFFICIALS_OF_A_UNIT, HOLDERS])
def test_a_page_below_a_single_unit_or_position_is_one_statement_more(api: Api, query: str) -> None:
    """`Unit.officials` and `Position.holders` need the unit's or position's id: a second statement,
    whatever the page's size (inside a list, one per item: the test below)."""
    api.data(query, as_user="hr.BNV")  # and the cost bound's largest list sizes, kept per process
    reader: Any = api.state.reader
    compiled = reader.stats.compiled
    assert len(_reads(api, query, "hr.BNV")) == 2
    assert reader.stats.compiled == compiled + 1


PAGES_IN_A_LIST = """{ units(kind: MINISTRY) { code officials(first: 2) { totalCount nodes { code } } } }"""


def test_a_page_below_each_item_of_a_list_is_one_statement_per_item(api: Api) -> None:
    """The resolver tree reads each unit's page with two statements (the page, its count); the compiled
    path with one, and the list itself with one more."""
    ministries = len(api.data("{ units(kind: MINISTRY) { id } }", as_user="hr.BNV")["units"])
    api.data(PAGES_IN_A_LIST, as_user="hr.BNV")  # and the cost bound's largest list sizes
    reader: Any = api.state.reader
    compiled = reader.stats.compiled
    assert len(_reads(api, PAGES_IN_A_LIST, "hr.BNV")) == 1 + ministries
    assert reader.stats.compiled == compiled + 1


def test_the_first_fallback_of_each_reason_is_logged(api: Api, caplog: Any) -> None:
    reader: Any = api.state.reader
    reader.stats.fallbacks.clear()
    with caplog.at_level(logging.INFO, logger="ccvc.planner"):
        for _ in range(2):
            api.data("{ __schema { queryType { name } } }")
    told = [r.getMessage() for r in caplog.records if "does not compile" in r.getMessage()]
    assert len(told) == 1 and sum(reader.stats.fallbacks.values()) == 2
    assert "resolver tree answered (not collected: introspection: 2)" in reader.stats.summary()


PAGE = """query($first: Int!, $after: String, $kinds: [EmployeeType!]) {
  officials(first: $first, after: $after, filter: {unit: "BNV", employeeTypes: $kinds}) {
    nodes { code } pageInfo { endCursor } } }"""


def test_a_kept_statement_answers_with_each_requests_own_values(api: Api) -> None:
    """The statement of a plan is built once per scope and shape; every value is bound anew: the page's
    size, the cursor, the filter's lists (whatever their length). The resolver tree is the reference."""
    reader: Any = api.state.reader
    asks: list[dict[str, Any]] = [
        {"first": 2, "after": None, "kinds": ["CONG_CHUC"]},
        {"first": 5, "after": None, "kinds": ["CONG_CHUC", "VIEN_CHUC"]},
    ]
    first_pages = [api.data(PAGE, variables=v, as_user="hr.BNV")["officials"] for v in asks]
    asks += [{**v, "after": page["pageInfo"]["endCursor"]} for v, page in zip(asks, first_pages, strict=True)]
    hits = reader.stats.statement_hits
    answers = [api.data(PAGE, variables=v, as_user="hr.BNV")["officials"]["nodes"] for v in asks]
    # The pages without a cursor share one statement (built above), the pages after one another.
    assert reader.stats.statement_hits - hits == len(asks) - 1
    assert [len(nodes) for nodes in answers] == [2, 5, 2, 5]
    assert answers[2] != answers[0] and answers[3] != answers[1]
    expected = [_resolved(api, v) for v in asks]
    assert answers == expected


def _resolved(api: Api, variables: dict[str, Any]) -> list[dict[str, Any]]:
    """The same page through the resolver tree (a document the planner leaves to it: with `__schema`)."""
    query = PAGE.replace("pageInfo { endCursor } } }", "pageInfo { endCursor } } __schema { queryType { name } } }")
    nodes: list[dict[str, Any]] = api.data(query, variables=variables, as_user="hr.BNV")["officials"]["nodes"]
    return nodes


def test_every_row_carries_the_column_its_cursor_holds() -> None:
    """A plan reads only the columns it writes, plus what each row needs whatever is asked."""
    assert {order_column(Ordering(field)) for field in get_args(OrderField)} <= set(OFFICIAL_ALWAYS)


def test_officials_share_the_statement_of_their_own_record_and_each_reads_only_their_own(api: Api) -> None:
    """An official's own scope binds their id (Scope.sql_identity): the second official's `me` finds the
    statement the first one's built, and still reads their own record, and only it."""
    reader: Any = api.state.reader
    seen = []
    for user in ("SH00000011", "SH00000012", "SH00000013"):
        hits = reader.stats.statement_hits
        me = api.data("{ me { code training { school } } }", as_user=user)["me"]
        page = api.data("{ officials(first: 5) { totalCount nodes { code } } }", as_user=user)["officials"]
        seen.append(reader.stats.statement_hits - hits)
        assert me["code"] == user and page == {"totalCount": 1, "nodes": [{"code": user}]}
    assert seen[1:] == [2, 2]  # `me` and the page, both kept since the first official


REFUSED_LAST = """{ unit(code: "BNV") { children { officials(first: 1) { nodes { code } } }
  zz: officials(first: 101) { totalCount } } }"""


def test_a_page_the_resolver_tree_refuses_is_refused_before_any_statement(api: Api) -> None:
    """`first: 101` on the last page: the compiled path leaves the request to the resolver tree before it
    reads anything (it once read the unit and every child's page first, then fell back: twice the reads)."""
    reader: Any = api.state.reader
    ran = reader.stats.statement_hits + reader.stats.statement_misses
    refused = reader.stats.fallbacks["refused: BadInput"]
    body = api.post(REFUSED_LAST, as_user="hr.BNV")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert reader.stats.fallbacks["refused: BadInput"] == refused + 1
    assert reader.stats.statement_hits + reader.stats.statement_misses == ran
