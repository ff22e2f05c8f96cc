"""Reads of accounts, for authentication and operator tooling.

Accounts are not officials' records: reading them needs no scope, but only the gateway's own
authentication and CLI call these functions (no GraphQL field exposes an account).
"""

from typing import Any, Final

from sqlalchemy import Row, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Account, Agency, Unit, table_of

ACCOUNT = table_of(Account)
AGENCY = table_of(Agency)
UNIT = table_of(Unit)

_COLUMNS = (
    *ACCOUNT.c,
    UNIT.c.code.label("unit_code"),
    UNIT.c.path.label("unit_path"),
    UNIT.c.top_unit_id.label("top_unit_id"),
    AGENCY.c.code.label("agency_code"),
)


def _select() -> Any:
    return (
        select(*_COLUMNS)
        .outerjoin(UNIT, UNIT.c.id == ACCOUNT.c.unit_id)
        .outerjoin(AGENCY, AGENCY.c.id == ACCOUNT.c.agency_id)
    )


# Built once: every request whose account is not cached runs it, and a kept statement is neither built
# nor given a new cache key by SQLAlchemy (a third of an official's own request, before it was kept).
_BY_USERNAME: Final = _select().where(ACCOUNT.c.username == bindparam("username"))


async def get_by_username(conn: AsyncConnection, username: str) -> Row[Any] | None:
    return (await conn.execute(_BY_USERNAME, {"username": username})).first()


async def list_(conn: AsyncConnection, *, kinds: frozenset[str] = frozenset()) -> list[Row[Any]]:
    stmt = _select()
    if kinds:
        stmt = stmt.where(ACCOUNT.c.kind.in_(sorted(kinds)))
    return list((await conn.execute(stmt.order_by(ACCOUNT.c.kind, ACCOUNT.c.username))).all())
