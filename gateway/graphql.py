"""GraphQL over HTTP: authenticate, cap the body, run strawberry, and shape every error.

Errors: a domain error keeps its message and gets `extensions.code`; parse and validation errors get
GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED; anything else is masked as INTERNAL and logged
here, so no stack trace or driver message ever reaches the caller.
"""

import logging
import time
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import timedelta
from typing import Any, Final, cast

import orjson
import rfc8785
from cross_web import HTTPException
from graphql import (
    GraphQLError,
    GraphQLFormattedError,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    parse,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry import Schema
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ErrorMessage, SubscribeMessage
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from db.engine import unavailable
from db.errors import BadInput, DomainError, Unavailable
from db.queries.audit import Record
from db.scoping import NOTHING, Scope
from evidence.canonical import canonical_sha256
from evidence.errors import ReceiptUnavailable
from evidence.receipts import Receipts
from evidence.records import draft_for
from gateway.audit import AuditTrail, AuditUnavailable, event_of, record_of
from gateway.auth import Authenticator
from gateway.budgets import Budgets, throttling
from gateway.documents import TRUSTED_ONLY, TrustedDocuments, names_a_document
from gateway.errors import Throttled, json_error, throttled_response, unavailable_response
from gateway.ide import ide_html
from gateway.maintenance import under_maintenance
from gateway.site import public_base
from gateway.timing import HEADER as TIMING_HEADER
from gateway.timing import phase, timing
from gateway.writes import idempotency_key, replay, settle
from policies.principal import Principal
from policies.written import Scopes
from resolvers.context import RequestContext
from resolvers.events import EventBus
from resolvers.loaders import Loaders
from resolvers.months import Calendar
from resolvers.transaction import Transaction
from schema.audit import redact
from schema.common import core

log = logging.getLogger("ccvc.graphql")

MAX_SUBSCRIPTIONS: Final = 10
# Who a WebSocket is before its connection_init names a subscriber: no account, no role, no grant.
NO_ONE: Final = Principal(account_id=0, username="", kind="none", roles=frozenset())

# Any caller may ask for a receipt on a response; partner agencies always get one.
RECEIPT_HEADER = "x-ccvc-receipt"
# The GraphQL over HTTP specification's own media type. A client that accepts it (Apollo's send it
# first) gets real status codes: 400 for a document that does not parse or validate, or whose
# variables do not coerce, with no `data` entry. Plain application/json keeps 200 for those, as the
# specification asks for legacy clients.
GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


def _quality(accept: str, media_type: str) -> float:
    """The q-value `accept` gives `media_type` exactly (0 when it does not name it)."""
    best = 0.0
    for part in accept.split(","):
        name, *params = (piece.strip() for piece in part.split(";"))
        if name.lower() != media_type:
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        best = max(best, quality)
    return best


def negotiate(accept: str | None) -> str:
    """application/graphql-response+json when the client prefers it (or likes it as much as
    application/json); application/json otherwise, and when the client says nothing."""
    if not accept:
        return JSON
    wanted = _quality(accept, GRAPHQL_RESPONSE)
    return GRAPHQL_RESPONSE if wanted > 0 and wanted >= _quality(accept, JSON) else JSON


def is_request_error(result: ExecutionResult) -> bool:
    """The operation never ran: its document did not parse or validate, or its variables did not
    coerce. graphql-core gives those errors no path; every error raised while executing has one."""
    errors = result.errors or []
    return result.data is None and bool(errors) and all(error.path is None for error in errors)


def shape(error: GraphQLError) -> None:
    """Give `error` the message and extensions an answer shows (a subscription's, which strawberry
    formats from the error itself)."""
    formatted = _format(error)
    error.message, error.extensions = formatted["message"], formatted["extensions"]


def _format(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    extra: Mapping[str, Any] = {}
    if isinstance(original, DomainError):
        message, code, extra = original.message, original.code, original.extensions
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
    formatted: dict[str, Any] = {"message": message, "extensions": {"code": code, **extra}}
    if error.locations:
        formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path is not None:
        formatted["path"] = error.path
    return formatted


def in_answer_order(errors: list[GraphQLError], data: Any) -> list[GraphQLError]:
    """The errors in the order their paths stand in the data (those without a path first). graphql-core
    lists them as resolvers finish: for the items of a list, in the order their statements happened to
    complete. A client gets the same order every time, whichever path answered."""
    return sorted(errors, key=lambda error: _place(error.path, data))


def _place(path: list[str | int] | None, data: Any) -> tuple[int, ...]:
    """Where `path` stands in `data`: a list index as it is, a key by its place among its object's keys
    (the document's order); a step past a null or a missing key sorts last among its siblings."""
    if path is None:
        return (-1,)
    place: list[int] = []
    node = data
    for step in path:
        if isinstance(step, int):
            place.append(step)
            node = node[step] if isinstance(node, list) and step < len(node) else None
        elif isinstance(node, dict):
            keys = list(node)
            place.append(keys.index(step) if step in node else len(keys))
            node = node.get(step)
        else:
            place.append(0)
            node = None
    return tuple(place)


class _TextFrames(ASGIWebSocketAdapter):
    """graphql-transport-ws messages are text frames (browsers' clients parse nothing else); strawberry
    sends bytes whenever encode_json gives bytes, as ours does for HTTP."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as error:
            raise WebSocketDisconnected from error


class _SubscriptionsOnly(BaseGraphQLTransportWSHandler[RequestContext, None]):
    """A WebSocket carries subscriptions only: queries and mutations go over HTTP, where each gets its
    receipt, its limits and its one transaction (GraphQLView._answer), none of which a socket has."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if not self.connection_acknowledged:  # strawberry closes the socket (4401)
            await super().handle_subscribe(message)
            return
        refusal = await self._refusal(message)
        if not await self._recorded(message, refusal):
            return
        if refusal is not None:
            await self._refuse(message, *refusal)
            return
        await super().handle_subscribe(message)

    async def _refusal(self, message: SubscribeMessage) -> tuple[str, str] | None:
        """Why this subscribe is refused (the message, the code), or None."""
        view = cast("GraphQLView", self.view)
        query = message["payload"]["query"]
        if not _subscriptions_only(query, view.max_tokens):
            return "Over WebSocket only subscriptions run: send queries and mutations over HTTP", "BAD_REQUEST"
        if len(self.operations) >= MAX_SUBSCRIPTIONS:
            return f"A connection holds at most {MAX_SUBSCRIPTIONS} subscriptions", "BAD_REQUEST"
        if not await view.documents.trusted(self.context.principal, query):
            return TRUSTED_ONLY, "TRUSTED_DOCUMENT_REQUIRED"
        return None

    async def _recorded(self, message: SubscribeMessage, refusal: tuple[str, str] | None) -> bool:
        """Whether the audit holds this subscribe (refused, when it cannot: nothing unrecorded starts)."""
        view = cast("GraphQLView", self.view)
        if view.audit is None:
            return True
        payload = message["payload"]
        query = payload["query"] if isinstance(payload["query"], str) else None
        name, variables = view.described(query, payload.get("operationName"), payload.get("variables"))
        event = event_of(
            self.context.principal,
            status=200 if refusal is None else 400,
            codes=[] if refusal is None else [refusal[1]],
            started=time.perf_counter(),
            operation_type="subscription",
            operation_name=name,
            query=query,
            variables=variables,
        )
        try:
            await view.audit.record(Record(event, accesses=[]))
        except AuditUnavailable as error:
            await self._refuse(message, error.message, error.code)
            return False
        return True

    async def _refuse(self, message: SubscribeMessage, reason: str, code: str = "BAD_REQUEST") -> None:
        error: GraphQLFormattedError = {"message": reason, "extensions": {"code": code}}
        await self.send_message(ErrorMessage(id=message["id"], type="error", payload=[error]))


def _subscriptions_only(query: object, max_tokens: int) -> bool:
    """Whether every operation of the document is a subscription (a document that does not parse is
    strawberry's to refuse, as over HTTP)."""
    if not isinstance(query, str):
        return True
    try:
        document = parse(query, max_tokens=max_tokens)
    except GraphQLError:
        return True
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return all(o.operation == OperationType.SUBSCRIPTION for o in operations)


class GraphQLView(GraphQL[RequestContext, None]):
    websocket_adapter_class = _TextFrames
    graphql_transport_ws_handler_class = _SubscriptionsOnly

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
        retry_after: int = 5,
        calendar: Calendar | None = None,
        public_url: str | None = None,
        small_cell: int = 5,
        events: EventBus | None = None,
        max_tokens: int = 10_000,
        audit: AuditTrail | None = None,
        documents: TrustedDocuments | None = None,
        budgets: Budgets | None = None,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            multipart_uploads_enabled=False,
            # Subscriptions over graphql-transport-ws only: the legacy subscriptions-transport-ws stays off.
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            # A dashboard follows a few units; each subscription holds a task and a queue of events.
            max_subscriptions_per_connection=MAX_SUBSCRIPTIONS,
            connection_init_wait_timeout=timedelta(seconds=10),
        )
        self.events = events
        self.audit = audit  # None: requests are not audited (tests of other parts that build a view alone)
        self.max_tokens = max_tokens  # a WebSocket's documents are parsed once more, no further than this
        self.authenticator = authenticator
        self.scopes = scopes
        self.engine = engine
        self.receipts = receipts
        self.max_body_bytes = max_body_bytes
        self.server_timing = server_timing
        self.calendar = calendar or Calendar()
        self.public_url = public_url
        self.small_cell = small_cell
        self.retry_after = retry_after
        self.documents = documents or TrustedDocuments(engine)  # documents by id; agencies held to them or not
        self.budgets = budgets  # None: no agency has a budget (tests of other parts that build a view alone)

    def described(
        self, query: str | None, operation_name: str | None, variables: object
    ) -> tuple[str | None, dict[str, Any] | None]:
        """A subscription as the audit keeps it: its operation's name (the document's own, when the
        message names none) and its variables redacted (schema/audit.py redact)."""
        try:
            document = parse(query, max_tokens=self.max_tokens) if query is not None else None
        except GraphQLError:
            document = None
        if document is None:
            return operation_name, None
        operation = get_operation_ast(document, operation_name)
        name = operation_name or (operation.name.value if operation is not None and operation.name else None)
        given = variables if isinstance(variables, dict) else None
        return name, redact(core(cast("Schema", self.schema)), document, operation_name, given)

    async def get_context(self, request: Request | WebSocket, response: Any = None) -> RequestContext:
        """A WebSocket's context, before its connection_init says who subscribes (on_ws_connect): no one,
        reading nothing. (Every HTTP request gets its context from `_answer`.)"""
        return self._context(request, NO_ONE, NOTHING, transaction=None)

    async def on_ws_connect(self, context: RequestContext) -> UnsetType | dict[str, object] | None:
        """Authenticate the subscriber: connection_init's payload carries `Authorization: Bearer <token>`
        (browsers cannot set a WebSocket's headers); an unknown or expired token closes it (4403)."""
        params = context.connection_params or {}
        header = params.get("Authorization", params.get("authorization"))
        try:
            principal, expires = await self.authenticator.with_expiry(header if isinstance(header, str) else None)
            scope = await self.scopes.for_principal(principal)
        except DomainError as error:
            raise ConnectionRejectionError({"message": error.message, "code": error.code}) from None
        context.principal, context.scope, context.expires_at = principal, scope, expires
        context.loaders = Loaders(context.connect, scope)
        return cast(UnsetType, UNSET)  # a bare connection_ack

    def _context(
        self, request: HTTPConnection, principal: Principal, scope: Scope, transaction: Transaction | None
    ) -> RequestContext:
        return RequestContext(
            principal=principal,
            engine=self.engine,
            scope=scope,
            scopes=self.scopes,
            receipts=self.receipts,
            transaction=transaction,
            calendar=self.calendar,
            base_url=public_base(request, self.public_url),
            small_cell=self.small_cell,
            events=self.events,
        )

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(ide_html())  # strawberry's page, its assets served by us (gateway/ide.py)

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET naming its document by id has no `query`, and is a request all the same.
        return super().should_render_graphql_ide(request) and not names_a_document(request.query_params)

    async def execute_single(  # noqa: PLR0917 (strawberry's signature)
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Any,
        context: RequestContext,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        context.operation_named = request_data.operation_name is not None
        if request.state.ccvc_receipt:
            _check_receipt_variables(request_data.variables)  # before anything runs, not after a write
        try:
            prepared = await self.documents.prepare(request, context, request_data)
            if isinstance(prepared, ExecutionResult):  # a document named by id and not found, or not trusted
                return prepared
            request_data = prepared
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        finally:
            await context.settle()

    def encode_json(self, data: object) -> bytes:
        with phase("serialize"):
            return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        # Strict RFC 8259 (no NaN, no Infinity, no lone surrogates): what a receipt can hash.
        return orjson.loads(data)

    def parse_json(self, data: str | bytes) -> dict[str, object] | list[object]:
        parsed = super().parse_json(data)
        if not isinstance(parsed, dict | list):  # a bare string or null is JSON, but not a GraphQL request
            raise HTTPException(400, "The body must be a JSON object with a `query`")
        return parsed

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        failed = [e.original_error for e in result.errors or () if e.original_error and unavailable(e.original_error)]
        if failed:
            # Part of the answer is missing because the database failed: a 503 to retry, not a
            # response that looks complete but for an INTERNAL error. The cause goes to the log.
            log.warning("The database failed while answering: %s: %s", type(failed[0]).__name__, failed[0])
            raise Unavailable("The database failed while answering")
        context: RequestContext | None = getattr(request.state, "ccvc_context", None)
        request.state.ccvc_failed = bool(result.errors)
        data = result.data
        if result.errors and context is not None and context.transaction is not None and context.transaction.open:
            data = None  # the writes are rolled back: no field may look done (and no receipt is made)
        response: GraphQLHTTPResponse = {"data": data}
        if negotiate(request.headers.get("accept")) == GRAPHQL_RESPONSE and is_request_error(result):
            request.state.ccvc_status = 400
            del response["data"]
        if (refused := throttling(result)) is not None:  # its agency's budget could not pay for it
            request.state.ccvc_status, request.state.ccvc_headers = 429, refused.headers
        if (closed := under_maintenance(result)) is not None:  # a mutation during announced maintenance
            request.state.ccvc_status, request.state.ccvc_headers = 503, closed.headers
        request.state.ccvc_data_sent = "data" in response and data is not None  # whose data left: the audit's
        request.state.ccvc_codes = []
        if result.errors:
            with phase("serialize"):
                formatted = [_format(error) for error in in_answer_order(result.errors, result.data)]
            response["errors"] = cast(Any, formatted)
            request.state.ccvc_codes = [error["extensions"]["code"] for error in formatted]
        if result.extensions:
            response["extensions"] = result.extensions
        if context is not None and data is not None and request.state.ccvc_receipt:
            receipt = await self._receipt(context, data)
            response["extensions"] = {**(response.get("extensions") or {}), **receipt}
            request.state.ccvc_receipt_id = receipt["receiptId"]
        return response

    async def _receipt(self, context: RequestContext, data: dict[str, Any]) -> dict[str, str]:
        if context.operation is None:  # data without an executed operation: cannot happen, never unsigned
            raise ReceiptUnavailable("The request's operation was not recorded; no receipt can be made")
        with phase("canonical"):
            # The compiled path's data is in RFC 8785's fast form by construction (planner/shape.py).
            digest = canonical_sha256(data, fast_form=context.read_path == "compiled")
        draft = draft_for(
            context.principal, context.scope, context.exposed, context.operation, kind="response", data_sha256=digest
        )
        payload = self.receipts.payload(draft)
        transaction = context.transaction
        with phase("receipt"):
            # A request that wrote logs its receipt in the same transaction as its writes; a read joins
            # a group-committed batch.
            conn = await transaction.connection() if transaction is not None and transaction.open else None
            issued = await self.receipts.append(payload, draft, conn=conn)
        return {"receipt": issued.receipt, "receiptId": issued.rid}

    async def endpoint(self, request: Request) -> Response:
        with timing(self.server_timing) as timed:
            response = _as_negotiated(request, await self._respond(request))
            # Not to the unauthenticated: how long a token check took is a hint to someone forging one.
            if timed is not None and response.status_code != 401:
                context = getattr(request.state, "ccvc_context", None)
                if context is not None and context.read_path is not None:
                    timed.notes["path"] = context.read_path
                response.headers[TIMING_HEADER] = timed.header()
        return response

    async def _respond(self, request: Request) -> Response:
        started = request.state.ccvc_started = time.perf_counter()
        try:
            response = await self._answer(request)
        except Exception as error:
            if not unavailable(error):
                # Recorded as what the middleware answers (500 INTERNAL, the error in the log), then answered.
                await self._audited(request, json_error("Internal error", "INTERNAL"), started)
                raise
            log.warning("Answered 503: the database is unavailable (%s)", type(error).__name__)
            response = unavailable_response(self.retry_after)
        return await self._audited(request, response, started)

    async def _audited(self, request: Request, response: Response, started: float) -> Response:
        """`response`, once the audit holds its record (unless its transaction's commit wrote it already);
        503 AUDIT_UNAVAILABLE instead when the audit cannot: nothing leaves unrecorded."""
        principal: Principal | None = getattr(request.state, "ccvc_principal", None)
        if self.audit is None or principal is None or getattr(request.state, "ccvc_audited", False):
            return response
        context: RequestContext = getattr(request.state, "ccvc_context", None) or self._context(
            request, principal, NOTHING, transaction=None
        )
        try:
            await self.audit.record(record_of(request, context, response, started))
        except AuditUnavailable as error:
            if response.status_code == 503:
                return response  # nothing left or changed, and its own reason (the database is down) says more
            return self._instead(request, error)
        return response

    def _instead(self, request: Request, error: DomainError) -> Response:
        """A 503 with Retry-After in place of the answer the request had: the status and headers that answer
        earned (a 429's, a 400's) go with it (found by review)."""
        request.state.ccvc_status, request.state.ccvc_headers = 503, {}
        return json_error(error.message, error.code, headers={"Retry-After": str(self.retry_after)})

    def _running(self, principal: Principal) -> AbstractAsyncContextManager[None]:
        """One of the principal's agency's places in this process while its request runs (gateway/budgets.py)."""
        return self.budgets.running(principal) if self.budgets is not None else nullcontext()

    async def _answer(self, request: Request) -> Response:
        params = request.query_params
        if request.method == "GET" and "query" not in params and not names_a_document(params) and self.graphql_ide:
            return await self.render_graphql_ide(request)
        try:
            with phase("auth"):
                principal = await self.authenticator.from_authorization(request.headers.get("authorization"))
        except DomainError as error:
            return json_error(error.message, error.code)
        request.state.ccvc_principal = principal  # from here on, the request is audited (_audited)
        if request.method == "POST":
            body = await read_capped_body(request, self.max_body_bytes)
            if body is None:
                return json_error(f"Request body is larger than {self.max_body_bytes} bytes", "PAYLOAD_TOO_LARGE")
            request = with_body(request, body)  # what strawberry reads: the body already read, not the stream
        try:
            with phase("auth"):
                scope = await self.scopes.for_principal(principal)
        except DomainError as error:
            return json_error(error.message, error.code, 403)
        transaction = Transaction(self.engine)
        context = self._context(request, principal, scope, transaction)
        request.state.ccvc_context = context  # for process_result, which strawberry gives only the request
        request.state.ccvc_receipt = _wants_receipt(request, context)
        try:
            key, body = idempotency_key(request), await request.body()
            if key is not None and (kept := await replay(self.engine, principal, key, body)) is not None:
                return kept
            async with self._running(principal):
                response = await self.run(request, context=context)
            failed = getattr(request.state, "ccvc_failed", False)
            started: float = request.state.ccvc_started
            written: list[bool] = []

            async def audit_in(conn: AsyncConnection, answer: Response) -> None:
                # A request that wrote: its audit record is committed with its writes, or neither is.
                if self.audit is not None:
                    await self.audit.record_in(conn, record_of(request, context, answer, started))
                    written.append(True)

            settled = await settle(
                transaction, response, failed=failed, principal=principal, key=key, body=body, before_commit=audit_in
            )
            request.state.ccvc_audited = bool(written)  # committed: settle returned
            return settled
        except (ReceiptUnavailable, AuditUnavailable) as error:
            return self._instead(request, error)
        except Throttled as error:  # its agency has as many requests running here as it may
            return throttled_response(error)
        except BadInput as error:  # a request refused before it runs; resolvers' errors are answers
            return json_error(error.message, error.code, 400)
        except HTTPException as error:
            return json_error(error.reason, "BAD_REQUEST", error.status_code)
        except UnicodeDecodeError:
            return json_error("Request body is not valid UTF-8", "BAD_REQUEST")
        finally:
            await transaction.close()  # whatever was not committed is rolled back


def _as_negotiated(request: Request, response: Response) -> Response:
    """The JSON answers in the media type the client asked for, with the status the request earned."""
    if response.media_type != JSON:  # the IDE's page
        return response
    if negotiate(request.headers.get("accept")) == GRAPHQL_RESPONSE:
        response.headers["content-type"] = GRAPHQL_RESPONSE
    response.status_code = getattr(request.state, "ccvc_status", response.status_code)
    response.headers.update(getattr(request.state, "ccvc_headers", {}))
    return response


def _check_receipt_variables(variables: dict[str, Any] | None) -> None:
    """A receipt hashes the variables as RFC 8785 JSON, which has no NaN, no infinities, no integers
    beyond 2**53 and no lone surrogates; without a receipt no data may leave, so such a request is
    refused before it runs (not after a mutation has written)."""
    try:
        canonical_sha256(variables or {})
    except (rfc8785.CanonicalizationError, UnicodeEncodeError, TypeError, ValueError):
        raise BadInput(
            "Variables must be I-JSON (RFC 7493) for a receipt: no NaN, Infinity, huge integers or lone surrogates"
        ) from None


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
    return bytes(body)


def with_body(request: Request, body: bytes) -> Request:
    """The same request (its scope and state), whose body is `body`, read already: a request's stream can be
    read once, and strawberry reads the body after the cap did. Starlette's public API: a Request over the
    same scope with a `receive` that hands the body over first, then waits on the client's own."""
    given = False

    async def receive() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await request.receive()

    return Request(request.scope, receive)
