"""Child records of an official: the tables of the Mẫu 2C CV (items 21, 22, 27, 28, 30, 31, 32)."""

from datetime import date
from decimal import Decimal

from sqlmodel import Field, SQLModel

from db.models.officials import COEFFICIENT


class WorkHistory(SQLModel, table=True):
    __tablename__ = "work_history"

    id: int | None = Field(default=None, primary_key=True)
    official_id: int = Field(foreign_key="official.id", index=True)
    from_date: date
    to_date: date | None = None
    description: str = Field(max_length=500)


class Training(SQLModel, table=True):
    __tablename__ = "training"

    id: int | None = Field(default=None, primary_key=True)
    official_id: int = Field(foreign_key="official.id", index=True)
    school: str = Field(max_length=255)
    major: str = Field(max_length=255)
    from_date: date
    to_date: date | None = None
    mode: str = Field(max_length=16)
    diploma: str = Field(max_length=128)


class SalaryHistory(SQLModel, table=True):
    __tablename__ = "salary_history"

    id: int | None = Field(default=None, primary_key=True)
    official_id: int = Field(foreign_key="official.id", index=True)
    effective_date: date
    rank_code: str = Field(max_length=16)
    grade: int
    coefficient: Decimal = Field(sa_type=COEFFICIENT)


class FamilyMember(SQLModel, table=True):
    __tablename__ = "family_member"

    id: int | None = Field(default=None, primary_key=True)
    official_id: int = Field(foreign_key="official.id", index=True)
    side: str = Field(max_length=8)
    relation: str = Field(max_length=32)
    full_name: str = Field(max_length=128)
    birth_year: int | None = None
    details: str | None = Field(default=None, max_length=500)


class Reward(SQLModel, table=True):
    __tablename__ = "reward"

    id: int | None = Field(default=None, primary_key=True)
    official_id: int = Field(foreign_key="official.id", index=True)
    year: int
    form: str = Field(max_length=255)
    decided_by: str | None = Field(default=None, max_length=255)


class Discipline(SQLModel, table=True):
    __tablename__ = "discipline"

    id: int | None = Field(default=None, primary_key=True)
    official_id: int = Field(foreign_key="official.id", index=True)
    year: int
    form: str = Field(max_length=255)
    reason: str | None = Field(default=None, max_length=500)


class Evaluation(SQLModel, table=True):
    __tablename__ = "evaluation"

    id: int | None = Field(default=None, primary_key=True)
    official_id: int = Field(foreign_key="official.id", index=True)
    year: int
    level: str = Field(max_length=8)
