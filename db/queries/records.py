"""Child records of officials (training, work history, family, …), read through the owner's scope.

One function serves every child table: the tables differ only in their columns, and the scope is
applied the same way to all of them, by joining the owning official.
"""

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from sqlalchemy import Row, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.catalog import RecordKind
from db.models import (
    Discipline,
    Evaluation,
    FamilyMember,
    Reward,
    SalaryHistory,
    Training,
    WorkHistory,
    table_of,
)
from db.scoping import OFFICIAL, Scope, official_filter

# Each kind with the column its rows are listed by (oldest first, as the CV prints them).
_TABLES: Mapping[str, tuple[Table, str]] = MappingProxyType(
    {
        "work_history": (table_of(WorkHistory), "from_date"),
        "training": (table_of(Training), "from_date"),
        "salary_history": (table_of(SalaryHistory), "effective_date"),
        "family": (table_of(FamilyMember), "id"),
        "rewards": (table_of(Reward), "year"),
        "disciplines": (table_of(Discipline), "year"),
        "evaluations": (table_of(Evaluation), "year"),
    }
)


def table_of_kind(kind: RecordKind) -> tuple[Table, str]:
    """The table of a kind of child record, and the column its rows are listed by (then by id)."""
    return _TABLES[kind]


async def list_by_officials(
    conn: AsyncConnection, *, scope: Scope, kind: RecordKind, official_ids: Sequence[int]
) -> list[Row[Any]]:
    table, order = _TABLES[kind]
    stmt = (
        select(table)
        .join(OFFICIAL, OFFICIAL.c.id == table.c.official_id)
        .where(official_filter(scope), table.c.official_id.in_(sorted(set(official_ids))))
        .order_by(table.c.official_id, table.c[order], table.c.id)
    )
    return list((await conn.execute(stmt)).all())
