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

from resolvers.context import RequestContext
from resolvers.limits import TREE_READ_STATEMENTS, TreeShape, known_tree_shape, over_cost, over_exports, tree_shape
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


class QueryLimits(SchemaExtension):
    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        if document is not None:
            refusal = self.limits.refusal(measure(document))
            if refusal is not None:
                execution.pre_execution_errors = [GraphQLError(refusal)]
            elif execution.validation_rules:
                errors = validate(execution.schema._schema, document, execution.validation_rules)
                execution.pre_execution_errors = [_explained(error) for error in errors]
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        if isinstance(context, RequestContext) and execution.result is None:
            cost = await self.cost(context)
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
        assert execution.graphql_document is not None
        known = known_tree_shape(context)

        def tree() -> TreeShape:
            if known is None:
                raise TreeUnknown
            return known

        arguments = (execution.schema._schema, execution.graphql_document, execution.operation_name)
        try:
            return operation_cost(*arguments, execution.variables, tree, most_fields=self.limits.max_cost)
        except TreeUnknown:
            known = await tree_shape(context)  # read only by the requests that list units or positions
            cost = operation_cost(*arguments, execution.variables, tree, most_fields=self.limits.max_cost)
            # This request also ran the tree's read: its statements count against it like its own.
            return None if cost is None else replace(cost, statements=cost.statements + TREE_READ_STATEMENTS)


def _explained(error: GraphQLError) -> GraphQLError:
    if isinstance(error, ValidationAbortedError) and error.message == "Validation aborted.":
        return GraphQLError(ABORTED)
    return error


def _count(value: int) -> str:
    return f"more than {CEILING:,}" if value >= CEILING else f"{value:,}"
