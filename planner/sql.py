"""A plan's one statement: the base rows (the resolver tree's own select: a page of officials, one
official, a unit, the units, a position, with the scope's filter and grant mask), wrapped with a join per
unit or position read, a correlated JSON array per list, and the page's total. The same statement on
SQLite and PostgreSQL but for how a JSON array is built and how a decimal keeps its scale in it."""

from collections.abc import Callable
from typing import Any, Final

from sqlalchemy import ColumnElement, FromClause, Select, Table, Text, cast, func, literal, select, true
from sqlalchemy.dialects.postgresql import aggregate_order_by

from db.catalog import RECORD_FIELDS, Value
from db.models import Official, Position, Unit, table_of
from db.queries.records import table_of_kind
from planner.layout import Layout, Sub
from planner.plan import Scalar

TABLES: Final[dict[str, Table]] = {
    "official": table_of(Official),
    "unit": table_of(Unit),
    "position": table_of(Position),
}
Order = Callable[[FromClause], list[ColumnElement[Any]]]


def statement(
    layout: Layout, base: Select[Any], *, dialect: str, order: Order | None = None, total: Select[Any] | None = None
) -> Select[Any]:
    page = base.subquery("p")
    sources: list[FromClause] = [page]
    columns: list[ColumnElement[Any]] = [page.c[name] for name in layout.base_columns]
    joined: FromClause = page
    for number, join in enumerate(layout.joins, 1):
        target = TABLES[join.table].alias(f"j{number}")
        joined = joined.outerjoin(target, target.c.id == sources[join.parent].c[join.column])
        sources.append(target)
        columns += [target.c[name] for name in join.columns]
    columns += [_json_list(sub, sources[sub.parent], dialect) for sub in layout.subs]
    if total is not None:
        counted = total.subquery("t")
        columns.append(counted.c.total)
        # From the count, so that an empty page still answers with its total.
        joined = counted.outerjoin(joined, true())
    stmt = select(*(column.label(f"c{i}") for i, column in enumerate(columns))).select_from(joined)
    return stmt.order_by(*order(page)) if order is not None else stmt


def _json_list(sub: Sub, source: FromClause, dialect: str) -> ColumnElement[Any]:
    table, condition, order = _list_source(sub, source)
    values = [_json_value(table.c[name], _value(sub, name), dialect) for name in sub.columns]
    if dialect == "postgresql":
        items = func.json_agg(aggregate_order_by(func.json_build_array(*values), *order))
        built = select(func.coalesce(cast(items, Text), literal("[]"))).select_from(table).where(condition)
        return built.scalar_subquery()
    # SQLite before 3.44 has no ORDER BY inside an aggregate: the rows come ordered from a subquery.
    ordered = (
        select(*(value.label(f"v{i}") for i, value in enumerate(values)))
        .select_from(table)
        .where(condition)
        .order_by(*order)
        .correlate(source)  # the row it belongs to: never a FROM of its own (SQLite correlates derived tables)
    )
    rows = ordered.subquery("l")
    return select(func.json_group_array(func.json_array(*rows.c))).select_from(rows).scalar_subquery()


def _list_source(sub: Sub, source: FromClause) -> tuple[FromClause, ColumnElement[bool], list[ColumnElement[Any]]]:
    """The table of a list, the condition tying it to its row, and its order: the resolver's query's."""
    match sub.many.source:
        case "records":
            assert sub.many.kind is not None
            records, by = table_of_kind(sub.many.kind)
            table = records.alias("r")
            return table, table.c.official_id == source.c.id, [table.c[by], table.c.id]
        case "children":
            units = TABLES["unit"].alias("u")
            return units, units.c.parent_id == source.c.id, [units.c.code]
        case "positions":
            positions = TABLES["position"].alias("s")
            return positions, positions.c.unit_id == source.c.id, [positions.c.code]
    raise AssertionError(sub.many.source)


def _value(sub: Sub, column: str) -> Value:
    for node in sub.many.item.fields:
        if isinstance(node, Scalar) and node.column == column:
            return node.value
    if sub.many.kind is not None:
        return next((c.value for c in RECORD_FIELDS[sub.many.kind] if c.column == column), "text")
    return "text"


def _json_value(column: ColumnElement[Any], value: Value, dialect: str) -> ColumnElement[Any]:
    """A column as the JSON array holds it: a decimal as text with its scale (2.30, as the API writes it,
    not 2.3), a date as ISO text; everything else as JSON has it."""
    if value == "decimal":
        return cast(column, Text) if dialect == "postgresql" else func.printf("%.2f", column)
    if value == "date" and dialect == "postgresql":
        return cast(column, Text)
    return column
