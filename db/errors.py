"""The one list of error codes the API answers with, the base of every domain error, and the errors any
layer may raise (bad input, not found, the database unavailable).

Each error carries the stable `code` that the API puts in `extensions.code`; the GraphQL layer maps
them to errors and masks anything that is not one of them. `CODES` is what the README's table and every
`extensions.code` written anywhere are checked against. A layer's own errors live in its errors.py
(resolvers/, evidence/, gateway/), beside the code that raises them.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True, slots=True)
class ErrorCode:
    code: str
    # The HTTP status when the error answers the whole request; a field's error inside a GraphQL
    # response travels with 200 and data (FORBIDDEN_FIELD beside the rest of a page, say).
    status: int
    meaning: str


CODES: Final = {
    entry.code: entry
    for entry in (
        ErrorCode("UNAUTHENTICATED", 401, "no valid bearer token (missing, expired, forged, or its account disabled)"),
        ErrorCode("BAD_REQUEST", 400, "not a GraphQL request: the body, its JSON, its media type or method"),
        ErrorCode("PAYLOAD_TOO_LARGE", 413, "the body is larger than CCVC_MAX_BODY_BYTES"),
        ErrorCode("GRAPHQL_PARSE_FAILED", 400, "the document is not GraphQL"),
        ErrorCode("GRAPHQL_VALIDATION_FAILED", 400, "the document does not fit the schema or a limit (size, depth…)"),
        ErrorCode("MAX_COST_EXCEEDED", 400, "the request may cost more than one request may (fields, statements)"),
        ErrorCode("BAD_USER_INPUT", 400, "an argument or variable is wrong; the message names it"),
        ErrorCode(
            "PERSISTED_QUERY_NOT_FOUND", 400, "no document with this id for you: send the text (with its hash) instead"
        ),
        ErrorCode("TRUSTED_DOCUMENT_REQUIRED", 400, "an agency runs only the documents registered for it here"),
        ErrorCode(
            "INTROSPECTION_DISABLED", 400, "schema introspection is off for partners unless their agreement allows it"
        ),
        ErrorCode("NOT_FOUND", 404, "no such thing in your scope (outside it is the same as absent)"),
        ErrorCode("FORBIDDEN", 403, "you may not do this"),
        ErrorCode("FORBIDDEN_FIELD", 200, "a field you may not read on this official, or filter or order by"),
        ErrorCode("INVALID_RECEIPT", 400, "a receipt or proof that does not verify"),
        ErrorCode("INVALID_SIGNATURE", 400, "an approval's signature that does not verify against the signer's key"),
        ErrorCode("STALE_BATCH", 409, "the batch changed since its digest was computed: fetch it again and sign that"),
        ErrorCode("OUTSIDE_APPROVAL_WINDOW", 409, "approvals are signed in the last days of their month only"),
        ErrorCode(
            "SYNC_REFUSED",
            422,
            "a ministry's bundle that is malformed or reaches beyond its ministry: none of it applied",
        ),
        ErrorCode(
            "CONFLICTING_CHANGE",
            409,
            "a change of the batch gives a record another's personal id: reject it, sign again",
        ),
        ErrorCode(
            "IDEMPOTENCY_CONFLICT", 409, "the Idempotency-Key belongs to another request, or was answered meanwhile"
        ),
        ErrorCode(
            "THROTTLED", 429, "your agency is over its budget or its concurrent requests; retry after Retry-After"
        ),
        ErrorCode("RECEIPT_UNAVAILABLE", 503, "the receipt log could not record the receipt, so no data was sent"),
        ErrorCode("AUDIT_UNAVAILABLE", 503, "the audit could not record the request, so nothing was sent or done"),
        ErrorCode("SERVICE_UNAVAILABLE", 503, "a dependency (the database) is down or busy; retry after Retry-After"),
        ErrorCode(
            "MAINTENANCE", 503, "an announced maintenance window: reads only, nothing was done; retry after Retry-After"
        ),
        ErrorCode("INTERNAL", 500, "our fault; the detail is in the server log, never in the answer"),
    )
}


class DomainError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def extensions(self) -> Mapping[str, Any]:
        """What the error adds to `extensions` beside its code (the fields a change got wrong, say)."""
        return {}


class BadInput(DomainError):
    code = "BAD_USER_INPUT"


class InvalidFields(BadInput):
    """Several values of one input are wrong: every one is named, in `extensions.fields`, so that a form
    can mark each at once instead of one per round trip."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"`{path}` {message}" for path, message in problems))
        self.problems = tuple(problems)

    @property
    def extensions(self) -> Mapping[str, Any]:
        return {"fields": [{"field": path, "message": message} for path, message in self.problems]}


class NotFound(DomainError):
    code = "NOT_FOUND"


class Unavailable(DomainError):
    """The database is down, unreachable, saturated or too slow: answered 503 with Retry-After."""

    code = "SERVICE_UNAVAILABLE"
