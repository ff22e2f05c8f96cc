from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

# Byte order for the materialised path, so a subtree is an index range scan on both back ends
# (PostgreSQL's default collation would not order '/' before letters byte-wise).
PATH_TYPE = String(400).with_variant(String(400, collation="C"), "postgresql")


class Unit(SQLModel, table=True):
    """Đơn vị. `code` begins with the parent's code (BNV, BNV.VP, BNV.VP.P1); `path` is the chain of
    codes from the top-level unit, "/BNV/BNV.VP/BNV.VP.P1/", so a subtree is `path` starting with the
    ancestor's path."""

    __tablename__ = "unit"
    __table_args__ = (Index("ix_unit_parent_id_code", "parent_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=255)
    kind: str = Field(max_length=32)
    parent_id: int | None = Field(default=None, foreign_key="unit.id")
    top_unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    level: int
    path: str = Field(sa_type=PATH_TYPE, unique=True)
