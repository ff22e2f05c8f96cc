"""The one list of what the API reads about officials, and the columns behind the other types it serves.

For each field of an official: its API name, the column holding it, how its value is written, the code
list of a coded value, what it points at (a unit, a position, a kind of child record), and whether it
orders a list. Its policy name is `Official.<name>`; the group it belongs to is policy (policies/policy.csv).
The schema (schema/officials.py, held to this list when it is built), the policy check, filters and
orders (db/queries/officials.py), exports (resolvers/exports.py) and the compiled read path (planner/)
all read it: a field added here is a field everywhere, and nowhere else.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

# How a value is written in a response: as strawberry writes the scalar the schema declares.
Value = Literal["id", "text", "int", "date", "datetime", "decimal", "texts"]
# plain: a column's value; code: a column's code with its label ({ code label }); unit, position: the
# row a column points at; records: an official's child records of one kind (a list).
Kind = Literal["plain", "code", "unit", "position", "records"]
RecordKind = Literal["work_history", "training", "salary_history", "family", "rewards", "disciplines", "evaluations"]


def _snake(name: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in name)


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # the API name, camelCase
    kind: Kind = "plain"
    value: Value = "text"
    column_name: str | None = None  # when it is not the API name in snake_case
    codes: str | None = None  # code list (kind "code")
    records: RecordKind | None = None  # kind "records"
    order: str | None = None  # the OfficialOrderField value that orders a list by it
    description: str | None = None
    # What a proposed change may set it to (db/edits.py); its length limit and whether it may be empty
    # are its column's. `editable` False: not data anyone declares (the record's number, its version,
    # what is derived from another field). `pattern`: a full match of a text value. `bounds`: the
    # least and greatest value, as text in the value's own form ("1.00", "12"); a date's may be
    # "today" or "today-15y" (today in Vietnam, moved by whole years).
    editable: bool = True
    pattern: str | None = None
    bounds: tuple[str, str] | None = None

    @property
    def column(self) -> str:
        return self.column_name or _snake(self.name)

    @property
    def policy(self) -> str:
        return f"Official.{self.name}"


def _code(name: str, codes: str, description: str, column: str | None = None) -> Field:
    return Field(name, kind="code", codes=codes, column_name=column, description=description)


def _records(name: str, kind: RecordKind, description: str) -> Field:
    return Field(name, kind="records", records=kind, description=description)


# Every field of an official but its id (which is not data: it is how a row is named), in schema order.
OFFICIAL_FIELDS: Final = (
    Field("code", order="code", description="Số hiệu", editable=False),
    Field("personalId", description="Số định danh cá nhân (12 digits)", pattern=r"[0-9]{12}"),
    Field("fullName", order="name"),
    Field("otherName"),
    Field("birthDate", value="date", order="birth_date", bounds=("1920-01-01", "today-15y")),
    _code("gender", "gender", "Giới tính"),
    Field("birthplace"),
    Field("hometown", description="Quê quán"),
    _code("ethnicity", "ethnicity", "Dân tộc"),
    _code("religion", "religion", "Tôn giáo"),
    Field("permanentAddress"),
    Field("currentAddress"),
    _code("employeeType", "employee_type", "Loại"),
    Field("jobTitle", description="Chức vụ hiện tại"),
    Field("concurrentTitles", value="texts", description="Chức vụ kiêm nhiệm"),
    Field("recruitmentOccupation"),
    Field("mainDuties"),
    _code("rank", "rank", "Ngạch / chức danh nghề nghiệp (mã ngạch)", column="rank_code"),
    Field("salaryGrade", value="int", description="Bậc lương", bounds=("1", "12")),
    Field("salaryCoefficient", value="decimal", description="Hệ số lương", bounds=("1.00", "10.00")),
    Field("salaryEffectiveDate", value="date"),
    Field("positionAllowance", value="decimal", description="Hệ số phụ cấp chức vụ", bounds=("0.10", "1.30")),
    Field("recruitmentDate", value="date"),
    Field("recruitingAgency"),
    Field("generalEducation", description='Giáo dục phổ thông, e.g. "12/12"'),
    _code("qualification", "qualification", "Trình độ chuyên môn cao nhất"),
    Field("major"),
    _code("academicTitle", "academic_title", "Học hàm"),
    _code("politicalTheory", "political_theory", "Lý luận chính trị"),
    _code("stateManagement", "state_management", "Quản lý nhà nước"),
    Field("foreignLanguages"),
    Field("itLevel"),
    Field("partyAdmissionDate", value="date"),
    Field("partyConfirmationDate", value="date"),
    Field("health"),
    Field("heightCm", value="int", bounds=("100", "230")),
    Field("weightKg", value="int", bounds=("30", "200")),
    Field("bloodGroup", pattern="O|A|B|AB"),
    Field("socialInsuranceNumber", description="Mã số bảo hiểm xã hội (10 digits)", pattern=r"[0-9]{10}"),
    _code("status", "status", "Tình trạng"),
    Field("version", value="int", editable=False),
    Field("updatedAt", value="datetime", editable=False),
    _records("workHistory", "work_history", "Quá trình công tác"),
    _records("training", "training", "Đào tạo, bồi dưỡng"),
    _records("salaryHistory", "salary_history", "Diễn biến lương"),
    _records("familyMembers", "family", "Quan hệ gia đình"),
    _records("rewards", "rewards", "Khen thưởng"),
    _records("disciplines", "disciplines", "Kỷ luật"),
    _records("evaluations", "evaluations", "Đánh giá, xếp loại"),
    Field("unit", kind="unit", column_name="unit_id", description="Đơn vị công tác"),
    Field(
        "topUnit",
        kind="unit",
        column_name="top_unit_id",
        description="The ministry or province the official's unit belongs to",
        editable=False,  # the unit's
    ),
    Field("position", kind="position", column_name="position_id", description="Vị trí việc làm"),
)
OFFICIAL: Final[Mapping[str, Field]] = MappingProxyType({f.name: f for f in OFFICIAL_FIELDS})
# The fields a proposed change may set (db/edits.py checks their values), in schema order.
EDITABLE: Final = tuple(f for f in OFFICIAL_FIELDS if f.editable)
# The orderings of a list of officials: the OfficialOrderField value, and the field it reads.
ORDERS: Final[Mapping[str, Field]] = MappingProxyType({f.order: f for f in OFFICIAL_FIELDS if f.order})


@dataclass(frozen=True, slots=True)
class Column:
    """A field of another type the read path serves: the column behind it and how it is written."""

    name: str
    value: Value = "text"
    column_name: str | None = None
    codes: str | None = None  # a coded value: { code label } of this list
    bounds: tuple[str, str] | None = None  # as Field.bounds, for a proposed child record

    @property
    def column(self) -> str:
        return self.column_name or _snake(self.name)


# The fields of each kind of child record, as its GraphQL type has them (schema/records.py).
RECORD_FIELDS: Final[Mapping[RecordKind, tuple[Column, ...]]] = MappingProxyType(
    {
        "work_history": (Column("fromDate", "date"), Column("toDate", "date"), Column("description")),
        "training": (
            Column("school"),
            Column("major"),
            Column("fromDate", "date"),
            Column("toDate", "date"),
            Column("mode", codes="training_mode"),
            Column("diploma"),
        ),
        "salary_history": (
            Column("effectiveDate", "date"),
            Column("rank", column_name="rank_code", codes="rank"),
            Column("grade", "int", bounds=("1", "12")),
            Column("coefficient", "decimal", bounds=("1.00", "10.00")),
        ),
        "family": (
            Column("side", codes="family_side"),
            Column("relation"),
            Column("fullName"),
            Column("birthYear", "int", bounds=("1880", "2030")),
            Column("details"),
        ),
        "rewards": (Column("year", "int", bounds=("1945", "2100")), Column("form"), Column("decidedBy")),
        "disciplines": (Column("year", "int", bounds=("1945", "2100")), Column("form"), Column("reason")),
        "evaluations": (Column("year", "int", bounds=("1945", "2100")), Column("level", codes="evaluation_level")),
    }
)
# The GraphQL type of each kind of child record.
RECORD_TYPES: Final[Mapping[RecordKind, str]] = MappingProxyType(
    {
        "work_history": "WorkHistoryEntry",
        "training": "TrainingEntry",
        "salary_history": "SalaryHistoryEntry",
        "family": "FamilyMember",
        "rewards": "Reward",
        "disciplines": "Discipline",
        "evaluations": "Evaluation",
    }
)
UNIT_FIELDS: Final = (
    Column("id", "id"),
    Column("code"),
    Column("name"),
    Column("kind", codes="unit_kind"),
    Column("level", "int"),
    Column("path"),
)
POSITION_FIELDS: Final = (
    Column("id", "id"),
    Column("code"),
    Column("title"),
    Column("category", codes="position_category"),
    Column("quota", "int"),
    Column("requiredRank", column_name="required_rank", codes="rank"),
)
