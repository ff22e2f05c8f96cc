"""The plan of a compiled read: for each object of the answer, which columns to read and how to write
each field, in the response's key order. Frozen and free of request values (the root field's arguments
are the request's, read when it runs): one plan serves every request of the same document with the
same selections (the same values of the variables its directives read)."""

from dataclasses import dataclass
from typing import Literal

from graphql import FieldNode

from db.catalog import RecordKind, Value

Table = Literal["official", "unit", "position"]


@dataclass(frozen=True, slots=True)
class Field:
    """Where a field sits in the answer: its response key, the nodes errors point at, and, for an
    official's data field, the policy name a row must open for it to be read."""

    key: str
    nodes: tuple[FieldNode, ...]
    check: str | None = None


@dataclass(frozen=True, slots=True)
class Typename:
    at: Field
    name: str


@dataclass(frozen=True, slots=True)
class Scalar:
    at: Field
    column: str
    value: Value


@dataclass(frozen=True, slots=True)
class Coded:
    """{ code label __typename } of a coded column, in the order the document asks for them."""

    at: Field
    column: str
    codes: str
    parts: tuple[tuple[str, str], ...]  # (response key, "code" | "label" | "__typename")


@dataclass(frozen=True, slots=True)
class Ref:
    """The one unit or position a column points at (read by a join)."""

    at: Field
    column: str  # on the row: the id it points at
    table: Table
    item: "Obj"
    required: bool  # non-null in the schema: a row without it is not compiled (the resolver tree says why)


@dataclass(frozen=True, slots=True)
class Many:
    """A list below a row: an official's child records of one kind, a unit's children or positions
    (read by a correlated subquery as a JSON array, in the order the resolver's query gives)."""

    at: Field
    source: Literal["records", "children", "positions"]
    kind: RecordKind | None  # for records
    item: "Obj"


@dataclass(frozen=True, slots=True)
class Nested:
    """`Unit.officials` or `Position.holders`: a page of officials of its own for each unit or position
    written, read by a statement of its own once the unit's or position's id is known. `keys` are the
    response keys from the root field down to this one (list indices left out): where its arguments are
    found in each request's selections, the same for every item of a list."""

    at: Field
    by: Literal["unit", "position"]
    connection: "Connection"
    keys: tuple[str, ...]


Node = Typename | Scalar | Coded | Ref | Many | Nested


@dataclass(frozen=True, slots=True)
class Obj:
    table: Table | RecordKind
    type: str  # the GraphQL type, for __typename
    fields: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class PageInfoPlan:
    at: Field
    parts: tuple[
        tuple[str, str], ...
    ]  # (response key, hasNextPage | hasPreviousPage | startCursor | endCursor | __typename)


@dataclass(frozen=True, slots=True)
class Connection:
    """A page of officials: `officials(first, after, filter, orderBy)`."""

    at: Field
    parts: tuple["Part", ...]


@dataclass(frozen=True, slots=True)
class Nodes:
    at: Field
    item: Obj


@dataclass(frozen=True, slots=True)
class Edges:
    at: Field
    parts: tuple[tuple[str, str], ...]  # (response key, cursor | node | __typename)
    node_at: Field | None
    item: Obj | None


@dataclass(frozen=True, slots=True)
class TotalCount:
    at: Field


Part = Nodes | Edges | PageInfoPlan | TotalCount | Typename


@dataclass(frozen=True, slots=True)
class One:
    """One official, unit or position: `official(id | code)`, `me`, `unit(id | code)`, `position(id)`."""

    at: Field
    by: Literal["arguments", "me"]  # the root field's arguments (id or code), or the caller's own record
    item: Obj


@dataclass(frozen=True, slots=True)
class UnitList:
    """`units(parent, kind)`: the children of a unit, or the ministries and provinces, by code."""

    at: Field
    item: Obj


@dataclass(frozen=True, slots=True)
class CodeList:
    """`codeList(name)`: no SQL at all. The name is the request's argument (a variable may give it)."""

    at: Field
    parts: tuple[tuple[str, str], ...]


Root = Connection | One | UnitList | CodeList


@dataclass(frozen=True, slots=True)
class Plan:
    root: Root
