"""A statement built for one scope is reused for every scope of the same SQL identity
(Scope.sql_identity), with that scope's own values bound. That is safe only if the identity says
everything the SQL depends on: for random officials' own scopes, every statement the scope takes part
in has the same text, and its parameters differ by the official's id alone; any other scope is its
own identity."""

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Select
from sqlalchemy.dialects import postgresql, sqlite

from db.catalog import OFFICIAL as FIELDS
from db.predicates import Grant, Named, Self, UnitBound
from db.queries import officials
from db.queries.officials import OfficialFilter, Ordering
from db.scoping import SELF_ID, Scope
from tests.examples import examples

POLICY_NAMES = sorted({field.policy for field in FIELDS.values() if field.policy is not None})
DIALECTS = (postgresql.dialect(), sqlite.dialect())  # type: ignore[no-untyped-call]  # SQLAlchemy's dialect constructors are untyped

field_sets = st.frozensets(st.sampled_from(POLICY_NAMES), min_size=1)
orderings = st.builds(Ordering, st.sampled_from(["name", "code", "birth_date", "id"]), st.booleans())
filters = st.builds(
    OfficialFilter,
    unit_path=st.sampled_from([None, "/BNV/", "/BNV/VP/"]),
    name=st.sampled_from([None, "ng"]),
    birth_year_from=st.sampled_from([None, 1970]),
    within=st.sampled_from([None, UnitBound(path="/BNV/", top_unit_id=1)]),
)


def own_scope(official_id: int, fields: list[frozenset[str]]) -> Scope:
    return Scope(tuple(Grant(Self(official_id), opened, (f"role:official:{i}",)) for i, opened in enumerate(fields)))


def statements(scope: Scope, f: OfficialFilter, ordering: Ordering) -> list[Select[Any]]:
    return [
        officials.one_select(scope, official_id=5),
        officials.page_select(scope, f, ordering, 11, None),
        officials.count_select(scope, f),
    ]


def compiled(stmt: Select[Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(str(c), dict(c.params)) for c in (stmt.compile(dialect=d) for d in DIALECTS)]


@settings(max_examples=examples(60), deadline=None)
@given(
    ids=st.lists(st.integers(1, 10**9), min_size=2, max_size=2, unique=True),
    fields=st.lists(field_sets, min_size=1, max_size=3),
    f=filters,
    ordering=orderings,
)
def test_officials_own_scopes_differ_in_the_bound_id_alone(
    ids: list[int], fields: list[frozenset[str]], f: OfficialFilter, ordering: Ordering
) -> None:
    a, b = (own_scope(i, fields) for i in ids)
    assert a.sql_identity[0] == b.sql_identity[0]
    assert [binds for _, binds in (a.sql_identity, b.sql_identity)] == [{SELF_ID: ids[0]}, {SELF_ID: ids[1]}]
    for left, right in zip(statements(a, f, ordering), statements(b, f, ordering), strict=True):
        for (text_a, params_a), (text_b, params_b) in zip(compiled(left), compiled(right), strict=True):
            assert text_a == text_b
            assert params_a.pop(SELF_ID, ids[0]) == ids[0] and params_b.pop(SELF_ID, ids[1]) == ids[1]
            assert params_a == params_b


def test_any_other_scope_is_its_own_identity() -> None:
    own = Grant(Self(7), frozenset({"Official.fullName"}), ("role:official",))
    also_named = Scope((own, Grant(Named(frozenset({7, 8})), frozenset({"Official.jobTitle"}), ("grant:1",))))
    assert also_named.sql_identity == (also_named, {})
    two_records = Scope((own, Grant(Self(8), frozenset({"Official.fullName"}), ("odd",))))
    assert two_records.sql_identity == (two_records, {})
    text, params = compiled(officials.count_select(two_records, OfficialFilter()))[0]
    assert SELF_ID not in params and "IN" in text  # several own records: an IN list, not one parameter
