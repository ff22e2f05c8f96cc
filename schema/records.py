"""Child records of an official, as the tables of the Mẫu 2C CV print them."""

from datetime import date
from decimal import Decimal

import strawberry

from schema.common import Code, code_field, required_code_field


@strawberry.type(description="Quá trình công tác (Mẫu 2C, item 28).")
class WorkHistoryEntry:
    from_date: date
    to_date: date | None
    description: str


@strawberry.type(description="Đào tạo, bồi dưỡng (Mẫu 2C, item 27).")
class TrainingEntry:
    school: str
    major: str
    from_date: date
    to_date: date | None
    mode: Code = required_code_field("training_mode", "mode", "Hình thức đào tạo")
    diploma: str


@strawberry.type(description="Diễn biến lương (Mẫu 2C, item 31).")
class SalaryHistoryEntry:
    effective_date: date
    rank: Code | None = code_field("rank", "rank_code", "Ngạch / chức danh nghề nghiệp")
    grade: int
    coefficient: Decimal


@strawberry.type(description="Quan hệ gia đình (Mẫu 2C, item 30).")
class FamilyMember:
    side: Code = required_code_field("family_side", "side", "Về bản thân hay bên vợ (chồng)")
    relation: str
    full_name: str
    birth_year: int | None
    details: str | None


@strawberry.type(description="Khen thưởng (Mẫu 2C, item 21).")
class Reward:
    year: int
    form: str
    decided_by: str | None


@strawberry.type(description="Kỷ luật (Mẫu 2C, item 22).")
class Discipline:
    year: int
    form: str
    reason: str | None


@strawberry.type(description="Đánh giá, xếp loại hằng năm.")
class Evaluation:
    year: int
    level: Code = required_code_field("evaluation_level", "level", "Mức xếp loại")
