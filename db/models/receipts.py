"""The receipt log: every receipt the gateway signed, in order, as the leaves of an RFC 9162 Merkle
tree; the tree's perfect subtrees, hashed once; and the files exported with a receipt."""

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, LargeBinary, SmallInteger, Text
from sqlmodel import Field, SQLModel


class ReceiptEntry(SQLModel, table=True):
    """Leaf `leaf_index` of the log: a signed receipt (JWS compact) and its RFC 9162 leaf hash.
    Indices are dense (0, 1, 2, ...): `log_head.size` hands them out under a row lock."""

    __tablename__ = "receipt_log"

    leaf_index: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    rid: str = Field(max_length=32, unique=True)
    receipt: str = Field(sa_column=Column(Text, nullable=False))
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    account_id: int = Field(foreign_key="account.id", index=True)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class LogHead(SQLModel, table=True):
    """One row (id 1): how many leaves the log holds, up to which size the perfect subtrees are stored in
    `merkle_node`, and the version of the data the gateway serves, which every receipt cites: `period`
    is the last approved month (YYYY-MM), `version` counts approvals. Appending locks this row, so
    indices are dense across processes; approving takes the same lock, and numbering a batch reads the
    version it cites in the same statement (db/queries/receipts.reserve)."""

    __tablename__ = "log_head"

    id: int = Field(primary_key=True)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    hashed_size: int = Field(sa_column=Column(BigInteger, nullable=False))
    period: str | None = Field(default=None, max_length=7)
    version: int = 0
    version_updated_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class MerkleNode(SQLModel, table=True):
    """The root hash of the perfect subtree over leaves [index * 2**level, (index + 1) * 2**level),
    level >= 1 (level 0 is `receipt_log.leaf_hash`). Written once, never changed: any root, inclusion
    or consistency proof then reads O(log² n) of them instead of rehashing the log."""

    __tablename__ = "merkle_node"

    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    index: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))


class ExportFile(SQLModel, table=True):
    """An export (CSV or JSONL) kept for its requester until `expires_at`, with the receipt over its
    exact bytes. The id is random: knowing one export's id tells nothing about another's."""

    __tablename__ = "export_file"

    id: str = Field(primary_key=True, max_length=32)
    account_id: int = Field(foreign_key="account.id", index=True)
    format: str = Field(max_length=8)  # csv | jsonl
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    sha256: str = Field(max_length=64)
    row_count: int
    rid: str = Field(foreign_key="receipt_log.rid", max_length=32)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
