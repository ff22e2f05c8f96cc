"""Aggregates for dashboards: `workforceStats` and `staffing` (resolvers/aggregates.py says who may
group by what, and when an answer is protected)."""

from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry

from resolvers.aggregates import (
    DIMENSIONS,
    MAX_DIMENSIONS,
    MAX_MONTHS,
    resolve_headcount_history,
    resolve_staffing,
    resolve_workforce_stats,
)
from schema.common import Ctx, Parent, field
from schema.officials import OfficialFilter

if TYPE_CHECKING:
    from schema.positions import Position
    from schema.units import Unit

UnitRef = Annotated["Unit", strawberry.lazy("schema.units")]
PositionRef = Annotated["Position", strawberry.lazy("schema.positions")]

# The dimensions, as resolvers/aggregates.py lists them (one list): an enum built from it.
_DIMENSIONS: Any = Enum("Dimension", [(name, name) for name in DIMENSIONS])  # type: ignore[misc]  # built from the list
_DIMENSION: Any = strawberry.enum(_DIMENSIONS, description="A way to group officials")
if TYPE_CHECKING:
    Dimension = Any
else:
    Dimension = _DIMENSION


@strawberry.type(description="One dimension's value of a bucket: its code and Vietnamese label.")
class StatKey:
    dimension: Dimension
    code: str | None = strawberry.field(
        description="The value's code (a unit's code for TOP_LEVEL_UNIT and UNIT); null where officials have none"
    )
    label: str


@strawberry.type(
    description="Officials sharing the keys' values. In a protected answer (a partner's, or grouped by a field "
    "the caller does not read on each official) a count under the small-cell threshold (CCVC_SMALL_CELL, 5) is "
    "null and `suppressed`, and so are enough others beside it that no total minus the visible counts tells one; "
    "the counts shown are rounded to a multiple of the threshold (at random, unbiased, the same for the same "
    "officials every time)."
)
class StatBucket:
    keys: list[StatKey]
    count: int | None
    suppressed: bool
    average_salary_coefficient: float | None = strawberry.field(
        description="Where the caller reads the coefficient on every official counted, and the count is shown"
    )


@strawberry.type(description="Quota (biên chế) against filled posts.")
class PositionStaffing:
    quota: int
    filled: int
    vacancies: int
    over_quota: int

    @strawberry.field
    def position(self, root: Parent) -> PositionRef:
        return cast("Position", root.position)


@strawberry.type(description="A unit's positions, and their sums.")
class UnitStaffing:
    quota: int
    filled: int
    vacancies: int
    over_quota: int
    positions: list[PositionStaffing]

    @strawberry.field
    def unit(self, root: Parent) -> UnitRef:
        return cast("Unit", root.unit)


@strawberry.type(description="Staffing of a unit (and the units below it): per unit, per position, and in total.")
class Staffing:
    quota: int
    filled: int
    vacancies: int
    over_quota: int
    units: list[UnitStaffing]


@strawberry.type(description="A unit's headcount at the end of one month, as the approved record stood then.")
class HeadcountMonth:
    period: str = strawberry.field(description="YYYY-MM")
    headcount: int | None = strawberry.field(
        description="Officials holding a post (active or on leave) at the month's end; in a protected answer "
        "rounded like any protected count, and null (`suppressed`) under the small-cell threshold"
    )
    joined: int | None = strawberry.field(
        description="Officials the month's approvals brought into the count (null in a protected answer)"
    )
    left: int | None = strawberry.field(
        description="Officials the month's approvals took out of it (null in a protected answer)"
    )
    suppressed: bool


@strawberry.type
class AggregateQueries:
    @field(
        description=f"Officials of the caller's scope counted by 1 to {MAX_DIMENSIONS} dimensions (SQL GROUP BY, the "
        "same rows a page of officials would list), within `unitId` (and below it, by default) and `filter`. "
        "EVALUATION needs `evaluationYear`."
    )
    async def workforce_stats(
        self,
        info: Ctx,
        group_by: list[Dimension],
        filter: OfficialFilter | None = None,
        unit_id: strawberry.ID | None = None,
        include_subtree: bool = True,
        evaluation_year: int | None = None,
    ) -> list[StatBucket]:
        names = [d.value for d in group_by]
        buckets = await resolve_workforce_stats(info.context, names, filter, unit_id, include_subtree, evaluation_year)
        return cast(list[StatBucket], buckets)

    @field(description="Quota, filled, vacancies and over-quota of a unit's positions (and of the units below it).")
    async def staffing(self, info: Ctx, unit_id: strawberry.ID, include_subtree: bool = True) -> Staffing:
        return cast(Staffing, await resolve_staffing(info.context, unit_id, include_subtree))

    @field(
        description=f"A unit's headcount (and below it, by default) at the end of each month from `from` to `to` "
        f"(YYYY-MM, at most {MAX_MONTHS} months, none after this one), from the approved versions of the records; "
        "counted under today's scope."
    )
    async def headcount_history(
        self,
        info: Ctx,
        unit_id: strawberry.ID,
        from_: Annotated[str, strawberry.argument(name="from")],
        to: str,
        include_subtree: bool = True,
    ) -> list[HeadcountMonth]:
        months = await resolve_headcount_history(info.context, unit_id, from_, to, include_subtree)
        return cast(list[HeadcountMonth], months)
