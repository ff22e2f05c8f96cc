from datetime import datetime

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel


class DataVersion(SQLModel, table=True):
    """One row (id 1): the version of the data the gateway serves. `period` is the last approved month
    (YYYY-MM) and `version` counts approvals; receipts cite both. The approvals workflow bumps it."""

    __tablename__ = "data_version"

    id: int = Field(primary_key=True)
    period: str | None = Field(default=None, max_length=7)
    version: int = 0
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))
