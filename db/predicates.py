"""What a grant is: a row predicate, the fields it opens and the legal bases it rests on; and how a
predicate folds over a unit the query is already confined to."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Everyone:
    """Every official in the database (national administrator)."""


@dataclass(frozen=True, slots=True)
class TopUnits:
    """Everyone under these ministries or provinces (the most common scope, an indexed column)."""

    unit_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class Subtree:
    """Everyone in a unit and the units below it; `path` is the unit's materialised path."""

    path: str


@dataclass(frozen=True, slots=True)
class Self:
    """One official's own record."""

    official_id: int


@dataclass(frozen=True, slots=True)
class Named:
    """Officials named one by one (a written grant for particular people)."""

    official_ids: frozenset[int]


Predicate = Everyone | TopUnits | Subtree | Self | Named


@dataclass(frozen=True, slots=True)
class Grant:
    predicate: Predicate
    fields: frozenset[str]
    # Where the right comes from (policy lines, agreements, written grants with their document
    # numbers; several when lines over the same rows merged): what a receipt cites as legal basis.
    bases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UnitBound:
    """The query is already confined to this unit's subtree (a unit filter): grant predicates that are
    then always true or always false are folded before they reach SQL, so the planner does not AND a
    scan of the whole ministry into a scan of one department."""

    path: str
    top_unit_id: int


def holds(predicate: Predicate, official_id: int, unit_path: str | None, top_unit_id: int) -> bool:
    """The predicate, decided in Python for one official (its unit's path is needed for a Subtree
    only; None stands for "not known", which a Subtree never matches)."""
    match predicate:
        case Everyone():
            return True
        case TopUnits(unit_ids):
            return top_unit_id in unit_ids
        case Subtree(path):
            return unit_path is not None and unit_path.startswith(path)
        case Self(own):
            return official_id == own
        case Named(official_ids):
            return official_id in official_ids


def folded(predicate: Predicate, bound: UnitBound | None) -> bool | None:
    """True or False when the predicate is constant over the bound's subtree; None otherwise."""
    match predicate:
        case Everyone():
            return True
        case TopUnits(unit_ids) if bound is not None:
            return bound.top_unit_id in unit_ids
        case Subtree(path) if bound is not None:
            if bound.path.startswith(path):
                return True
            return None if path.startswith(bound.path) else False
    return None
