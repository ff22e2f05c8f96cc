"""The compiled path's bounds that do not depend on the machine: one SQL statement for a read, whatever
the page size and however deep the selection; and what it does not compile is counted and logged."""

import logging
from typing import Any

import pytest

from tests.conftest import Api

PARTNER_PAGE = """query($first: Int!) { officials(first: $first, filter: {unit: "BNV"}) {
  totalCount pageInfo { hasNextPage endCursor }
  nodes { code fullName gender { code label } birthDate unit { name topUnit { code } }
          position { title unit { code } } } } }"""

SELF = """{ me { code fullName unit { name parent { code } } position { title }
  training { school } workHistory { fromDate description } familyMembers { side { label } relation fullName } salaryHistory { effectiveDate } } }"""


# A partner's response carries a receipt: its group-committed batch runs these, whatever was read.
RECEIPT_TABLES = ("log_head", "data_version", "receipt_log")


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


def test_the_first_fallback_of_each_reason_is_logged(api: Api, caplog: Any) -> None:
    reader: Any = api.client.app.state.reader  # type: ignore[attr-defined]
    reader.stats.fallbacks.clear()
    with caplog.at_level(logging.INFO, logger="ccvc.planner"):
        for _ in range(2):
            api.data("{ __schema { queryType { name } } }")
    told = [r.getMessage() for r in caplog.records if "does not compile" in r.getMessage()]
    assert len(told) == 1 and sum(reader.stats.fallbacks.values()) == 2
    assert "resolver tree answered (not collected: introspection: 2)" in reader.stats.summary()
