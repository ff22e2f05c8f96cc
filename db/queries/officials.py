"""Reads of officials. Every function takes the request's scope; there is no unscoped read.

A filter or an order reads a field, and must not reveal it where the caller cannot read it: on such a
row the field never matches a filter and sorts as if it were null (after every value ascending, before
them descending; by id among themselves). So a grant only ever adds rows to a filter's answer, never
refuses it. Where the field is readable on every row of the scope, the statement is the plain one, with
its index.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any, Final, Literal

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    FromClause,
    Integer,
    Row,
    Select,
    and_,
    bindparam,
    case,
    false,
    func,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from db.catalog import OFFICIAL as OFFICIAL_FIELD
from db.catalog import ORDERS
from db.scoping import (
    OFFICIAL,
    UNIT,
    Scope,
    UnitBound,
    grant_mask,
    official_filter,
    subtree_filter,
    where_readable,
    where_unreadable,
)
from db.text import fold

OrderField = Literal["name", "code", "birth_date", "id"]

# The column each ordering sorts by: the field's own (db.catalog), but a name sorts by its Vietnamese
# sort key (db.text.name_sort_key), kept beside it.
_ORDER_COLUMNS: Final[Mapping[OrderField, ColumnElement[Any]]] = {
    "name": OFFICIAL.c.name_sort,
    "code": OFFICIAL.c[ORDERS["code"].column],
    "birth_date": OFFICIAL.c[ORDERS["birth_date"].column],
    "id": OFFICIAL.c.id,
}
# The field each ordering reads; the id is on every row the caller sees, readable or not.
ORDER_FIELDS: Final[Mapping[OrderField, str | None]] = {
    "name": ORDERS["name"].policy,
    "code": ORDERS["code"].policy,
    "birth_date": ORDERS["birth_date"].policy,
    "id": None,
}
# The field each attribute of OfficialFilter reads.
FILTER_FIELDS: Final = {
    "unit_path": OFFICIAL_FIELD["unit"].policy,
    "unit_id": OFFICIAL_FIELD["unit"].policy,
    "position_id": OFFICIAL_FIELD["position"].policy,
    "employee_types": OFFICIAL_FIELD["employeeType"].policy,
    "rank_codes": OFFICIAL_FIELD["rank"].policy,
    "genders": OFFICIAL_FIELD["gender"].policy,
    "statuses": OFFICIAL_FIELD["status"].policy,
    "birth_year_from": OFFICIAL_FIELD["birthDate"].policy,
    "birth_year_to": OFFICIAL_FIELD["birthDate"].policy,
    "name": OFFICIAL_FIELD["fullName"].policy,
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


def name_needle(name: str | None) -> str | None:
    """What a word of the name must start with, folded; None when nothing is left to look for."""
    return (fold(name) or None) if name is not None else None


def filter_fields(f: OfficialFilter) -> dict[str, str]:
    """The fields `f` reads, by the attribute that reads each (only the attributes in use)."""
    used = {
        a.name: FILTER_FIELDS[a.name]
        for a in fields(f)
        if a.name in FILTER_FIELDS and getattr(f, a.name) not in (None, frozenset())
    }
    if name_needle(f.name) is None:
        used.pop("name", None)
    return used


# The filter's values are bound by name, so one statement serves every filter of the same shape (the
# same attributes in use, the same unit bound): the compiled read path keeps it and binds new values.
_ESCAPE: Final = "/"
_IN_LISTS: Final = (
    ("employee_types", "employee_type"),
    ("rank_codes", "rank_code"),
    ("genders", "gender"),
    ("statuses", "status"),
)


def filter_binds(f: OfficialFilter) -> dict[str, Any]:
    """The values a filter's statement binds, by bind name (only the attributes in use)."""
    binds: dict[str, Any] = {}
    if f.unit_id is not None:
        binds["f_unit_id"] = f.unit_id
    if f.position_id is not None:
        binds["f_position_id"] = f.position_id
    for attribute, _ in _IN_LISTS:
        values = getattr(f, attribute)
        if values:
            binds[f"f_{attribute}"] = sorted(values)
    # Birth-year bounds as date ranges, so the comparison stays sargable on both back ends.
    if f.birth_year_from is not None:
        binds["f_born_from"] = date(f.birth_year_from, 1, 1)
    if f.birth_year_to is not None:
        binds["f_born_before"] = date(f.birth_year_to + 1, 1, 1)
    needle = name_needle(f.name)
    if needle is not None:
        # %, _ and the escape character itself are matched as themselves (what SQLAlchemy's autoescape
        # does to a literal string; a bound value is escaped here).
        escaped = needle.replace(_ESCAPE, _ESCAPE * 2).replace("%", _ESCAPE + "%").replace("_", _ESCAPE + "_")
        binds["f_name"] = " " + escaped
    return binds


def filter_shape(f: OfficialFilter) -> tuple[Any, ...]:
    """What a filter's statement depends on besides its binds: the attributes in use and the unit
    bound (the scope folds to it, and a subtree's range is written out)."""
    return (tuple(filter_binds(f)), f.unit_path, f.within)


def _value_sql(f: OfficialFilter) -> list[ColumnElement[bool]]:
    c = OFFICIAL.c
    clauses: list[ColumnElement[bool]] = []
    if f.unit_path is not None:
        top_unit_id = f.within.top_unit_id if f.within is not None else None
        clauses.append(subtree_filter(f.unit_path, top_unit_id=top_unit_id))
    binds = filter_binds(f)
    if "f_unit_id" in binds:
        clauses.append(c.unit_id == bindparam("f_unit_id", binds["f_unit_id"]))
    if "f_position_id" in binds:
        clauses.append(c.position_id == bindparam("f_position_id", binds["f_position_id"]))
    for attribute, column in _IN_LISTS:
        name = f"f_{attribute}"
        if name in binds:
            clauses.append(c[column].in_(bindparam(name, binds[name], expanding=True)))
    if "f_born_from" in binds:
        clauses.append(c.birth_date >= bindparam("f_born_from", binds["f_born_from"], type_=c.birth_date.type))
    if "f_born_before" in binds:
        clauses.append(c.birth_date < bindparam("f_born_before", binds["f_born_before"], type_=c.birth_date.type))
    if "f_name" in binds:
        # Word-prefix match on the folded name: "nguyen van a" finds "Nguyễn Văn An", not "Thanh".
        clauses.append((" " + c.name_search).contains(bindparam("f_name", binds["f_name"]), escape=_ESCAPE))
    return clauses


def _filter_sql(scope: Scope, f: OfficialFilter) -> list[ColumnElement[bool]]:
    """The filter's conditions, each on a field only where the caller can read that field."""
    clauses = _value_sql(f)
    for name in sorted(set(filter_fields(f).values())):
        readable = where_readable(scope, name, bound=f.within)
        if readable is not None:
            clauses.append(readable)
    return clauses


def matching(scope: Scope, f: OfficialFilter) -> list[ColumnElement[bool]]:
    """The officials of the scope that match the filter: what a page lists and a count counts."""
    return [official_filter(scope, bound=f.within), *_filter_sql(scope, f)]


def _scoped(scope: Scope, f: OfficialFilter) -> Select[Any]:
    mask = grant_mask(scope, bound=f.within).label("grants")
    return select(*OFFICIAL.c, mask).where(*matching(scope, f))


def one_select(scope: Scope, *, official_id: int | None = None, code: str | None = None) -> Select[Any]:
    """One official of the scope, by id or by code (both paths read it through this)."""
    stmt = _scoped(scope, OfficialFilter())
    if code is None:
        return stmt.where(OFFICIAL.c.id == bindparam("official_id", official_id))
    return stmt.where(OFFICIAL.c.code == bindparam("official_code", code))


async def get(conn: AsyncConnection, *, scope: Scope, official_id: int) -> Row[Any] | None:
    return (await conn.execute(one_select(scope, official_id=official_id))).first()


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


# The column a page in an order by a field some rows cannot read carries its sort value in (null there).
SORT_KEY: Final = "sort_key"
_ID = OFFICIAL.c.id


_LIMIT: Final = "page_limit"


def _cursor_binds(after: Any) -> dict[str, Any]:
    """A cursor's values, by bind name: its sort value (when the order has one) and its id."""
    if after is None:
        return {}
    return {"after_id": after[-1]} if len(after) == 1 else {"after_key": after[0], "after_id": after[1]}


def page_binds(f: OfficialFilter, limit: int, after: tuple[Any, int] | None) -> dict[str, Any]:
    """Every value page_select's statement binds, by name: the filter's, the page's size, the cursor's."""
    return filter_binds(f) | {_LIMIT: limit} | _cursor_binds(after)


def page_shape(f: OfficialFilter, ordering: Ordering, after: tuple[Any, int] | None) -> tuple[Any, ...]:
    """What page_select's statement depends on besides the scope and page_binds: one statement serves
    every page of the same shape. (A cursor without a sort value sits among the rows that cannot read it.)"""
    return (filter_shape(f), ordering, None if after is None else after[0] is None)


def _ordered(stmt: Select[Any], keys: tuple[ColumnElement[Any], ...], descending: bool, after: Any) -> Select[Any]:
    """`stmt` in the order of `keys`, from strictly after the cursor's values for them (if any)."""
    if after is not None:
        binds = _cursor_binds(after)
        cursor = tuple_(*(bindparam(name, binds[name], type_=key.type) for name, key in zip(binds, keys, strict=True)))
        position = tuple_(*keys)
        stmt = stmt.where(position < cursor if descending else position > cursor)
    return stmt.order_by(*(key.desc() for key in keys) if descending else keys)


def _limit(limit: int) -> BindParameter[int]:
    return bindparam(_LIMIT, limit, type_=Integer)


def page_select(
    scope: Scope, f: OfficialFilter, ordering: Ordering, limit: int, after: tuple[Any, int] | None
) -> Select[Any]:
    """One keyset page (`list_` runs it; the compiled read path wraps it, then orders by `page_order`)."""
    name = ORDER_FIELDS[ordering.field]
    # Filtering by the same field already keeps only rows on which it is readable.
    if name is not None and name not in filter_fields(f).values():
        readable = where_readable(scope, name, bound=f.within)
        if readable is not None:
            return _split_page(scope, f, ordering, limit, after, (name, readable))
    return _ordered(_scoped(scope, f), (_ORDER_COLUMNS[ordering.field], _ID), ordering.descending, after).limit(
        _limit(limit)
    )


def _split_page(
    scope: Scope,
    f: OfficialFilter,
    ordering: Ordering,
    limit: int,
    after: tuple[Any, int] | None,
    field: tuple[str, ColumnElement[bool]],
) -> Select[Any]:
    """A page in the order of a field some rows of the scope cannot read. The rows that can come in the
    field's order, by the plain statement (with its index); the others as if the field were null: after
    them ascending, before them descending, by id. Each part is limited to the page and one UNION ALL
    puts them in order: still one statement, and no sort of the whole scope by a computed key (70 ms
    against 1 ms for a province of 18,000 officials)."""
    (name, readable), column, descending = field, _ORDER_COLUMNS[ordering.field], ordering.descending
    shown = _scoped(scope, f).where(readable).add_columns(column.label(SORT_KEY))
    # Null, of the column's type and collation (a bare NULL is text to PostgreSQL, which a date won't join).
    blank = _scoped(scope, f).where(where_unreadable(scope, name, bound=f.within))
    blank = blank.add_columns(case((false(), column)).label(SORT_KEY))
    parts = [part.limit(_limit(limit)) for part in _after_cursor(shown, blank, column, descending, after)]
    if len(parts) == 1:
        return parts[0]
    pages = union_all(*(select(part.subquery()) for part in parts)).subquery()
    key = pages.c[SORT_KEY].desc().nulls_first() if descending else pages.c[SORT_KEY].asc().nulls_last()
    return select(pages).order_by(key, pages.c.id.desc() if descending else pages.c.id).limit(_limit(limit))


def _after_cursor(
    shown: Select[Any], blank: Select[Any], column: ColumnElement[Any], descending: bool, after: Any
) -> list[Select[Any]]:
    """The parts still to come after the cursor, each in its order. A cursor with no value sits among
    the blank rows, one with a value among the shown."""
    value = after[0] if after is not None else None
    parts = []
    if after is None or value is not None or descending:
        parts.append(_ordered(shown, (column, _ID), descending, after if value is not None else None))
    if after is None or value is None or not descending:
        parts.append(_ordered(blank, (_ID,), descending, (after[1],) if after is not None and value is None else None))
    return parts


async def list_(
    conn: AsyncConnection,
    *,
    scope: Scope,
    filter: OfficialFilter,
    ordering: Ordering,
    limit: int,
    after: tuple[Any, int] | None = None,
) -> list[Row[Any]]:
    """One keyset page: rows strictly after `after` = (sort value or None, id) in the given order."""
    return list((await conn.execute(page_select(scope, filter, ordering, limit, after))).all())


def page_order(page: FromClause, ordering: Ordering) -> list[ColumnElement[Any]]:
    """The order of a page_select's rows, on the page taken as a subquery: a query wrapping the page
    (joins, subqueries) must say it again, as nothing keeps a subquery's order outside it."""
    if SORT_KEY in page.c:  # a split page: the readable rows by the field, the others as null, by id
        key = page.c[SORT_KEY]
        first = key.desc().nulls_first() if ordering.descending else key.asc().nulls_last()
        return [first, page.c.id.desc() if ordering.descending else page.c.id]
    keys = [page.c[_ORDER_COLUMNS[ordering.field].name], page.c.id]
    return [key.desc() for key in keys] if ordering.descending else keys


def count_select(scope: Scope, filter: OfficialFilter) -> Select[Any]:
    return (
        select(func.count().label("total"))
        .select_from(OFFICIAL)
        .where(and_(official_filter(scope, bound=filter.within), *_filter_sql(scope, filter)))
    )


async def count(conn: AsyncConnection, *, scope: Scope, filter: OfficialFilter) -> int:
    return int((await conn.execute(count_select(scope, filter))).scalar_one())


def position(row: Row[Any], ordering: Ordering, readable: frozenset[str]) -> tuple[Any, int]:
    """Where the row sits in the order, as a cursor records it: (sort value, id). The value is None where
    the caller cannot read the field on this row: the row sorted as null, and a cursor handed to the
    caller must not carry what it may not read."""
    return cursor_position(getattr(row, order_column(ordering)), row.id, ordering, readable)


def order_column(ordering: Ordering) -> str:
    """The column of the official's row that holds its place in the order."""
    name: str = _ORDER_COLUMNS[ordering.field].name
    return name


def cursor_position(value: Any, row_id: int, ordering: Ordering, readable: frozenset[str]) -> tuple[Any, int]:
    name = ORDER_FIELDS[ordering.field]
    return (value if name is None or name in readable else None), row_id
