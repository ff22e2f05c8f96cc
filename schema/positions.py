from typing import TYPE_CHECKING, Annotated, cast

import strawberry

from resolvers.pagination import DEFAULT_PAGE_SIZE
from resolvers.positions import resolve_position
from resolvers.units import resolve_unit_by_id
from schema.common import Code, Ctx, Parent, code_field, field, required_code_field
from schema.officials import OfficialConnection, OfficialFilter, OfficialOrder, officials_connection

if TYPE_CHECKING:
    from schema.units import Unit

UnitRef = Annotated["Unit", strawberry.lazy("schema.units")]


@strawberry.type(description="Vị trí việc làm, with its staffing quota (biên chế).")
class Position:
    id: strawberry.ID
    code: str
    title: str
    category: Code = required_code_field("position_category", "category", "Nhóm vị trí việc làm")
    quota: int = strawberry.field(description="Biên chế: the number of posts approved")
    required_rank: Code | None = code_field("rank", "required_rank", "Ngạch tối thiểu")

    @strawberry.field
    async def unit(self, info: Ctx, root: Parent) -> UnitRef:
        return cast("Unit", await resolve_unit_by_id(info.context, root.unit_id))

    @field(description="Officials holding this position, in the caller's scope")
    async def holders(
        self,
        info: Ctx,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        filter: OfficialFilter | None = None,
        order_by: OfficialOrder | None = None,
    ) -> OfficialConnection:
        return await officials_connection(info, first, after, filter, order_by, position_id=int(self.id))


@strawberry.type
class PositionQueries:
    @strawberry.field
    async def position(self, info: Ctx, id: strawberry.ID) -> Position | None:
        return cast("Position | None", await resolve_position(info.context, id))
