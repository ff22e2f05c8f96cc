"""Rows -> the response's data, as the resolver tree writes it: every value in the format strawberry gives
its scalar, keys in the order the document asks for them, and a field the row's grants do not open
written null with its FORBIDDEN_FIELD error (the fields a mask opens are worked out once per mask).

A plan compiles once into writers: small functions that read values by index. Nothing here looks a
field up by name while a request runs."""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

import orjson
from graphql import GraphQLError

from db.catalog import Value
from planner.layout import MASK, Join, Layout, Sub
from planner.plan import Coded, Field, Many, Node, Obj, Ref, Scalar, Typename
from resolvers.codes import labeller
from resolvers.fields import unreadable

Row = Sequence[Any]
Path = tuple[str | int, ...]


class Mismatch(Exception):
    """The rows hold something the resolver tree would answer with an error of its own (a non-null field
    without a value): the planner does not guess that error, the resolver tree answers instead."""


@dataclass(slots=True)
class Run:
    """One request's shaping: the scope's fields per mask, and the errors in the order they arise."""

    readable: Callable[[str], frozenset[str]]
    errors: list[GraphQLError] = field(default_factory=list)

    def refuse(self, at: Field, path: Path) -> None:
        assert at.check is not None
        error = unreadable(at.check.partition(".")[2])
        self.errors.append(
            GraphQLError(error.message, nodes=list(at.nodes), path=[*path, at.key], original_error=error)
        )


def _date(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _datetime(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _id(value: Any) -> Any:
    return None if value is None else str(value)


def _decimal(value: Any) -> Any:
    return None if value is None else str(value)


def _same(value: Any) -> Any:
    return value


# How strawberry writes each scalar: ID as a string, dates and times as ISO text, a decimal as its text
# (with its scale: "2.30"). Values read from a JSON array arrive as text already.
CODECS: Final[dict[Value, Callable[[Any], Any]]] = {
    "id": _id,
    "text": _same,
    "int": _same,
    "date": _date,
    "datetime": _datetime,
    "decimal": _decimal,
    "texts": _same,
}

# A writer: (row, readable fields or None where the object has no per-row check, path, run) -> value.
Writer = Callable[[Row, frozenset[str] | None, Path, Run], Any]


@dataclass
class _Cursor:
    """The joins (with their numbers) and lists of a layout, taken in the order a depth-first walk of
    the plan meets them: the order the layout placed them in."""

    joins: Iterator[tuple[int, Join]]
    subs: Iterator[Sub]


def compile_object(obj: Obj, layout: Layout, walk: _Cursor, source: int) -> Callable[[Row, Path, Run], dict[str, Any]]:
    """The writer of one object of the plan, reading the row that `source` (0: the base row) names."""
    writers = [(node_key(node), _writer(node, layout, walk, source)) for node in obj.fields]
    mask = layout.base_columns.index(MASK) if source == 0 and MASK in layout.base_columns else None

    def write(row: Row, path: Path, run: Run) -> dict[str, Any]:
        readable = run.readable(row[mask]) if mask is not None else None
        return {key: writer(row, readable, path, run) for key, writer in writers}

    return write


def node_key(node: Node) -> str:
    return node.at.key


def _checked(at: Field, read: Writer) -> Writer:
    if at.check is None:
        return read
    name = at.check

    def checked(row: Row, readable: frozenset[str] | None, path: Path, run: Run) -> Any:
        if readable is not None and name not in readable:
            run.refuse(at, path)
            return None
        return read(row, readable, path, run)

    return checked


def _writer(node: Node, layout: Layout, walk: _Cursor, source: int) -> Writer:
    match node:
        case Typename(name=name):
            return lambda row, readable, path, run: name
        case Scalar(at=at, column=column, value=value):
            index, codec = layout.index(source, column), CODECS[value]
            return _checked(at, lambda row, readable, path, run: codec(row[index]))
        case Coded():
            return _checked(node.at, _coded(node, layout.index(source, node.column)))
        case Ref():
            return _checked(node.at, _ref(node, layout, walk))
        case Many():
            return _checked(node.at, _many(node, next(walk.subs)))
    raise AssertionError(node)


def _coded(node: Coded, index: int) -> Writer:
    label = labeller(node.codes)
    parts = [(key, part.partition(":")[2] if part.startswith("__typename") else part) for key, part in node.parts]

    def write(row: Row, readable: frozenset[str] | None, path: Path, run: Run) -> Any:
        value = label(row[index])
        if value is None:
            return None
        return {key: "Code" if part == "Code" else getattr(value, part) for key, part in parts}

    return write


def _ref(node: Ref, layout: Layout, walk: _Cursor) -> Writer:
    number, join = next(walk.joins)
    inner = compile_object(node.item, layout, walk, number)
    present = join.offset  # the joined row's id: null when the column points nowhere (or at nothing visible)

    def write(row: Row, readable: frozenset[str] | None, path: Path, run: Run) -> Any:
        if row[present] is None:
            if node.required:
                raise Mismatch(f"{node.at.key} has no {node.table}")
            return None
        return inner(row, (*path, node.at.key), run)

    return write


def _many(node: Many, sub: Sub) -> Writer:
    """A JSON array of arrays: each item's values in the order of `sub.columns`."""
    positions = {column: i for i, column in enumerate(sub.columns)}
    item = _array_item(node.item, positions)
    index = sub.offset

    def write(row: Row, readable: frozenset[str] | None, path: Path, run: Run) -> Any:
        return [item(values) for values in orjson.loads(row[index])]

    return write


def _array_item(obj: Obj, positions: dict[str, int]) -> Callable[[list[Any]], dict[str, Any]]:
    writers: list[tuple[str, Callable[[list[Any]], Any]]] = []
    for node in obj.fields:
        match node:
            case Typename(name=name):
                writers.append((node.at.key, lambda values, name=name: name))  # type: ignore[misc]
            case Scalar(column=column, value=value):
                codec, at = CODECS[value], positions[column]
                writers.append((node.at.key, lambda values, at=at, codec=codec: codec(values[at])))  # type: ignore[misc]
            case Coded():
                coded = _coded(node, positions[node.column])
                writers.append((node.at.key, lambda values, coded=coded: coded(values, None, (), _NO_RUN)))  # type: ignore[misc]
            case _:
                raise AssertionError(node)  # the builder allows no object or list inside a listed item

    def write(values: list[Any]) -> dict[str, Any]:
        return {key: writer(values) for key, writer in writers}

    return write


_NO_RUN: Final = Run(readable=lambda mask: frozenset())


def compile_items(items: list[Obj], layout: Layout) -> list[Callable[[Row, Path, Run], dict[str, Any]]]:
    """The writers of the base objects of a statement (a connection's nodes, then its edges' nodes), in
    the order the layout placed their joins and lists."""
    walk = _Cursor(enumerate(layout.joins, 1), iter(layout.subs))
    return [compile_object(item, layout, walk, 0) for item in items]
