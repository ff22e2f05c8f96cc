"""The compiled read path's hook: strawberry runs graphql-core's executor unless an extension has set the
operation's result in `on_execute`. This one sets it when the planner can answer (planner/), and
otherwise leaves the request to the resolver tree, which the planner counts as a fallback. It runs
after the limits (schema/limits.py): a request they refused has its result already."""

from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from planner.run import Reader
from resolvers.context import RequestContext


class CompiledReads(SchemaExtension):
    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        document = execution.graphql_document
        if isinstance(context, RequestContext) and execution.result is None and document is not None:
            answer = await self.reader.answer(
                context, document, execution.query or "", execution.operation_name, execution.variables
            )
            if answer is not None:
                execution.result = ExecutionResult(data=answer.data, errors=answer.errors or None)
        yield
