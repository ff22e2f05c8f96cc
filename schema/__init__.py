"""The GraphQL schema: one module per domain, merged here into the root Query."""

from collections.abc import Sequence
from typing import Any, Final

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ParserCache, SchemaExtension, ValidationCache
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as max_depth_rule

from policies.authorizer import Authorizer
from schema.codes import CodeQueries
from schema.exports import ExportMutations
from schema.grants import GrantMutations, GrantQueries
from schema.officials import OfficialQueries
from schema.policy import apply_field_policy
from schema.positions import PositionQueries
from schema.receipts import ReceiptQueries, RecordOperation
from schema.units import UnitQueries

# Cached documents: enough for every query a partner system sends, bounded against floods.
DOCUMENT_CACHE_SIZE: Final = 1024


class _Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        # Domain errors are answers, not incidents; unexpected ones are logged where they are masked
        # (gateway.graphql), so strawberry's own per-error logging is turned off.
        return None


@strawberry.type
class Query(OfficialQueries, UnitQueries, PositionQueries, CodeQueries, GrantQueries, ReceiptQueries):
    pass


@strawberry.type
class Mutation(GrantMutations, ExportMutations):
    pass


def build_schema(
    *,
    authorizer: Authorizer,
    max_depth: int,
    max_aliases: int,
    max_tokens: int,
    extensions: Sequence[type[SchemaExtension]] = (),
) -> strawberry.Schema:
    # The limiting rules are built once, here: strawberry's QueryDepthLimiter/MaxAliasesLimiter make
    # new rule classes per instance, and the validation cache keys on the rule classes, so building
    # them per request would turn every request into a cache miss.
    rules: list[type[ASTValidationRule]] = [
        max_depth_rule(max_depth, None, None),
        max_aliases_rule(max_aliases),
    ]
    schema = _Schema(
        query=Query,
        mutation=Mutation,
        extensions=[
            lambda: MaxTokensLimiter(max_token_count=max_tokens),
            lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
            lambda: AddValidationRules(rules),
            lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
            RecordOperation,
            *extensions,
        ],
    )
    # Deny by default: the build fails unless the policy decides every field of every type.
    apply_field_policy(schema._schema, authorizer.decisions, authorizer.data_fields)
    return schema


def sdl(schema: strawberry.Schema) -> str:
    """The schema as SDL: `ccvc schema print`, GET /graphql/schema.graphql and docs/schema.graphql."""
    return schema.as_str() + "\n"
