"""Liveness and readiness: `/healthz` says the process answers; `/readyz` says whether it can serve,
naming each check (the database answers, its schema is the revision this code was written for, a
signing key is loaded), so that an operator or a load balancer sees which one failed."""

import logging
from typing import Final

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from db import migrate
from db.engine import unavailable
from db.events import Listener
from evidence.crypto import KeyRing
from gateway.budgets import Budgets
from gateway.maintenance import Maintenance

log = logging.getLogger("ccvc.health")

OK: Final = "ok"


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": OK})


class Readiness:
    def __init__(
        self,
        engine: AsyncEngine,
        keys: KeyRing,
        *,
        retry_after: int,
        listener: Listener | None = None,
        budgets: Budgets | None = None,
        maintenance: Maintenance | None = None,
    ) -> None:
        self.engine = engine
        self.keys = keys
        self.retry_after = retry_after
        self.listener = listener
        self.budgets = budgets
        self.maintenance = maintenance
        self.head = migrate.head()  # the revision this code needs, read once

    async def respond(self, _: Request) -> Response:
        checks = {**await self._database(), "keys": self._keys()}
        failed = [name for name, outcome in checks.items() if outcome != OK]
        if not failed:
            if self.budgets is not None:
                await self.budgets.buckets.check()  # bounded; only when a check of Redis is due
            ready: dict[str, object] = {"status": "ready", "checks": checks, "degraded": self._degraded()}
            # Ready during announced maintenance (reads continue), and saying so: writes get 503 until `until`.
            if self.maintenance is not None and (window := await self.maintenance.readiness()) is not None:
                ready["maintenance"] = window
            return JSONResponse(ready)
        log.warning("Not ready: %s", "; ".join(f"{name}: {checks[name]}" for name in failed))
        # The error shape every 503 of the gateway has (SERVICE_UNAVAILABLE, Retry-After), with the checks.
        error = {"message": f"Not ready: {', '.join(failed)}", "extensions": {"code": "SERVICE_UNAVAILABLE"}}
        body = {"errors": [error], "status": "not ready", "checks": checks}
        return Response(
            orjson.dumps(body),
            status_code=503,
            media_type="application/json",
            headers={"Retry-After": str(self.retry_after)},
        )

    async def _database(self) -> dict[str, str]:
        """The database answers, and its schema is at the revision this code needs."""
        try:
            async with self.engine.connect() as conn:
                revision = await _revision(conn)
        except Exception as error:
            if not unavailable(error):
                raise
            return {"database": f"not answering ({type(error).__name__})", "migrations": "not checked"}
        if revision is None:
            return {"database": OK, "migrations": "no schema: run `ccvc db upgrade`"}
        # A schema ahead of this code is a rolling upgrade under way (the new release migrated first,
        # backwards-compatibly): this process serves until it is replaced. Behind it, it cannot.
        if revision != self.head and not migrate.later_than_head(revision):
            return {"database": OK, "migrations": f"at {revision}, this gateway needs {self.head}: `ccvc db upgrade`"}
        return {"database": OK, "migrations": OK}

    def _degraded(self) -> dict[str, str]:
        """What still serves, less well: not a reason to take the process out of the load balancer."""
        degraded: dict[str, str] = {}
        if self.listener is not None and not self.listener.connected.is_set():
            degraded = {
                "events": "not listening (reconnecting): other processes' approvals do not reach subscribers here"
            }
        return degraded | (self.budgets.degraded() if self.budgets is not None else {})

    def _keys(self) -> str:
        """A process runs only with a loaded ring (create_app refuses to start without an active key); a
        rotation by `ccvc keys rotate` is picked up here too (a broken one is logged, the ring kept)."""
        self.keys.refresh()
        return OK


async def _revision(conn: AsyncConnection) -> str | None:
    if not await migrate.has_version_table(conn):
        return None
    revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    return None if revision is None else str(revision)
