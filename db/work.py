"""What a request asks of the database: the statements it runs and the time spent waiting on them.

Counted per request through a context variable, which SQLAlchemy carries into the greenlet that runs
the driver, so the engine's cursor events know whose statement they see. Nothing is counted when no
request measures (the CLI, the tests' own set-up): the events then cost one context-variable read.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(slots=True)
class DatabaseWork:
    # Floats: a statement shared by several requests (a group-committed receipt batch) counts as a
    # share for each, time and count, so the shares sum to what the database really ran.
    statements: float = 0.0
    seconds: float = 0.0

    def add_share(self, other: "DatabaseWork", among: int) -> None:
        self.statements += other.statements / among
        self.seconds += other.seconds / among


_current: ContextVar[DatabaseWork | None] = ContextVar("ccvc_database_work", default=None)


def current() -> DatabaseWork | None:
    return _current.get()


@contextmanager
def measure(into: DatabaseWork | None = None) -> Iterator[DatabaseWork]:
    """Count the statements run inside the block (and in tasks it starts) into `into`, or a fresh one."""
    work = into if into is not None else DatabaseWork()
    token = _current.set(work)
    try:
        yield work
    finally:
        _current.reset(token)


def _before(_conn: Any, _cursor: Any, _statement: str, _parameters: Any, context: Any, _many: bool) -> None:
    work = _current.get()
    if work is not None and context is not None:
        work.statements += 1
        context._ccvc_started = perf_counter()


def _after(_conn: Any, _cursor: Any, _statement: str, _parameters: Any, context: Any, _many: bool) -> None:
    work = _current.get()
    started = getattr(context, "_ccvc_started", None)
    if work is not None and started is not None:
        work.seconds += perf_counter() - started


def instrument(engine: AsyncEngine) -> None:
    event.listen(engine.sync_engine, "before_cursor_execute", _before)
    event.listen(engine.sync_engine, "after_cursor_execute", _after)
