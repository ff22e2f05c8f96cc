"""GraphQL over HTTP: authenticate, cap the body, run strawberry, and shape every error.

Errors: a domain error keeps its message and gets `extensions.code`; parse and validation errors get
GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED; anything else is masked as INTERNAL and logged
here, so no stack trace or driver message ever reaches the caller.
"""

import logging
from typing import Any

import orjson
import rfc8785
from cross_web import HTTPException
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from db.errors import BadInput, DomainError
from gateway.auth import Authenticator
from gateway.canonical import canonical_sha256
from gateway.receipt_log import ReceiptUnavailable
from gateway.receipts import Receipts
from gateway.timing import HEADER as TIMING_HEADER
from gateway.timing import phase, timing
from policies.written import Scopes
from resolvers.context import RequestContext
from resolvers.receipts import draft_for

log = logging.getLogger("ccvc.graphql")

# Any caller may ask for a receipt on a response; partner agencies always get one.
RECEIPT_HEADER = "x-ccvc-receipt"


def error_body(message: str, code: str) -> bytes:
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})


def json_error(status: int, message: str, code: str) -> Response:
    return Response(error_body(message, code), status_code=status, media_type="application/json")


def _format(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    if isinstance(original, DomainError):
        message, code = original.message, original.code
    elif isinstance(original, GraphQLError):
        # graphql-core wraps variable coercion errors (wrong type, missing required variable).
        message, code = error.message, "BAD_USER_INPUT"
    elif original is None and error.path is None:
        # No underlying exception and no path: graphql-core rejected the document before running it.
        message = error.message
        code = "GRAPHQL_PARSE_FAILED" if message.startswith("Syntax Error") else "GRAPHQL_VALIDATION_FAILED"
    elif original is None:
        # Raised while completing a value (e.g. null for a non-null field): our fault, not the caller's.
        log.error("Execution error at %s: %s", error.path, error.message)
        message, code = "Internal error", "INTERNAL"
    else:
        log.error("Unexpected error at %s", error.path, exc_info=original)
        message, code = "Internal error", "INTERNAL"
    formatted: dict[str, Any] = {"message": message, "extensions": {"code": code}}
    if error.locations:
        formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path is not None:
        formatted["path"] = error.path
    return formatted


class GraphQLView(GraphQL[RequestContext, None]):
    def __init__(
        self,
        schema: Any,
        *,
        authenticator: Authenticator,
        scopes: Scopes,
        engine: AsyncEngine,
        receipts: Receipts,
        max_body_bytes: int,
        graphiql: bool,
        server_timing: bool = False,
    ) -> None:
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None, multipart_uploads_enabled=False)
        self.authenticator = authenticator
        self.scopes = scopes
        self.engine = engine
        self.receipts = receipts
        self.max_body_bytes = max_body_bytes
        self.server_timing = server_timing

    def encode_json(self, data: object) -> bytes:
        with phase("serialize"):
            return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        # Strict RFC 8259 (no NaN, no Infinity, no lone surrogates): what a receipt can hash.
        return orjson.loads(data)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        response: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            with phase("serialize"):
                response["errors"] = [_format(error) for error in result.errors]  # type: ignore[typeddict-item]
        if result.extensions:
            response["extensions"] = result.extensions
        context: RequestContext | None = getattr(request.state, "ccvc_context", None)
        if context is not None and result.data is not None and _wants_receipt(request, context):
            receipt = await self._receipt(context, result.data)
            response["extensions"] = {**(response.get("extensions") or {}), **receipt}
        return response

    async def _receipt(self, context: RequestContext, data: dict[str, Any]) -> dict[str, str]:
        if context.operation is None:  # data without an executed operation: cannot happen, never unsigned
            raise ReceiptUnavailable("The request's operation was not recorded; no receipt can be made")
        try:
            with phase("canonical"):
                digest = canonical_sha256(data)
            draft = draft_for(
                context.principal, context.scope, context.exposed, context.operation, kind="response", data_sha256=digest
            )
            payload = self.receipts.payload(draft)
        except (rfc8785.CanonicalizationError, UnicodeEncodeError, TypeError):
            # A receipt hashes the variables as RFC 8785 JSON, which has no NaN, no infinities, no
            # integers beyond 2**53 and no lone surrogates; without a receipt, no data may leave.
            raise BadInput(
                "Variables must be I-JSON (RFC 7493) for a receipt: no NaN, Infinity, huge integers or lone surrogates"
            ) from None
        with phase("receipt"):
            issued = await self.receipts.append(payload, draft)
        return {"receipt": issued.receipt, "receiptId": issued.rid}

    async def endpoint(self, request: Request) -> Response:
        with timing(self.server_timing) as timed:
            response = await self._respond(request)
            # Not to the unauthenticated: how long a token check took is a hint to someone forging one.
            if timed is not None and response.status_code != 401:
                response.headers[TIMING_HEADER] = timed.header()
        return response

    async def _respond(self, request: Request) -> Response:
        if request.method == "GET" and "query" not in request.query_params and self.graphql_ide:
            return await self.render_graphql_ide(request)
        try:
            with phase("auth"):
                principal = await self.authenticator.from_authorization(request.headers.get("authorization"))
        except DomainError as error:
            return json_error(401, error.message, error.code)
        if request.method == "POST" and await read_capped_body(request, self.max_body_bytes) is None:
            return json_error(413, f"Request body is larger than {self.max_body_bytes} bytes", "PAYLOAD_TOO_LARGE")
        try:
            with phase("auth"):
                scope = await self.scopes.for_principal(principal)
        except DomainError as error:
            return json_error(403, error.message, error.code)
        context = RequestContext(
            principal=principal, engine=self.engine, scope=scope, scopes=self.scopes, receipts=self.receipts
        )
        request.state.ccvc_context = context  # for process_result, which strawberry gives only the request
        try:
            return await self.run(request, context=context)
        except ReceiptUnavailable as error:
            return json_error(503, error.message, error.code)
        except BadInput as error:  # only the receipt step raises out of `run`; resolvers' errors are answers
            return json_error(400, error.message, error.code)
        except HTTPException as error:
            return json_error(error.status_code, error.reason, "BAD_REQUEST")
        except UnicodeDecodeError:
            return json_error(400, "Request body is not valid UTF-8", "BAD_REQUEST")


def _wants_receipt(request: Request, context: RequestContext) -> bool:
    asked = request.headers.get(RECEIPT_HEADER, "").strip().lower() in ("1", "true", "yes")
    return asked or context.principal.kind == "agency"


async def read_capped_body(request: Request, limit: int) -> bytes | None:
    """The body, or None once it passes `limit` bytes: checked against Content-Length first and
    while streaming, so a chunked upload without a length cannot fill memory either."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            return None
    request._body = bytes(body)  # Starlette's own cache: later readers (strawberry) get it from here
    return request._body
