"""The GraphQL schema: one module per domain, merged here into the root Query."""

from collections.abc import Callable, Sequence
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxTokensLimiter, ParserCache, SchemaExtension

from planner.run import Reader
from policies.authorizer import Authorizer
from schema.aggregates import AggregateQueries
from schema.audit import AuditQueries
from schema.changes import ChangeMutations, ChangeQueries
from schema.codes import CodeQueries
from schema.common import core
from schema.compiled import CompiledReads
from schema.cost import check_rules
from schema.events import Subscription
from schema.exports import ExportMutations
from schema.grants import GrantMutations, GrantQueries
from schema.introspection import PartnerIntrospection
from schema.limits import DEFAULT_LIMITS, DOCUMENT_CACHE_SIZE, Costs, Limits, QueryLimits
from schema.maintenance import MaintenanceMutations, MaintenanceQueries
from schema.officials import OfficialQueries, held_to_catalog
from schema.operations import OneOperation
from schema.policy import apply_field_policy
from schema.positions import PositionQueries
from schema.receipts import ReceiptQueries, RecordOperation
from schema.sync import SyncMutations
from schema.units import UnitQueries


class Schema(strawberry.Schema):
    # The compiled read path (planner/), when on: its plans and its counts of what it answered.
    reader: Reader | None = None
    # Over WebSocket, strawberry formats errors itself: the gateway shapes each first (code, masking).
    shape_error: Callable[[GraphQLError], None] | None = None

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        # Domain errors are answers, not incidents; unexpected ones are logged where they are masked
        # (gateway.graphql), so strawberry's own per-error logging is turned off. Over HTTP the view
        # shapes errors as it answers; a subscription's (its context has connection parameters) here.
        context = getattr(execution_context, "context", None)
        if self.shape_error is not None and getattr(context, "connection_params", None) is not None:
            for error in errors:
                self.shape_error(error)


@strawberry.type
class Query(
    OfficialQueries,
    UnitQueries,
    PositionQueries,
    CodeQueries,
    GrantQueries,
    ReceiptQueries,
    ChangeQueries,
    AggregateQueries,
    AuditQueries,
    MaintenanceQueries,
):
    pass


@strawberry.type
class Mutation(GrantMutations, ExportMutations, ChangeMutations, SyncMutations, MaintenanceMutations):
    pass


def build_schema(
    *,
    authorizer: Authorizer,
    max_depth: int,
    max_aliases: int,
    max_tokens: int,
    max_fields: int = DEFAULT_LIMITS.max_fields,
    max_cost: int = DEFAULT_LIMITS.max_cost,
    max_statements: int = DEFAULT_LIMITS.max_statements,
    compiled: bool = True,
    extensions: Sequence[type[SchemaExtension]] = (),
) -> Schema:
    limits = Limits(
        max_fields=max_fields,
        max_depth=max_depth,
        max_aliases=max_aliases,
        max_cost=max_cost,
        max_statements=max_statements,
    )
    costs = Costs()  # per schema: a cost is worked out against its limits
    readers: list[Reader] = []  # made once the schema exists: the planner reads graphql-core's schema
    schema = Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            lambda: MaxTokensLimiter(max_token_count=max_tokens),
            lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
            OneOperation,
            PartnerIntrospection,  # before QueryLimits, which validates: adds its rule to that request's
            lambda: QueryLimits(limits, costs),  # fields, depth, aliases; validation (cached); cost and exports
            RecordOperation,
            *extensions,
            # Last: after the limits (a refused request has its result already) and the operation's record.
            *([lambda: CompiledReads(readers[0])] if compiled else []),
        ],
    )
    if compiled:
        readers.append(Reader(core(schema)))
        schema.reader = readers[0]
    # Deny by default: the build fails unless the policy decides every field of every type.
    apply_field_policy(core(schema), authorizer.decisions, authorizer.data_fields)
    # Likewise unless every list of objects has a bound in the cost rules, and unless the Official type
    # has exactly the fields of the one catalog (db/catalog.py).
    check_rules(core(schema))
    held_to_catalog(core(schema))
    return schema


def sdl(schema: strawberry.Schema) -> str:
    """The schema as SDL: `ccvc schema print`, GET /graphql/schema.graphql and docs/schema.graphql."""
    return schema.as_str() + "\n"
