"""Selections -> plan. What is compiled: one root field of a query among `officials`, `official`, `me`,
`unit`, `units`, `position` and `codeList`; below them every field of an official (the catalog's),
of a unit and of a position, their units, positions, children and child records at any depth, inside
lists too; and the pages of officials below units and positions (`Unit.officials`, `Position.holders`),
each read by a statement of its own once the unit's or position's id is known. What is not
(Unsupported, so the resolver tree answers and the fallback is counted): mutations and subscriptions,
introspection, and several root fields."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from db.catalog import OFFICIAL, POSITION_FIELDS, RECORD_FIELDS, RECORD_TYPES, UNIT_FIELDS, Column, RecordKind
from planner.collect import Operation, Selected
from planner.plan import (
    Coded,
    CodeList,
    Connection,
    Edges,
    Field,
    Many,
    Nested,
    Node,
    Nodes,
    Obj,
    One,
    PageInfoPlan,
    Part,
    Plan,
    Ref,
    Root,
    Scalar,
    Table,
    TotalCount,
    Typename,
    UnitList,
)


class Unsupported(Exception):
    """This document is answered by the resolver tree; the message says why (counted by reason)."""


def plan(operation: Operation) -> Plan:
    if operation.kind != "query":
        raise Unsupported(operation.kind)
    if len(operation.selections) != 1:
        raise Unsupported("several root fields")
    return Plan(root=_root(operation.selections[0]))


def _at(selected: Selected, check: str | None = None) -> Field:
    return Field(selected.key, selected.nodes, check)


@dataclass(frozen=True, slots=True)
class _Where:
    """Where an object sits: the response keys from the root field down to it, list indices left out
    (what finds a nested page's arguments in each request's selections)."""

    keys: tuple[str, ...]

    def below(self, s: Selected) -> "_Where":
        return _Where((*self.keys, s.key))


_ROOT: Final = _Where(())


def _root(s: Selected) -> Root:
    match s.name:
        case "officials":
            return _connection(s, _ROOT)
        case "official":
            return One(_at(s), "arguments", _object("official", s.below, _ROOT))
        case "me":
            return One(_at(s), "me", _object("official", s.below, _ROOT))
        case "unit":
            return One(_at(s), "arguments", _object("unit", s.below, _ROOT))
        case "units":
            return UnitList(_at(s), _object("unit", s.below, _ROOT))
        case "position":
            return One(_at(s), "arguments", _object("position", s.below, _ROOT))
        case "codeList":
            return CodeList(_at(s), _parts(s.below, {"code", "label"}, "Code"))
    raise Unsupported(f"root field {s.name}")


def _connection(s: Selected, where: _Where) -> Connection:
    """A page of officials; `where` is where its field sits (the root's own keys for `officials`)."""
    return Connection(_at(s), tuple(_connection_part(p, where) for p in s.below))


def _connection_part(s: Selected, where: _Where) -> Part:
    match s.name:
        case "__typename":
            return Typename(_at(s), "OfficialConnection")
        case "totalCount":
            return TotalCount(_at(s))
        case "pageInfo":
            names = {"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"}
            return PageInfoPlan(_at(s), _parts(s.below, names, "PageInfo"))
        case "nodes":
            return Nodes(_at(s), _object("official", s.below, where.below(s)))
        case "edges":
            nodes = [e for e in s.below if e.name == "node"]
            if len(nodes) > 1:
                # An edge's node is written from one item's plan: aliases asking for different fields of
                # it are left to the resolver tree (counted), not written from the first alias's selection.
                raise Unsupported("several aliases of OfficialEdge.node")
            node = nodes[0] if nodes else None
            item = _object("official", node.below, where.below(s).below(node)) if node is not None else None
            parts = _parts(s.below, {"cursor", "node"}, "OfficialEdge")
            return Edges(_at(s), parts, _at(node) if node is not None else None, item)
    raise Unsupported(f"OfficialConnection.{s.name}")


def _parts(below: tuple[Selected, ...], names: set[str], typename: str) -> tuple[tuple[str, str], ...]:
    """The keys of a small object written whole by the planner (Code, PageInfo, an edge)."""
    parts = []
    for s in below:
        if s.name != "__typename" and s.name not in names:
            raise Unsupported(f"{typename}.{s.name}")
        parts.append((s.key, s.name if s.name != "__typename" else f"__typename:{typename}"))
    return tuple(parts)


def _object(table: Table, below: tuple[Selected, ...], where: _Where) -> Obj:
    build = _BUILDERS[table]
    return Obj(table, _TYPE_NAMES[table], tuple(build(s, where) for s in below))


def _official(s: Selected, where: _Where) -> Node:
    if s.name == "__typename":
        return Typename(_at(s), "Official")
    if s.name == "id":
        return Scalar(_at(s), "id", "id")
    field = OFFICIAL.get(s.name)
    if field is None:  # about the record, not its data (history, pending changes): the resolver tree's
        raise Unsupported(f"Official.{s.name}")
    at = _at(s, field.policy)
    match field.kind:
        case "plain":
            return Scalar(at, field.column, field.value)
        case "code":
            return Coded(at, field.column, field.codes or "", _parts(s.below, {"code", "label"}, "Code"))
        case "unit" | "position":
            return Ref(at, field.column, field.kind, _object(field.kind, s.below, where.below(s)), required=False)
        case "records":
            kind = field.records
            assert kind is not None
            return Many(at, "records", kind, _record(kind, s.below))
    raise Unsupported(f"Official.{s.name}")


def _record(kind: RecordKind, below: tuple[Selected, ...]) -> Obj:
    columns = {c.name: c for c in RECORD_FIELDS[kind]}
    fields: list[Node] = []
    for s in below:
        if s.name == "__typename":
            fields.append(Typename(_at(s), RECORD_TYPES[kind]))
        else:
            fields.append(_column(columns[s.name], s))
    return Obj(kind, RECORD_TYPES[kind], tuple(fields))


def _column(column: Column, s: Selected) -> Node:
    if column.codes is not None:
        return Coded(_at(s), column.column, column.codes, _parts(s.below, {"code", "label"}, "Code"))
    return Scalar(_at(s), column.column, column.value)


_UNIT_COLUMNS = {c.name: c for c in UNIT_FIELDS}
_POSITION_COLUMNS = {c.name: c for c in POSITION_FIELDS}


def _unit(s: Selected, where: _Where) -> Node:
    if s.name == "__typename":
        return Typename(_at(s), "Unit")
    if s.name in _UNIT_COLUMNS:
        return _column(_UNIT_COLUMNS[s.name], s)
    match s.name:
        case "parent":
            return Ref(_at(s), "parent_id", "unit", _object("unit", s.below, where.below(s)), required=False)
        case "topUnit":
            return Ref(_at(s), "top_unit_id", "unit", _object("unit", s.below, where.below(s)), required=True)
        case "children":
            return Many(_at(s), "children", None, _object("unit", s.below, where.below(s)))
        case "positions":
            return Many(_at(s), "positions", None, _object("position", s.below, where.below(s)))
        case "officials":
            return _nested(s, "unit", where)
    raise Unsupported(f"Unit.{s.name}")


def _position(s: Selected, where: _Where) -> Node:
    if s.name == "__typename":
        return Typename(_at(s), "Position")
    if s.name in _POSITION_COLUMNS:
        return _column(_POSITION_COLUMNS[s.name], s)
    match s.name:
        case "unit":
            return Ref(_at(s), "unit_id", "unit", _object("unit", s.below, where.below(s)), required=True)
        case "holders":
            return _nested(s, "position", where)
    raise Unsupported(f"Position.{s.name}")


def _nested(s: Selected, by: Literal["unit", "position"], where: _Where) -> Nested:
    at = where.below(s)
    return Nested(_at(s), by, _connection(s, at), at.keys)


_BUILDERS: Mapping[Table, Callable[[Selected, _Where], Node]] = {
    "official": _official,
    "unit": _unit,
    "position": _position,
}
_TYPE_NAMES: Mapping[Table, str] = {"official": "Official", "unit": "Unit", "position": "Position"}
