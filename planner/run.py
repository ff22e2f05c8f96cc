"""One request through a plan: the resolvers' own checks on the arguments (any refusal means the
resolver tree answers, with its error), the statement, and the rows shaped into data and errors.

Plans are cached per document, operation and the values of the variables its directives read (a bounded
LRU, its hits counted). A plan's statement is built once per scope and shape of its arguments (which
filters are in use, the order, whether there is a cursor) and kept: every value of the request is a
bind parameter, so a request that finds its statement builds no SQL and SQLAlchemy compiles nothing."""

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Final

from graphql import DocumentNode, GraphQLError, GraphQLSchema
from sqlalchemy import Select

from db.engine import unavailable
from db.errors import DomainError
from db.queries import officials, positions, units
from evidence.records import Exposure
from planner.build import Unsupported, plan
from planner.collect import NotCollected, Selected, collect
from planner.kept import Kept, variables_key
from planner.layout import Layout, layout
from planner.plan import (
    CodeList,
    Connection,
    Edges,
    Many,
    Nested,
    Nodes,
    Obj,
    One,
    PageInfoPlan,
    Plan,
    Ref,
    TotalCount,
    Typename,
    UnitList,
)
from planner.shape import Mismatch, Path, Run, compile_items
from planner.sql import statement
from resolvers.codes import resolve_code_list
from resolvers.context import RequestContext
from resolvers.directory import unit_by_ref
from resolvers.ids import check_text, is_id, parse_id
from resolvers.officials import PageRequest, build_filter, check_filter, cursor, page_request, unit_ref

log = logging.getLogger("ccvc.planner")

PLAN_CACHE_SIZE: Final = 1024
STATEMENT_CACHE_SIZE: Final = 512
REPORT_EVERY: Final = 10_000  # requests between two log lines on the path's counts


class Fallback(Exception):
    """The resolver tree answers this request (why, for the count)."""


@dataclass(frozen=True, slots=True)
class Answer:
    data: dict[str, Any]
    errors: list[GraphQLError]


@dataclass(slots=True, eq=False)  # hashed by identity: a statement's key holds its plan
class Compiled:
    """A plan with what it compiles to: its statement's layout and its writers; and the same for each
    page of officials below a unit or position, by the identity of its node (held by the plan)."""

    plan: Plan
    layout: Layout | None
    writers: list[Callable[[Any, Path, Run], dict[str, Any]]]
    below: dict[int, "Compiled"] = field(default_factory=dict)
    pages: list[Nested] = field(default_factory=list)  # every page of officials asked, at any depth


Found = tuple["Compiled", Selected] | str  # a plan with the root field as the request selects it, or why not


@dataclass
class Stats:
    compiled: int = 0
    fallbacks: Counter[str] = field(default_factory=Counter)
    hits: int = 0
    misses: int = 0
    statement_hits: int = 0
    statement_misses: int = 0

    @property
    def hit_rate(self) -> float:
        return _rate(self.hits, self.misses)

    @property
    def statement_hit_rate(self) -> float:
        return _rate(self.statement_hits, self.statement_misses)

    @property
    def answered(self) -> int:
        return self.compiled + self.fallbacks.total()

    def summary(self) -> str:
        reasons = ", ".join(f"{reason}: {count}" for reason, count in self.fallbacks.most_common(5)) or "none"
        return (
            f"{self.compiled} of {self.answered} read requests compiled; plan cache hit rate {self.hit_rate:.1%}, "
            f"statement cache {self.statement_hit_rate:.1%}; resolver tree answered ({reasons})"
        )


def _rate(hits: int, misses: int) -> float:
    return hits / (hits + misses) if hits + misses else 0.0


class Statements:
    """The statements of plans, by plan, dialect, scope and shape of the arguments (a bounded LRU). The
    key holds the scope's SQL identity (Scope.sql_identity: its grants, or for an official's own
    scope the grants with the id left to a parameter), never an object identity that a later scope
    could reuse: a statement carries its scope's predicate and grant mask."""

    def __init__(self, stats: Stats, size: int = STATEMENT_CACHE_SIZE) -> None:
        self.stats = stats
        self.kept: Kept[tuple[Any, ...], Select[Any]] = Kept(size)

    def get(self, key: tuple[Any, ...], build: Callable[[], Select[Any]]) -> Select[Any]:
        found = self.kept.get(key)
        if found is not None:
            self.stats.statement_hits += 1
            return found
        self.stats.statement_misses += 1
        return self.kept.put(key, build())


class Reader:
    """The compiled read path of one gateway process."""

    def __init__(self, schema: GraphQLSchema, *, cache_size: int = PLAN_CACHE_SIZE) -> None:
        self.schema = schema
        self.plans: Kept[tuple[Any, ...], Compiled | str] = Kept(cache_size)
        self.requests: Kept[tuple[str, str | None, bytes], Found] = Kept(cache_size)
        self.stats = Stats()
        self.statements = Statements(self.stats)

    async def answer(
        self,
        ctx: RequestContext,
        document: DocumentNode,
        query: str,
        operation: str | None,
        variables: dict[str, Any] | None,
    ) -> Answer | None:
        """The answer, or None when the resolver tree must give it (counted, with its reason)."""
        found = self._compiled(document, query, operation, variables)
        if isinstance(found, str):
            return self._fallback(ctx, found)
        compiled, selected = found
        # The officials this path reads count in the receipt only if it answers: a nested page refused after
        # the first statement leaves the answer to the resolver tree, whose own reads are what count then.
        before = ctx.exposed
        ctx.exposed = Exposure(set(before.ids), set(before.matched))
        try:
            answer = await _answer(Request(ctx, compiled, self.statements), selected)
        except Exception as error:
            ctx.exposed = before
            return self._fallback(ctx, _why(error))
        self.stats.compiled += 1
        ctx.read_path = "compiled"
        self._report()
        return answer

    def _fallback(self, ctx: RequestContext, reason: str) -> Answer | None:
        """Counted by reason: every reason is one of a few fixed texts (no request values in it). The
        first of each reason is logged, so that an operator sees what the planner does not yet cover."""
        self.stats.fallbacks[reason] += 1
        if self.stats.fallbacks[reason] == 1:
            log.info("The resolver tree answers a request the planner does not compile (%s)", reason)
        ctx.read_path = "resolvers"
        self._report()
        return None

    def _report(self) -> None:
        if self.stats.answered % REPORT_EVERY == 0:
            log.info("%s", self.stats.summary())

    def _compiled(
        self, document: DocumentNode, query: str, operation: str | None, variables: dict[str, Any] | None
    ) -> Found:
        """The plan, and the root field as this request selects it (its arguments); or why there is no plan.

        Both depend only on the document, the operation and the variables: a request that repeats all
        three (every `me`, a partner's page of the same ministry) finds them without walking the document."""
        given = variables_key(variables)
        if given is not None and (found := self.requests.get((query, operation, given))) is not None:
            self.stats.hits += 1
            return found
        found = self._collected(document, query, operation, variables)
        return found if given is None else self.requests.put((query, operation, given), found)

    def _collected(
        self, document: DocumentNode, query: str, operation: str | None, variables: dict[str, Any] | None
    ) -> Found:
        try:
            collected = collect(self.schema, document, operation, variables)
        except NotCollected as reason:
            return f"not collected: {reason}"
        # The selections depend on the variables only through @include and @skip: the collected keys
        # and names are the plan's identity, with the document and the operation.
        key = (query, operation, _signature(collected.selections))
        cached = self.plans.get(key)
        if cached is not None:
            self.stats.hits += 1
            return cached if isinstance(cached, str) else (cached, collected.selections[0])
        self.stats.misses += 1
        made: Compiled | str
        try:
            made = _compile(plan(collected))
        except Unsupported as reason:
            made = f"unsupported: {reason}"
        self.plans.put(key, made)
        return made if isinstance(made, str) else (made, collected.selections[0])


def _why(error: Exception) -> str:
    """Why the resolver tree answers a request the compiled path began (a fixed text, for the count); a
    database that is down is not a reason but the request's answer (503), raised on."""
    if isinstance(error, Fallback):
        return f"fallback: {error}"
    if isinstance(error, DomainError | Mismatch):
        # The resolver tree gives the error (a refused argument, a value it would not write).
        log.debug("Resolver tree answers: %s", error)
        return f"refused: {type(error).__name__}"
    if unavailable(error):
        raise error
    log.exception("The compiled read path failed; the resolver tree answers", exc_info=error)
    return f"error: {type(error).__name__}"


def _signature(selections: Any) -> tuple[Any, ...]:
    return tuple((s.key, s.name, _signature(s.below)) for s in selections)


def _compile(made: Plan) -> Compiled:
    root = made.root
    match root:
        case Connection():
            items = _connection_items(root)
            placed = layout("official", items, total=any(isinstance(p, TotalCount) for p in root.parts))
        case One() | UnitList():
            table = root.item.table
            assert table in ("official", "unit", "position")
            items = [root.item]
            placed = layout(table, items)
        case CodeList():
            return Compiled(made, None, [])
    below: dict[int, Compiled] = {}
    pages: list[Nested] = []
    for nested in _pages(items):
        page = _compile(Plan(nested.connection))
        below |= {id(nested): page} | page.below  # the pages below a page's officials too, in one map
        pages += [nested, *page.pages]
    return Compiled(made, placed, compile_items(items, placed), below, pages)


def _pages(objects: list[Obj]) -> list[Nested]:
    """The pages of officials asked below these objects, through their units, positions and lists (not
    through another page, whose own plan holds those)."""
    found: list[Nested] = []
    for obj in objects:
        for node in obj.fields:
            if isinstance(node, Nested):
                found.append(node)
            elif isinstance(node, Ref | Many):
                found += _pages([node.item])
    return found


def _connection_items(root: Connection) -> list[Obj]:
    items: list[Obj] = []
    for part in root.parts:
        if isinstance(part, Nodes):
            items.append(part.item)
        elif isinstance(part, Edges) and part.item is not None:
            items.append(part.item)
    return items


@dataclass(frozen=True, slots=True)
class Request:
    """One request on the compiled path: its context, its plan, and where the plan's statements are kept."""

    ctx: RequestContext
    compiled: Compiled
    statements: Statements

    @property
    def layout(self) -> Layout:
        assert self.compiled.layout is not None
        return self.compiled.layout

    async def rows(self, shape: tuple[Any, ...], build: Callable[[], Select[Any]], binds: dict[str, Any]) -> list[Any]:
        """The statement of this plan, scope and shape (built by `build` the first time), run with this
        request's values."""
        ctx = self.ctx
        identity, scope_binds = ctx.scope.sql_identity
        stmt = self.statements.get((self.compiled, ctx.engine.dialect.name, identity, *shape), build)
        async with ctx.connect() as conn:
            return list((await conn.execute(stmt, binds | scope_binds)).all())

    def statement(self, base: Select[Any], **wrapping: Any) -> Select[Any]:
        return statement(self.layout, base, dialect=self.ctx.engine.dialect.name, **wrapping)


async def _answer(request: Request, selected: Selected) -> Answer:
    if not request.ctx.scope.grants:
        raise Fallback("a scope without grants")
    for nested in request.compiled.pages:
        _check_page(request.ctx, nested, _selected_at(selected, nested.keys).arguments)
    run = Run(readable=request.ctx.scope.readable)
    root, arguments = request.compiled.plan.root, selected.arguments
    match root:
        case Connection():
            value: Any = await _connection(request, root, arguments, run, (root.at.key,))
        case One():
            value = await _one(request, root, arguments, run)
        case UnitList():
            value = await _units(request, root, arguments, run)
        case CodeList():
            value = _code_list(root, str(arguments["name"]))
    await _pages_below(request, selected, run)
    return Answer({root.at.key: value}, run.errors)


async def _pages_below(request: Request, selected: Selected, run: Run) -> None:
    """The pages of officials below the units and positions written (Unit.officials, Position.holders),
    each by a statement of its own, in the order the answer holds them (then the pages below those
    pages' officials); their errors follow the others."""
    while run.pending:
        nested, parent_id, path, page = run.pending.pop(0)
        below = Request(request.ctx, request.compiled.below[id(nested)], request.statements)
        arguments = _selected_at(selected, nested.keys).arguments
        fixed = {"unit": parent_id} if nested.by == "unit" else {"position_id": parent_id}
        page.update(await _connection(below, nested.connection, arguments, run, path, **fixed))


def _check_page(ctx: RequestContext, nested: Nested, arguments: dict[str, Any]) -> None:
    """A page's arguments, checked before the first statement runs: one the resolver tree would refuse
    (`first` past 100, a bad cursor, a bad filter value, `filter.unit` under Unit.officials, a field
    the scope reads nowhere) sends the request to it now, not after the pages before it were read."""
    _page_request(ctx, arguments)
    given = _arguments(arguments.get("filter"))
    unit_ref(given, 0 if nested.by == "unit" else None)
    check_filter(ctx, build_filter(given, None, {}))


def _page_request(ctx: RequestContext, arguments: dict[str, Any]) -> PageRequest:
    order_by = _arguments(arguments.get("orderBy"))
    return page_request(ctx, first=arguments["first"], after=arguments.get("after"), order_by=order_by)


def _selected_at(selected: Selected, keys: tuple[str, ...]) -> Selected:
    for key in keys:
        selected = next(s for s in selected.below if s.key == key)
    return selected


def _arguments(value: dict[str, Any] | None) -> SimpleNamespace | None:
    """An input object as the resolvers read it: snake_case attributes, as strawberry would build it."""
    if value is None:
        return None
    snake = {"".join(f"_{c.lower()}" if c.isupper() else c for c in key): v for key, v in value.items()}
    return SimpleNamespace(**snake)


async def _connection(
    request: Request,
    root: Connection,
    arguments: dict[str, Any],
    run: Run,
    path: Path,
    unit: int | None = None,
    **fixed: Any,
) -> dict[str, Any]:
    """A page of officials; `unit` or `fixed` pin it to a unit or a position (Unit.officials,
    Position.holders) as resolvers.officials.resolve_officials does."""
    ctx = request.ctx
    page = _page_request(ctx, arguments)
    given = _arguments(arguments.get("filter"))
    ref = unit_ref(given, unit)
    found = await unit_by_ref(ctx, ref) if ref is not None else None
    if ref is not None and found is None:
        raise Fallback("a unit this process does not know")
    query = build_filter(given, found, fixed)
    check_filter(ctx, query)
    wants_total = any(isinstance(part, TotalCount) for part in root.parts)

    def build() -> Select[Any]:
        return request.statement(
            officials.page_select(ctx.scope, query, page.ordering, page.limit + 1, page.after),
            order=lambda rows: officials.page_order(rows, page.ordering),
            total=officials.count_select(ctx.scope, query) if wants_total else None,
        )

    shape = ("page", officials.page_shape(query, page.ordering, page.after), wants_total)
    rows = await request.rows(shape, build, officials.page_binds(query, page.limit + 1, page.after))
    layout = request.layout
    total = rows[0][layout.total] if wants_total and rows else 0
    id_at = layout.base_columns.index("id")
    rows = [row for row in rows if row[id_at] is not None]  # the count's row of an empty page
    return _connection_value(ctx, request.compiled, root, page, rows, total, run, path)


def _connection_value(
    ctx: RequestContext,
    compiled: Compiled,
    root: Connection,
    request: PageRequest,
    rows: list[Any],
    total: int,
    run: Run,
    path: Path,
) -> dict[str, Any]:
    assert compiled.layout is not None
    columns = compiled.layout.base_columns
    page = rows[: request.limit]
    at_id, at_mask, at_order = (
        columns.index("id"),
        columns.index("grants"),
        columns.index(officials.order_column(request.ordering)),
    )

    def cursors(rows: list[Any]) -> list[str]:  # written only where asked: edges, and pageInfo's ends
        return [cursor(ctx, request, row[at_order], row[at_id], row[at_mask]) for row in rows]

    writers = iter(compiled.writers)
    value: dict[str, Any] = {}
    exposed = False
    named: list[Any] = []
    for part in root.parts:
        key = part.at.key
        match part:
            case Typename(name=name):
                value[key] = name
            case TotalCount():
                value[key] = total
            case PageInfoPlan():
                ends = page[:1] + page[1:][-1:]  # the first and the last row
                value[key] = _page_info(
                    part, cursors(ends), has_next=len(rows) > request.limit, has_previous=request.after is not None
                )
                if any(name in CURSORS for _, name in part.parts):
                    named.extend(ends)  # a cursor names its row (its id, its sort value): it leaves with it
            case Nodes():
                write = next(writers)
                value[key] = [write(row, (*path, key, i), run) for i, row in enumerate(page)]
                exposed = True
            case Edges():
                write_node = next(writers) if part.item is not None else None
                texts = cursors(page)
                value[key] = [
                    _edge(part, write_node, row, texts[i], (*path, key, i), run) for i, row in enumerate(page)
                ]
                exposed = True
    at_top = columns.index("top_unit_id")
    for row in page if exposed else named:
        ctx.exposed.record(row[at_id], row[at_mask], row[at_top])
    return value


# PageInfo's fields that carry a row's cursor.
CURSORS: Final = frozenset({"startCursor", "endCursor"})


def _page_info(part: PageInfoPlan, cursors: list[str], *, has_next: bool, has_previous: bool) -> dict[str, Any]:
    values = {
        "hasNextPage": has_next,
        "hasPreviousPage": has_previous,
        "startCursor": cursors[0] if cursors else None,
        "endCursor": cursors[-1] if cursors else None,
    }
    return {key: "PageInfo" if name.startswith("__typename") else values[name] for key, name in part.parts}


def _edge(part: Edges, write_node: Any, row: Any, cursor_text: str, path: Path, run: Run) -> dict[str, Any]:
    edge: dict[str, Any] = {}
    for key, name in part.parts:
        if name == "cursor":
            edge[key] = cursor_text
        elif name == "node":
            edge[key] = write_node(row, (*path, key), run)
        else:
            edge[key] = "OfficialEdge"
    return edge


async def _one(request: Request, root: One, arguments: dict[str, Any], run: Run) -> dict[str, Any] | None:
    ctx, table = request.ctx, root.item.table
    code: Any
    if table == "official":
        rows = await _official(request, root.by, arguments)
    elif table == "unit":
        unit_id, code = arguments.get("id"), arguments.get("code")
        if unit_id is None and code is None:
            return None
        if unit_id is not None:
            binds: dict[str, Any] = {"unit_id": parse_id(unit_id, "unit")}
            rows = await request.rows(
                ("unit",), lambda: request.statement(units.one_select(ctx.scope, unit_id=0)), binds
            )
        else:
            binds = {"unit_code": check_text(code, "code")}
            rows = await request.rows(
                ("unit by code",), lambda: request.statement(units.one_select(ctx.scope, code="")), binds
            )
    else:
        binds = {"position_id": parse_id(arguments["id"], "position")}
        rows = await request.rows(
            ("position",), lambda: request.statement(positions.one_select(ctx.scope, position_id=0)), binds
        )
    row = rows[0] if rows else None
    if row is not None and table == "official":
        columns = request.layout.base_columns
        readable = ctx.scope.readable(row[columns.index("grants")])
        by_code = root.by != "me" and arguments.get("id") is None
        if by_code and "Official.code" not in readable:
            row = None  # a lookup by code is a filter on the code: it must be readable on the row
        else:
            ctx.exposed.record(
                row[columns.index("id")], row[columns.index("grants")], row[columns.index("top_unit_id")]
            )
    return request.compiled.writers[0](row, (root.at.key,), run) if row is not None else None


async def _official(request: Request, by: str, arguments: dict[str, Any]) -> list[Any]:
    ctx = request.ctx
    given_id: Any = arguments.get("id")
    code: Any = arguments.get("code")
    if by == "me":
        if ctx.principal.official_id is None:
            raise Fallback("`me` of an account without a record")
        given_id, code = ctx.principal.official_id, None
    elif (given_id is None) == (code is None) or (given_id is not None and not is_id(given_id)):
        raise Fallback("official arguments the resolver refuses")
    if given_id is not None:
        official_id = given_id if by == "me" else parse_id(given_id, "official")
        return await request.rows(
            ("official",),
            lambda: request.statement(officials.one_select(ctx.scope, official_id=0)),
            {"official_id": official_id},
        )
    return await request.rows(
        ("official by code",),
        lambda: request.statement(officials.one_select(ctx.scope, code="")),
        {"official_code": check_text(code, "code")},
    )


async def _units(request: Request, root: UnitList, arguments: dict[str, Any], run: Run) -> list[dict[str, Any]]:
    ctx = request.ctx
    parent, kind = arguments.get("parent"), arguments.get("kind")
    parents = [parse_id(parent, "unit") if parent is not None else None]
    kind_code = kind.value if kind is not None else None

    def build() -> Select[Any]:
        base = units.children_select(ctx.scope, parents, kind_code)
        return request.statement(base, order=lambda rows: [rows.c.code])

    shape = ("units", parent is None, kind is None)
    rows = await request.rows(shape, build, units.children_binds(parents, kind_code))
    write = request.compiled.writers[0]
    return [write(row, (root.at.key, i), run) for i, row in enumerate(rows)]


def _code_list(root: CodeList, name: str) -> list[dict[str, Any]]:
    values = resolve_code_list(name)
    return [
        {key: "Code" if name.startswith("__typename") else getattr(value, name) for key, name in root.parts}
        for value in values
    ]
