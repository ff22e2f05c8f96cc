"""The API's error answers for whole requests: one JSON shape, `extensions.code` from the one list of
codes (db.errors.CODES), whose HTTP status it carries unless told otherwise; and the gateway's own
errors (authentication)."""

import orjson
from starlette.responses import Response

from db.errors import CODES
from resolvers.errors import Unauthenticated


class PasswordGrantRefused(Unauthenticated):
    """The account exists but may not use the password grant (RFC 6749 `unauthorized_client`)."""


def error_body(message: str, code: str) -> bytes:
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})


def json_error(message: str, code: str, status: int | None = None, headers: dict[str, str] | None = None) -> Response:
    """A whole request's failure: its status is the code's own (db.errors.CODES) unless given."""
    status = CODES[code].status if status is None else status
    return Response(error_body(message, code), status_code=status, media_type="application/json", headers=headers)


def unavailable_response(retry_after: int) -> Response:
    """The database is down, saturated or too slow: say when to come back, within a bounded time."""
    return json_error(
        "The database is unavailable or busy; nothing was done, try again shortly",
        "SERVICE_UNAVAILABLE",
        headers={"Retry-After": str(retry_after)},
    )
