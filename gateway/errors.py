"""The API's error answers for whole requests: one JSON shape, `extensions.code` from the one list of
codes (db.errors.CODES), whose HTTP status it carries unless told otherwise; and the gateway's own
errors (authentication)."""

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

from db.errors import CODES, DomainError
from resolvers.errors import Unauthenticated


class PasswordGrantRefused(Unauthenticated):
    """The account exists but may not use the password grant (RFC 6749 `unauthorized_client`)."""


def error_body(message: str, code: str) -> bytes:
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})


def json_error(message: str, code: str, status: int | None = None, headers: dict[str, str] | None = None) -> Response:
    """A whole request's failure: its status is the code's own (db.errors.CODES) unless given."""
    status = CODES[code].status if status is None else status
    return Response(error_body(message, code), status_code=status, media_type="application/json", headers=headers)


class Throttled(DomainError):
    """A partner agency over its budget or its concurrent requests (gateway/budgets.py): nothing of the
    request ran; 429 with Retry-After, also given in `extensions.retryAfter` for clients that see no headers."""

    code = "THROTTLED"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)

    @property
    def extensions(self) -> Mapping[str, Any]:
        return {"retryAfter": self.retry_after}

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def throttled_response(error: Throttled) -> Response:
    body = {"errors": [{"message": error.message, "extensions": {"code": error.code, **error.extensions}}]}
    status = CODES[error.code].status
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=error.headers)


def unavailable_response(retry_after: int) -> Response:
    """The database is down, saturated or too slow: say when to come back, within a bounded time."""
    return json_error(
        "The database is unavailable or busy; nothing was done, try again shortly",
        "SERVICE_UNAVAILABLE",
        headers={"Retry-After": str(retry_after)},
    )


class PersistedQueryNotFound(DomainError):
    """A request named a document by id, and none with that id is registered for its caller (or kept
    from an earlier request). Apollo's clients resend with the text when they see exactly this message."""

    code = "PERSISTED_QUERY_NOT_FOUND"

    def __init__(self, document_id: str) -> None:
        super().__init__("PersistedQueryNotFound")
        self.document_id = document_id

    @property
    def extensions(self) -> Mapping[str, Any]:
        return {"documentId": self.document_id}


class TrustedDocumentRequired(DomainError):
    """An agency required to run trusted documents sent a text that is not registered for it."""

    code = "TRUSTED_DOCUMENT_REQUIRED"
