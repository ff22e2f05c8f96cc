"""Types shared by every domain: codes with labels, page info, ordering, and the context accessor."""

from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar, cast

import strawberry
from graphql import GraphQLSchema
from strawberry.types import Info

from resolvers.codes import labeller
from resolvers.context import RequestContext
from resolvers.rows import AnyRow

Ctx = Info[RequestContext, None]
# The resolver tree's objects are database rows, which strawberry reads by field name (each type's
# fields are named as its row's columns; db/catalog.py and held_to_catalog keep Official's so). A field
# reading its row takes it as `root: Parent`, and returns the rows it resolves as the type it declares
# (a cast: the one place where rows and the schema's types meet).
Parent = strawberry.Parent[AnyRow]
F = TypeVar("F", bound=Callable[..., Any])


def core(schema: strawberry.Schema) -> GraphQLSchema:
    """graphql-core's schema behind strawberry's, which the planner reads and the field policy wraps.
    strawberry keeps it as `_schema` and offers no public accessor, so this is the one place that reads
    it; tests/schema/test_strawberry.py holds that it is the schema strawberry executes."""
    found = schema._schema
    assert isinstance(found, GraphQLSchema)
    return found


def field(*, description: str) -> Callable[[F], F]:
    """`@strawberry.field(description=…)`, as a decorator mypy sees through: strawberry's overloads give
    that call's result as Any, which made every resolver under it untyped (the bare decorator is fine)."""
    return cast(Callable[[F], F], strawberry.field(description=description))


def mutation(*, description: str) -> Callable[[F], F]:
    """`@strawberry.mutation(description=…)`, typed the same way."""
    return cast(Callable[[F], F], strawberry.mutation(description=description))


def subscription(*, description: str) -> Callable[[F], F]:
    """`@strawberry.subscription(description=…)`, typed the same way."""
    return cast(Callable[[F], F], strawberry.subscription(description=description))


@strawberry.type(description="A coded value with its Vietnamese label (see `codeList`).")
class Code:
    code: str
    label: str


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    cursors: strawberry.Private[tuple[str | None, str | None]]
    # Called when a cursor is answered: a cursor names its row (its id, and its sort value where the
    # caller reads it), so a page's ends leave with it (the receipt and the audit count them).
    named: strawberry.Private[Callable[[], None] | None] = None

    @strawberry.field
    def start_cursor(self) -> str | None:
        if self.named is not None:
            self.named()
        return self.cursors[0]

    @strawberry.field
    def end_cursor(self) -> str | None:
        if self.named is not None:
            self.named()
        return self.cursors[1]


@strawberry.enum
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


def code_field(list_name: str, column: str, description: str) -> Any:
    """A field that reads `column` from the row and returns it as a Code of `list_name`."""
    label = labeller(list_name)

    def resolve(root: strawberry.Parent[Any]) -> Code | None:
        return cast(Code | None, label(getattr(root, column)))

    return strawberry.field(resolver=resolve, description=description)


def required_code_field(list_name: str, column: str, description: str) -> Any:
    label = labeller(list_name)

    def resolve(root: strawberry.Parent[Any]) -> Code:
        return cast(Code, label(getattr(root, column)))

    return strawberry.field(resolver=resolve, description=description)
