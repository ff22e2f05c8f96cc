"""Announced maintenance: `maintenanceWindows` for anyone with a token, `announceMaintenance` and
`cancelMaintenance` for the national administrator (resolvers/maintenance.py). During a window the
gateway answers reads only (gateway/maintenance.py)."""

from datetime import datetime

import strawberry

from resolvers.maintenance import (
    Window,
    resolve_announce_maintenance,
    resolve_cancel_maintenance,
    resolve_maintenance_windows,
    wall_clock,
)
from schema.common import Ctx, field, mutation


@strawberry.type(description="An announced maintenance window: the gateway answers reads only from `start` to `end`.")
class MaintenanceWindow:
    id: strawberry.ID
    start: datetime = strawberry.field(description="When writes stop (UTC)")
    end: datetime = strawberry.field(description="When writes are answered again (UTC)")
    reason: str = strawberry.field(description="What is done, and what it affects")

    @field(description="Whether the window is in effect now: writes are answered 503 MAINTENANCE")
    def in_effect(self) -> bool:
        return self.start <= wall_clock() < self.end


def _shown(window: Window) -> MaintenanceWindow:
    return MaintenanceWindow(id=strawberry.ID(str(window.id)), start=window.start, end=window.end, reason=window.reason)


@strawberry.type
class MaintenanceQueries:
    @field(
        description="The announced maintenance windows in effect or to come, soonest first (at most 20). "
        "During one the gateway answers reads only: every mutation gets 503 MAINTENANCE with Retry-After."
    )
    async def maintenance_windows(self, info: Ctx) -> list[MaintenanceWindow]:
        return [_shown(window) for window in await resolve_maintenance_windows(info.context)]


@strawberry.type
class MaintenanceMutations:
    @mutation(
        description="Announce a maintenance window (national administrator): from `start` (now or later, with "
        "its offset) to `end`, at most 24 hours, the gateway answers reads only. Every gateway process "
        "follows within seconds. `reason` says what is done and what it affects (5 to 300 characters)."
    )
    async def announce_maintenance(self, info: Ctx, start: datetime, end: datetime, reason: str) -> MaintenanceWindow:
        return _shown(await resolve_announce_maintenance(info.context, start, end, reason))

    @mutation(
        description="Cancel a window not ended yet (national administrator); one in effect ends at once. "
        "Answered during maintenance too, as announcing is."
    )
    async def cancel_maintenance(self, info: Ctx, id: strawberry.ID) -> MaintenanceWindow:
        return _shown(await resolve_cancel_maintenance(info.context, id))
