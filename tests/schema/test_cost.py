"""The static cost (schema/cost.py) on the documents that matter, against the seeded tree's shape."""

from typing import Any

import pytest
from graphql import build_schema as build_sdl
from graphql import get_introspection_query, graphql_sync, parse

from gateway.config import Settings
from policies.authorizer import Authorizer
from resolvers.exports import export_statements
from resolvers.limits import TreeShape
from schema import build_schema
from schema.common import core
from schema.cost import (
    AUDIT_IN_TRANSACTION,
    CHILD_RECORDS,
    Cost,
    CostRuleError,
    TreeUnknown,
    check_rules,
    operation_cost,
)
from schema.limits import DEFAULT_LIMITS
from tests.schema.queries import COST_ATTACK, DASHBOARD, HEADCOUNT, PARTNER_PAGE, ROOT, SELF

SCHEMA = core(build_schema(authorizer=Authorizer(), max_depth=12, max_aliases=50, max_tokens=5000))
# The seeded tree (seed/structure.py): 16 ministries and provinces, at most 9 children and 7 positions.
TREE = TreeShape(top_units=16, most_children=9, most_positions=7)


def cost(query: str, variables: dict[str, Any] | None = None, name: str | None = None) -> Cost:
    found = operation_cost(SCHEMA, parse(query), name, variables, lambda: TREE, most_fields=10**12)
    assert found is not None
    return found


def test_the_partner_page_costs_its_fields_per_official_and_four_statements() -> None:
    page = cost(PARTNER_PAGE, {"unit": "BNV"})
    # officials, nodes, and per official 12 fields, gender/employeeType/rank with their code (6),
    # unit with code and name (3), position with code and title (3): 21 fields, 100 officials.
    assert page.fields == 2 + 100 * 21 == 2_102
    # the page and its filter's unit; units and positions, each one batch
    assert page.statements == 4


def test_an_officials_own_record_with_its_seven_lists_is_well_within_the_limits() -> None:
    me = cost(SELF)
    assert me.statements == 1 + 2 + 7  # the official, unit and position, the seven lists
    assert me.fields < DEFAULT_LIMITS.max_cost / 20 and me.fields > 7 * CHILD_RECORDS


def test_a_dashboard_of_units_their_children_and_positions_costs_three_batches_and_one_split() -> None:
    dashboard = cost(DASHBOARD)
    assert dashboard.fields == 1 + 16 * (3 + 9 * (3 + 7 * 2))
    assert dashboard.statements == 1 + 1 + 2


def test_the_issues_cost_attack_costs_billions_and_millions_of_statements() -> None:
    attack = cost(COST_ATTACK)
    assert attack.fields == 6_143_419_525 and attack.statements == 2_362_155
    assert attack.fields > DEFAULT_LIMITS.max_cost and attack.statements > DEFAULT_LIMITS.max_statements


def test_a_connection_under_a_list_of_units_runs_its_statements_for_every_unit() -> None:
    assert cost(HEADCOUNT).statements == 1 + 1 + 16 * 2  # units; their lookup (one batch); page and count each
    nested = cost("{ units { children { officials(first: 0) { totalCount } } } }")
    # units; their children (a batch); the children's units looked up (a batch per wave: children whose
    # parent was loaded before arrive early); a page and a count for each of 16 * 9 children
    assert nested.statements == 1 + 1 + 2 + 16 * 9 * 2 > DEFAULT_LIMITS.max_statements


def test_first_and_directives_come_from_the_variables() -> None:
    query = """query($first: Int!, $withUnit: Boolean!, $skipName: Boolean!) {
      officials(first: $first) { nodes { id fullName @skip(if: $skipName) unit @include(if: $withUnit) { code } } } }"""
    small = cost(query, {"first": 10, "withUnit": False, "skipName": True})
    large = cost(query, {"first": 100, "withUnit": True, "skipName": False})
    assert small.fields == 2 + 10 * 1 and small.statements == 1
    assert large.fields == 2 + 100 * 4 and large.statements == 2


def test_aliases_count_once_each_and_fragments_as_if_written_in_place() -> None:
    inline = cost("{ officials(first: 5) { nodes { id unit { code } } } }")
    spread = cost(
        "{ officials(first: 5) { ...Page } } fragment Page on OfficialConnection { nodes { id ...U } } "
        "fragment U on Official { unit { code } }"
    )
    assert spread == inline
    twice = cost("{ a: officials(first: 5) { nodes { id unit { code } } } b: officials(first: 5) { nodes { id } } }")
    assert twice.fields == inline.fields + 2 + 5 and twice.statements == inline.statements + 1


def test_first_counts_as_at_most_a_page_since_more_is_refused_by_the_field_itself() -> None:
    assert cost("{ officials(first: 5000) { nodes { id } } }").fields == 2 + 100


def test_an_export_counts_its_rows_and_its_statements() -> None:
    export = cost('mutation { exportOfficials(limit: 50000, filter: {unit: "BNV"}) { id rowCount } }')
    assert export.fields == 1 + 50_000 + 2 and export.statements == export_statements(50_000) + AUDIT_IN_TRANSACTION
    assert export.exports == 1 and export.fields <= DEFAULT_LIMITS.max_cost
    assert cost("mutation { a: exportOfficials { id } b: exportOfficials { id } }").exports == 2


def test_introspection_counts_exactly_the_fields_it_answers() -> None:
    query = get_introspection_query(descriptions=True, input_value_deprecation=True)
    answered = graphql_sync(SCHEMA, query)
    assert answered.errors is None

    def fields(value: Any) -> int:
        if isinstance(value, dict):
            return sum(1 + fields(v) for v in value.values())
        return sum(map(fields, value)) if isinstance(value, list) else 0

    introspection = cost(query)
    assert introspection.fields == fields(answered.data) and introspection.statements == 0


def test_the_tree_is_only_asked_for_when_units_or_positions_are_listed() -> None:
    def unknown() -> TreeShape:
        raise TreeUnknown

    for query in ("{ me { unit { code parent { code } } } }", "{ officials { nodes { training { school } } } }"):
        assert operation_cost(SCHEMA, parse(query), None, None, unknown, most_fields=10**6) is not None
    with pytest.raises(TreeUnknown):
        operation_cost(
            SCHEMA, parse('{ unit(code: "BNV") { children { code } } }'), None, None, unknown, most_fields=10**6
        )


def test_nothing_is_costed_when_nothing_would_run() -> None:
    two = "query A { me { id } } query B { me { id } }"
    assert operation_cost(SCHEMA, parse(two), None, None, lambda: TREE, most_fields=10) is None
    missing = "query($first: Int!) { officials(first: $first) { totalCount } }"
    assert operation_cost(SCHEMA, parse(missing), None, {}, lambda: TREE, most_fields=10) is None
    assert cost(two, name="B").fields == 2


def test_the_schema_is_not_built_when_a_list_of_objects_has_no_bound() -> None:
    with pytest.raises(CostRuleError, match="Query.things"):
        check_rules(build_sdl("type Query { officials: Int things: [Thing] } type Thing { a: Int }"))


def test_the_readmes_worked_examples_and_limits_are_the_codes() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Limits on what one request may ask") :]
    section = section[: section.index("\n## ", 1)]
    page, me, dashboard, attack = cost(PARTNER_PAGE, {"unit": "BNV"}), cost(SELF), cost(DASHBOARD), cost(COST_ATTACK)
    assert f"**{page.fields:,}**, and\n**{page.statements}** statements" in section
    assert f"costs {me.fields:,} and {me.statements}, the units" in section
    assert f"\n{dashboard.fields:,} and {dashboard.statements}." in section
    assert f"**{attack.fields:,}** fields, and **{attack.statements:,}** statements" in section
    limits = DEFAULT_LIMITS
    assert f"against {limits.max_cost:,} and {limits.max_statements}." in section
    defaults = {name: field.default for name, field in Settings.model_fields.items()}
    assert (defaults["max_query_cost"], defaults["max_query_statements"]) == (limits.max_cost, limits.max_statements)
    assert (defaults["max_query_fields"], defaults["max_query_depth"]) == (limits.max_fields, limits.max_depth)
    assert defaults["max_aliases"] == limits.max_aliases
    assert f"`CCVC_MAX_QUERY_FIELDS` fields ({limits.max_fields:,})" in section
