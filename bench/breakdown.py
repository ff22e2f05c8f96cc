"""Where the partner list's time goes, in-process and one request at a time, phase by phase: the token
and scope, parse and validate, SQL, authorization, field resolution, serialisation, the receipt's
canonical JSON, its signing and its durable append. Authorization is the difference between the real
policy and the same request with it switched off (one all-seeing grant, no per-field checks),
interleaved, split into its SQL and its CPU; field resolution is what `execute` spends beyond SQL with
the policy off.

    CCVC_DATABASE_URL=postgresql+asyncpg://… CCVC_KEYS_DIR=… .venv/bin/python bench/breakdown.py

`bench/run` runs it after the load and adds its Markdown tables to the results. It appends real
receipts to the database's log.
"""

import argparse
import asyncio
import cProfile
import gc
import pstats
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from workloads import PARTNER, PARTNER_LIST

from db import work as db_work
from db.engine import create_engine
from db.queries import accounts
from db.scoping import Everyone, Grant, Scope
from evidence.canonical import canonical_json, canonical_sha256
from evidence.crypto import KeyRing
from evidence.log import RECEIPT_TYP, ReceiptLog
from evidence.receipts import Receipts
from evidence.records import Operation, draft_for
from gateway.auth import Authenticator
from gateway.config import Settings
from gateway.timing import TimePhases, timing
from policies.authorizer import Authorizer
from policies.principal import Principal
from policies.written import Scopes
from resolvers.context import RequestContext
from schema import Schema, build_schema

WARMUP = 20
# Where cProfile's own time goes, by the package a function lives in (first match wins).
PACKAGES = (
    ("graphql/", "graphql-core (execution, completion)"),
    ("strawberry/", "strawberry (field wrappers, types)"),
    ("sqlalchemy/", "SQLAlchemy (compile, rows)"),
    ("asyncpg/", "asyncpg (driver)"),
    ("aiodataloader", "aiodataloader"),
    ("/policies/", "policies (field checks)"),
    ("/schema/", "schema (our field policy wrappers)"),
    ("/resolvers/", "resolvers"),
    ("/db/", "db (queries, scope SQL)"),
    ("asyncio/", "asyncio (event loop)"),
)


class NoFieldChecks(Authorizer):
    """The real decisions, but no field is checked row by row."""

    @property
    def data_fields(self) -> frozenset[str]:
        return frozenset()


class SeeAll(Scopes):
    """One all-seeing grant: no scope predicate, no grant mask."""

    async def for_principal(self, principal: Principal) -> Scope:
        return Scope((Grant(Everyone(), self.authorizer.groups["all"], ("bench:unchecked",)),))


def _schema(settings: Settings, authorizer: Authorizer) -> Schema:
    return build_schema(
        authorizer=authorizer,
        extensions=[TimePhases],
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_query_tokens,
    )


class Profile:
    def __init__(self, settings: Settings) -> None:
        self.engine = create_engine(settings.database_url, pool_size=4)
        self.keys = KeyRing.load(settings.keys_dir, create=False)
        self.authenticator = Authenticator(settings, self.keys, self.engine)
        authorizer = Authorizer()
        self.schema = _schema(settings, authorizer)
        self.scopes = Scopes(authorizer, self.engine, ttl_seconds=600)
        self.open_schema = _schema(settings, NoFieldChecks())
        self.open_scopes = SeeAll(authorizer, self.engine, ttl_seconds=600)
        log = ReceiptLog(self.engine, self.keys, log_id=settings.issuer)
        self.receipts = Receipts(log, self.keys, self.engine, issuer=settings.issuer, policy_version=authorizer.version)
        self.samples: dict[str, list[float]] = {}
        self.gc_ms: list[float] = []  # garbage collection per round (both variants, the receipt)

    async def setup(self) -> None:
        async with self.engine.connect() as conn:
            ministry = (await conn.exec_driver_sql("SELECT min(id) FROM unit WHERE kind = 'MINISTRY'")).scalar_one()
            assert await accounts.get_by_username(conn, PARTNER) is not None
        self.variables = {"unit": str(ministry)}
        self.authorization = f"Bearer {self.authenticator.issue(PARTNER)}"

    def _add(self, name: str, seconds: float) -> None:
        self.samples.setdefault(name, []).append(seconds * 1000)

    async def _timed(self, name: str, step: Callable[[], Awaitable[Any]]) -> Any:
        started = time.perf_counter()
        value = await step()
        self._add(name, time.perf_counter() - started)
        return value

    async def _execute(self, schema: Any, scopes: Scopes, principal: Principal) -> tuple[Any, RequestContext, Any]:
        scope = await scopes.for_principal(principal)
        context = RequestContext(principal=principal, engine=self.engine, scope=scope, scopes=scopes)
        with timing(True) as timed:
            result = await schema.execute(PARTNER_LIST, variable_values=self.variables, context_value=context)
        assert not result.errors, result.errors
        return result, context, timed

    async def request(self, record: bool, open_first: bool) -> None:
        """One partner list, phase by phase, as the gateway serves it."""
        started = time.perf_counter()
        principal = await self.authenticator.from_authorization(self.authorization)
        await self.scopes.for_principal(principal)
        auth = time.perf_counter() - started
        # The two variants take turns going first: whichever runs first pays for the garbage and the
        # scheduling the previous round left behind.
        if open_first:
            _, _, open_timed = await self._execute(self.open_schema, self.open_scopes, principal)
        result, context, timed = await self._execute(self.schema, self.scopes, principal)
        if not open_first:
            _, _, open_timed = await self._execute(self.open_schema, self.open_scopes, principal)
        phase = time.perf_counter()
        orjson.dumps({"data": result.data})
        serialize = time.perf_counter() - phase
        phase = time.perf_counter()
        digest = canonical_sha256(result.data)
        canonical = time.perf_counter() - phase
        operation = Operation(PARTNER_LIST, self.variables, "PartnerList", "query")
        draft = draft_for(principal, context.scope, context.exposed, operation, kind="response", data_sha256=digest)
        payload = self.receipts.payload(draft)
        phase = time.perf_counter()
        self.keys.sign_compact(canonical_json(payload | {"log_index": 0}), typ=RECEIPT_TYP)
        sign = time.perf_counter() - phase
        phase = time.perf_counter()
        with db_work.measure() as appended:
            await self.receipts.append(payload, draft)
        append = time.perf_counter() - phase
        if not record:
            return
        execute, sql = timed.phases["execute"], timed.database.seconds
        open_execute, open_sql = open_timed.phases["execute"], open_timed.database.seconds
        # CPU beyond SQL, policy on against off: the per-field checks and building the scope's SQL.
        authorization = (execute - sql) - (open_execute - open_sql)
        for name, seconds in (
            ("token and scope (cached)", auth),
            ("parse (cached document)", timed.phases.get("parse", 0.0)),
            ("validate (cached)", timed.phases.get("validate", 0.0)),
            ("SQL: waiting on statements (policy off)", open_sql),
            ("SQL: the scope's predicate and grant mask (policy on − off)", sql - open_sql),
            ("authorization: field checks, scope SQL building (CPU, policy on − off)", authorization),
            (
                "field resolution: the compiled plan writing its rows, or the resolver tree (CPU, policy off)",
                open_execute - open_sql,
            ),
            ("serialisation (orjson)", serialize),
            ("receipt: canonical JSON + SHA-256 of the data", canonical),
            ("receipt: signing (ES256)", sign),
            ("receipt: durable append (log transaction, commit)", append - sign),
        ):
            self._add(name, seconds)
        self.samples.setdefault("statements", []).append(timed.database.statements + appended.statements)

    async def run(self, rounds: int) -> None:
        await self.setup()
        collecting: list[float] = []

        def on_gc(phase: str, _: dict[str, int]) -> None:
            collecting.append(time.perf_counter() if phase == "start" else -time.perf_counter())

        gc.callbacks.append(on_gc)
        try:
            for i in range(WARMUP + rounds):
                collecting.clear()
                await self.request(record=i >= WARMUP, open_first=i % 2 == 1)
                if i >= WARMUP:  # start and stop times, signed: their sum is minus the time spent
                    self.gc_ms.append(-sum(collecting) * 1000)
        finally:
            gc.callbacks.remove(on_gc)

    async def cprofile(self, rounds: int) -> pstats.Stats:
        principal = await self.authenticator.from_authorization(self.authorization)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(rounds):
            await self._execute(self.schema, self.scopes, principal)
        profiler.disable()
        return pstats.Stats(profiler)


def _by_package(stats: pstats.Stats) -> list[tuple[str, float]]:
    totals: dict[str, float] = {}
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]  # pstats keeps its table there; typeshed omits it
    for (filename, _, _), (_, _, tottime, _, _) in raw.items():
        name = next((label for needle, label in PACKAGES if needle in filename), "other (Python built-ins, C)")
        totals[name] = totals.get(name, 0.0) + tottime
    return sorted(totals.items(), key=lambda item: -item[1])


def markdown(profile: Profile, rounds: int, stats: pstats.Stats) -> str:
    # Medians: a garbage collection (a few ms) lands on whichever phase is running, and in means it
    # would be charged to the phases that allocate most rather than to the request as a whole.
    medians = {name: statistics.median(values) for name, values in profile.samples.items()}
    statements = medians.pop("statements")
    total = sum(medians.values())
    lines = [
        f"### Partner list, in-process, one request at a time ({rounds} rounds, median ms)",
        "",
        f"{PARTNER} reads 100 officials of one ministry; {statements:.0f} statements per request "
        "(the receipt's append alone in its batch). HTTP (uvicorn, Starlette) is not in this table: "
        "the load run's last column shows it under load.",
        "",
        "| phase | ms | share |",
        "| --- | ---: | ---: |",
        *(f"| {name} | {ms:.2f} | {ms / total:.0%} |" for name, ms in medians.items()),
        f"| **sum of the medians** | **{total:.2f}** | |",
        "",
        f"Garbage collection, spread over the phases above: {statistics.fmean(profile.gc_ms):.2f} ms per round "
        f"on average (a round runs the request twice, policy on and off), in {sum(1 for v in profile.gc_ms if v) / len(profile.gc_ms):.0%} of rounds.",
        "",
        "Inside `execute` (policy on), CPU by package (cProfile's own time; the profiler inflates "
        "code that makes many small calls):",
        "",
        "| package | share |",
        "| --- | ---: |",
    ]
    packages = _by_package(stats)
    cpu = sum(seconds for _, seconds in packages)
    lines += [f"| {name} | {seconds / cpu:.0%} |" for name, seconds in packages]
    return "\n".join(lines)


async def _main(rounds: int) -> str:
    settings = Settings()
    profile = Profile(settings)
    try:
        await profile.run(rounds)
        stats = await profile.cprofile(max(10, rounds // 4))
    finally:
        await profile.engine.dispose()
    return markdown(profile, rounds, stats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    print(asyncio.run(_main(args.rounds)))


if __name__ == "__main__":
    main()
