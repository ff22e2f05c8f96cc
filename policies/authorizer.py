"""Casbin decides: the ONLY module that imports casbin.

The model (model.conf) and the role policy (policy.csv) are loaded once per process. For a request,
`scope_for` partially evaluates them: the read lines whose subject is one of the principal's subjects
(its account, its roles, its agency), plus its written grants and agreements from the database,
become a Scope, i.e. SQL predicates with the fields each opens. `enforce` answers the same question
row by row; the gateway uses it only off the hot path (managing grants) and the property test uses it
as the oracle the SQL path must equal.
"""

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Final, Protocol

# pycasbin ships no type hints and no stubs exist: _Enforcer below is the typed face of the part used.
import casbin  # type: ignore[import-untyped]

from db.scoping import Scope
from policies.principal import Principal
from policies.rules import (
    ALL_FIELDS,
    DECISION_KINDS,
    MANAGE_GRANTS,
    NO_FIELDS,
    READ,
    PolicyLine,
    RowFacts,
    SubjectFacts,
    build_scope,
    managed_top_units,
    within,
)

HERE: Final = Path(__file__).resolve().parent
MODEL_PATH: Final = HERE / "model.conf"
POLICY_PATH: Final = HERE / "policy.csv"


class PolicyError(Exception):
    """The policy files are inconsistent; the gateway must not start with them."""


class _Enforcer(Protocol):
    """What this module calls on a casbin.Enforcer (policy rows are lists of strings)."""

    def add_function(self, name: str, function: Callable[..., bool]) -> None: ...
    def get_policy(self) -> list[list[str]]: ...
    def get_named_grouping_policy(self, ptype: str) -> list[list[str]]: ...
    def add_grouping_policy(self, *params: str) -> bool: ...
    def add_policy(self, *params: str) -> bool: ...
    def enforce(self, *request: Any) -> bool: ...


def _enforcer(model_path: Path, policy_path: Path) -> _Enforcer:
    """An enforcer of the model and the policy files, with the model's `within` function."""
    enforcer: _Enforcer = casbin.Enforcer(str(model_path), str(policy_path))
    enforcer.add_function("within", within)
    return enforcer


class Authorizer:
    def __init__(self, model_path: Path = MODEL_PATH, policy_path: Path = POLICY_PATH) -> None:
        self._model_path = model_path
        self._policy_path = policy_path
        self._enforcer = _enforcer(model_path, policy_path)
        self._role_lines: dict[str, tuple[PolicyLine, ...]] = {}
        for subject, relation, fields, action in self._enforcer.get_policy():
            line = PolicyLine(subject, relation, fields, action, basis=f"policy:{subject}")
            self._role_lines[subject] = (*self._role_lines.get(subject, ()), line)
        self._check()

    # -- what the policy files say ------------------------------------------------------------

    @cached_property
    def version(self) -> str:
        """SHA-256 of the model and the policy in force (what a receipt cites as policy_version)."""
        digest = hashlib.sha256()
        for path in (self._model_path, self._policy_path):
            digest.update(path.read_bytes())
        return digest.hexdigest()

    @cached_property
    def _links(self) -> dict[str, str]:
        return {child: parent for child, parent in self._enforcer.get_named_grouping_policy("g2")}

    @cached_property
    def decisions(self) -> Mapping[str, str]:
        """Every schema field ("Type.field") to its decision: a data group, or public/scoped/inherited."""
        return {name: parent for name, parent in self._links.items() if "." in name}

    @cached_property
    def groups(self) -> Mapping[str, frozenset[str]]:
        """Each data group (and "all") to the fields it opens."""
        members: dict[str, set[str]] = {}
        for name, group in self.decisions.items():
            if group in DECISION_KINDS:
                continue
            members.setdefault(group, set()).add(name)
            members.setdefault(ALL_FIELDS, set()).add(name)
        return {group: frozenset(fields) for group, fields in members.items()}

    @cached_property
    def data_fields(self) -> frozenset[str]:
        """Fields checked row by row against the grants that matched the row."""
        return self.groups.get(ALL_FIELDS, frozenset())

    def expand(self, names: Iterable[str]) -> frozenset[str]:
        """Field and group names, as a written grant lists them, to fields; unknown names raise."""
        fields: set[str] = set()
        for name in names:
            if name in self.groups:
                fields |= self.groups[name]
            elif name in self.data_fields:
                fields.add(name)
            else:
                raise KeyError(name)
        return frozenset(fields)

    def _check(self) -> None:
        for name, group in self.decisions.items():
            if group not in DECISION_KINDS and self._links.get(group) != ALL_FIELDS:
                raise PolicyError(f"Field '{name}' is in group '{group}', which is not linked to '{ALL_FIELDS}'")
        for lines in self._role_lines.values():
            for line in lines:
                opens = line.fields != NO_FIELDS
                # A group, or one field of a group (the decisions' own list, whatever checks run per row).
                if opens and line.fields not in self.groups and line.fields not in self.groups.get(ALL_FIELDS, ()):
                    raise PolicyError(f"Policy line for '{line.subject}' opens unknown fields '{line.fields}'")

    # -- per principal ------------------------------------------------------------------------

    def role_lines(self, principal: Principal) -> list[PolicyLine]:
        return [line for subject in principal.subjects for line in self._role_lines.get(subject, ())]

    def scope_for(self, principal: Principal, written: Sequence[PolicyLine] = ()) -> Scope:
        """The principal's Scope: its role lines and its written lines (grants, agreements in force)."""
        return build_scope(principal, [*self.role_lines(principal), *written], self.groups)

    def scope_to(self, principal: Principal, action: str) -> Scope:
        """The rows (and fields) the principal may act on other than by reading: propose changes to,
        review, decide, approve. Only role lines give these; a written grant opens reading alone."""
        return build_scope(principal, self.role_lines(principal), self.groups, action)

    def managed_top_units(self, principal: Principal) -> frozenset[int] | None:
        """Whose grants the principal may list (None: everyone's); enforce decides each change."""
        return managed_top_units(principal, self.role_lines(principal))

    def decider(self, principal: Principal, written: Sequence[PolicyLine] = ()) -> "Decider":
        """casbin's own row-by-row answers for this principal. Slow by design: never on the read path."""
        # A fresh enforcer: the principal's links (its roles, its agency) and its written lines are
        # added to a copy of the file policy, so concurrent requests never share them.
        enforcer = _enforcer(self._model_path, self._policy_path)
        for subject in principal.subjects[1:]:
            enforcer.add_grouping_policy(principal.subject, subject)
        for line in written:
            enforcer.add_policy(line.subject, line.relation, line.fields, line.action)
        return Decider(enforcer, SubjectFacts.of(principal))

    def may_manage_grants(self, principal: Principal, places: Iterable[tuple[str, int]]) -> bool:
        """Whether the principal may grant or revoke access to officials at every (unit path, top-level
        unit id) of `places`: the HR of their ministry or province, or the national administrator."""
        decider = self.decider(principal)  # one enforcer for all the places, not one per place
        return all(
            decider.allows(RowFacts(id=0, unit_path=path, top_unit_id=top, field="-"), MANAGE_GRANTS)
            for path, top in places
        )


class Decider:
    def __init__(self, enforcer: _Enforcer, subject: SubjectFacts) -> None:
        self._enforcer = enforcer
        self._subject = subject

    def allows(self, row: RowFacts, action: str = READ) -> bool:
        return bool(self._enforcer.enforce(self._subject, row, action))
