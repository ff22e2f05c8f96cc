"""Relay connections over keyset pages: opaque cursors, `first` capped, never an OFFSET."""

import base64
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Generic, TypeVar

import orjson

from db.errors import BadInput
from resolvers.ids import MAX_ID

MAX_PAGE_SIZE: Final = 100
DEFAULT_PAGE_SIZE: Final = 20

T = TypeVar("T")


def check_first(first: int) -> int:
    if first < 0:
        raise BadInput("`first` cannot be negative")
    if first > MAX_PAGE_SIZE:
        raise BadInput(f"`first` is {first}, but a page holds at most {MAX_PAGE_SIZE}; page with `after`")
    return first


def encode_cursor(order: str, value: Any, row_id: int) -> str:
    if isinstance(value, date):
        value = value.isoformat()
    raw = orjson.dumps([order, value, row_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, order: str) -> tuple[Any, int]:
    """The (sort value, id) a cursor points at; the cursor must come from the same ordering. The value is
    null where the row's sort field was not readable to the caller."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_order, value, row_id = orjson.loads(raw)
    except (ValueError, TypeError):
        raise BadInput("`after` is not a cursor this API issued") from None
    if cursor_order != order:
        raise BadInput("`after` comes from a different ordering; start again without it")
    if not isinstance(row_id, int) or isinstance(row_id, bool) or not 0 < row_id <= MAX_ID:
        raise BadInput("`after` is not a cursor this API issued")
    if order.startswith("id:"):
        if value != row_id:
            raise BadInput("`after` is not a cursor this API issued")
    elif value is None:
        pass  # the row's sort field was not readable to the caller: it sorted as null
    elif order.startswith("birth_date"):
        try:
            value = date.fromisoformat(value)
        except (TypeError, ValueError):
            raise BadInput("`after` is not a cursor this API issued") from None
    elif not isinstance(value, str) or "\x00" in value:
        raise BadInput("`after` is not a cursor this API issued")
    return value, row_id


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a connection; `count` runs only if the caller asks for totalCount."""

    nodes: Sequence[T]
    cursors: Sequence[str]
    has_next_page: bool
    has_previous_page: bool
    count: Callable[[], Awaitable[int]]
