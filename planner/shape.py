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
from db.codes import CODE_LISTS
from planner.layout import MASK, Join, Layout, Sub, item_columns, item_extras
from planner.plan import Coded, Field, Many, Nested, Node, Obj, Ref, Scalar, Typename
from resolvers.codes import labeller
from resolvers.fields import unreadable

Row = Sequence[Any]
Path = tuple[str | int, ...]


class Mismatch(Exception):
    """The rows hold something the resolver tree would answer with an error of its own (a non-null field
    without a value): the planner does not guess that error, the resolver tree answers instead."""


@dataclass(slots=True)
class Run:
    """One request's shaping: the scope's fields per mask, the errors in the order they arise, and the
    pages of officials below a unit or position written (Unit.officials, Position.holders), each an
    empty dict in the answer until its own statement has run (planner/run.py fills them in)."""

    readable: Callable[[str], frozenset[str]]
    errors: list[GraphQLError] = field(default_factory=list)
    pending: list[tuple[Nested, Any, Path, dict[str, Any]]] = field(default_factory=list)

    def later(self, nested: Nested, parent_id: Any, path: Path) -> dict[str, Any]:
        """The page of officials at `path`, below the unit or position `parent_id`: empty until it is read."""
        page: dict[str, Any] = {}
        self.pending.append((nested, parent_id, path, page))
        return page

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


_EXACT: Final = 2**53 - 1


def _int(value: Any) -> Any:
    """An integer as JSON holds it exactly. Anything else (past 2**53, or not an integer at all, which no
    column is meant to hold) is left to the resolver tree, which says what is wrong with it: what the
    compiled path writes is then always in RFC 8785's fast form (gateway/graphql.py relies on it)."""
    if value is not None and (type(value) is not int or not -_EXACT <= value <= _EXACT):
        raise Mismatch("not an integer JSON holds exactly")  # SQLite may hold 170.5 in an INTEGER column
    return value


def _texts(value: Any) -> Any:
    """A list of texts, as stored; anything but text in it is left to the resolver tree."""
    if value is not None and not all(type(item) is str for item in value):
        raise Mismatch("a list of texts holding something else")
    return value


def _same(value: Any) -> Any:
    return value


# How strawberry writes each scalar: ID as a string, dates and times as ISO text, a decimal as its text
# (with its scale: "2.30"). Values read from a JSON array arrive as text already. Nothing here writes a
# float, a key that is not a GraphQL name, or an integer past 2**53: the data is RFC 8785's fast form
# by construction (held by tests/planner/test_differential.py).
CODECS: Final[dict[Value, Callable[[Any], Any]]] = {
    "id": _id,
    "text": _same,
    "int": _int,
    "date": _date,
    "datetime": _datetime,
    "decimal": _decimal,
    "texts": _texts,
}

# A writer: (row, readable fields or None where the object has no per-row check, path, run) -> value.
Writer = Callable[[Row, frozenset[str] | None, Path, Run], Any]


@dataclass
class _Cursor:
    """The joins (with their numbers) and lists of a layout, taken in the order a depth-first walk of
    the plan meets them: the order the layout placed them in."""

    joins: Iterator[tuple[int, Join]]
    subs: Iterator[Sub]


class _Names:
    """The values a generated writer refers to, each by a name made here (`_0`, `_1`, …): response keys,
    codecs, nested writers. The generated text holds only those names, integers and Python syntax, never
    a text that came with a request."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def __call__(self, value: Any) -> str:
        name = f"_{len(self.values)}"
        self.values[name] = value
        return name

    def function(self, source: str) -> Callable[..., Any]:
        namespace = dict(self.values)
        exec(source, namespace)  # noqa: S102 - the text is ours (see above)
        write: Callable[..., Any] = namespace["write"]
        return write


@dataclass(frozen=True, slots=True)
class _Part:
    """A field compiled twice: a writer that checks the row's grants and writes errors, and an expression
    over `row` giving the same value when every field of the object is readable on the row."""

    writer: Writer
    expression: str


ObjectWriter = Callable[[Row, Path, Run], dict[str, Any]]


def compile_object(obj: Obj, layout: Layout, walk: _Cursor, source: int, names: _Names | None = None) -> ObjectWriter:
    """The writer of one object of the plan, reading the row that `source` (0: the base row) names.

    Most rows open every field asked of them: for those, one generated function writes the whole object
    as a single dict display (PostGraphile generates JavaScript per plan the same way); a row whose
    grants do not open some field goes through the field-by-field writers, which write its errors."""
    names = names if names is not None else _Names()
    parts = [(node_key(node), _part(node, layout, walk, source, names)) for node in obj.fields]
    writers = [(key, part.writer) for key, part in parts]
    mask = layout.base_columns.index(MASK) if source == 0 and MASK in layout.base_columns else None

    def checked(row: Row, path: Path, run: Run) -> dict[str, Any]:
        readable = run.readable(row[mask]) if mask is not None else None
        return {key: writer(row, readable, path, run) for key, writer in writers}

    display = "{" + ", ".join(f"{names(key)}: {part.expression}" for key, part in parts) + "}"
    needed = frozenset(node.at.check for node in obj.fields if node.at.check is not None)
    if mask is None or not needed:
        return names.function(f"def write(row, path, run):\n    return {display}\n")
    test = f"{names(needed)} <= run.readable(row[{mask}])"
    source_text = f"def write(row, path, run):\n    return {display} if {test} else {names(checked)}(row, path, run)\n"
    return names.function(source_text)


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


def _part(node: Node, layout: Layout, walk: _Cursor, source: int, names: _Names) -> _Part:
    match node:
        case Typename(name=name):
            return _Part(lambda row, readable, path, run: name, names(name))
        case Scalar(at=at, column=column, value=value):
            index, codec = layout.index(source, column), CODECS[value]
            expression = f"row[{index}]" if codec is _same else f"{names(codec)}(row[{index}])"
            return _Part(_checked(at, lambda row, readable, path, run: codec(row[index])), expression)
        case Coded():
            index, coded = layout.index(source, node.column), _coded(node)
            return _Part(
                _checked(node.at, lambda row, readable, path, run: coded(row[index])), f"{names(coded)}(row[{index}])"
            )
        case Ref():
            return _ref(node, layout, walk, names)
        case Many():
            sub = next(walk.subs)
            index, many, key = sub.offset, _many(node), node.at.key
            if not has_pages(node.item):
                return _Part(
                    _checked(node.at, lambda row, readable, path, run: many(row[index])), f"{names(many)}(row[{index}])"
                )
            return _Part(
                _checked(node.at, lambda row, readable, path, run: many(row[index], (*path, key), run)),
                f"{names(many)}(row[{index}], path + ({names(key)},), run)",
            )
        case Nested():
            index, key = layout.index(source, "id"), node.at.key
            return _Part(
                lambda row, readable, path, run: run.later(node, row[index], (*path, key)),
                f"run.later({names(node)}, row[{index}], path + ({names(key)},))",
            )
    raise AssertionError(node)


def has_pages(obj: Obj) -> bool:
    """Whether a page of officials is asked below this object, at any depth: then its writers carry the
    path (where the page's errors point) and the request's run (which reads the page)."""
    return any(
        isinstance(node, Nested) or (isinstance(node, Ref | Many) and has_pages(node.item)) for node in obj.fields
    )


def _coded(node: Coded) -> Callable[[Any], Any]:
    """A coded value as `{ code label __typename }` asks it (None for no value). The object of each code
    of the list is made once per plan and shared by every row that holds it (the answer is never
    changed once written); a code missing from the list is written afresh each time."""
    label = labeller(node.codes)
    parts = [(key, part.partition(":")[2] if part.startswith("__typename") else part) for key, part in node.parts]

    def made(code: Any) -> Any:
        value = label(code)
        if value is None:
            return None
        return {key: "Code" if part == "Code" else getattr(value, part) for key, part in parts}

    listed = {code: made(code) for code in CODE_LISTS[node.codes]}

    def write(code: Any) -> Any:
        found = listed.get(code) if type(code) is str else None
        return found if found is not None else made(code)

    return write


def _missing(node: Ref) -> Callable[[], None]:
    """What a unit or position that is not there is written as: null, where the schema allows it."""

    def missing() -> None:
        if node.required:
            raise Mismatch(f"{node.at.key} has no {node.table}")

    return missing


def _ref(node: Ref, layout: Layout, walk: _Cursor, names: _Names) -> _Part:
    number, join = next(walk.joins)
    inner = compile_object(node.item, layout, walk, number, names)
    present = join.offset  # the joined row's id: null when the column points nowhere (or at nothing visible)
    missing = _missing(node)

    def write(row: Row, readable: frozenset[str] | None, path: Path, run: Run) -> Any:
        if row[present] is None:
            return missing()
        return inner(row, (*path, node.at.key), run)

    # The joined object's own fields are never checked (units and positions carry no grant mask), so its
    # writer is its generated expression; it needs its path only where a page of officials is below it.
    below = f"path + ({names(node.at.key)},)" if has_pages(node.item) else "()"
    expression = f"({names(missing)}() if row[{present}] is None else {names(inner)}(row, {below}, run))"
    return _Part(_checked(node.at, write), expression)


def _many(node: Many) -> Callable[..., list[dict[str, Any]]]:
    """A list below a row, from the JSON text of its array of arrays (planner/sql.py); with the list's
    path and the run where a page of officials is asked below its items."""
    item = _array_item(node.item)
    if not has_pages(node.item):

        def write(array: Any) -> list[dict[str, Any]]:
            return [item(values) for values in orjson.loads(array)]

        return write

    def write_with_pages(array: Any, path: Path, run: Run) -> list[dict[str, Any]]:
        return [item(values, (*path, i), run) for i, values in enumerate(orjson.loads(array))]

    return write_with_pages


def _array_item(obj: Obj) -> Callable[..., dict[str, Any]]:
    """One listed item, from its array of values (layout.item_columns, then one array per unit, position
    or list, layout.item_extras): a generated dict display (`row` is the array). Where a page of officials
    is asked below the item, the writer also takes the item's path and the run."""
    names = _Names()
    positions = {column: i for i, column in enumerate(item_columns(obj))}
    extras = {id(node): len(positions) + i for i, node in enumerate(item_extras(obj))}
    fields: list[str] = []
    for node in obj.fields:
        match node:
            case Typename(name=name):
                expression = names(name)
            case Scalar(column=column, value=value):
                codec, at = CODECS[value], positions[column]
                expression = f"row[{at}]" if codec is _same else f"{names(codec)}(row[{at}])"
            case Coded():
                expression = f"{names(_coded(node))}(row[{positions[node.column]}])"
            case Ref():
                at, inner, missing = extras[id(node)], _array_item(node.item), _missing(node)
                call = f"row[{at}], path + ({names(node.at.key)},), run" if has_pages(node.item) else f"row[{at}]"
                expression = f"({names(missing)}() if row[{at}] is None else {names(inner)}({call}))"
            case Many():
                at, inner = extras[id(node)], _array_item(node.item)
                if has_pages(node.item):
                    key = names(node.at.key)
                    expression = f"[{names(inner)}(item, path + ({key}, i), run) for i, item in enumerate(row[{at}])]"
                else:
                    expression = f"[{names(inner)}(item) for item in row[{at}]]"
            case Nested():
                key = names(node.at.key)
                expression = f"run.later({names(node)}, row[{positions['id']}], path + ({key},))"
        fields.append(f"{names(node.at.key)}: {expression}")
    signature = "row, path, run" if has_pages(obj) else "row"
    return names.function(f"def write({signature}):\n    return {{" + ", ".join(fields) + "}\n")


def compile_items(items: list[Obj], layout: Layout) -> list[ObjectWriter]:
    """The writers of the base objects of a statement (a connection's nodes, then its edges' nodes), in
    the order the layout placed their joins and lists."""
    walk = _Cursor(enumerate(layout.joins, 1), iter(layout.subs))
    return [compile_object(item, layout, walk, 0) for item in items]
