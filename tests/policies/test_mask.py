"""The grant mask holds any number of grants: grants opening the same fields share a class, the mask
stays three short tokens, each granted id is written once in the statement, and from a row's mask,
id and top-level unit the exact grants that matched it are known (what a receipt cites)."""

import asyncio
from dataclasses import dataclass

from sqlalchemy import func, select

from db.engine import create_engine
from db.mask import Case
from db.predicates import Everyone, Grant, Named, Self, Subtree, TopUnits, UnitBound
from db.queries import officials
from db.queries.officials import OfficialFilter, Ordering
from db.scoping import OFFICIAL, Scope
from evidence.records import Exposure

WORK = frozenset({"Official.jobTitle", "Official.unit"})
NAME = frozenset({"Official.fullName"})


def named(official_id: int, fields: frozenset[str], basis: str) -> Grant:
    return Grant(Named(frozenset({official_id})), fields, (basis,))


def test_grants_opening_the_same_fields_share_one_class_and_one_in_list() -> None:
    hr = Grant(TopUnits(frozenset({7})), NAME, ("hr",))
    scope = Scope((*(named(i, WORK, f"grant:{i}") for i in range(1, 201)), hr))
    ids, dot, tops, dot2, subtrees = scope.layout.tokens(None)
    assert isinstance(ids, Case) and ids.whens == ((Named(frozenset(range(1, 201))), "1"),)
    assert isinstance(tops, Case) and (dot, dot2, subtrees) == (".", ".", "0")
    assert scope.readable("1.0.0") == WORK and scope.readable("1.1.0") == WORK | NAME


def test_a_row_matched_by_one_of_many_merged_grants_cites_that_grant_only() -> None:
    scope = Scope(
        (*(named(i, WORK, f"grant:{i}") for i in range(1, 70)), Grant(TopUnits(frozenset({7})), NAME, ("hr",)))
    )
    assert scope.bases("1.0.0", 5, 3) == {"grant:5"}
    assert scope.bases("1.1.0", 5, 7) == {"grant:5", "hr"}
    assert scope.bases("0.1.0", 500, 7) == {"hr"}


def test_one_grant_alone_needs_no_test_per_row() -> None:
    for predicate in (TopUnits(frozenset({1, 2})), Subtree("/A/"), Self(3), Named(frozenset({3, 4}))):
        (mask,) = Scope((Grant(predicate, WORK, ("g",)),)).layout.tokens(None)
        assert isinstance(mask, str) and Scope((Grant(predicate, WORK, ("g",)),)).readable(mask) == WORK


def test_the_deepest_subtree_holding_a_row_tells_every_subtree_grant_that_matched() -> None:
    scope = Scope(
        (
            Grant(Subtree("/A/"), NAME, ("outer",)),
            Grant(Subtree("/A/A.1/"), WORK, ("inner",)),
            Grant(Subtree("/A/A.10/"), WORK, ("sibling",)),
            Grant(Self(1), NAME, ("self",)),
        )
    )
    assert scope.layout.subtrees.paths[-1] == "/A/"  # deepest first
    inner = scope.layout.subtrees.paths.index("/A/A.1/") + 1
    assert scope.readable(f"0.0.{inner}") == NAME | WORK
    assert scope.bases(f"0.0.{inner}", 9, 1) == {"outer", "inner"}
    # Inside /A/A.1/, the subtrees holding it are constant and no other can match.
    assert scope.layout.tokens(UnitBound("/A/A.1/", 1))[-1] == str(inner)


def test_a_top_level_unit_bound_makes_the_top_unit_token_constant() -> None:
    scope = Scope((Grant(TopUnits(frozenset({1})), WORK, ("hr",)), Grant(Self(5), NAME, ("self",))))
    assert scope.layout.tokens(UnitBound("/B/", 2))[2] == "0"
    assert scope.layout.tokens(UnitBound("/A/X/", 1))[2] == "1"


def test_everyone_opens_its_fields_on_every_row() -> None:
    scope = Scope((Grant(Everyone(), NAME, ("analyst",)), named(4, WORK, "grant:4")))
    assert scope.readable("0.0.0") == NAME and scope.readable("1.0.0") == NAME | WORK
    assert scope.bases("1.0.0", 4, 1) == {"analyst", "grant:4"}


@dataclass(frozen=True)
class FakeRow:
    id: int
    top_unit_id: int
    grants: str


def test_a_receipt_cites_only_the_grants_of_the_officials_it_exposes() -> None:
    scope = Scope((named(1, WORK, "grant:1:CV-1"), named(2, WORK, "grant:2:CV-2"), named(3, NAME, "grant:3:CV-3")))
    exposure = Exposure()
    exposure.add_all([FakeRow(1, 9, "1.0.0"), None])
    assert exposure.basis(scope) == ("grant:1:CV-1",) and exposure.ids == {1}
    exposure.add(FakeRow(3, 9, "2.0.0"))
    assert exposure.basis(scope) == ("grant:1:CV-1", "grant:3:CV-3")


def _fields(i: int) -> frozenset[str]:
    # Pairwise different field sets (one class each, the worst case for the mask); names on odd rows
    # only and birth dates on even ones, so filtering and ordering go row by row.
    read = {"Official.fullName"} if i % 2 else {"Official.birthDate"}
    return frozenset({f"Official.f{bit}" for bit in range(12) if i >> bit & 1} | read)


def huge_scope() -> Scope:
    """Far more than any account holds: 40,000 named officials (more than a statement may have
    parameters) in 100 field classes, 1,100 subtrees (an OR of each would be deeper than SQLite allows),
    and 100 top-level units, the seeded officials' own ministries among them."""
    named_grants = [Grant(Named(frozenset(range(i, 40_000, 100))), _fields(i), (f"n{i}",)) for i in range(1, 101)]
    subtrees = [Grant(Subtree(f"/Q{i}/"), _fields(i), (f"s{i}",)) for i in range(1_100)]
    tops = [Grant(TopUnits(frozenset(range(i, i + 2))), _fields(i), (f"t{i}",)) for i in range(0, 200, 2)]
    return Scope((*named_grants, *subtrees, *tops))


def test_a_scope_of_thousands_of_grants_reads_in_one_statement_on_every_back_end(database_url: str) -> None:
    async def run() -> None:
        engine = create_engine(database_url)
        scope = huge_scope()
        by_name = OfficialFilter(name="nguyen")
        async with engine.connect() as conn:
            total = (await conn.execute(select(func.count()).select_from(OFFICIAL))).scalar_one()
            rows = await officials.list_(
                conn, scope=scope, filter=by_name, ordering=Ordering(field="birth_date"), limit=100
            )
            counted = await officials.count(conn, scope=scope, filter=OfficialFilter())
            fetched = await officials.get_many(conn, scope=scope, official_ids=list(range(1, 50)))
        await engine.dispose()
        assert rows and counted == total  # every seeded official has an id below 40,000
        assert all("Official.fullName" in scope.readable(row.grants) for row in rows)
        # Rows whose birth date is not readable sort as null: after the others, by id.
        keys = [
            (0, row.birth_date, row.id) if "Official.birthDate" in scope.readable(row.grants) else (1, row.id)
            for row in rows
        ]
        assert keys == sorted(keys) and any(key[0] for key in keys)
        assert {row.id for row in fetched} == set(range(1, 50))

    asyncio.run(run())
