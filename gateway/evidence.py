"""HTTP endpoints for the evidence: the receipt log (tree heads, inclusion and consistency proofs, a
receipt's public view by its id: open to anyone, they reveal hashes and dates only) and exported files (their requester only, until they expire)."""

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from db.errors import BadInput, DomainError, NotFound
from db.queries import exports
from db.queries.audit import Record
from evidence.log import ReceiptLog
from evidence.receipts import Receipts
from gateway.audit import AUDIT_RETRY_AFTER, AuditTrail, AuditUnavailable, event_of
from gateway.auth import Authenticator
from gateway.errors import json_error
from resolvers.exports import FORMATS

Handler = Callable[[Request], Awaitable[Response]]


def _json(value: object) -> Response:
    return Response(orjson.dumps(value), media_type="application/json", headers={"Cache-Control": "no-store"})


def _size(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise BadInput(f"`{name}` must be a non-negative integer")
    return int(raw)


def _answering(handler: Handler) -> Handler:
    async def guarded(request: Request) -> Response:
        try:
            return await handler(request)
        except AuditUnavailable as error:
            return json_error(error.message, error.code, headers={"Retry-After": str(AUDIT_RETRY_AFTER)})
        except DomainError as error:
            return json_error(error.message, error.code)
        # A database that is down reaches the application's handler: 503 with Retry-After.

    return guarded


def log_routes(log: ReceiptLog, receipts: Receipts) -> list[Route]:
    async def checkpoint(request: Request) -> Response:
        return _json(await log.checkpoint(_size(request, "tree_size")))

    async def proof(request: Request) -> Response:
        return _json(await log.inclusion(_rid(request), _size(request, "tree_size")))

    async def receipt(request: Request) -> Response:
        rid = _rid(request)
        view = await receipts.public_view(rid)
        if view is None:
            raise NotFound(f"No receipt '{rid}' in the log")
        return _json(view)

    async def consistency(request: Request) -> Response:
        old, new = _size(request, "from"), _size(request, "to")
        if old is None or new is None:
            raise BadInput("Give both `from` and `to` (tree sizes)")
        return _json(await log.consistency(old, new))

    return [
        Route("/log/checkpoint", _answering(checkpoint), methods=["GET"]),
        Route("/log/consistency", _answering(consistency), methods=["GET"]),
        Route("/receipts/{rid}/proof", _answering(proof), methods=["GET"]),
        Route("/receipts/{rid}", _answering(receipt), methods=["GET"]),
    ]


def _rid(request: Request) -> str:
    rid = str(request.path_params["rid"])
    if not (0 < len(rid) <= 32 and rid.isalnum()):
        raise NotFound(f"No receipt '{rid[:40]}' in the log")
    return rid


def export_routes(authenticator: Authenticator, engine: AsyncEngine, audit: AuditTrail | None = None) -> list[Route]:
    async def download(request: Request) -> Response:
        started = time.perf_counter()
        principal = await authenticator.from_authorization(request.headers.get("authorization"))
        export_id = request.path_params["export_id"]
        row = None
        if len(export_id) == 32 and export_id.isalnum():
            async with engine.connect() as conn:
                row = await exports.get_for_account(
                    conn, export_id=export_id, account_id=principal.account_id, now=datetime.now(UTC)
                )
        if audit is not None:
            # The file leaves now: recorded first (its making recorded whose data it holds, with this
            # receipt), and not sent when the audit cannot record it.
            found = row is not None
            await audit.record(
                Record(
                    event_of(
                        principal,
                        status=200 if found else 404,
                        codes=[] if found else ["NOT_FOUND"],
                        started=started,
                        operation_type="download",
                        operation_name=f"export {row.format}" if row is not None else "export",
                        receipt_id=row.rid if row is not None else None,
                        official_count=row.row_count if row is not None else 0,
                    ),
                    accesses=[],
                )
            )
        if row is None:
            raise NotFound("No such export for you, or it has expired")
        return Response(
            bytes(row.content),
            media_type=FORMATS[row.format],
            headers={
                "Content-Disposition": f'attachment; filename="officials-{row.id}.{row.format}"',
                "Cache-Control": "no-store",
                "X-CCVC-Receipt-Id": row.rid,
                "X-CCVC-Receipt": row.receipt,
                "X-CCVC-SHA256": row.sha256,
            },
        )

    return [Route("/exports/{export_id}", _answering(download), methods=["GET"])]
