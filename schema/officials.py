"""The Official type (the fields of the Mẫu 2C CV), its connection, and the official queries."""

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Final, cast

import strawberry
from graphql import GraphQLObjectType, GraphQLSchema

from db.catalog import OFFICIAL
from resolvers.audit import resolve_access_log
from resolvers.changes import MAX_HISTORY, resolve_history, resolve_official_changes
from resolvers.cv import resolve_cv
from resolvers.officials import resolve_me, resolve_official, resolve_officials
from resolvers.pagination import DEFAULT_PAGE_SIZE, Page
from resolvers.positions import resolve_position_by_id
from resolvers.records import resolve_records
from resolvers.units import resolve_unit_by_id
from schema.audit import AccessLogConnection, access_log
from schema.changes import PendingChange, RecordVersion, record_versions
from schema.common import Code, Ctx, OrderDirection, PageInfo, Parent, code_field, field
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
    from schema.exports import Export
    from schema.positions import Position
    from schema.units import Unit

UnitRef = Annotated["Unit", strawberry.lazy("schema.units")]
ExportRef = Annotated["Export", strawberry.lazy("schema.exports")]
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


def _of(name: str, item: type | None = None) -> Any:
    """The strawberry field for the catalog's field `name`; `item` is the GraphQL type of child records."""
    entry = OFFICIAL[name]
    if entry.kind == "code":
        return code_field(entry.codes or "", entry.column, entry.description or "")
    if entry.kind == "records":
        kind = entry.records
        assert kind is not None  # the catalog names the kind of every records field

        # The item type is the record kind's, chosen here at run time: strawberry reads the annotation
        # when the type is built, and mypy cannot check a type held in a variable.
        async def resolve(root: Parent, info: Ctx) -> list[item] | None:  # type: ignore[valid-type]
            return await resolve_records(info.context, kind, root.id)

        return strawberry.field(resolver=resolve, description=entry.description)
    return strawberry.field(description=entry.description)


def _described(name: str) -> str:
    return OFFICIAL[name].description or ""


# Fields of Official about the record rather than its data: the id that names it, the changes waiting
# for approval, the versions approvals made, its CV, who read it. Not in the catalog; the compiled path leaves them to the
# resolver tree (counted).
ABOUT_THE_RECORD: Final = frozenset({"id", "pendingChanges", "history", "cv", "accessLog"})


def held_to_catalog(schema: GraphQLSchema) -> None:
    """The Official type has exactly the catalog's fields (and those about the record)."""
    official = schema.type_map["Official"]
    assert isinstance(official, GraphQLObjectType)
    declared = set(official.fields) - ABOUT_THE_RECORD
    listed = set(OFFICIAL)
    if declared != listed:
        raise TypeError(
            f"schema/officials.py and db/catalog.py disagree: only in the schema {sorted(declared - listed)}, "
            f"only in the catalog {sorted(listed - declared)}"
        )


@strawberry.type(
    description="A cán bộ, công chức, viên chức or người lao động: the Mẫu 2C CV. Which fields a caller may "
    "read can differ from one official to the next; a field it may not read is null, with a FORBIDDEN_FIELD "
    "error at its path."
)
class Official:
    # Each field is the one list's (db.catalog): its code list, column and description come from there,
    # and the schema is not built unless this type has exactly the catalog's fields (held_to_catalog).
    id: strawberry.ID
    code: str | None = _of("code")
    personal_id: str | None = _of("personalId")
    full_name: str | None = _of("fullName")
    other_name: str | None = _of("otherName")
    birth_date: date | None = _of("birthDate")
    gender: Code | None = _of("gender")
    birthplace: str | None = _of("birthplace")
    hometown: str | None = _of("hometown")
    ethnicity: Code | None = _of("ethnicity")
    religion: Code | None = _of("religion")
    permanent_address: str | None = _of("permanentAddress")
    current_address: str | None = _of("currentAddress")
    employee_type: Code | None = _of("employeeType")
    job_title: str | None = _of("jobTitle")
    concurrent_titles: list[str] | None = _of("concurrentTitles")
    recruitment_occupation: str | None = _of("recruitmentOccupation")
    main_duties: str | None = _of("mainDuties")
    rank: Code | None = _of("rank")
    salary_grade: int | None = _of("salaryGrade")
    salary_coefficient: Decimal | None = _of("salaryCoefficient")
    salary_effective_date: date | None = _of("salaryEffectiveDate")
    position_allowance: Decimal | None = _of("positionAllowance")
    recruitment_date: date | None = _of("recruitmentDate")
    recruiting_agency: str | None = _of("recruitingAgency")
    general_education: str | None = _of("generalEducation")
    qualification: Code | None = _of("qualification")
    major: str | None = _of("major")
    academic_title: Code | None = _of("academicTitle")
    political_theory: Code | None = _of("politicalTheory")
    state_management: Code | None = _of("stateManagement")
    foreign_languages: str | None = _of("foreignLanguages")
    it_level: str | None = _of("itLevel")
    party_admission_date: date | None = _of("partyAdmissionDate")
    party_confirmation_date: date | None = _of("partyConfirmationDate")
    health: str | None = _of("health")
    height_cm: int | None = _of("heightCm")
    weight_kg: int | None = _of("weightKg")
    blood_group: str | None = _of("bloodGroup")
    social_insurance_number: str | None = _of("socialInsuranceNumber")
    status: Code | None = _of("status")
    version: int | None = _of("version")
    updated_at: datetime | None = _of("updatedAt")

    work_history: list[WorkHistoryEntry] | None = _of("workHistory", WorkHistoryEntry)
    training: list[TrainingEntry] | None = _of("training", TrainingEntry)
    salary_history: list[SalaryHistoryEntry] | None = _of("salaryHistory", SalaryHistoryEntry)
    family_members: list[FamilyMember] | None = _of("familyMembers", FamilyMember)
    rewards: list[Reward] | None = _of("rewards", Reward)
    disciplines: list[Discipline] | None = _of("disciplines", Discipline)
    evaluations: list[Evaluation] | None = _of("evaluations", Evaluation)

    @field(description=_described("unit"))
    async def unit(self, info: Ctx, root: Parent) -> UnitRef | None:
        return cast("Unit | None", await resolve_unit_by_id(info.context, root.unit_id))

    @field(description=_described("topUnit"))
    async def top_unit(self, info: Ctx, root: Parent) -> UnitRef | None:
        return cast("Unit | None", await resolve_unit_by_id(info.context, root.top_unit_id))

    @field(description=_described("position"))
    async def position(self, info: Ctx, root: Parent) -> PositionRef | None:
        return cast("Position | None", await resolve_position_by_id(info.context, root.position_id))

    # About the record rather than its data (ABOUT_THE_RECORD): not in the catalog.
    @field(
        description="Changes to this record waiting for the month's approval, oldest first: for those who "
        "review them (the official, HR, the approver); empty for anyone else."
    )
    async def pending_changes(self, info: Ctx, root: Parent) -> list[PendingChange] | None:
        return cast(list[PendingChange], await resolve_official_changes(info.context, root))

    @field(
        description="The sơ yếu lý lịch (Mẫu 2C-BNV/2008) as a PDF of the approved record, with a signed receipt "
        "over its bytes; the PDF shows the receipt's id and a QR code to its public verification. For those "
        "who may read every field of the record (the official, HR, the administrator). Download it from `url`."
    )
    async def cv(self, info: Ctx, root: Parent) -> ExportRef | None:
        from schema.exports import export_of  # schema.exports builds on this module's filter type

        return export_of(await resolve_cv(info.context, root))

    @field(
        description=f"The versions approvals made of this record, newest first (at most {MAX_HISTORY}), with "
        "the fields each changed: for those who review the record, as `pendingChanges`."
    )
    async def history(self, info: Ctx, root: Parent, first: int = MAX_HISTORY) -> list[RecordVersion] | None:
        return record_versions(await resolve_history(info.context, root, first))

    @field(
        description="Who read this record, newest first: each read by a partner agency or by another person (HR, "
        "a manager), with its legal basis and the receipt that lists the record; the official's own reads are "
        "not listed. For the official, HR of their ministry or province and the national administrator."
    )
    async def access_log(
        self, info: Ctx, root: Parent, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> AccessLogConnection | None:
        return access_log(await resolve_access_log(info.context, root, first, after))


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
    def page_info(self, info: Ctx) -> PageInfo:
        cursors, nodes = self.page.cursors, self.page.nodes
        ends = list(nodes[:1]) + list(nodes[1:][-1:])
        return PageInfo(
            has_next_page=self.page.has_next_page,
            has_previous_page=self.page.has_previous_page,
            cursors=(cursors[0], cursors[-1]) if cursors else (None, None),
            named=lambda: info.context.exposed.add_all(ends),
        )

    @field(description="Officials matching the filter in the caller's scope, all pages together.")
    async def total_count(self) -> int:
        return await self.page.count()


def officials_field(description: str, pinned: Callable[[Any], dict[str, Any]] = lambda _: {}) -> Any:
    """A page of officials, with its arguments written once: `Query.officials`, and `Unit.officials` and
    `Position.holders`, which `pinned` ties to their unit or position (from the row they belong to)."""

    async def officials(
        root: Parent,
        info: Ctx,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        filter: OfficialFilter | None = None,
        order_by: OfficialOrder | None = None,
    ) -> OfficialConnection:
        fixed = pinned(root)
        page = await resolve_officials(
            info.context, first=first, after=after, filter=filter, order_by=order_by, **fixed
        )
        return OfficialConnection(page=page)

    return strawberry.field(resolver=officials, description=description)


@strawberry.type
class OfficialQueries:
    @field(description="The caller's own record (null for staff and partner accounts).")
    async def me(self, info: Ctx) -> Official | None:
        return cast("Official | None", await resolve_me(info.context))

    @field(
        description="One official by `id` or by `code` (số hiệu, e.g. SH00000001), or null when absent or "
        "outside the caller's scope."
    )
    async def official(self, info: Ctx, id: strawberry.ID | None = None, code: str | None = None) -> Official | None:
        return cast("Official | None", await resolve_official(info.context, id, code))

    officials = officials_field(f"Officials in the caller's scope; `first` at most 100 (default {DEFAULT_PAGE_SIZE}).")
