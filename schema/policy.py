"""The schema-wide field policy: every field of every type has a decision, or the schema is not built.

Decisions come from the policy (policies/policy.csv, through the Authorizer): `public`, `scoped` and
`inherited` fields need nothing at run time; a data field (e.g. `Official.religion`) is checked on
every row against the fields the row's matched grants open. The check is installed only on data
fields, as a thin wrapper around their resolver, so the rest of the schema pays nothing for it.
"""

from collections.abc import Mapping
from typing import Any

from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLSchema, default_field_resolver

from resolvers.fields import row_checked


class FieldPolicyError(Exception):
    """The schema and the policy disagree: a field has no decision, or a decision names no field."""


def schema_fields(schema: GraphQLSchema) -> dict[str, Any]:
    """Every field of every object type ("Type.field"), introspection types aside."""
    return {
        f"{type_name}.{field_name}": field
        for type_name, graphql_type in schema.type_map.items()
        if isinstance(graphql_type, GraphQLObjectType) and not type_name.startswith("__")
        for field_name, field in graphql_type.fields.items()
    }


def apply_field_policy(schema: GraphQLSchema, decisions: Mapping[str, str], data_fields: frozenset[str]) -> None:
    fields = schema_fields(schema)
    undecided = sorted(fields.keys() - decisions.keys())
    if undecided:
        raise FieldPolicyError(f"No policy decision for {', '.join(undecided)} (deny by default): see policy.csv")
    unknown = sorted(decisions.keys() - fields.keys())
    if unknown:
        raise FieldPolicyError(f"The policy decides fields the schema does not have: {', '.join(unknown)}")
    for name in sorted(data_fields):
        field = fields[name]
        if isinstance(field.type, GraphQLNonNull):
            raise FieldPolicyError(f"'{name}' is checked row by row, so it must be nullable")
        field.resolve = row_checked(field.resolve or default_field_resolver, name)
