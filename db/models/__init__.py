"""Tables, one module per domain. Importing this package registers them all on SQLModel.metadata."""

from typing import cast

from sqlalchemy import Table
from sqlmodel import SQLModel

# Set before the table modules below are imported: constraint names are fixed when a table is built,
# and stable names are what lets Alembic alter them later on both back ends.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

from db.models.accounts import Account, Agency, AgencyKey, UsedAssertion  # noqa: E402
from db.models.audit import AuditAccess, AuditEvent  # noqa: E402
from db.models.changes import (  # noqa: E402
    Approval,
    MinistryKey,
    OfficialVersion,
    PendingChange,
    SignerKey,
    SyncBatch,
)
from db.models.documents import TrustedDocument  # noqa: E402
from db.models.grants import AccessGrant, Agreement  # noqa: E402
from db.models.maintenance import MaintenanceWindow  # noqa: E402
from db.models.officials import Official  # noqa: E402
from db.models.positions import Position  # noqa: E402
from db.models.receipts import ExportFile, LogHead, MerkleNode, ReceiptEntry  # noqa: E402
from db.models.records import (  # noqa: E402
    Discipline,
    Evaluation,
    FamilyMember,
    Reward,
    SalaryHistory,
    Training,
    WorkHistory,
)
from db.models.requests import IdempotentRequest  # noqa: E402
from db.models.units import Unit  # noqa: E402

metadata = SQLModel.metadata


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a SQLModel class: queries select from tables and get light rows back,
    without the ORM's identity map and object construction on the read path."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]  # set on table models only, at class creation


__all__ = [
    "AccessGrant",
    "Account",
    "Agency",
    "AgencyKey",
    "Approval",
    "AuditAccess",
    "AuditEvent",
    "Agreement",
    "Discipline",
    "Evaluation",
    "ExportFile",
    "FamilyMember",
    "IdempotentRequest",
    "LogHead",
    "MaintenanceWindow",
    "MerkleNode",
    "MinistryKey",
    "Official",
    "OfficialVersion",
    "PendingChange",
    "Position",
    "ReceiptEntry",
    "Reward",
    "SalaryHistory",
    "SignerKey",
    "SyncBatch",
    "Training",
    "TrustedDocument",
    "Unit",
    "UsedAssertion",
    "WorkHistory",
    "metadata",
    "table_of",
]
