"""How a GraphQL request's writes end: committed only when the whole answer is ready and carries no
error (resolvers.transaction), and, for a request sent with an `Idempotency-Key` header, kept so that
a retry after a lost answer gets the same answer instead of acting twice (the IETF draft
"The Idempotency-Key HTTP Header Field": one key, one request, one answer, for 24 hours)."""

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

from db.errors import BadInput
from db.queries import requests
from gateway.errors import json_error
from policies.principal import Principal
from resolvers.transaction import Transaction

HEADER: Final = "idempotency-key"
KEPT_FOR: Final = timedelta(hours=24)
MAX_KEY_LENGTH: Final = 255


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if request.method != "POST" or not 0 < len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise BadInput(f"`Idempotency-Key` must be 1 to {MAX_KEY_LENGTH} printable ASCII characters, on a POST")
    return key


def fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


async def replay(engine: AsyncEngine, principal: Principal, key: str, body: bytes) -> Response | None:
    """The kept answer to this key, when the request is the same; None when the key is new."""
    async with engine.connect() as conn:
        kept = await requests.get(conn, account_id=principal.account_id, key=key, now=datetime.now(UTC))
    if kept is None:
        return None
    if kept.request_sha256 != fingerprint(body):
        return json_error(
            "This Idempotency-Key was used for a different request; use a new key for a new request",
            "IDEMPOTENCY_CONFLICT",
            422,
        )
    return Response(
        bytes(kept.body), status_code=kept.status, media_type=kept.media_type, headers={"Idempotent-Replayed": "true"}
    )


async def settle(
    transaction: Transaction,
    response: Response,
    *,
    failed: bool,
    principal: Principal,
    key: str | None,
    body: bytes,
    before_commit: Callable[[AsyncConnection, Response], Awaitable[None]] | None = None,
) -> Response:
    """Commit the request's writes if the answer is a success, keeping it for its Idempotency-Key;
    otherwise leave them to be rolled back (Transaction.close), so an error has changed nothing.
    `before_commit` writes what must be committed with them, given the answer (the audit's record)."""
    if not transaction.open or failed or response.status_code != 200:
        return response
    if key is not None:
        now = datetime.now(UTC)
        stored = await requests.keep(
            await transaction.connection(),
            account_id=principal.account_id,
            key=key,
            request_sha256=fingerprint(body),
            status=response.status_code,
            media_type=response.media_type or "application/json",
            body=bytes(response.body),
            now=now,
            expires_at=now + KEPT_FOR,
        )
        if not stored:
            return json_error(
                "A request with this Idempotency-Key was answered meanwhile; nothing was done this time, "
                "send it again to get that answer",
                "IDEMPOTENCY_CONFLICT",
            )
    if before_commit is not None:
        await before_commit(await transaction.connection(), response)
    await transaction.commit()
    return response
