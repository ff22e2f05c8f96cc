"""Policy lines and what they mean, without casbin: how a line becomes a row predicate for SQL
(`predicate`), how it is decided for one row in Python (`within`, the function casbin's matcher
calls), and how a principal's lines become its Scope.

The two readings of a relation are written independently on purpose: the property test holds the SQL
built from `predicate` to the row-by-row answers `within` gives through casbin.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from db.scoping import Everyone, Grant, Named, Predicate, Scope, Self, Subtree, TopUnits
from policies.principal import Principal

READ: Final = "read"
MANAGE_GRANTS: Final = "manage_grants"
# Changes to records (Decision 832): propose new values of the fields a line opens; review the pending
# changes of the rows a line relates (see them in full, including the values they propose); decide them
# (reject); approve a unit's monthly batch (sign it). Each becomes a Scope like reading does.
PROPOSE: Final = "propose"
REVIEW: Final = "review"
DECIDE: Final = "decide"
APPROVE: Final = "approve"
# Grouping officials by a field in aggregates without reading it on each of them (resolvers/aggregates.py):
# the answer is then protected (small cells suppressed, counts rounded).
AGGREGATE: Final = "aggregate"
# Importing a ministry's signed bundle of approved records by hand (resolvers/sync.py).
SYNC: Final = "sync"
# Reading the audit (resolvers/audit.py): who read a record (its access log), and, over every row, the
# whole audit (auditEvents).
AUDIT: Final = "audit"
# Announcing and cancelling maintenance windows, during which the gateway answers reads only
# (resolvers/maintenance.py).
MAINTAIN: Final = "maintain"

# Field decisions that need no row check (see policy.csv); every other group is a data group.
PUBLIC: Final = "public"
SCOPED: Final = "scoped"
INHERITED: Final = "inherited"
DECISION_KINDS: Final = frozenset({PUBLIC, SCOPED, INHERITED})
ALL_FIELDS: Final = "all"
# The fields of a line whose action is about rows, not fields (managing grants, approving).
NO_FIELDS: Final = "-"


@dataclass(frozen=True, slots=True)
class PolicyLine:
    """`p, subject, relation, fields, action` plus where it comes from (what a receipt cites)."""

    subject: str
    relation: str
    fields: str  # a data group, "all", or one field ("Official.religion")
    action: str
    basis: str


@dataclass(frozen=True, slots=True)
class RowFacts:
    """What a relation looks at in an official's row (casbin's `r.obj`), plus the field asked for."""

    id: int
    unit_path: str
    top_unit_id: int
    field: str = ""


@dataclass(frozen=True, slots=True)
class SubjectFacts:
    """What a relation looks at in the principal (casbin's `r.sub`)."""

    name: str
    official_id: int | None
    unit_path: str | None
    top_unit_id: int | None

    @classmethod
    def of(cls, principal: Principal) -> "SubjectFacts":
        return cls(principal.subject, principal.official_id, principal.unit_path, principal.top_unit_id)


def _ids(argument: str) -> frozenset[int]:
    return frozenset(int(part) for part in argument.split())


def predicate(relation: str, principal: Principal) -> Predicate | None:
    """The SQL-side reading of a relation for this principal; None when it relates to no row
    (`self` for an account without a record, `subtree` for an account without a unit)."""
    kind, _, argument = relation.partition(":")
    match kind:
        case "all":
            return Everyone()
        case "top_unit":
            return TopUnits(frozenset({principal.top_unit_id})) if principal.top_unit_id is not None else None
        case "subtree":
            return Subtree(principal.unit_path) if principal.unit_path is not None else None
        case "self":
            return Self(principal.official_id) if principal.official_id is not None else None
        case "units":
            return Subtree(argument)
        case "officials":
            return Named(_ids(argument))
        case "top_units":
            return TopUnits(_ids(argument))
    raise ValueError(f"Unknown relation '{relation}' in a policy line")


def within(subject: SubjectFacts, row: RowFacts, relation: str) -> bool:
    """The row-by-row reading of a relation (casbin's matcher calls it as `within`)."""
    kind, _, argument = relation.partition(":")
    match kind:
        case "all":
            return True
        case "top_unit":
            return subject.top_unit_id is not None and row.top_unit_id == subject.top_unit_id
        case "subtree":
            return subject.unit_path is not None and row.unit_path.startswith(subject.unit_path)
        case "self":
            return subject.official_id is not None and row.id == subject.official_id
        case "units":
            return row.unit_path.startswith(argument)
        case "officials":
            return str(row.id) in argument.split()
        case "top_units":
            return str(row.top_unit_id) in argument.split()
    raise ValueError(f"Unknown relation '{relation}' in a policy line")


def managed_top_units(principal: Principal, lines: Iterable[PolicyLine]) -> frozenset[int] | None:
    """The ministries and provinces whose grants the principal manages; None means all of them."""
    managed: set[int] = set()
    for line in lines:
        if line.action != MANAGE_GRANTS:
            continue
        if line.relation == "all":
            return None
        if line.relation == "top_unit" and principal.top_unit_id is not None:
            managed.add(principal.top_unit_id)
    return frozenset(managed)


def build_scope(
    principal: Principal, lines: Iterable[PolicyLine], groups: Mapping[str, frozenset[str]], action: str = READ
) -> Scope:
    """The lines of a principal for `action` (reading, unless said), as one Grant per row predicate with
    the union of the fields its lines open and their bases. `groups` expands a group name to its fields;
    a field stands for itself.
    There is no limit on how many: the statement and the per-row mask group grants by what they open
    (db.mask), so a thousand written grants cost an IN list, not a thousand tests per row."""
    fields_by_predicate: dict[Predicate, set[str]] = {}
    bases: dict[Predicate, list[str]] = {}
    for line in lines:
        if line.action != action:
            continue
        row_predicate = predicate(line.relation, principal)
        if row_predicate is None:
            continue
        fields_by_predicate.setdefault(row_predicate, set()).update(groups.get(line.fields, {line.fields}))
        if line.basis not in bases.setdefault(row_predicate, []):
            bases[row_predicate].append(line.basis)
    grants = [Grant(p, frozenset(f), tuple(bases[p])) for p, f in fields_by_predicate.items()]
    return Scope(grants=tuple(sorted(_without_redundant(grants), key=lambda g: (g.bases, repr(g.predicate)))))


def _without_redundant(grants: list[Grant]) -> list[Grant]:
    # A grant over every row adds nothing to a grant over some rows whose fields it already covers;
    # dropping it keeps the statement and the mask's classes smaller.
    everyone = [g for g in grants if isinstance(g.predicate, Everyone)]
    return [g for g in grants if isinstance(g.predicate, Everyone) or not any(g.fields <= e.fields for e in everyone)]
