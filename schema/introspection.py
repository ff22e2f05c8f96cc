"""Schema introspection refused to a caller who may not introspect (a partner agency in production,
unless its agreement allows it): `__schema` and `__type` fail validation with INTROSPECTION_DISABLED.
`__typename` stays: clients ask it of every object, and it tells nothing about the schema.

The rule joins the validation rules of that request only, before schema/limits.py validates: its cache
is keyed by the rules too, so a document validated for one kind of caller is never reused for another."""

from collections.abc import Iterator
from typing import Any, Final

from graphql import FieldNode, GraphQLError, ValidationRule
from strawberry.extensions import SchemaExtension

from resolvers.context import RequestContext
from resolvers.errors import IntrospectionDisabled

INTROSPECTION_FIELDS: Final = frozenset({"__schema", "__type"})


class NoIntrospection(ValidationRule):
    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        name = node.name.value
        if name in INTROSPECTION_FIELDS:
            refusal = IntrospectionDisabled(
                f"Introspection ({name}) is off for partner agencies here unless their agreement allows it; "
                "the schema is published as SDL at /graphql/schema.graphql"
            )
            self.report_error(GraphQLError(refusal.message, node, original_error=refusal))


class PartnerIntrospection(SchemaExtension):
    """Adds NoIntrospection to the validation of a request whose context says it may not introspect.
    Must come before QueryLimits, which validates."""

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        if isinstance(context, RequestContext) and not context.introspection and execution.validation_rules:
            execution.validation_rules = (*execution.validation_rules, NoIntrospection)
        yield
