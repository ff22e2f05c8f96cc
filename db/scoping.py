"""The request's Scope, and how it becomes SQL.

A Scope is a small frozen value: a tuple of grants, each a row predicate plus the fields it opens.
`policies.authorizer` builds it from the principal; every function in `db.queries` takes it as a
required keyword argument and applies `official_filter` (which rows) and `grant_mask` (which grants
matched each row, one bit per grant) in the same statement. Nothing here decides *who* gets which
grant: that is policy. This module only makes the decision impossible to skip.
"""

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import BigInteger, ColumnElement, and_, case, false, literal, or_, select, true
from sqlalchemy.sql.expression import FromClause

from db.models import Official, Unit, table_of

OFFICIAL = table_of(Official)
UNIT = table_of(Unit)


@dataclass(frozen=True, slots=True)
class Everyone:
    """Every official in the database (national administrator)."""


@dataclass(frozen=True, slots=True)
class TopUnits:
    """Everyone under these ministries or provinces (the most common scope, an indexed column)."""

    unit_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class Subtree:
    """Everyone in a unit and the units below it; `path` is the unit's materialised path."""

    path: str


@dataclass(frozen=True, slots=True)
class Self:
    """One official's own record."""

    official_id: int


@dataclass(frozen=True, slots=True)
class Named:
    """Officials named one by one (a written grant for particular people)."""

    official_ids: frozenset[int]


Predicate = Everyone | TopUnits | Subtree | Self | Named


@dataclass(frozen=True, slots=True)
class Grant:
    predicate: Predicate
    fields: frozenset[str]
    # Where the right comes from (policy lines, agreements, written grants with their document
    # numbers; several when lines over the same rows merged): what a receipt cites as legal basis.
    bases: tuple[str, ...]


@dataclass(frozen=True)
class Scope:
    grants: tuple[Grant, ...]
    _fields_by_mask: dict[int, frozenset[str]] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def fields(self) -> frozenset[str]:
        """Every field some grant opens on some row."""
        return frozenset().union(*(grant.fields for grant in self.grants))

    @cached_property
    def everywhere(self) -> frozenset[str]:
        """Fields readable on every row of the scope: the only ones a filter or an ordering may use,
        since filtering by a field reveals it on the rows where it is not readable. Those of a grant
        over everyone (it matches every row), and those every grant opens."""
        if not self.grants:
            return frozenset()
        common = frozenset.intersection(*(grant.fields for grant in self.grants))
        return common.union(*(g.fields for g in self.grants if isinstance(g.predicate, Everyone)))

    def readable(self, mask: int) -> frozenset[str]:
        """The fields readable on a row whose matched grants are the bits of `mask`.

        Cached per mask: a page of rows has only a handful of distinct masks.
        """
        cached = self._fields_by_mask.get(mask)
        if cached is None:
            cached = frozenset().union(*(g.fields for bit, g in enumerate(self.grants) if mask & (1 << bit)))
            self._fields_by_mask[mask] = cached
        return cached


NOTHING = Scope(grants=())
# One bit per grant in a 64-bit mask (BIGINT on PostgreSQL, INTEGER on SQLite), sign bit unused.
MAX_GRANTS = 63


@dataclass(frozen=True, slots=True)
class UnitBound:
    """The query is already confined to this unit's subtree (a unit filter): grant predicates that are
    then always true or always false are folded before they reach SQL, so the planner does not AND a
    scan of the whole ministry into a scan of one department."""

    path: str
    top_unit_id: int


def _subtree_unit_ids(path: str) -> ColumnElement[bool]:
    # The paths below `path` are exactly those in [path, path-with-its-last-"/"-bumped-to-"0"):
    # a range scan on the unique index, with no LIKE escaping to get wrong.
    upper = path[:-1] + chr(ord("/") + 1)
    return and_(UNIT.c.path >= path, UNIT.c.path < upper)


def subtree_filter(
    path: str, official: FromClause = OFFICIAL, *, top_unit_id: int | None = None
) -> ColumnElement[bool]:
    """Officials of the unit at `path` and of its subunits. Given the unit's top-level unit, the
    statement says so: PostgreSQL then walks that ministry's range of the (top_unit_id, name_sort, id)
    index instead of the whole table in name order, and a whole ministry or province ("/BNV/") is
    exactly its top_unit_id, with no subtree test at all."""
    inside = official.c.unit_id.in_(select(UNIT.c.id).where(_subtree_unit_ids(path)))
    if top_unit_id is None:
        return inside
    top = official.c.top_unit_id == top_unit_id
    return top if path.count("/") == 2 else and_(top, inside)


def _folded(predicate: Predicate, bound: UnitBound | None) -> bool | None:
    """True or False when the predicate is constant over the bound's subtree; None otherwise."""
    match predicate:
        case Everyone():
            return True
        case TopUnits(unit_ids) if bound is not None:
            return bound.top_unit_id in unit_ids
        case Subtree(path) if bound is not None:
            if bound.path.startswith(path):
                return True
            return None if path.startswith(bound.path) else False
    return None


def _predicate_sql(predicate: Predicate, official: FromClause, bound: UnitBound | None = None) -> ColumnElement[bool]:
    constant = _folded(predicate, bound)
    if constant is not None:
        return true() if constant else false()
    match predicate:
        case Everyone():
            return true()
        case TopUnits(unit_ids):
            return official.c.top_unit_id.in_(sorted(unit_ids)) if unit_ids else false()
        case Subtree(path):
            return subtree_filter(path, official)
        case Self(official_id):
            return official.c.id == official_id
        case Named(official_ids):
            return official.c.id.in_(sorted(official_ids)) if official_ids else false()


def official_filter(
    scope: Scope, official: FromClause = OFFICIAL, bound: UnitBound | None = None
) -> ColumnElement[bool]:
    """Rows of `official` that some grant of the scope matches; no grant means no row. With `bound`,
    only rows of that subtree are asked about (the caller filters by it too)."""
    folded = [_folded(g.predicate, bound) for g in scope.grants]
    if any(constant is True for constant in folded):
        return true()
    return or_(
        false(),
        *(_predicate_sql(g.predicate, official) for g, c in zip(scope.grants, folded, strict=True) if c is None),
    )


def _bit(predicate: Predicate, bit: int, official: FromClause, bound: UnitBound | None) -> ColumnElement[int]:
    constant = _folded(predicate, bound)
    if constant is not None:
        return literal(1 << bit if constant else 0, BigInteger)
    return case((_predicate_sql(predicate, official), literal(1 << bit, BigInteger)), else_=literal(0, BigInteger))


def grant_mask(scope: Scope, official: FromClause = OFFICIAL, bound: UnitBound | None = None) -> ColumnElement[int]:
    """Bit i set when grant i matches the row; computed in the same statement as the row."""
    if len(scope.grants) == 1:
        return literal(1, BigInteger)
    terms = [_bit(g.predicate, bit, official, bound) for bit, g in enumerate(scope.grants)]
    total = terms[0] if terms else literal(0, BigInteger)
    for term in terms[1:]:
        total = total + term
    return total


def structure_visible(scope: Scope) -> ColumnElement[bool]:
    """Units and positions are the public shape of the state apparatus: any principal holding at
    least one grant may read them. A scope with no grant reads nothing at all."""
    return true() if scope.grants else false()
