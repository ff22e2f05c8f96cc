"""Types shared by every domain: codes with labels, page info, ordering, and the context accessor."""

from enum import Enum
from typing import Any, cast

import strawberry
from strawberry.types import Info

from resolvers.codes import labeller
from resolvers.context import RequestContext

Ctx = Info[RequestContext, None]


@strawberry.type(description="A coded value with its Vietnamese label (see `codeList`).")
class Code:
    code: str
    label: str


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


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
