from typing import TYPE_CHECKING, Annotated, cast

import strawberry

from resolvers.positions import resolve_position
from resolvers.units import resolve_unit_by_id
from schema.common import Code, Ctx, Parent, code_field, required_code_field
from schema.officials import officials_field

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

    holders = officials_field(
        "Officials holding this position, in the caller's scope", lambda position: {"position_id": int(position.id)}
    )


@strawberry.type
class PositionQueries:
    @strawberry.field
    async def position(self, info: Ctx, id: strawberry.ID) -> Position | None:
        return cast("Position | None", await resolve_position(info.context, id))
