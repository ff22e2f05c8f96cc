"""Where each value of a plan sits in the one statement's rows: the base row's columns first (those the plan
reads, and what every row needs: its id, and for an official its grant mask, its top-level unit and the
columns a page may be ordered by, which its cursor holds), then the columns
of each joined unit or position, then one JSON array per list, then the page's total. Worked out once per
plan, so shaping a row reads values by index."""

from dataclasses import dataclass, field
from typing import Final

from planner.plan import Coded, Many, Nested, Obj, Ref, Scalar, Table

MASK: Final = "grants"
# What every official's row carries whatever is asked: the receipt records its id, mask and top-level
# unit; a cursor holds the value of the page's order (officials.order_column, one of these).
OFFICIAL_ALWAYS: Final = ("id", MASK, "top_unit_id", "name_sort", "code", "birth_date")


@dataclass(frozen=True, slots=True)
class Join:
    """A unit or position joined to a row already in the statement (the base, or an earlier join)."""

    parent: int  # 0: the base row; k: the k-th join
    column: str  # the parent's column holding the id
    table: Table
    columns: tuple[str, ...]  # the joined row's columns read, `id` first
    offset: int  # where they start in the statement's row


@dataclass(frozen=True, slots=True)
class Sub:
    """A list below a row: one JSON array of arrays, each item's values in `columns` order."""

    parent: int
    many: Many
    columns: tuple[str, ...]
    offset: int


@dataclass
class Layout:
    base: Table
    base_columns: tuple[str, ...]
    joins: list[Join] = field(default_factory=list)
    subs: list[Sub] = field(default_factory=list)
    width: int = 0
    total: int | None = None  # where the page's total sits, when totalCount is asked

    def index(self, source: int, column: str) -> int:
        if source == 0:
            return self.base_columns.index(column)
        join = self.joins[source - 1]
        return join.offset + join.columns.index(column)


def layout(base: Table, items: list[Obj], *, total: bool = False) -> Layout:
    """The layout of a statement whose rows are `base` rows shaped by `items` (several when a connection's
    nodes and edges read the same rows). Joins and lists are placed in the order a depth-first walk of
    the items meets them; the shaper (planner/shape.py) walks the same way and takes them in turn."""
    always = OFFICIAL_ALWAYS if base == "official" else ("id",)
    reads = [column for item in items for column in _base_reads(item)]
    columns = tuple(dict.fromkeys([*always, *reads]))
    plan = Layout(base, columns, width=len(columns))
    lists: list[tuple[int, Many, tuple[str, ...]]] = []
    for item in items:
        _place(plan, item, 0, lists)
    for parent, many, read in lists:
        plan.subs.append(Sub(parent, many, read, plan.width))
        plan.width += 1
    if total:
        plan.total, plan.width = plan.width, plan.width + 1
    return plan


def _place(plan: Layout, obj: Obj, source: int, lists: list[tuple[int, Many, tuple[str, ...]]]) -> None:
    for node in obj.fields:
        if isinstance(node, Ref):
            columns = ("id", *dict.fromkeys(c for c in _columns(node.item) if c != "id"))
            plan.joins.append(Join(source, node.column, node.table, columns, plan.width))
            plan.width += len(columns)
            _place(plan, node.item, len(plan.joins), lists)
        elif isinstance(node, Many):
            lists.append((source, node, item_columns(node.item)))


def item_columns(obj: Obj) -> tuple[str, ...]:
    """The columns a listed item's array starts with (at least the id: items asking for `__typename`
    alone are still one item per row; and the id its pages of officials are pinned to). Its units,
    positions and lists follow, one array each, in the order of `item_extras`."""
    pinned = ["id"] if any(isinstance(node, Nested) for node in obj.fields) else []
    return tuple(dict.fromkeys([*_columns(obj), *pinned])) or ("id",)


def item_extras(obj: Obj) -> list[Ref | Many]:
    return [node for node in obj.fields if isinstance(node, Ref | Many)]


def _base_reads(obj: Obj) -> list[str]:
    """The columns of the base row an object reads: its values, and the ids its joins follow."""
    return [*_columns(obj), *(node.column for node in obj.fields if isinstance(node, Ref))]


def _columns(obj: Obj) -> list[str]:
    """The columns an object's scalar and coded fields read, in the order they are asked."""
    return [node.column for node in obj.fields if isinstance(node, Scalar | Coded)]
