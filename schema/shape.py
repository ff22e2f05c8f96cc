"""How big a document is once its fragments are written out in place: its fields, its depth and its
aliases, measured in one pass before any validation rule looks at it.

Written-out size is what validating, costing and running a document walk, and fragments can multiply
it without making the document longer: `fragment F0 on Official { id ...F1 ...F1 }`, `F1` spreading
`F2` twice, and so on, doubles the fields at each level (2^31 of them for 31 fragments in under 300
tokens). So each fragment is measured once, in an order where the fragments it spreads come first, and
its measure is added at every spread: the pass visits each node of the document once, however the
fragments multiply. A fragment that spreads itself, directly or through others, has no written-out
size at all; the pass reports the cycle instead (validation would refuse it too).
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

# Counts stop growing here: enough to compare with any limit, and printable.
CEILING: Final = 10**15


@dataclass(frozen=True, slots=True)
class Measure:
    """One operation or fragment, written out."""

    fields: int
    aliases: int
    # The deepest field's nesting, root fields being at 0 (-1 without fields). As strawberry's depth
    # limiter has it, a field named __* (introspection) counts where it stands, but its insides do not.
    depth: int


@dataclass(slots=True)
class _Local:
    """A definition's own nodes, and the fragments it spreads (name, depth of the spread, counted)."""

    fields: int = 0
    aliases: int = 0
    depth: int = -1
    spreads: list[tuple[str, int, bool]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Shape:
    operations: list[tuple[str, Measure]]  # by operation name ("anonymous" without one)
    # Fragments spreading themselves, as "A" or "A via B, C" (empty when there is none).
    cycles: list[str]
    # Nodes this pass visited: the document's own size, never its written-out size.
    steps: int

    @property
    def fields(self) -> int:
        return min(sum(m.fields for _, m in self.operations), CEILING)

    @property
    def aliases(self) -> int:
        return min(sum(m.aliases for _, m in self.operations), CEILING)


def measure(document: DocumentNode) -> Shape:
    steps = 0
    locals_: dict[str, _Local] = {}
    operations: list[tuple[str, _Local]] = []
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode | OperationDefinitionNode):
            local, visited = _local(definition.selection_set)
            steps += visited
            if isinstance(definition, FragmentDefinitionNode):
                locals_[definition.name.value] = local
            else:
                operations.append((definition.name.value if definition.name else "anonymous", local))
    order, cycles = _dependencies_first(locals_)
    measures: dict[str, Measure] = {}
    for name in order:
        measures[name] = _written_out(locals_[name], measures)
        steps += 1 + len(locals_[name].spreads)
    if cycles:
        return Shape(operations=[], cycles=cycles, steps=steps)
    written = []
    for name, local in operations:
        written.append((name, _written_out(local, measures)))
        steps += 1 + len(local.spreads)
    return Shape(operations=written, cycles=[], steps=steps)


def _local(selection_set: SelectionSetNode) -> tuple[_Local, int]:
    local, visited = _Local(), 0
    # (selection set, depth of its fields, whether depth counts there): a stack, not recursion, so that
    # the deepest document the parser accepts is measured like any other.
    stack: list[tuple[SelectionSetNode, int, bool]] = [(selection_set, 0, True)]
    while stack:
        selections, depth, counted = stack.pop()
        for selection in selections.selections:
            visited += 1
            if isinstance(selection, FieldNode):
                local.fields += 1
                local.aliases += selection.alias is not None
                if counted:
                    local.depth = max(local.depth, depth)
                if selection.selection_set is not None:
                    inside = counted and not selection.name.value.startswith("__")
                    stack.append((selection.selection_set, depth + 1, inside))
            elif isinstance(selection, InlineFragmentNode):
                stack.append((selection.selection_set, depth, counted))
            elif isinstance(selection, FragmentSpreadNode):
                local.spreads.append((selection.name.value, depth, counted))
    return local, visited


def _written_out(local: _Local, fragments: dict[str, Measure]) -> Measure:
    fields, aliases, depth = local.fields, local.aliases, local.depth
    for name, at, counted in local.spreads:
        spread = fragments.get(name)  # an unknown fragment adds nothing; validation names it
        if spread is None:
            continue
        fields = min(fields + spread.fields, CEILING)
        aliases = min(aliases + spread.aliases, CEILING)
        if counted and spread.depth >= 0:
            depth = max(depth, at + spread.depth)
    return Measure(fields=fields, aliases=aliases, depth=depth)


def _dependencies_first(locals_: dict[str, _Local]) -> tuple[list[str], list[str]]:
    """Fragment names, each after every fragment it spreads; and the cycles found on the way."""
    order: list[str] = []
    done: set[str] = set()
    on_path: dict[str, int] = {}
    cycles: list[str] = []
    for root in locals_:
        if root in done:
            continue
        path: list[str] = [root]
        pending: list[Iterator[str]] = [_spread_names(locals_[root].spreads)]
        on_path[root] = 0
        while pending:
            child = next(pending[-1], None)
            if child is None:
                name = path.pop()
                pending.pop()
                del on_path[name]
                done.add(name)
                order.append(name)
            elif child in on_path:
                cycles.append(_cycle(path[on_path[child] :]))
            elif child not in done and child in locals_:
                on_path[child] = len(path)
                path.append(child)
                pending.append(_spread_names(locals_[child].spreads))
    return order, cycles


def _spread_names(spreads: Iterable[tuple[str, int, bool]]) -> Iterator[str]:
    return iter(dict.fromkeys(name for name, _, _ in spreads))


def _cycle(names: list[str]) -> str:
    first, rest = names[0], names[1:]
    return f"'{first}'" + (f" via {', '.join(repr(n) for n in rest)}" if rest else "")
