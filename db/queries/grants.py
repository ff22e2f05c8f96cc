"""Written grants: create, revoke, list, and the ones in force for a grantee.

Grants are not officials' records: who may list or manage them is decided by the authorizer
(`manage_grants`), and these functions take the managing units to restrict to instead of a Scope.
"""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, Date, Row, and_, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from db.models import AccessGrant, Account, Unit, table_of

GRANT = table_of(AccessGrant)
ACCOUNT = table_of(Account)
UNIT = table_of(Unit)
_GRANTEE = aliased(ACCOUNT, name="grantee")
_GRANTOR = aliased(ACCOUNT, name="grantor")
_MANAGING = aliased(UNIT, name="managing")


def _select() -> Any:
    return (
        select(
            *GRANT.c,
            _GRANTEE.c.username.label("grantee_username"),
            _GRANTOR.c.username.label("granted_by_username"),
            UNIT.c.path.label("unit_path"),
            UNIT.c.code.label("unit_code"),
            _MANAGING.c.code.label("managing_unit_code"),
            _MANAGING.c.path.label("managing_unit_path"),
        )
        .join(_GRANTEE, _GRANTEE.c.id == GRANT.c.grantee_id)
        .join(_GRANTOR, _GRANTOR.c.id == GRANT.c.granted_by_id)
        .join(_MANAGING, _MANAGING.c.id == GRANT.c.managing_unit_id)
        .outerjoin(UNIT, UNIT.c.id == GRANT.c.unit_id)
    )


def in_force(today: date | ColumnElement[date]) -> ColumnElement[bool]:
    """Not revoked, and `today` (Asia/Ho_Chi_Minh) between the two dates, both included: an expired
    grant stops working by itself, with nobody having to revoke it."""
    return and_(GRANT.c.revoked_at.is_(None), GRANT.c.valid_from <= today, GRANT.c.valid_to >= today)


# Built once, like accounts' lookup: every scope that is not cached reads its grants with it.
_IN_FORCE_FOR: Final = (
    _select()
    .where(GRANT.c.grantee_id == bindparam("grantee_id"), in_force(bindparam("today", type_=Date)))
    .order_by(GRANT.c.id)
)


async def active_for_grantee(conn: AsyncConnection, *, grantee_id: int, today: date) -> list[Row[Any]]:
    return list((await conn.execute(_IN_FORCE_FOR, {"grantee_id": grantee_id, "today": today})).all())


async def count_standing(conn: AsyncConnection, *, grantee_id: int, today: date) -> int:
    """Grants to this account in force today or still to come (neither revoked nor expired)."""
    stmt = (
        select(func.count())
        .select_from(GRANT)
        .where(GRANT.c.grantee_id == grantee_id, GRANT.c.revoked_at.is_(None), GRANT.c.valid_to >= today)
    )
    return int((await conn.execute(stmt)).scalar_one())


async def get(conn: AsyncConnection, *, grant_id: int) -> Row[Any] | None:
    return (await conn.execute(_select().where(GRANT.c.id == grant_id))).first()


async def list_(
    conn: AsyncConnection,
    *,
    managing_unit_ids: frozenset[int] | None,
    grantee_id: int | None = None,
    in_force_on: date | None = None,
    limit: int = 1000,
) -> list[Row[Any]]:
    """Grants of the given managing units (None: all of them), newest first."""
    stmt = _select()
    if managing_unit_ids is not None:
        stmt = stmt.where(GRANT.c.managing_unit_id.in_(sorted(managing_unit_ids)))
    if grantee_id is not None:
        stmt = stmt.where(GRANT.c.grantee_id == grantee_id)
    if in_force_on is not None:
        stmt = stmt.where(in_force(in_force_on))
    return list((await conn.execute(stmt.order_by(GRANT.c.id.desc()).limit(limit))).all())


async def create(
    conn: AsyncConnection,
    *,
    grantee_id: int,
    managing_unit_id: int,
    unit_id: int | None,
    official_ids: Sequence[int] | None,
    fields: Sequence[str],
    valid_from: date,
    valid_to: date,
    document_number: str,
    granted_by_id: int,
    now: datetime,
) -> int:
    stmt = insert(GRANT).values(
        grantee_id=grantee_id,
        managing_unit_id=managing_unit_id,
        unit_id=unit_id,
        official_ids=sorted(official_ids) if official_ids is not None else None,
        fields=" ".join(fields),
        valid_from=valid_from,
        valid_to=valid_to,
        document_number=document_number,
        granted_by_id=granted_by_id,
        created_at=now,
    )
    result = await conn.execute(stmt.returning(GRANT.c.id))
    return int(result.scalar_one())


async def revoke(conn: AsyncConnection, *, grant_id: int, revoked_by_id: int, now: datetime) -> bool:
    """Marks the grant revoked; False when it was already revoked (the first revocation stands)."""
    stmt = (
        update(GRANT)
        .where(GRANT.c.id == grant_id, GRANT.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by_id=revoked_by_id)
    )
    return (await conn.execute(stmt)).rowcount == 1
