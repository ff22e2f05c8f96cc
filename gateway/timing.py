"""Where a request's time went, as a W3C Server-Timing header (`CCVC_SERVER_TIMING`).

Phases, in milliseconds: `auth` (token and scope), `parse`, `validate`, `execute` (resolvers, SQL
included), `serialize` (error shaping and JSON), `canonical` and `receipt` (the receipt's hash, then its
signing and durable append), `total` (from the token check to the encoded body), and `sql`: the time
spent waiting on statements anywhere in the request (the account and grant lookups of `auth` too),
with their count in `desc`; `path` says which read path answered (`desc` "compiled" for one statement
shaped by the planner, "resolvers" for the resolver tree). A receipt batch's statements and time are shared among the requests it
carried, so summed over many responses the counts are what the database ran (transaction control,
which SQLAlchemy does not report as statements, aside). Under load a wait includes the event loop's
delay in coming back to the request. Development turns the header on; elsewhere it is off unless
asked for, since timings tell an outsider something about the data behind them, and it is never sent
to a caller that failed authentication.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from time import perf_counter

from strawberry.extensions import SchemaExtension

from db import work as db_work
from db.work import DatabaseWork

HEADER = "server-timing"


@dataclass(slots=True)
class RequestTiming:
    started: float = field(default_factory=perf_counter)
    phases: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    database: DatabaseWork = field(default_factory=DatabaseWork)

    def add(self, phase: str, seconds: float) -> None:
        self.phases[phase] = self.phases.get(phase, 0.0) + seconds

    def header(self) -> str:
        parts = [f"{name};dur={seconds * 1000:.3f}" for name, seconds in self.phases.items()]
        parts.append(f'sql;dur={self.database.seconds * 1000:.3f};desc="{self.database.statements:g}"')
        parts.extend(f'{name};desc="{text}"' for name, text in self.notes.items())
        parts.append(f"total;dur={(perf_counter() - self.started) * 1000:.3f}")
        return ", ".join(parts)


_current: ContextVar[RequestTiming | None] = ContextVar("ccvc_request_timing", default=None)


@contextmanager
def timing(enabled: bool) -> Iterator[RequestTiming | None]:
    """Time the request run inside the block; yields None (and costs nothing more) when disabled."""
    if not enabled:
        yield None
        return
    request = RequestTiming()
    token = _current.set(request)
    try:
        with db_work.measure(into=request.database):
            yield request
    finally:
        _current.reset(token)


@contextmanager
def phase(name: str) -> Iterator[None]:
    request = _current.get()
    if request is None:
        yield
        return
    started = perf_counter()
    try:
        yield
    finally:
        request.add(name, perf_counter() - started)


class TimePhases(SchemaExtension):
    """Times strawberry's own phases into the request's Server-Timing (no per-field hook: that would
    cost time on every field of every row)."""

    def on_parse(self) -> Iterator[None]:
        with phase("parse"):
            yield

    def on_validate(self) -> Iterator[None]:
        with phase("validate"):
            yield

    def on_execute(self) -> Iterator[None]:
        with phase("execute"):
            yield
