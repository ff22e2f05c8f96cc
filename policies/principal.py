from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as established from a verified token and the account it names."""

    account_id: int
    username: str
    kind: str  # official | staff | agency
    roles: frozenset[str]
    unit_id: int | None = None
    unit_code: str | None = None
    # The account's unit's place in the tree: what the `subtree` and `top_unit` relations are
    # relative to.
    unit_path: str | None = None
    top_unit_id: int | None = None
    official_id: int | None = None
    agency_id: int | None = None
    agency_code: str | None = None

    @property
    def subject(self) -> str:
        """The principal's name in the policy (request subject `r.sub.name`)."""
        return f"account:{self.username}"

    @property
    def subjects(self) -> tuple[str, ...]:
        """Every policy subject that applies to the principal: itself, its roles, its agency."""
        names = [self.subject, *(f"role:{role}" for role in sorted(self.roles))]
        if self.agency_code is not None:
            names.append(f"agency:{self.agency_code}")
        return tuple(names)
