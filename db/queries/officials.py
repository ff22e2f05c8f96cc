"""Reads of officials. Every function takes the request's scope; there is no unscoped read."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import ColumnElement, Row, Select, and_, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from db.scoping import OFFICIAL, UNIT, Scope, UnitBound, grant_mask, official_filter, subtree_filter
from db.text import fold

OrderField = Literal["name", "code", "birth_date", "id"]

_ORDER_COLUMNS = {
    "name": OFFICIAL.c.name_sort,
    "code": OFFICIAL.c.code,
    "birth_date": OFFICIAL.c.birth_date,
    "id": OFFICIAL.c.id,
}


@dataclass(frozen=True, slots=True)
class OfficialFilter:
    unit_path: str | None = None  # the unit's materialised path, when include_subunits
    unit_id: int | None = None  # exactly this unit
    position_id: int | None = None
    employee_types: frozenset[str] = frozenset()
    rank_codes: frozenset[str] = frozenset()
    genders: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()
    birth_year_from: int | None = None
    birth_year_to: int | None = None
    name: str | None = None
    # The unit the filter confines rows to (either of the two above), so the scope can be folded.
    within: UnitBound | None = None


@dataclass(frozen=True, slots=True)
class Ordering:
    field: OrderField = "name"
    descending: bool = False


def _filter_sql(f: OfficialFilter) -> list[ColumnElement[bool]]:
    c = OFFICIAL.c
    clauses: list[ColumnElement[bool]] = []
    if f.unit_path is not None:
        top_unit_id = f.within.top_unit_id if f.within is not None else None
        clauses.append(subtree_filter(f.unit_path, top_unit_id=top_unit_id))
    if f.unit_id is not None:
        clauses.append(c.unit_id == f.unit_id)
    if f.position_id is not None:
        clauses.append(c.position_id == f.position_id)
    for column, values in (
        (c.employee_type, f.employee_types),
        (c.rank_code, f.rank_codes),
        (c.gender, f.genders),
        (c.status, f.statuses),
    ):
        if values:
            clauses.append(column.in_(sorted(values)))
    # Birth-year bounds as date ranges, so the comparison stays sargable on both back ends.
    if f.birth_year_from is not None:
        clauses.append(c.birth_date >= date(f.birth_year_from, 1, 1))
    if f.birth_year_to is not None:
        clauses.append(c.birth_date < date(f.birth_year_to + 1, 1, 1))
    if f.name:
        # Word-prefix match on the folded name: "nguyen van a" finds "Nguyễn Văn An", not "Thanh".
        needle = fold(f.name).replace("\\", "").replace("%", "").replace("_", "")
        if needle:
            clauses.append((" " + c.name_search).contains(" " + needle, autoescape=True))
    return clauses


def _scoped(scope: Scope, f: OfficialFilter) -> Select[Any]:
    mask = grant_mask(scope, bound=f.within).label("grants")
    return select(*OFFICIAL.c, mask).where(official_filter(scope, bound=f.within), *_filter_sql(f))


async def get(conn: AsyncConnection, *, scope: Scope, official_id: int) -> Row[Any] | None:
    result = await conn.execute(_scoped(scope, OfficialFilter()).where(OFFICIAL.c.id == official_id))
    return result.first()


async def get_many(conn: AsyncConnection, *, scope: Scope, official_ids: Sequence[int]) -> list[Row[Any]]:
    stmt = _scoped(scope, OfficialFilter()).where(OFFICIAL.c.id.in_(sorted(set(official_ids))))
    return list((await conn.execute(stmt)).all())


async def get_many_by_code(conn: AsyncConnection, *, scope: Scope, codes: Sequence[str]) -> list[Row[Any]]:
    stmt = _scoped(scope, OfficialFilter()).where(OFFICIAL.c.code.in_(sorted(set(codes))))
    return list((await conn.execute(stmt.order_by(OFFICIAL.c.code))).all())


async def placements(conn: AsyncConnection, *, scope: Scope, official_ids: Sequence[int]) -> list[Row[Any]]:
    """Where each official of the scope sits (id, top_unit_id, unit_path): what policy relations look at."""
    stmt = (
        select(OFFICIAL.c.id, OFFICIAL.c.top_unit_id, UNIT.c.path.label("unit_path"))
        .join(UNIT, UNIT.c.id == OFFICIAL.c.unit_id)
        .where(official_filter(scope), OFFICIAL.c.id.in_(sorted(set(official_ids))))
        .order_by(OFFICIAL.c.id)
    )
    return list((await conn.execute(stmt)).all())


async def list_(
    conn: AsyncConnection,
    *,
    scope: Scope,
    filter: OfficialFilter,
    ordering: Ordering,
    limit: int,
    after: tuple[Any, int] | None = None,
) -> list[Row[Any]]:
    """One keyset page: rows strictly after `after` = (sort value, id) in the given order."""
    key = _ORDER_COLUMNS[ordering.field]
    stmt = _scoped(scope, filter)
    if after is not None:
        position = tuple_(key, OFFICIAL.c.id)
        stmt = stmt.where(position < tuple_(*after) if ordering.descending else position > tuple_(*after))
    if ordering.descending:
        stmt = stmt.order_by(key.desc(), OFFICIAL.c.id.desc())
    else:
        stmt = stmt.order_by(key, OFFICIAL.c.id)
    return list((await conn.execute(stmt.limit(limit))).all())


async def count(conn: AsyncConnection, *, scope: Scope, filter: OfficialFilter) -> int:
    stmt = (
        select(func.count())
        .select_from(OFFICIAL)
        .where(and_(official_filter(scope, bound=filter.within), *_filter_sql(filter)))
    )
    return int((await conn.execute(stmt)).scalar_one())


def sort_value(row: Row[Any], field: OrderField) -> Any:
    return getattr(row, _ORDER_COLUMNS[field].name)
