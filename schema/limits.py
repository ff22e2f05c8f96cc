"""The limits on what one request may ask, each applied before the work it bounds:

- before validation, the document's written-out size (schema/shape.py): fields, depth and aliases,
  in one pass that stays linear however fragments multiply. strawberry's own depth and alias
  validators walk every spread of every fragment, so they are not used;
- validation itself, for documents within those limits, cached (a bounded LRU, keyed like strawberry's
  ValidationCache, which is replaced by this);
- before execution, the operation's static cost (schema/cost.py) and the exports it starts: a request
  over a maximum is answered MAX_COST_EXCEEDED (or BAD_USER_INPUT for a second export) and runs nothing.
"""

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Final

from graphql import ExecutionResult, GraphQLError
from graphql.validation.rules import overlapping_fields_can_be_merged
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from planner.kept import Kept, variables_key
from resolvers.context import RequestContext
from resolvers.limits import TREE_READ_STATEMENTS, TreeShape, known_tree_shape, over_cost, over_exports, tree_shape
from schema.common import core
from schema.cost import Cost, TreeUnknown, operation_cost
from schema.shape import CEILING, Shape, measure

# Parsed and validated documents kept: enough for every query a partner system sends, bounded against floods.
DOCUMENT_CACHE_SIZE: Final = 1024

validate = lru_cache(maxsize=DOCUMENT_CACHE_SIZE)(validate_document)

# graphql-core meters the comparisons of its overlapping-fields rule and aborts validation past a budget:
# 500,000 by default, some 2 s of this process for a document repeating `unit { code }` 500 times. A
# document that repeats no field spends none of it; 20,000 is some 80 ms. (Read when a validation starts.)
VALIDATION_BUDGET: Final = 20_000
overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET = VALIDATION_BUDGET
ABORTED: Final = (
    "Validation aborted: checking this document would take too long, for it repeats the same fields or "
    "fragments too often; ask for each field once"
)


@dataclass(frozen=True, slots=True)
class Limits:
    """gateway/config.py's CCVC_MAX_QUERY_* settings; the defaults are theirs (a test holds them equal)."""

    max_fields: int = 2_000
    max_depth: int = 12
    max_aliases: int = 50
    max_cost: int = 60_000
    max_statements: int = 100

    def refusal(self, shape: Shape) -> str | None:
        """Why a document of this shape is not even validated, or None."""
        if shape.cycles:
            return f"Cannot spread fragment {shape.cycles[0]} within itself."
        if shape.fields > self.max_fields:
            return (
                f"The document asks for {_count(shape.fields)} fields once its fragments are written out in place; "
                f"at most {self.max_fields:,} are allowed (CCVC_MAX_QUERY_FIELDS)"
            )
        for name, operation in shape.operations:
            if operation.depth > self.max_depth:
                return f"'{name}' exceeds maximum operation depth of {self.max_depth} (CCVC_MAX_QUERY_DEPTH)"
        if shape.aliases > self.max_aliases:
            return f"{_count(shape.aliases)} aliases found. Allowed: {self.max_aliases} (CCVC_MAX_ALIASES)"
        return None


DEFAULT_LIMITS: Final = Limits()


@dataclass(frozen=True, slots=True)
class _Costed:
    cost: Cost | None
    tree: TreeShape | None  # the unit tree's shape the cost was worked out with, when it needed one


class Costs:
    """Operation costs, kept per document, operation and variables (a bounded LRU): the walk visits every
    field the answer would hold (0.5 ms for an official's whole record), and a partner repeats the
    same few requests. A cost worked out with the unit tree's shape holds while that shape does."""

    def __init__(self, size: int = DOCUMENT_CACHE_SIZE) -> None:
        self.kept: Kept[tuple[str, str | None, bytes], _Costed] = Kept(size)

    def get(self, key: tuple[str, str | None, bytes] | None, known: TreeShape | None) -> _Costed | None:
        found = self.kept.get(key) if key is not None else None
        return found if found is not None and found.tree in (None, known) else None

    def put(self, key: tuple[str, str | None, bytes] | None, costed: _Costed) -> None:
        if key is not None:
            self.kept.put(key, costed)


class QueryLimits(SchemaExtension):
    def __init__(self, limits: Limits, costs: Costs) -> None:
        self.limits = limits
        self.costs = costs

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        if document is not None:
            refusal = self.limits.refusal(measure(document))
            if refusal is not None:
                execution.pre_execution_errors = [GraphQLError(refusal)]
            elif execution.validation_rules:
                errors = validate(core(execution.schema), document, execution.validation_rules)
                execution.pre_execution_errors = [_explained(error) for error in errors]
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        if isinstance(context, RequestContext) and execution.result is None:
            cost = await self.cost(context)
            context.cost = cost.fields if cost is not None else None
            refusal = None
            if cost is not None:
                refusal = over_exports(cost.exports) or over_cost(
                    fields=cost.fields,
                    most_fields=self.limits.max_cost,
                    statements=cost.statements,
                    most_statements=self.limits.max_statements,
                )
            if refusal is not None:
                # A result before execution: strawberry then runs nothing (schema.py, _execute_operation).
                execution.result = ExecutionResult(
                    data=None, errors=[GraphQLError(str(refusal), original_error=refusal)]
                )
        yield

    async def cost(self, context: RequestContext) -> Cost | None:
        execution = self.execution_context
        given = variables_key(execution.variables)
        key = (execution.query or "", execution.operation_name, given) if given is not None else None
        known = known_tree_shape(context)
        found = self.costs.get(key, known)
        if found is not None:
            return found.cost
        try:
            costed = self._walk(known)
        except TreeUnknown:
            known = await tree_shape(context)  # read only by the requests that list units or positions
            costed = self._walk(known)
            self.costs.put(key, costed)
            # This request also ran the tree's read: its statements count against it like its own.
            cost = costed.cost
            return None if cost is None else replace(cost, statements=cost.statements + TREE_READ_STATEMENTS)
        self.costs.put(key, costed)
        return costed.cost

    def _walk(self, known: TreeShape | None) -> _Costed:
        """The cost, with the tree's shape if the walk read it; TreeUnknown when it must and none is known."""
        execution = self.execution_context
        assert execution.graphql_document is not None
        used: list[TreeShape] = []

        def tree() -> TreeShape:
            if known is None:
                raise TreeUnknown
            used.append(known)
            return known

        cost = operation_cost(
            core(execution.schema),
            execution.graphql_document,
            execution.operation_name,
            execution.variables,
            tree,
            most_fields=self.limits.max_cost,
        )
        return _Costed(cost, used[0] if used else None)


def _explained(error: GraphQLError) -> GraphQLError:
    if isinstance(error, ValidationAbortedError) and error.message == "Validation aborted.":
        return GraphQLError(ABORTED)
    return error


def _count(value: int) -> str:
    return f"more than {CEILING:,}" if value >= CEILING else f"{value:,}"
