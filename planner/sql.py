"""A plan's one statement: the base rows (the resolver tree's own select: a page of officials, one
official, a unit, the units, a position, with the scope's filter and grant mask), wrapped with a join per
unit or position read, a correlated JSON array per list, and the page's total. The same statement on
SQLite and PostgreSQL but for how a JSON array is built and how a decimal keeps its scale in it."""

from collections.abc import Callable
from typing import Any, Final

from sqlalchemy import ColumnElement, FromClause, Select, Table, Text, cast, func, literal, literal_column, select, true
from sqlalchemy.dialects.postgresql import aggregate_order_by

from db.catalog import RECORD_FIELDS, RecordKind, Value
from db.models import Official, Position, Unit, table_of
from db.queries.records import table_of_kind
from planner.layout import Join, Layout, item_columns, item_extras
from planner.plan import Many, Obj, Ref, Scalar

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
        target, condition = _joined(join, sources[join.parent], f"j{number}", dialect)
        joined = joined.outerjoin(target, condition)
        sources.append(target)
        columns += [target.c[name] for name in join.columns]
    aliases = _Aliases()
    columns += [
        _json_list(sub.many, sub.columns, sources[sub.parent], dialect, aliases, nested=False) for sub in layout.subs
    ]
    if total is not None:
        counted = total.subquery("t")
        columns.append(counted.c.total)
        # From the count, so that an empty page still answers with its total.
        joined = counted.outerjoin(joined, true())
    stmt = select(*(column.label(f"c{i}") for i, column in enumerate(columns))).select_from(joined)
    return stmt.order_by(*order(page)) if order is not None else stmt


def _joined(join: Join, parent: FromClause, name: str, dialect: str) -> tuple[FromClause, ColumnElement[bool]]:
    """The unit or position a row points at, and how it is joined. PostgreSQL plans a join to a page of
    rows as if all its rows were read: a hash join over every unit and every position, per request
    (0.6 ms of a partner page's 0.9). A lateral lookup, kept apart by OFFSET 0 (which stops PostgreSQL
    from folding it back into a plain join), is one index probe per row of the page, as for the floor."""
    table = TABLES[join.table]
    if dialect != "postgresql":
        target = table.alias(name)
        return target, target.c.id == parent.c[join.column]
    lookup = select(table).where(table.c.id == parent.c[join.column])  # what it reads, and the ids it points at
    return lookup.offset(literal_column("0")).lateral(name), true()


class _Aliases:
    """Names for the tables of the lists and units read inside lists: each its own, since a list inside a
    list of the same table refers to the row of the enclosing one."""

    def __init__(self) -> None:
        self.made = 0

    def __call__(self, table: Table) -> FromClause:
        return table.alias(self.name(table.name[0]))

    def name(self, prefix: str) -> str:
        self.made += 1
        return f"{prefix}{self.made}"


def _json_list(
    many: Many, columns: tuple[str, ...], source: FromClause, dialect: str, aliases: _Aliases, *, nested: bool
) -> ColumnElement[Any]:
    """The items of a list below a row of `source`, as a JSON array of arrays (layout.item_columns
    first, then one array per unit, position or list of the item, layout.item_extras). Outside any
    list it is text (parsed once per row); inside one, JSON that the enclosing array holds as it is."""
    table, condition, order = _list_source(many, source, aliases)
    values = _item_values(many.item, many.kind, columns, table, dialect, aliases)
    if dialect == "postgresql":
        items = func.json_agg(aggregate_order_by(func.json_build_array(*values), *order))
        empty = func.json_build_array() if nested else literal("[]")
        built = select(func.coalesce(items if nested else cast(items, Text), empty))
        return built.select_from(table).where(condition).scalar_subquery()
    # SQLite before 3.44 has no ORDER BY inside an aggregate: the rows come ordered from a subquery.
    ordered = (
        select(*(value.label(f"v{i}") for i, value in enumerate(values)))
        .select_from(table)
        .where(condition)
        .order_by(*order)
        .correlate(source)  # the row it belongs to: never a FROM of its own (SQLite correlates derived tables)
    )
    rows = ordered.subquery(aliases.name("l"))
    # A JSON value read back from a subquery is text to SQLite: json() makes it JSON again, held as is.
    held = [func.json(c) if i >= len(columns) else c for i, c in enumerate(rows.c)]
    return select(func.json_group_array(func.json_array(*held))).select_from(rows).scalar_subquery()


def _json_ref(ref: Ref, source: FromClause, dialect: str, aliases: _Aliases) -> ColumnElement[Any]:
    """The unit or position an item of a list points at, as one JSON array (null when it points nowhere)."""
    table = aliases(TABLES[ref.table])
    values = _item_values(ref.item, None, item_columns(ref.item), table, dialect, aliases)
    array = func.json_build_array(*values) if dialect == "postgresql" else func.json_array(*values)
    return select(array).select_from(table).where(table.c.id == source.c[ref.column]).scalar_subquery()


def _item_values(
    obj: Obj, kind: RecordKind | None, columns: tuple[str, ...], table: FromClause, dialect: str, aliases: _Aliases
) -> list[ColumnElement[Any]]:
    values = [_json_value(table.c[name], _value(obj, kind, name), dialect) for name in columns]
    for node in item_extras(obj):
        if isinstance(node, Ref):
            value = _json_ref(node, table, dialect, aliases)
        else:
            value = _json_list(node, item_columns(node.item), table, dialect, aliases, nested=True)
        values.append(value if dialect == "postgresql" else func.json(value))
    return values


def _list_source(
    many: Many, source: FromClause, aliases: _Aliases
) -> tuple[FromClause, ColumnElement[bool], list[ColumnElement[Any]]]:
    """The table of a list, the condition tying it to its row, and its order: the resolver's query's."""
    match many.source:
        case "records":
            assert many.kind is not None
            records, by = table_of_kind(many.kind)
            table = aliases(records)
            return table, table.c.official_id == source.c.id, [table.c[by], table.c.id]
        case "children":
            units = aliases(TABLES["unit"])
            return units, units.c.parent_id == source.c.id, [units.c.code]
        case "positions":
            positions = aliases(TABLES["position"])
            return positions, positions.c.unit_id == source.c.id, [positions.c.code]
    raise AssertionError(many.source)


def _value(obj: Obj, kind: RecordKind | None, column: str) -> Value:
    for node in obj.fields:
        if isinstance(node, Scalar) and node.column == column:
            return node.value
    if kind is not None:
        return next((c.value for c in RECORD_FIELDS[kind] if c.column == column), "text")
    return "text"


def _json_value(column: ColumnElement[Any], value: Value, dialect: str) -> ColumnElement[Any]:
    """A column as the JSON array holds it: a decimal as text with its scale (2.30, as the API writes it,
    not 2.3), a date as ISO text; everything else as JSON has it."""
    if value == "decimal":
        return cast(column, Text) if dialect == "postgresql" else func.printf("%.2f", column)
    if value == "date" and dialect == "postgresql":
        return cast(column, Text)
    return column
