"""Partner agencies, their registered public keys, and the client assertions they have already used.

Like accounts, these are read before any scope exists (they are how a partner authenticates), so no
function here takes one; only the gateway's authentication and CLI call them.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Account, Agency, AgencyKey, UsedAssertion, table_of
from db.queries import keys

AGENCY = table_of(Agency)
ACCOUNT = table_of(Account)
AGENCY_KEY = table_of(AgencyKey)
USED_ASSERTION = table_of(UsedAssertion)


async def get_by_code(conn: AsyncConnection, code: str) -> Row[Any] | None:
    return (await conn.execute(select(AGENCY).where(AGENCY.c.code == code))).first()


async def list_(conn: AsyncConnection) -> list[Row[Any]]:
    return list((await conn.execute(select(AGENCY).order_by(AGENCY.c.code))).all())


async def account_for_agency(conn: AsyncConnection, *, agency_id: int) -> str | None:
    """The username the agency signs in as (its enabled kind='agency' account), or None."""
    stmt = select(ACCOUNT.c.username).where(
        ACCOUNT.c.agency_id == agency_id, ACCOUNT.c.kind == "agency", ACCOUNT.c.disabled.is_(False)
    )
    return (await conn.execute(stmt.order_by(ACCOUNT.c.id).limit(1))).scalar_one_or_none()


async def add_key(
    conn: AsyncConnection, *, agency_id: int, kid: str, public_jwk: dict[str, str], now: datetime
) -> None:
    """Register a public key. `kid` is unique across agencies: one key pair, one agency."""
    await keys.add(conn, AGENCY_KEY, owner="agency_id", owner_id=agency_id, kid=kid, public_jwk=public_jwk, now=now)


async def revoke_key(conn: AsyncConnection, *, kid: str, now: datetime) -> bool:
    """Revoke an active key; False when no active key has this kid."""
    return await keys.revoke(conn, AGENCY_KEY, kid=kid, now=now)


async def active_keys(conn: AsyncConnection, *, agency_id: int) -> dict[str, dict[str, str]]:
    """kid -> public JWK of every key of the agency that is not revoked."""
    return await keys.active(conn, AGENCY_KEY, owner="agency_id", owner_id=agency_id)


async def active_kids(conn: AsyncConnection) -> dict[int, list[str]]:
    """agency id -> kids of its active keys, for every agency at once (operator listing)."""
    stmt = select(AGENCY_KEY.c.agency_id, AGENCY_KEY.c.kid).where(AGENCY_KEY.c.revoked_at.is_(None))
    kids: dict[int, list[str]] = {}
    for row in await conn.execute(stmt.order_by(AGENCY_KEY.c.created_at, AGENCY_KEY.c.kid)):
        kids.setdefault(row.agency_id, []).append(row.kid)
    return kids


async def record_assertion(
    conn: AsyncConnection, *, agency_id: int, jti: str, expires_at: datetime, now: datetime
) -> bool:
    """Remember a client assertion's jti until it expires; False when it was already used.

    The primary key (agency_id, jti) decides, so two gateway replicas racing on the same assertion
    cannot both accept it. Rows past their expiry are deleted here: an expired assertion is refused
    on its `exp` anyway, so its jti no longer needs remembering, and the table stays small.
    """
    await conn.execute(delete(USED_ASSERTION).where(USED_ASSERTION.c.expires_at < now))
    try:
        # A savepoint: on PostgreSQL a failed INSERT would otherwise abort the whole transaction.
        async with conn.begin_nested():
            await conn.execute(insert(USED_ASSERTION).values(agency_id=agency_id, jti=jti, expires_at=expires_at))
    except IntegrityError:
        return False
    return True
