from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class Position(SQLModel, table=True):
    """Vị trí việc làm of a unit, with its staffing quota (biên chế)."""

    __tablename__ = "position"
    __table_args__ = (UniqueConstraint("unit_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    code: str = Field(max_length=32)
    title: str = Field(max_length=255)
    category: str = Field(max_length=32)
    quota: int
    required_rank: str | None = Field(default=None, max_length=16)
