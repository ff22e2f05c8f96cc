"""What a receipt records about a request, gathered while it runs: the operation, the officials its
data exposed and the grants that let each out, and the draft the receipt service numbers, signs and
logs (evidence/receipts.py); what a verification found."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from db.scoping import Scope
from policies.principal import Principal


@dataclass(frozen=True, slots=True)
class Operation:
    """The GraphQL request as received: the exact query text, its variables and operation."""

    query: str
    variables: dict[str, Any] | None
    name: str | None
    type: str  # query | mutation


class Exposed(Protocol):
    """What the exposure reads of a row: a database row of an official, or anything shaped like one."""

    @property
    def id(self) -> int: ...
    @property
    def grants(self) -> str: ...
    @property
    def top_unit_id(self) -> int: ...


@dataclass(slots=True)
class Exposure:
    """The officials whose data a response carries, and what tells which of the scope's grants let each
    out (its grant mask, id and top-level unit): what the receipt counts and cites as its legal basis."""

    ids: set[int] = field(default_factory=set)
    matched: set[tuple[str, int, int]] = field(default_factory=set)

    def add(self, row: Exposed | None) -> None:
        if row is not None:
            self.record(row.id, row.grants, row.top_unit_id)

    def record(self, official_id: int, mask: str, top_unit_id: int) -> None:
        self.ids.add(official_id)
        self.matched.add((mask, official_id, top_unit_id))

    def add_all(self, rows: Iterable[Exposed | None]) -> None:
        for row in rows:
            self.add(row)

    def basis(self, scope: Scope) -> tuple[str, ...]:
        """The bases of exactly the grants that matched an exposed row: a written grant over other
        officials, or another unit, is not cited however it merged with these in the statement."""
        cited = frozenset().union(*(scope.bases(mask, i, top) for mask, i, top in self.matched))
        return tuple(sorted(cited))

    def bases_by_official(self, scope: Scope) -> dict[int, frozenset[str]]:
        """`basis`, official by official: what let each one out (an audit's access names its own)."""
        found: dict[int, frozenset[str]] = dict.fromkeys(self.ids, frozenset())
        for mask, official_id, top in self.matched:
            found[official_id] |= scope.bases(mask, official_id, top)
        return found


@dataclass(frozen=True, slots=True)
class ReceiptDraft:
    """A receipt before the gateway numbers, dates and signs it."""

    kind: str  # response | export
    principal: Principal
    basis: tuple[str, ...]
    operation: Operation
    data_sha256: str  # of the canonical JSON of `data`, or of the exported file's bytes
    official_ids: tuple[int, ...]
    export: dict[str, Any] | None = None
    # Chosen before the data when the data shows it (a CV prints its receipt's id); otherwise at issue.
    rid: str | None = None


@dataclass(frozen=True, slots=True)
class IssuedReceipt:
    rid: str
    receipt: str  # JWS compact
    log_index: int


@dataclass(frozen=True, slots=True)
class ReceiptCheck:
    """The outcome of verifying a receipt; `valid` only when every check that could run passed."""

    valid: bool
    problems: tuple[str, ...]
    signature_valid: bool
    kid: str | None = None
    key_status: str | None = None
    payload: dict[str, Any] | None = None
    data_matches: bool | None = None  # None: no data given
    logged: bool | None = None  # None: not checked (offline)


def draft_for(
    ctx_principal: Principal,
    scope: Scope,
    exposure: Exposure,
    operation: Operation,
    *,
    kind: str,
    data_sha256: str,
    export: dict[str, Any] | None = None,
    rid: str | None = None,
) -> ReceiptDraft:
    return ReceiptDraft(
        kind=kind,
        principal=ctx_principal,
        basis=exposure.basis(scope),
        operation=operation,
        data_sha256=data_sha256,
        official_ids=tuple(sorted(exposure.ids)),
        export=export,
        rid=rid,
    )
