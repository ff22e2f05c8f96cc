"""Announced maintenance (Decision 832: the service runs 24/7 except for announced maintenance): the
windows during which the gateway answers reads only. Stored here so that every gateway process sees the
same windows; a cancelled window is kept, with who cancelled it and when, as the record of what was
announced."""

from datetime import datetime

from sqlalchemy import Column, DateTime, Text
from sqlmodel import Field, SQLModel


class MaintenanceWindow(SQLModel, table=True):
    __tablename__ = "maintenance_window"

    id: int | None = Field(default=None, primary_key=True)
    starts_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # Indexed: the windows a process keeps are those not ended yet.
    ends_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    announced_by: str = Field(max_length=100)
    announced_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    cancelled_by: str | None = Field(default=None, max_length=100)
    cancelled_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
