"""The audit in the API: an official's `accessLog` (who read their record), the national administrator's
`auditEvents`, and how a request's variables are kept in the audit (free text replaced)."""

import re
from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Annotated, Any, Final, cast

import orjson
import strawberry
from graphql import (
    DocumentNode,
    GraphQLInputType,
    GraphQLSchema,
    get_nullable_type,
    get_operation_ast,
    is_enum_type,
    is_input_object_type,
    is_list_type,
    is_scalar_type,
    type_from_ast,
)
from strawberry.scalars import JSON

from resolvers.audit import AuditPage, EventFilter, instant, resolve_audit_events, utc
from resolvers.ids import parse_id
from resolvers.pagination import DEFAULT_PAGE_SIZE
from resolvers.units import resolve_unit_by_id
from schema.common import Ctx, PageInfo, Parent, field

if TYPE_CHECKING:
    from schema.units import Unit

UnitRef = Annotated["Unit", strawberry.lazy("schema.units")]

REDACTED: Final = "[redacted]"
# What a value may be kept as: an id (an official's number, a unit's code), a number asked for (a page's
# `first`, a year), a flag, one of the schema's enum values. Kept only when the value really is one (the
# variables are recorded before graphql-core coerces them: a name sent as an Int must not stay). Every
# other value (strings, dates, JSON) may be a name, a personal id number or a note, and is replaced.
_ID: Final = re.compile(r"[0-9]{1,10}|[A-Z][A-Z0-9]{0,15}(?:\.[A-Z0-9]{1,16}){0,8}")
# The inputs that say what to read, in what order, or whom to let read, and nothing about a person:
# their ids, numbers, flags and enum values are kept. Any other input (a change to a record: its every
# value is a person's data, a number (height, salary grade) or an enum (gender) alike) is replaced whole.
# A new input type is replaced until it is named here.
QUERYING_INPUTS: Final = frozenset({"OfficialFilter", "OfficialOrder", "AuditEventFilter", "GrantAccessInput"})
# Past these, a list keeps its first items and says how many it held, and the variables their size only:
# the audit keeps what was asked, not a caller's megabyte of padding (it can never be deleted).
LIST_ITEMS: Final = 20
MAX_VARIABLES_CHARS: Final = 4096


def redact(
    schema: GraphQLSchema, document: DocumentNode | None, operation_name: str | None, variables: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The variables as the audit keeps them: each by the type its operation declares for it."""
    if not variables:
        return None
    operation = get_operation_ast(document, operation_name) if document is not None else None
    declared: dict[str, GraphQLInputType | None] = {}
    for definition in (operation.variable_definitions or ()) if operation is not None else ():
        declared[definition.variable.name.value] = cast(
            "GraphQLInputType | None", type_from_ast(schema, definition.type)
        )
    kept = {name: _redacted(declared.get(name), value, top=True) for name, value in variables.items()}
    size = len(orjson.dumps(kept))
    return kept if size <= MAX_VARIABLES_CHARS else {REDACTED: f"{size} bytes of variables"}


def _redacted(of: GraphQLInputType | None, value: Any, *, top: bool = False) -> Any:
    if value is None:
        return None
    kind = get_nullable_type(of) if of is not None else None
    if is_list_type(kind):
        if not isinstance(value, list):
            return _redacted(kind.of_type, value, top=top)
        items = [_redacted(kind.of_type, v, top=top) for v in value[:LIST_ITEMS]]
        return items if len(value) <= LIST_ITEMS else [*items, f"{REDACTED}: {len(value) - LIST_ITEMS} more"]
    if is_input_object_type(kind):
        if kind.name not in QUERYING_INPUTS or not isinstance(value, dict):
            return REDACTED
        fields = kind.fields
        return {k: _redacted(fields[k].type if k in fields else None, v) for k, v in value.items()}
    return value if _keeps(kind, value, top=top) else REDACTED


def _keeps(kind: Any, value: Any, *, top: bool) -> bool:
    """Whether `value` really is what the type it was sent as keeps. Numbers only as an operation's own
    arguments (`first`, `limit`, a year): inside an input they may be anything."""
    if is_enum_type(kind):
        return isinstance(value, str) and value in kind.values
    if not is_scalar_type(kind):
        return False
    match kind.name:
        case "ID":
            return (isinstance(value, str) and _ID.fullmatch(value) is not None) or (
                isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**10
            )
        case "Boolean":
            return isinstance(value, bool)
        case "Int":
            return top and isinstance(value, int) and not isinstance(value, bool)
        case "Float":
            return top and isinstance(value, int | float) and not isinstance(value, bool)
    return False


@strawberry.type(description="A partner agency.")
class Agency:
    code: str
    name: str


@strawberry.type(description="One read of an official's data: when, by whom, on what basis, with which receipt.")
class AccessLogEntry:
    @field(description="When it was read (UTC)")
    def at(self, root: Parent) -> datetime:
        return utc(root.at)

    @field(description="The partner agency that read it; null when a person read it (see `unit`)")
    def agency(self, root: Parent) -> Agency | None:
        code = root.agency_code
        return None if code is None else Agency(code=code, name=root.agency_name or code)

    @field(description="The unit of the person who read it (HR, a manager); null for an agency")
    async def unit(self, info: Ctx, root: Parent) -> UnitRef | None:
        if root.agency_code is not None:
            return None
        return cast("Unit | None", await resolve_unit_by_id(info.context, root.unit_id))

    @field(description="The reader's roles, comma-separated (hr, approver, partner, …)")
    def role(self, root: Parent) -> str:
        return cast(str, root.roles)

    @field(description="The bases of the grants that let this record out (a role's, or a written grant's)")
    def legal_basis(self, root: Parent) -> list[str]:
        return list(orjson.loads(root.legal_basis or "[]"))

    @field(description="The operation: its type and name (`query PartnerPage`), or its type alone")
    def operation(self, root: Parent) -> str:
        name = root.operation_name
        return cast(str, root.operation_type if not name else f"{root.operation_type} {name}")

    @field(description="The receipt listing this official among what the reader got (GET /receipts/{id})")
    def receipt_id(self, root: Parent) -> str | None:
        return cast("str | None", root.receipt_id)


@strawberry.type(description="Reads of an official's data, newest first.")
class AccessLogConnection:
    nodes: list[AccessLogEntry]
    page_info: PageInfo


@strawberry.type(description="One request the gateway answered, as the audit keeps it.")
class AuditEvent:
    id: strawberry.ID
    request_id: str = strawberry.field(description="The X-Request-Id it was answered with (and its log lines carry)")
    username: str
    principal_kind: str = strawberry.field(description="official, staff or agency")
    agency_code: str | None
    roles: str
    operation_type: str = strawberry.field(description="query, mutation, subscription; none when it never ran")
    operation_name: str | None
    query_sha256: str | None = strawberry.field(description="SHA-256 of the document's text, which is not kept")
    status: int = strawberry.field(description="The HTTP status answered")
    outcome: str = strawberry.field(description="ok, or error")
    receipt_id: str | None
    official_count: int = strawberry.field(description="Officials whose data the answer, or a file it made, carried")
    cost: int | None = strawberry.field(description="The operation's static cost (fields), when worked out")
    duration_ms: int

    @field(description="When it was answered (UTC)")
    def at(self, root: Parent) -> datetime:
        return utc(root.at)

    @field(description="The variables, with every free-text value (strings, dates) replaced by [redacted]")
    def variables(self, root: Parent) -> JSON | None:
        return None if root.variables is None else JSON(orjson.loads(root.variables))

    @field(description="The error codes of the answer, in order")
    def error_codes(self, root: Parent) -> list[str]:
        return [code for code in root.error_codes.split(",") if code]

    @field(description="The bases of the grants the answer's rows were let out by")
    def legal_basis(self, root: Parent) -> list[str]:
        return list(orjson.loads(root.legal_basis or "[]"))

    @field(description="The officials whose data the answer, or a file it made, carried")
    def official_ids(self, root: Parent) -> list[strawberry.ID]:
        return [strawberry.ID(str(i)) for i in root.official_ids]


@strawberry.type(description="Requests, newest first.")
class AuditEventConnection:
    page: strawberry.Private[AuditPage]

    @field(description="The requests, each with the officials it exposed")
    def nodes(self) -> list[AuditEvent]:
        officials = self.page.officials
        events = [
            SimpleNamespace(**row._mapping, official_ids=officials.get(int(row.id), [])) for row in self.page.rows
        ]
        return cast(list[AuditEvent], events)

    @field(description="Paging")
    def page_info(self) -> PageInfo:
        return page_info(self.page)


@strawberry.input(description="Which requests: every condition given must hold.")
class AuditEventFilter:
    from_: datetime | None = strawberry.field(default=None, name="from", description="At or after (with offset)")
    to: datetime | None = strawberry.field(default=None, description="Before (with offset)")
    agency_code: str | None = None
    username: str | None = None
    operation_name: str | None = None
    outcome: str | None = strawberry.field(default=None, description="ok or error")
    official_id: strawberry.ID | None = strawberry.field(
        default=None, description="Requests that exposed this official"
    )


def page_info(page: AuditPage) -> PageInfo:
    return PageInfo(
        has_next_page=page.has_next_page,
        has_previous_page=False,
        cursors=(page.cursors[0], page.cursors[-1]) if page.cursors else (None, None),
    )


def access_log(page: AuditPage) -> AccessLogConnection:
    return AccessLogConnection(nodes=cast(list[AccessLogEntry], list(page.rows)), page_info=page_info(page))


def event_filter(given: AuditEventFilter | None) -> EventFilter:
    if given is None:
        return EventFilter()
    return EventFilter(
        since=instant(given.from_, "from"),
        until=instant(given.to, "to"),
        agency_code=given.agency_code,
        username=given.username,
        operation_name=given.operation_name,
        outcome=given.outcome,
        official_id=None if given.official_id is None else parse_id(given.official_id, "official"),
    )


@strawberry.type
class AuditQueries:
    @field(
        description="Every request the gateway answered for someone it knew, newest first, with the officials "
        "each exposed: for the national administrator. `ccvc audit export` writes the same as JSON lines."
    )
    async def audit_events(
        self,
        info: Ctx,
        filter: AuditEventFilter | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> AuditEventConnection:
        return AuditEventConnection(page=await resolve_audit_events(info.context, event_filter(filter), first, after))
