from enum import Enum
from typing import TYPE_CHECKING, Annotated, cast

import strawberry

from resolvers.positions import resolve_unit_positions
from resolvers.units import resolve_children, resolve_unit, resolve_unit_by_id, resolve_units
from schema.common import Code, Ctx, Parent, field, required_code_field
from schema.officials import officials_field

if TYPE_CHECKING:
    from schema.positions import Position

PositionRef = Annotated["Position", strawberry.lazy("schema.positions")]


@strawberry.enum
class UnitKind(Enum):
    MINISTRY = "MINISTRY"
    PROVINCE = "PROVINCE"
    DEPARTMENT = "DEPARTMENT"
    DIVISION = "DIVISION"
    PUBLIC_SERVICE_UNIT = "PUBLIC_SERVICE_UNIT"


@strawberry.type(description="Đơn vị: a ministry or province, or a unit below one.")
class Unit:
    id: strawberry.ID
    code: str = strawberry.field(description="Begins with the parent's code: BNV, BNV.VP, BNV.VP.P1")
    name: str
    kind: Code = required_code_field("unit_kind", "kind", "Loại đơn vị")
    level: int = strawberry.field(description="1 for ministries and provinces")
    path: str = strawberry.field(description='Codes from the top: "/BNV/BNV.VP/"')

    @strawberry.field
    async def parent(self, info: Ctx, root: Parent) -> "Unit | None":
        return cast("Unit | None", await resolve_unit_by_id(info.context, root.parent_id))

    @field(description="The ministry or province this unit belongs to")
    async def top_unit(self, info: Ctx, root: Parent) -> "Unit":
        return cast("Unit", await resolve_unit_by_id(info.context, root.top_unit_id))

    @strawberry.field
    async def children(self, info: Ctx) -> list["Unit"]:
        return cast("list[Unit]", await resolve_children(info.context, int(self.id)))

    @field(description="Vị trí việc làm of this unit")
    async def positions(self, info: Ctx) -> list[PositionRef]:
        return cast("list[Position]", await resolve_unit_positions(info.context, int(self.id)))

    officials = officials_field(
        "Officials of this unit, and of the units below it unless the filter says otherwise",
        lambda unit: {"unit": unit.id},
    )


@strawberry.type
class UnitQueries:
    @field(description="A unit by id or by code.")
    async def unit(self, info: Ctx, id: strawberry.ID | None = None, code: str | None = None) -> Unit | None:
        return cast("Unit | None", await resolve_unit(info.context, id, code))

    @field(description="Children of `parent`, or the ministries and provinces without it.")
    async def units(self, info: Ctx, parent: strawberry.ID | None = None, kind: UnitKind | None = None) -> list[Unit]:
        return cast("list[Unit]", await resolve_units(info.context, parent, kind.value if kind else None))
