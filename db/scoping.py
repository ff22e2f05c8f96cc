"""The request's Scope, and how it becomes SQL.

A Scope is a small frozen value: a tuple of grants, each a row predicate plus the fields it opens.
`policies.authorizer` builds it from the principal; every function in `db.queries` takes it as a
required keyword argument and applies `official_filter` (which rows) and `grant_mask` (which grants
matched each row) in the same statement, and `where_readable` wherever a filter or an order reads a
field. Nothing here decides *who* gets which grant: that is policy. This module only makes the
decision impossible to skip.

However many grants an account holds, nothing here fails: the official ids of all its grants form one
IN list, their top-level units another, their outermost subtrees one subquery on the unit table, long
ORs are nested so that no expression gets deeper than SQLite allows, and the mask is three short tokens
(db.mask). There is no limit on the number of grants.
"""

from dataclasses import dataclass, field, replace
from functools import cached_property, reduce
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    String,
    and_,
    bindparam,
    case,
    false,
    literal_column,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy import type_coerce as _as
from sqlalchemy.sql.expression import FromClause

from db.mask import Case, MaskLayout, Token
from db.models import Official, Unit, table_of
from db.predicates import Everyone, Grant, Named, Predicate, Self, Subtree, TopUnits, UnitBound, folded

__all__ = [
    "NOTHING",
    "OFFICIAL",
    "UNIT",
    "Everyone",
    "Grant",
    "Named",
    "Predicate",
    "Scope",
    "Self",
    "Subtree",
    "TopUnits",
    "UnitBound",
    "grant_mask",
    "official_filter",
    "structure_visible",
    "subtree_filter",
    "unit_within",
    "where_readable",
    "where_unreadable",
]

OFFICIAL = table_of(Official)
UNIT = table_of(Unit)
# The bind parameter an official's own id is written as (Scope.sql_identity).
SELF_ID = "self_id"


@dataclass(frozen=True)
class Scope:
    grants: tuple[Grant, ...]
    _fields_by_mask: dict[str, frozenset[str]] = field(default_factory=dict, compare=False, repr=False)
    _everywhere: dict[UnitBound | None, frozenset[str]] = field(default_factory=dict, compare=False, repr=False)
    _bases: dict[tuple[str, int, int], frozenset[str]] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def fields(self) -> frozenset[str]:
        """Every field some grant opens on some row."""
        return frozenset().union(*(grant.fields for grant in self.grants))

    def everywhere_within(self, bound: UnitBound | None) -> frozenset[str]:
        """Fields readable on every row of the scope inside `bound`: those of a grant matching every
        such row, and those every grant that may match one of them opens."""
        cached = self._everywhere.get(bound)
        if cached is None:
            live = [(g, c) for g in self.grants if (c := folded(g.predicate, bound)) is not False]
            common = frozenset.intersection(*(g.fields for g, _ in live)) if live else frozenset()
            cached = common.union(*(g.fields for g, c in live if c is True))
            self._everywhere[bound] = cached
        return cached

    def covers(self, bound: UnitBound) -> bool:
        """Whether one grant matches every official of the bound's subtree (a ministry's HR or approver
        over any of its units); a grant over some of them (one's own record) does not."""
        return any(folded(g.predicate, bound) is True for g in self.grants)

    def covering_fields(self, bound: UnitBound | None) -> frozenset[str]:
        """The fields of the grants that each match every official inside `bound` (everyone, without
        one). Unlike everywhere_within, grants that only together reach every row do not count."""
        return frozenset().union(*(g.fields for g in self.grants if folded(g.predicate, bound) is True))

    def fields_within(self, bound: UnitBound | None) -> frozenset[str]:
        """Fields readable on some row of the scope inside `bound` (as far as the predicates tell)."""
        return frozenset().union(*(g.fields for g in self.grants if folded(g.predicate, bound) is not False))

    @cached_property
    def layout(self) -> MaskLayout:
        return MaskLayout.of(self.grants)

    @cached_property
    def sql_identity(self) -> tuple[object, dict[str, int]]:
        """What the scope's SQL depends on, and the values it binds by name: a statement built for one
        scope serves every scope of the same identity, with that scope's values bound.

        An official's own scope (grants of their own record and nothing else) writes its one id only
        as the `self_id` parameter (`_union`; its mask is a constant, see db.mask), so every official
        shares the same statements. Any other scope is identified by its grants themselves."""
        own = {g.predicate.official_id for g in self.grants if isinstance(g.predicate, Self)}
        if len(own) == 1 and all(isinstance(g.predicate, Self) for g in self.grants):
            shape = tuple(replace(g, predicate=Self(0)) for g in self.grants)
            return ("own record", shape), {SELF_ID: own.pop()}
        return self, {}

    def readable(self, mask: str) -> frozenset[str]:
        """The fields readable on a row whose grant mask is `mask` (see db.mask).

        Cached per mask: a page of rows has only a handful of distinct masks.
        """
        cached = self._fields_by_mask.get(mask)
        if cached is None:
            cached = self._fields_by_mask[mask] = self.layout.readable(mask)
        return cached

    def bases(self, mask: str, official_id: int, top_unit_id: int) -> frozenset[str]:
        """The legal bases of exactly the grants that matched this row (what a receipt cites).

        Cached: the row's id counts only where a grant names officials (the mask's first token is not
        0), its top-level unit only where one names top-level units (the second), so a page's rows
        mostly share a handful of answers."""
        ids, tops, _ = mask.split(".", 2)
        key = (mask, official_id if ids != "0" else 0, top_unit_id if tops != "0" else 0)
        cached = self._bases.get(key)
        if cached is None:
            cached = self._bases[key] = self.layout.bases(mask, official_id, top_unit_id)
        return cached


NOTHING = Scope(grants=())


def _subtree_unit_ids(path: str) -> ColumnElement[bool]:
    # The paths below `path` are exactly those in [path, path-with-its-last-"/"-bumped-to-"0"):
    # a range scan on the unique index, with no LIKE escaping to get wrong.
    upper = path[:-1] + chr(ord("/") + 1)
    return and_(UNIT.c.path >= path, UNIT.c.path < upper)


def unit_within(unit_id: ColumnElement[Any], path: str) -> ColumnElement[bool]:
    """A unit id (any expression: a column, a value kept in JSON) is of the unit at `path` or below it."""
    return unit_id.in_(select(UNIT.c.id).where(_subtree_unit_ids(path)))


def subtree_filter(
    path: str, official: FromClause = OFFICIAL, *, top_unit_id: int | None = None
) -> ColumnElement[bool]:
    """Officials of the unit at `path` and of its subunits. Given the unit's top-level unit, the
    statement says so: PostgreSQL then walks that ministry's range of the (top_unit_id, name_sort, id)
    index instead of the whole table in name order, and a whole ministry or province ("/BNV/") is
    exactly its top_unit_id, with no subtree test at all."""
    inside = unit_within(official.c.unit_id, path)
    if top_unit_id is None:
        return inside
    top = official.c.top_unit_id == top_unit_id
    return top if path.count("/") == 2 else and_(top, inside)


# Up to this many ids are one bound (expanding) parameter: the statement then has the same text for every
# account with as many named officials (an official's own record above all), and SQLAlchemy compiles it
# once for all of them.
_BOUND_IDS = 64


def _ids_in(official: FromClause, ids: frozenset[int]) -> ColumnElement[bool]:
    if len(ids) <= _BOUND_IDS:
        return official.c.id.in_(sorted(ids))
    # Beyond, written inline, not as one bound parameter each: an account may hold grants over more
    # officials than a statement may carry parameters (32,767 with asyncpg). They are integers, so
    # formatting them is safe (and far cheaper than rendering tens of thousands of literal binds).
    listed = ", ".join(str(int(i)) for i in sorted(ids))
    return official.c.id.op("IN", is_comparison=True)(literal_column(f"({listed})"))


def _any(clauses: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    """OR of the clauses as a balanced tree of parenthesised groups: SQLite refuses an expression more
    than 1,000 deep, which a flat chain of a thousand ORs is (one per subtree an account was granted)."""
    if len(clauses) <= 32:
        return or_(false(), *clauses)
    half = len(clauses) // 2
    # type_coerce keeps each half a group of its own; or_ would flatten plain nested ORs into one chain.
    return or_(_as(_any(clauses[:half]), Boolean).self_group(), _as(_any(clauses[half:]), Boolean).self_group())


def outermost(paths: set[str]) -> list[str]:
    """The paths not inside another of them: the rest add no row. Sorted, a subtree's paths follow its own."""
    kept: list[str] = []
    for path in sorted(paths):
        if not kept or not path.startswith(kept[-1]):
            kept.append(path)
    return kept


def _union(grants: list[Grant], official: FromClause, bound: UnitBound | None) -> ColumnElement[bool]:
    """Rows some of `grants` matches, as one IN list of ids, one of top-level units and one subquery for
    the outermost subtrees; with `bound`, only rows of that subtree are asked about."""
    ids: set[int] = set()
    own: set[int] = set()
    tops: set[int] = set()
    paths: set[str] = set()
    for grant in grants:
        constant = folded(grant.predicate, bound)
        if constant is not None:
            if constant:
                return true()
            continue
        match grant.predicate:
            case Self(official_id):
                own.add(official_id)
            case Named(official_ids):
                ids |= official_ids
            case TopUnits(unit_ids):
                tops |= unit_ids
            case Subtree(path):
                paths.add(path)
    if len(own) > 1:  # not a principal's scope (one own record); no parameter stands for several ids
        ids |= own
        own = set()
    parts = [official.c.id == bindparam(SELF_ID, own.pop())] if own else []
    if ids:
        parts.append(_ids_in(official, frozenset(ids)))
    if tops:
        parts.append(official.c.top_unit_id.in_(sorted(tops)))
    if paths:
        parts.append(_in_subtrees(outermost(paths), official))
    return _any(parts)


def _in_subtrees(paths: list[str], official: FromClause) -> ColumnElement[bool]:
    """Officials under any of the (disjoint) paths: one subquery on the unit table, however many."""
    if len(paths) == 1:
        return subtree_filter(paths[0], official)
    return official.c.unit_id.in_(select(UNIT.c.id).where(_any([_subtree_unit_ids(p) for p in paths])))


def official_filter(
    scope: Scope, official: FromClause = OFFICIAL, bound: UnitBound | None = None
) -> ColumnElement[bool]:
    """Rows of `official` that some grant of the scope matches; no grant means no row. With `bound`,
    only rows of that subtree are asked about (the caller filters by it too)."""
    return _union(list(scope.grants), official, bound)


def where_readable(
    scope: Scope, name: str, official: FromClause = OFFICIAL, bound: UnitBound | None = None
) -> ColumnElement[bool] | None:
    """Rows of the scope on which field `name` is readable: those a grant opening it matches. None when
    that is every row of the scope (inside `bound`), so that a statement filtering or ordering by a field
    readable everywhere is exactly the statement it was (and keeps its index)."""
    if name in scope.everywhere_within(bound):
        return None
    return _union([g for g in scope.grants if name in g.fields], official, bound)


def where_unreadable(
    scope: Scope, name: str, official: FromClause = OFFICIAL, bound: UnitBound | None = None
) -> ColumnElement[bool]:
    """Rows of the scope on which field `name` is not readable: matched by a grant that does not open
    it, and by none that does."""
    opening = [g for g in scope.grants if name in g.fields]
    others = [g for g in scope.grants if name not in g.fields]
    return and_(_union(others, official, bound), not_(_union(opening, official, bound)))


def _text(value: str) -> ColumnElement[str]:
    # Mask tokens are digits and dots only, so they are written as SQL literals.
    return literal_column(f"'{value}'", String)


# Past this many subtrees, the mask looks up the row's unit path once and compares it with each, instead
# of one subquery per subtree (which is the cheaper plan for the few a manager or a grantee usually has).
_SUBTREES_BY_LOOKUP = 4


def _deepest_subtree_sql(token: Case, official: FromClause) -> ColumnElement[str]:
    whens = [(_subtree_unit_ids(p.path), _text(value)) for p, value in token.whens if isinstance(p, Subtree)]
    deepest = case(*whens, else_=_text(token.otherwise))
    return select(deepest).where(UNIT.c.id == official.c.unit_id).scalar_subquery()


def _token_sql(token: Token, official: FromClause) -> ColumnElement[str] | str:
    if isinstance(token, str):
        return token
    if len(token.whens) > _SUBTREES_BY_LOOKUP and all(isinstance(p, Subtree) for p, _ in token.whens):
        return _deepest_subtree_sql(token, official)
    whens: list[tuple[ColumnElement[bool], ColumnElement[str]]] = []
    for test, value in token.whens:
        match test:
            case Named(official_ids):
                whens.append((_ids_in(official, official_ids), _text(value)))
            case TopUnits(unit_ids):
                whens.append((official.c.top_unit_id.in_(sorted(unit_ids)), _text(value)))
            case Subtree(path):
                whens.append((subtree_filter(path, official), _text(value)))
            case _:
                raise TypeError(f"A mask token cannot test {test!r}")
    return case(*whens, else_=_text(token.otherwise))


def grant_mask(scope: Scope, official: FromClause = OFFICIAL, bound: UnitBound | None = None) -> ColumnElement[str]:
    """Which grants matched the row, as the layout's tokens (db.mask); computed in the same statement
    as the row. Constant tokens are joined in Python, so a one-grant scope's mask is one literal."""
    pieces: list[ColumnElement[str] | str] = []
    for token in scope.layout.tokens(bound):
        piece = _token_sql(token, official)
        if isinstance(piece, str) and pieces and isinstance(pieces[-1], str):
            pieces[-1] += piece
        else:
            pieces.append(piece)
    sql = [_text(p) if isinstance(p, str) else p for p in pieces]
    return reduce(lambda left, right: left.concat(right), sql)


def structure_visible(scope: Scope) -> ColumnElement[bool]:
    """Units and positions are the public shape of the state apparatus: any principal holding at
    least one grant may read them. A scope with no grant reads nothing at all."""
    return true() if scope.grants else false()
