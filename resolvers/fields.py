"""The run-time half of the field policy: a data field is read only where the row's grants open it."""

from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo

from resolvers.errors import ForbiddenField

Resolver = Callable[..., Any]


def row_checked(resolve: Resolver, name: str) -> Resolver:
    """`resolve`, preceded by the check that field `name` ("Official.religion") is readable on the row."""
    label = name.partition(".")[2]

    def resolver(root: Any, info: GraphQLResolveInfo[Any], **arguments: Any) -> Any:
        # `root.grants` is the row's grant mask, computed by the statement that read the row; the
        # fields it opens are cached per mask on the request's scope (a set lookup per field).
        if name not in info.context.scope.readable(root.grants):
            raise unreadable(label)
        return resolve(root, info, **arguments)

    return resolver


def unreadable(label: str) -> ForbiddenField:
    """The error of a field (`religion`) the caller may not read on this official: one wording for the
    resolver tree and the compiled read path."""
    return ForbiddenField(f"Not allowed to read `{label}` of this official")
