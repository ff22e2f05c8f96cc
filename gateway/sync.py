"""POST /sync/batches: a ministry's system delivers a signed bundle of approved records (resolvers/sync.py).

The bundle's signature is its authentication: it must verify against a key registered for the ministry
it names, and it can change that ministry's officials only. Applied in one transaction; the same bundle
again answers the batch it made, with `alreadyApplied`.
"""

import asyncio
from datetime import UTC, datetime

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from db.errors import DomainError
from gateway.errors import json_error
from gateway.graphql import read_capped_body
from gateway.maintenance import Maintenance, maintenance_response
from policies.written import today
from resolvers.sync import MAX_BUNDLE_BYTES, apply_bundle, batch_view


def sync_routes(engine: AsyncEngine, maintenance: Maintenance | None = None) -> list[Route]:
    # One bundle at a time per process, its body read only once its turn comes: a bundle may be tens of
    # megabytes, and the signature is checked only after the body is in memory.
    turn = asyncio.Semaphore(1)

    async def receive(request: Request) -> Response:
        # A write: refused during announced maintenance before its body is read or anything applied.
        if maintenance is not None and (refusal := await maintenance.refusal()) is not None:
            return maintenance_response(refusal)
        async with turn:
            return await _receive(request)

    async def _receive(request: Request) -> Response:
        body = await read_capped_body(request, MAX_BUNDLE_BYTES)
        if body is None:
            return json_error(f"A bundle is at most {MAX_BUNDLE_BYTES} bytes", "PAYLOAD_TOO_LARGE")
        # Again, now its turn came and its body is read (which may take a while): a window may have begun
        # meanwhile (found by review).
        if maintenance is not None and (refusal := await maintenance.refusal()) is not None:
            return maintenance_response(refusal)
        try:
            async with engine.begin() as conn:
                result = await apply_bundle(conn, body.decode(), now=datetime.now(UTC), today=today())
        except DomainError as error:
            return json_error(error.message, error.code)
        except UnicodeDecodeError:
            return json_error("A bundle is a compact JWS, in ASCII", "BAD_REQUEST")
        return Response(orjson.dumps(batch_view(result)), media_type="application/json")

    return [Route("/sync/batches", receive, methods=["POST"])]
