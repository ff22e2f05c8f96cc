"""The Official type (the fields of the Mẫu 2C CV), its connection, and the official queries."""

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from resolvers.officials import resolve_me, resolve_official, resolve_officials
from resolvers.pagination import DEFAULT_PAGE_SIZE, Page
from resolvers.positions import resolve_position_by_id
from resolvers.records import resolve_records
from resolvers.units import resolve_unit_by_id
from schema.common import Code, Ctx, OrderDirection, PageInfo, code_field
from schema.records import (
    Discipline,
    Evaluation,
    FamilyMember,
    Reward,
    SalaryHistoryEntry,
    TrainingEntry,
    WorkHistoryEntry,
)

if TYPE_CHECKING:
    from schema.positions import Position
    from schema.units import Unit

UnitRef = Annotated["Unit", strawberry.lazy("schema.units")]
PositionRef = Annotated["Position", strawberry.lazy("schema.positions")]


@strawberry.enum(description="Loại: cán bộ, công chức, viên chức, người lao động.")
class EmployeeType(Enum):
    CAN_BO = "CAN_BO"
    CONG_CHUC = "CONG_CHUC"
    VIEN_CHUC = "VIEN_CHUC"
    NGUOI_LAO_DONG = "NGUOI_LAO_DONG"


@strawberry.enum
class Gender(Enum):
    NAM = "NAM"
    NU = "NU"


@strawberry.enum
class OfficialStatus(Enum):
    ACTIVE = "ACTIVE"
    ON_LEAVE = "ON_LEAVE"
    RETIRED = "RETIRED"
    TRANSFERRED = "TRANSFERRED"


@strawberry.enum
class OfficialOrderField(Enum):
    NAME = "name"
    CODE = "code"
    BIRTH_DATE = "birth_date"


@strawberry.input
class OfficialOrder:
    field: OfficialOrderField = OfficialOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class OfficialFilter:
    unit: strawberry.ID | None = strawberry.field(
        default=None, description='A unit by code ("BNV", "BNV.VP") or by id ("42").'
    )
    include_subunits: bool = strawberry.field(
        default=True, description="With `unit`: also the units below it (default), or that unit only."
    )
    employee_types: list[EmployeeType] | None = None
    rank_codes: list[str] | None = strawberry.field(default=None, description="Mã ngạch, e.g. 01.003")
    gender: Gender | None = None
    statuses: list[OfficialStatus] | None = None
    birth_year_from: int | None = None
    birth_year_to: int | None = None
    name: str | None = strawberry.field(
        default=None,
        description='Accent-insensitive, by word prefix: "nguyen van a" finds "Nguyễn Văn An".',
    )


def _records(kind: str, item: type, description: str) -> Any:
    async def resolve(root: strawberry.Parent[Any], info: Ctx) -> list[item] | None:  # type: ignore[valid-type]
        return await resolve_records(info.context, kind, root.id)  # type: ignore[arg-type]

    return strawberry.field(resolver=resolve, description=description)


@strawberry.type(
    description="A cán bộ, công chức, viên chức or người lao động: the Mẫu 2C CV. Which fields a caller may "
    "read can differ from one official to the next; a field it may not read is null, with a FORBIDDEN_FIELD "
    "error at its path."
)
class Official:
    id: strawberry.ID
    code: str | None = strawberry.field(description="Số hiệu")
    personal_id: str | None = strawberry.field(description="Số định danh cá nhân (12 digits)")
    full_name: str | None
    other_name: str | None
    birth_date: date | None
    gender: Code | None = code_field("gender", "gender", "Giới tính")
    birthplace: str | None
    hometown: str | None = strawberry.field(description="Quê quán")
    ethnicity: Code | None = code_field("ethnicity", "ethnicity", "Dân tộc")
    religion: Code | None = code_field("religion", "religion", "Tôn giáo")
    permanent_address: str | None
    current_address: str | None
    employee_type: Code | None = code_field("employee_type", "employee_type", "Loại")
    job_title: str | None = strawberry.field(description="Chức vụ hiện tại")
    concurrent_titles: list[str] | None = strawberry.field(description="Chức vụ kiêm nhiệm")
    recruitment_occupation: str | None
    main_duties: str | None
    rank: Code | None = code_field("rank", "rank_code", "Ngạch / chức danh nghề nghiệp (mã ngạch)")
    salary_grade: int | None = strawberry.field(description="Bậc lương")
    salary_coefficient: Decimal | None = strawberry.field(description="Hệ số lương")
    salary_effective_date: date | None
    position_allowance: Decimal | None
    recruitment_date: date | None
    recruiting_agency: str | None
    general_education: str | None = strawberry.field(description='Giáo dục phổ thông, e.g. "12/12"')
    qualification: Code | None = code_field("qualification", "qualification", "Trình độ chuyên môn cao nhất")
    major: str | None
    academic_title: Code | None = code_field("academic_title", "academic_title", "Học hàm")
    political_theory: Code | None = code_field("political_theory", "political_theory", "Lý luận chính trị")
    state_management: Code | None = code_field("state_management", "state_management", "Quản lý nhà nước")
    foreign_languages: str | None
    it_level: str | None
    party_admission_date: date | None
    party_confirmation_date: date | None
    health: str | None
    height_cm: int | None
    weight_kg: int | None
    blood_group: str | None
    social_insurance_number: str | None
    status: Code | None = code_field("status", "status", "Tình trạng")
    version: int | None
    updated_at: datetime | None

    work_history: list[WorkHistoryEntry] | None = _records("work_history", WorkHistoryEntry, "Quá trình công tác")
    training: list[TrainingEntry] | None = _records("training", TrainingEntry, "Đào tạo, bồi dưỡng")
    salary_history: list[SalaryHistoryEntry] | None = _records("salary_history", SalaryHistoryEntry, "Diễn biến lương")
    family_members: list[FamilyMember] | None = _records("family", FamilyMember, "Quan hệ gia đình")
    rewards: list[Reward] | None = _records("rewards", Reward, "Khen thưởng")
    disciplines: list[Discipline] | None = _records("disciplines", Discipline, "Kỷ luật")
    evaluations: list[Evaluation] | None = _records("evaluations", Evaluation, "Đánh giá, xếp loại")

    @strawberry.field(description="Đơn vị công tác")
    async def unit(self, info: Ctx) -> UnitRef | None:
        return await resolve_unit_by_id(info.context, self.unit_id)  # type: ignore[attr-defined,no-any-return]

    @strawberry.field(description="The ministry or province the official's unit belongs to")
    async def top_unit(self, info: Ctx) -> UnitRef | None:
        return await resolve_unit_by_id(info.context, self.top_unit_id)  # type: ignore[attr-defined,no-any-return]

    @strawberry.field(description="Vị trí việc làm")
    async def position(self, info: Ctx) -> PositionRef | None:
        return await resolve_position_by_id(info.context, self.position_id)  # type: ignore[attr-defined,no-any-return]


@strawberry.type
class OfficialEdge:
    cursor: str
    node: Official


@strawberry.type
class OfficialConnection:
    page: strawberry.Private[Page[Any]]

    # The page's officials leave in the response only through `edges` or `nodes`: that is where the
    # receipt counts them (a `totalCount` alone exposes none).
    @strawberry.field
    def edges(self, info: Ctx) -> list[OfficialEdge]:
        info.context.exposed.add_all(self.page.nodes)
        return [OfficialEdge(cursor=c, node=n) for c, n in zip(self.page.cursors, self.page.nodes, strict=True)]

    @strawberry.field
    def nodes(self, info: Ctx) -> list[Official]:
        info.context.exposed.add_all(self.page.nodes)
        return list(self.page.nodes)

    @strawberry.field
    def page_info(self) -> PageInfo:
        cursors = self.page.cursors
        return PageInfo(
            has_next_page=self.page.has_next_page,
            has_previous_page=self.page.has_previous_page,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        )

    @strawberry.field(description="Officials matching the filter in the caller's scope, all pages together.")
    async def total_count(self) -> int:
        return await self.page.count()


async def officials_connection(
    info: Ctx,
    first: int,
    after: str | None,
    filter: OfficialFilter | None,
    order_by: OfficialOrder | None,
    **fixed: Any,
) -> OfficialConnection:
    page = await resolve_officials(info.context, first=first, after=after, filter=filter, order_by=order_by, **fixed)
    return OfficialConnection(page=page)


@strawberry.type
class OfficialQueries:
    @strawberry.field(description="The caller's own record (null for staff and partner accounts).")
    async def me(self, info: Ctx) -> Official | None:
        return await resolve_me(info.context)  # type: ignore[return-value]

    @strawberry.field(
        description="One official by `id` or by `code` (số hiệu, e.g. SH00000001), or null when absent or "
        "outside the caller's scope."
    )
    async def official(self, info: Ctx, id: strawberry.ID | None = None, code: str | None = None) -> Official | None:
        return await resolve_official(info.context, id, code)  # type: ignore[return-value]

    @strawberry.field(
        description=f"Officials in the caller's scope; `first` at most 100 (default {DEFAULT_PAGE_SIZE})."
    )
    async def officials(
        self,
        info: Ctx,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        filter: OfficialFilter | None = None,
        order_by: OfficialOrder | None = None,
    ) -> OfficialConnection:
        return await officials_connection(info, first, after, filter, order_by)
