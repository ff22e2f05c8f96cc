"""Trusted documents and automatic persisted queries: a request may name its document by id instead of
sending its text, and a partner agency may be held to the documents registered for it.

The id is the SHA-256 (hex) of the document's exact UTF-8 text: `documentId` ("sha256:<hex>", the
GraphQL over HTTP trusted documents convention, or bare hex), in the body or the query string, or
Apollo's `extensions.persistedQuery {version: 1, sha256Hash}`. The text found runs exactly as if the
request had sent it (its receipt hashes that text). Where it is looked up:

- an agency's registered documents (`ccvc documents register`, db.queries.documents), its own only:
  what one agency's operator reviewed is no one else's to run;
- unless the caller is held to trusted documents, texts sent earlier with their hash (Apollo's
  automatic persisted queries), kept in this process, bounded.

With CCVC_TRUSTED_DOCUMENTS=agencies (production's default) an agency runs registered documents only,
whether named by id or sent in full: any other text is TRUSTED_DOCUMENT_REQUIRED. People (officials,
staff) are never held to them: their clients are the gateway's own pages and the IDE.

It also decides whether the request may introspect the schema (schema/introspection.py refuses).
"""

import hashlib
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Final, Generic, TypeVar

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from db.errors import DomainError
from db.queries import agreements, documents
from gateway.errors import PersistedQueryNotFound, TrustedDocumentRequired
from planner.kept import Kept
from policies.principal import Principal
from policies.written import today
from resolvers.context import RequestContext

PREFIX: Final = "sha256:"
HEX: Final = re.compile(r"[0-9a-f]{64}")
# Registered documents and agreements looked up, and texts kept for APQ: enough for every operation of
# every partner, bounded against a flood of made-up ids. A kept text is at most APQ_MAX_CHARS (the
# token limit keeps real documents far smaller), so the APQ store stays under some 16 MB.
CACHE_SIZE: Final = 1024
APQ_SIZE: Final = 512
APQ_MAX_CHARS: Final = 32 * 1024

TRUSTED_ONLY: Final = "This agency runs only the documents registered for it (`ccvc documents register`)"

K = TypeVar("K")
V = TypeVar("V")


def document_id(text: str) -> str:
    """The id of a document: SHA-256 of its exact UTF-8 text, lowercase hex (`sha256sum FILE`)."""
    return hashlib.sha256(text.encode()).hexdigest()


def parse_document_id(value: object) -> str:
    """The hex digest a `documentId` names: "sha256:<64 hex>" or the bare hex."""
    digest = value.removeprefix(PREFIX).lower() if isinstance(value, str) else ""
    if not HEX.fullmatch(digest):
        raise HTTPException(400, "documentId must be sha256:<64 hexadecimal digits>, the SHA-256 of the document")
    return digest


def parse_persisted_query(value: object) -> str:
    """The hex digest of Apollo's `extensions.persistedQuery`: version 1 and a sha256Hash."""
    if not isinstance(value, Mapping) or value.get("version") != 1:
        raise HTTPException(400, "extensions.persistedQuery must be {version: 1, sha256Hash: <64 hex>}")
    digest = value.get("sha256Hash")
    if not isinstance(digest, str) or not HEX.fullmatch(digest.lower()):
        raise HTTPException(400, "extensions.persistedQuery.sha256Hash must be 64 hexadecimal digits")
    return digest.lower()


def names_a_document(params: Mapping[str, str]) -> bool:
    """Whether a GET's query string names a document (so it is a request, not the IDE's page)."""
    return "documentId" in params or "extensions" in params


async def requested_id(request: Request, data: GraphQLRequestData) -> str | None:
    """The document the request names, if any; both ways at once must name the same one."""
    given = request.query_params.get("documentId") if request.method == "GET" else await _body_document_id(request)
    persisted = (data.extensions or {}).get("persistedQuery")
    named = {parse_document_id(given)} if given is not None else set()
    if persisted is not None:
        named.add(parse_persisted_query(persisted))
    if len(named) > 1:
        raise HTTPException(400, "documentId and extensions.persistedQuery name different documents")
    return named.pop() if named else None


async def _body_document_id(request: Request) -> object:
    # strawberry's request data has no `documentId`: read it from the body strawberry parsed, and parse
    # that again only when the member may be there (the body is in memory, capped, already read).
    body = await request.body()
    if b'"documentId"' not in body:
        return None
    parsed = orjson.loads(body)
    return parsed.get("documentId") if isinstance(parsed, dict) else None


class Remembered(Generic[K, V]):
    """A bounded LRU whose entries are forgotten `seconds` after they were put (0: nothing is kept).
    An absence is remembered too, so made-up ids cost one read each per period, not one per request."""

    def __init__(self, seconds: float, size: int = CACHE_SIZE, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self.kept: Kept[K, tuple[float, V]] = Kept(size)

    def get(self, key: K) -> tuple[V] | None:
        """(value,) while remembered; None when not (or no longer) known."""
        found = self.kept.get(key)
        if found is None or found[0] <= self.clock():
            return None
        return (found[1],)

    def put(self, key: K, value: V) -> V:
        if self.seconds > 0:
            self.kept.put(key, (self.clock() + self.seconds, value))
        return value


class TrustedDocuments:
    """What a request runs, when it names a document or must be a trusted one; and whether it may
    introspect. `required`: agencies run registered documents only (CCVC_TRUSTED_DOCUMENTS=agencies).
    `introspection_by_agreement`: a partner introspects only when its agreement allows it."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        required: bool = False,
        introspection_by_agreement: bool = False,
        cache_seconds: float = 10.0,
    ) -> None:
        self.engine = engine
        self.required = required
        self.introspection_by_agreement = introspection_by_agreement
        self.registered: Remembered[tuple[int, str], str | None] = Remembered(cache_seconds)
        self.introspecting: Remembered[int, bool] = Remembered(cache_seconds)
        self.persisted: Kept[str, str] = Kept(APQ_SIZE)

    async def prepare(
        self, request: Request, context: RequestContext, data: GraphQLRequestData
    ) -> GraphQLRequestData | ExecutionResult:
        """The request with the text it is to run; or its refusal, as the answer (with its code). A
        malformed id, or a text and an id that do not match, is an HTTP 400 BAD_REQUEST."""
        principal = context.principal
        try:
            query = await self._text(principal, data.query, await requested_id(request, data))
        except DomainError as refusal:
            return ExecutionResult(data=None, errors=[GraphQLError(refusal.message, original_error=refusal)])
        context.introspection = await self._may_introspect(principal, query)
        return data if query is data.query else replace(data, query=query)

    def held(self, principal: Principal) -> bool:
        """Whether the caller may run registered documents only."""
        return self.required and principal.kind == "agency"

    async def trusted(self, principal: Principal, query: object) -> bool:
        """Whether the caller may run this text (a subscription's, which no id names)."""
        if not self.held(principal):
            return True
        return isinstance(query, str) and await self._registered(principal, document_id(query)) is not None

    async def _text(self, principal: Principal, query: str | None, named: str | None) -> str | None:
        if query is None:
            if named is None:
                return None  # strawberry answers "No GraphQL query found in the request"
            text = await self._lookup(principal, named)
            if text is None:
                raise PersistedQueryNotFound(PREFIX + named)
            return text
        digest = document_id(query) if named is not None or self.held(principal) else ""
        if named is not None and named != digest:
            raise HTTPException(400, f"The document's SHA-256 is {digest}, not the id sent with it ({named})")
        if self.held(principal) and await self._registered(principal, digest) is None:
            raise TrustedDocumentRequired(f"{TRUSTED_ONLY}; this one (sha256:{digest}) is not, or was revoked")
        if named is not None and not self.held(principal) and len(query) <= APQ_MAX_CHARS:
            self.persisted.put(digest, query)  # Apollo's automatic persisted queries: next time, the id will do
        return query

    async def _lookup(self, principal: Principal, digest: str) -> str | None:
        text = await self._registered(principal, digest)
        if text is not None or self.held(principal):
            return text
        return self.persisted.get(digest)

    async def _registered(self, principal: Principal, digest: str) -> str | None:
        """The text of the caller's agency's active document with this digest (people have none)."""
        if principal.kind != "agency" or principal.agency_id is None:
            return None
        key = (principal.agency_id, digest)
        if (known := self.registered.get(key)) is not None:
            return known[0]
        async with self.engine.connect() as conn:
            text = await documents.get_text(conn, agency_id=principal.agency_id, sha256=digest)
        return self.registered.put(key, text)

    async def _may_introspect(self, principal: Principal, query: str | None) -> bool:
        if not self.introspection_by_agreement or principal.kind != "agency" or principal.agency_id is None:
            return True
        # A GraphQL name has no escapes: a document without these substrings asks no introspection, and
        # needs neither the agreement's answer nor a validation of its own (schema/introspection.py).
        if query is None or ("__schema" not in query and "__type" not in query):
            return True
        if (known := self.introspecting.get(principal.agency_id)) is not None:
            return known[0]
        async with self.engine.connect() as conn:
            allowed = await agreements.allows_introspection(conn, agency_id=principal.agency_id, today=today())
        return self.introspecting.put(principal.agency_id, allowed)
