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
    official_id: int | None = None
    agency_code: str | None = None
