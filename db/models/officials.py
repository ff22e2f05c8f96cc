import secrets
from datetime import date, datetime
from decimal import Decimal
from typing import Final

from sqlalchemy import JSON, DateTime, Index, Numeric, String
from sqlmodel import Field, SQLModel

COEFFICIENT = Numeric(5, 2)
# Record keys are drawn from 0..RECORD_KEYS-1 (resolvers/aggregates.py says what they are for).
RECORD_KEYS: Final = 4096


def new_record_key() -> int:
    return secrets.randbelow(RECORD_KEYS)


class Official(SQLModel, table=True):
    """One cán bộ, công chức, viên chức or người lao động: the fields of the Mẫu 2C CV.

    `name_search` and `name_sort` are derived from `full_name` (db.text) and kept beside it so that
    accent-insensitive search and the Vietnamese sort order are plain indexed columns.
    `top_unit_id` repeats the unit's top-level unit because "everyone under ministry X" is the most
    common scope and must not need a join.
    """

    __tablename__ = "official"
    __table_args__ = (
        Index("ix_official_name_sort_id", "name_sort", "id"),
        Index("ix_official_top_unit_name_sort_id", "top_unit_id", "name_sort", "id"),
        Index("ix_official_unit_name_sort_id", "unit_id", "name_sort", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    personal_id: str = Field(max_length=12, unique=True)
    full_name: str = Field(max_length=128)
    other_name: str | None = Field(default=None, max_length=128)
    name_search: str = Field(max_length=128)
    name_sort: str = Field(sa_type=String(160).with_variant(String(160, collation="C"), "postgresql"))
    birth_date: date
    gender: str = Field(max_length=8)
    birthplace: str = Field(max_length=255)
    hometown: str = Field(max_length=255)
    ethnicity: str = Field(max_length=4)
    religion: str = Field(max_length=4)
    permanent_address: str = Field(max_length=255)
    current_address: str = Field(max_length=255)
    employee_type: str = Field(max_length=16)
    unit_id: int = Field(foreign_key="unit.id")
    top_unit_id: int = Field(foreign_key="unit.id")
    position_id: int | None = Field(default=None, foreign_key="position.id", index=True)
    job_title: str | None = Field(default=None, max_length=255)
    concurrent_titles: list[str] = Field(default_factory=list, sa_type=JSON)
    recruitment_occupation: str | None = Field(default=None, max_length=255)
    main_duties: str | None = Field(default=None, max_length=500)
    rank_code: str | None = Field(default=None, max_length=16)
    salary_grade: int | None = None
    salary_coefficient: Decimal | None = Field(default=None, sa_type=COEFFICIENT)
    salary_effective_date: date | None = None
    position_allowance: Decimal | None = Field(default=None, sa_type=COEFFICIENT)
    recruitment_date: date | None = None
    recruiting_agency: str | None = Field(default=None, max_length=255)
    general_education: str | None = Field(default=None, max_length=16)
    qualification: str | None = Field(default=None, max_length=8)
    major: str | None = Field(default=None, max_length=255)
    academic_title: str | None = Field(default=None, max_length=8)
    political_theory: str | None = Field(default=None, max_length=8)
    state_management: str | None = Field(default=None, max_length=8)
    foreign_languages: str | None = Field(default=None, max_length=255)
    it_level: str | None = Field(default=None, max_length=255)
    party_admission_date: date | None = None
    party_confirmation_date: date | None = None
    health: str | None = Field(default=None, max_length=64)
    height_cm: int | None = None
    weight_kg: int | None = None
    blood_group: str | None = Field(default=None, max_length=4)
    social_insurance_number: str | None = Field(default=None, max_length=16)
    status: str = Field(max_length=16)
    version: int = 1
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))
    # A secret random number per official, never shown: a protected aggregate rounds each count by the
    # sum of its officials' keys, so the same officials always get the same rounding (resolvers/aggregates.py).
    record_key: int = Field(default_factory=new_record_key)
