"""Subscriptions over WebSocket (graphql-transport-ws only): approvals as they happen, and the units
whose numbers they changed (resolvers/events.py says how events travel; resolvers/aggregates.py who
may follow what)."""

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry

from resolvers.aggregates import approval_events, workforce_changes
from resolvers.events import ApprovalEvent as Event
from resolvers.units import resolve_unit_by_id
from schema.common import Ctx, field, subscription

if TYPE_CHECKING:
    from schema.units import Unit

UnitRef = Annotated["Unit", strawberry.lazy("schema.units")]


@strawberry.type(description="A unit's monthly batch approved (signed by its approver).")
class ApprovalEvent:
    approval_id: strawberry.ID
    period: str
    change_count: int
    approved_by: str
    approved_at: datetime
    unit_id: strawberry.ID = strawberry.field(description="The approved batch's unit")

    @field(description="The approved batch's unit")
    async def unit(self, info: Ctx) -> UnitRef | None:
        return cast("Unit | None", await resolve_unit_by_id(info.context, int(self.unit_id)))


@strawberry.type(description="An approval changed the numbers of the unit followed: read its aggregates again.")
class WorkforceChange:
    unit_id: strawberry.ID = strawberry.field(description="The unit followed")
    period: str
    approval_id: strawberry.ID


def _event(event: Event) -> ApprovalEvent:
    return ApprovalEvent(
        approval_id=strawberry.ID(str(event.approval_id)),
        period=event.period,
        change_count=event.change_count,
        approved_by=event.approved_by,
        approved_at=event.approved_at,
        unit_id=strawberry.ID(str(event.unit_id)),
    )


@strawberry.type
class Subscription:
    @subscription(
        description="Approvals of the unit's batches, and of units above or below it, as they commit; for whoever "
        "sees the unit's batches (approvalBatch)"
    )
    async def approval_events(self, info: Ctx, unit_id: strawberry.ID) -> AsyncGenerator[ApprovalEvent, None]:
        async for event in approval_events(info.context, unit_id):
            yield _event(event)

    @subscription(
        description="Each approval that changed the unit's numbers (an official of it, before or after, in a field "
        "aggregates count); for whoever may count its officials"
    )
    async def workforce_changed(self, info: Ctx, unit_id: strawberry.ID) -> AsyncGenerator[WorkforceChange, None]:
        async for event, unit in workforce_changes(info.context, unit_id):
            yield WorkforceChange(
                unit_id=strawberry.ID(str(unit.id)),
                period=event.period,
                approval_id=strawberry.ID(str(event.approval_id)),
            )
