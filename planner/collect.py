"""The selections of an operation as graphql-core's executor collects them: fragments expanded,
aliases and merged fields kept apart by response key, `@include`/`@skip` decided by the variables."""

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    OperationDefinitionNode,
    get_named_type,
    get_operation_ast,
)
from graphql.execution.collect_fields import FieldDetailsList, FragmentDetails, collect_fields, collect_subfields
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values


@dataclass(frozen=True, slots=True)
class Selected:
    """One response key of an object: the field it names, its arguments, and what is selected below it."""

    key: str
    name: str
    arguments: dict[str, Any]
    nodes: tuple[FieldNode, ...]  # every occurrence merged under this key: where its errors point
    type: GraphQLOutputType | None  # the field's type (None for __typename)
    below: tuple["Selected", ...]  # for an object-typed field


@dataclass(frozen=True, slots=True)
class Operation:
    kind: str  # query | mutation | subscription
    root: GraphQLObjectType
    selections: tuple[Selected, ...]


class NotCollected(Exception):
    """No operation would run (unknown or ambiguous name, variables that do not coerce)."""


def collect(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, variables: dict[str, Any] | None
) -> Operation:
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        raise NotCollected("no such operation")
    root = schema.get_root_type(operation.operation)
    if root is None:
        raise NotCollected("no root type")
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        raise NotCollected("variables do not coerce")
    definitions = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
    if any(d.variable_definitions for d in definitions):
        raise NotCollected("fragment variables (experimental) are not compiled")
    fragments = {d.name.value: FragmentDetails(d, None) for d in definitions}
    grouped = collect_fields(schema, fragments, coerced, root, operation).grouped_field_set
    walk = _Walk(schema, fragments, coerced, operation)
    return Operation(operation.operation.value, root, tuple(walk.selected(root, key, d) for key, d in grouped.items()))


@dataclass(frozen=True, slots=True)
class _Walk:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDetails]
    variables: VariableValues
    operation: OperationDefinitionNode

    def selected(self, parent: GraphQLObjectType, key: str, details: FieldDetailsList) -> Selected:
        node = details[0].node
        name = node.name.value
        nodes = tuple(d.node for d in details)
        if name == "__typename":
            return Selected(key, name, {}, nodes, None, ())
        if name.startswith("__"):
            raise NotCollected("introspection")  # answered by graphql-core itself
        definition = parent.fields[name]
        arguments = get_argument_values(definition, node, self.variables, details[0].fragment_variable_values)
        target = get_named_type(definition.type)
        below: tuple[Selected, ...] = ()
        if isinstance(target, GraphQLObjectType):
            sub = collect_subfields(self.schema, self.fragments, self.variables, self.operation, target, details)
            below = tuple(self.selected(target, k, d) for k, d in sub.grouped_field_set.items())
        return Selected(key, name, arguments, nodes, definition.type, below)
