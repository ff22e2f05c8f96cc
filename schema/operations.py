"""A document holding several operations must say which one to run. strawberry takes the first one
when `operationName` is missing; the GraphQL specification (GetOperation) makes it a request error, and
running an operation the caller did not name is how a request ends up doing what nobody reviewed."""

from collections.abc import Iterator

from graphql import GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from resolvers.context import RequestContext


class OneOperation(SchemaExtension):
    def on_parse(self) -> Iterator[None]:
        yield
        execution = self.execution_context
        document = execution.graphql_document
        # strawberry's own `operation_name` falls back to the first operation's name: the name as the
        # request gave it comes from the view (GraphQLView.execute_single).
        context = execution.context
        if document is None or not isinstance(context, RequestContext) or context.operation_named:
            return
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) > 1:
            raise GraphQLError("Must provide operationName if the document contains several operations")
