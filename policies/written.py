"""Written rights as policy lines: a principal's grants and its agency's agreements in force today,
read from the database; and the per-process cache of each principal's Scope."""

import time
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Final

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.engine import reading
from db.queries import agreements, grants
from db.scoping import Scope
from policies.authorizer import Authorizer
from policies.principal import Principal
from policies.rules import READ, PolicyLine

# Grant dates are calendar dates in Vietnam (UTC+7 all year, no daylight saving time).
VIETNAM: Final = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")


def today() -> date:
    return datetime.now(UTC).astimezone(VIETNAM).date()


def grant_relation(row: Row[Any]) -> str:
    if row.unit_id is not None:
        return f"units:{row.unit_path}"
    return "officials:" + " ".join(str(i) for i in sorted(row.official_ids or ()))


def agreement_relation(row: Row[Any]) -> str:
    if row.top_unit_ids is None:
        return "all"
    return "top_units:" + " ".join(str(i) for i in sorted(row.top_unit_ids))


def _lines(subject: str, relation: str, fields: str, basis: str) -> Iterable[PolicyLine]:
    return (PolicyLine(subject, relation, name, READ, basis) for name in fields.split())


async def written_lines(conn: AsyncConnection, principal: Principal, on: date) -> list[PolicyLine]:
    lines: list[PolicyLine] = []
    for row in await grants.active_for_grantee(conn, grantee_id=principal.account_id, today=on):
        basis = f"grant:{row.id}:{row.document_number}"
        lines.extend(_lines(principal.subject, grant_relation(row), row.fields, basis))
    if principal.agency_id is not None:
        for row in await agreements.active_for_agency(conn, agency_id=principal.agency_id, today=on):
            basis = f"agreement:{row.id}:{row.document_number}"
            lines.extend(_lines(f"agency:{principal.agency_code}", agreement_relation(row), row.fields, basis))
    return lines


class Scopes:
    """Each principal's Scope, kept for a few seconds: a busy partner sends many requests a second,
    and each would otherwise read its grants again. A grant or revocation made through this process
    is seen at once (`forget`); one made elsewhere within `ttl_seconds`."""

    def __init__(self, authorizer: Authorizer, engine: AsyncEngine, *, ttl_seconds: float) -> None:
        self.authorizer = authorizer
        self.engine = engine
        self.ttl_seconds = ttl_seconds
        self._cache: dict[Principal, tuple[float, Scope]] = {}
        # Bumped by `forget`: a scope read while a grant changed must not be cached after the change.
        self._generation = 0

    async def for_principal(self, principal: Principal) -> Scope:
        now = time.monotonic()
        cached = self._cache.get(principal)
        if cached is not None and cached[0] > now:
            return cached[1]
        generation = self._generation
        async with reading(self.engine) as conn:
            written = await written_lines(conn, principal, today())
        scope = self.authorizer.scope_for(principal, written)
        if len(self._cache) > 10_000:
            self._cache.clear()
        if generation == self._generation:
            self._cache[principal] = (now + self.ttl_seconds, scope)
        return scope

    def forget(self) -> None:
        self._generation += 1
        self._cache.clear()
