"""The audit of every GraphQL request answered for a known principal (db/models/audit.py): who, as which
agency and roles, which operation (its document by hash, its variables with free text replaced), the
outcome and its codes, the officials whose data left (and the receipts that list them), the cost and
the time taken.

A request is answered only once its record is durable. A read's record joins a group-committed batch on
the audit's own small pool (db/group.py), so under load one commit serves many requests, and a request
pool exhausted by slow reads never keeps the audit from writing (nor the audit a read from its pool). A
request that wrote records its audit in its own transaction, just before the commit: the audit holds
exactly the writes that happened. A record that cannot be written turns the answer into 503
AUDIT_UNAVAILABLE: nothing leaves, and nothing is done, unrecorded.

Requests refused before the gateway knows who sent them (no valid token) are not recorded here: they
carry no principal and expose nothing; their log line (gateway/logs.py) has them.
"""

import hashlib
import logging
import time
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

from db.errors import DomainError
from db.group import GroupCommit
from db.queries import audit
from db.queries.audit import Record
from gateway.logs import REQUEST_ID
from policies.principal import Principal
from resolvers.audit import Exposed, exposed_by
from resolvers.context import RequestContext

log = logging.getLogger("ccvc.audit")

# Error bodies the gateway answers itself (json_error) are small; a GraphQL answer's codes are kept on the
# request as it is shaped (GraphQLView.process_result), so a large answer is never parsed again.
MAX_ERROR_BODY = 64 * 1024


# A cost the column holds (a signed 64-bit integer); a cost past it is an attack's, and refused anyway.
MAX_COST = 2**63 - 1


# Seconds to wait before retrying a request the audit could not record, where no setting is at hand.
AUDIT_RETRY_AFTER: Final = 5


class AuditUnavailable(DomainError):
    code = "AUDIT_UNAVAILABLE"


def _unavailable() -> AuditUnavailable:
    return AuditUnavailable("The audit could not record this request, so nothing was sent or done; try again")


class AuditTrail:
    """Writes audit records: in batches on its own engine, or in a request's transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # On PostgreSQL a batch is one statement (db/queries/audit.append): autocommit, one round trip.
        atomic = engine.dialect.name == "postgresql"
        self._batches = GroupCommit(engine, audit.append, _unavailable, what="audit", atomic=atomic)

    async def record(self, record: Record) -> None:
        await self._batches.submit(record)

    async def record_in(self, conn: AsyncConnection, record: Record) -> None:
        """Inside the caller's transaction: durable exactly when its writes are."""
        try:
            await audit.append(conn, [record])
        except Exception as error:
            log.exception("Could not write a request's audit record inside its transaction")
            raise _unavailable() from error

    async def close(self) -> None:
        await self._batches.drain()
        await self.engine.dispose()


def record_of(request: Request, context: RequestContext, response: Response, started: float) -> Record:
    """The audit record of a GraphQL request answered `response` (its status, codes and what it exposed)."""
    operation = context.operation
    receipt_id: str | None = getattr(request.state, "ccvc_receipt_id", None)
    # Only an answer that carried data let anyone's data out (an error's rolled back writes made no file).
    exposed = exposed_by(context, receipt_id) if getattr(request.state, "ccvc_data_sent", False) else None
    event = event_of(
        context.principal,
        # A GraphQL request error earns 400 for clients of application/graphql-response+json (_as_negotiated).
        status=getattr(request.state, "ccvc_status", response.status_code),
        codes=_codes(request, response),
        started=started,
        operation_type=operation.type if operation is not None else "none",
        operation_name=operation.name if operation is not None else None,
        query=operation.query if operation is not None else None,
        variables=context.audit_variables,
        receipt_id=receipt_id,
        exposed=exposed,
        cost=context.cost,
    )
    return Record(event=event, accesses=exposed.rows if exposed is not None else [])


def event_of(  # noqa: PLR0913 (one column each)
    principal: Principal,
    *,
    status: int,
    codes: list[str],
    started: float,
    operation_type: str,
    operation_name: str | None = None,
    query: str | None = None,
    variables: dict[str, Any] | None = None,
    receipt_id: str | None = None,
    exposed: Exposed | None = None,
    official_count: int | None = None,
    cost: int | None = None,
) -> dict[str, Any]:
    """An audit event's columns: a GraphQL request's, a subscription's, an export's download."""
    return {
        "at": datetime.now(UTC),  # the wall clock, as the receipt log's (not the approval calendar's)
        "request_id": REQUEST_ID.get() or "-",
        "account_id": principal.account_id,
        "username": principal.username,
        "principal_kind": principal.kind,
        "agency_code": principal.agency_code,
        "unit_id": principal.unit_id,
        "roles": ",".join(sorted(principal.roles))[:200],
        "operation_type": operation_type,
        "operation_name": operation_name[:200] if operation_name else None,
        "query_sha256": hashlib.sha256(query.encode()).hexdigest() if query is not None else None,
        "variables": None if variables is None else orjson.dumps(variables).decode(),
        "status": status,
        "outcome": "ok" if status == 200 and not codes else "error",
        "error_codes": ",".join(dict.fromkeys(codes))[:400],
        "receipt_id": receipt_id,
        "official_count": (len(exposed.rows) if exposed is not None else 0)
        if official_count is None
        else official_count,
        "legal_basis": exposed.basis if exposed is not None else None,
        "cost": None if cost is None else min(cost, MAX_COST),
        "duration_ms": round((time.perf_counter() - started) * 1000),
    }


def _codes(request: Request, response: Response) -> list[str]:
    """The distinct error codes of the answer, in order."""
    codes: list[str] | None = getattr(request.state, "ccvc_codes", None)
    if codes is None and response.status_code != 200 and len(response.body) <= MAX_ERROR_BODY:
        try:
            errors = orjson.loads(response.body).get("errors") or []
            codes = [str((e.get("extensions") or {}).get("code", "")) for e in errors if isinstance(e, dict)]
        except (orjson.JSONDecodeError, AttributeError):
            codes = []
    return list(dict.fromkeys(code for code in codes or [] if code))
