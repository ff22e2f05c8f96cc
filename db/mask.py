"""The grant mask: which of a scope's grants matched a row, written so that its size does not depend on
how many grants the account holds.

Grants are of four kinds by what their predicate looks at: every row (Everyone), the row's id (Self,
Named), its top-level unit (TopUnits), or its unit's place in the tree (Subtree). The mask is one token
per kind that looks at the row, `"<ids>.<tops>.<subtree>"`:

- ids and top-level units: the *class* of the row's key, where keys whose grants together open the same
  fields share a class. Sixty-four written grants of `work` over sixty-four officials are one class,
  one WHEN with one IN list of sixty-four ids; class 0 is "no grant of this kind".
- subtree: the deepest granted subtree that holds the row (0: none). Subtrees are nested or disjoint,
  so the subtree grants matching a row are exactly those at or above that one.

From the mask alone Python knows the fields readable on the row (`readable`, cached per mask by the
Scope); from the mask, the row's id and its top-level unit, exactly which grants matched (`bases`, what
a receipt cites). The statement holds each granted id, top-level unit and path once.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from db.predicates import Everyone, Grant, Named, Predicate, Self, Subtree, TopUnits, UnitBound

NO_FIELDS: frozenset[str] = frozenset()
# The fields that tell where an official sits in the tree.
LOCATION: frozenset[str] = frozenset({"Official.unit", "Official.topUnit"})


@dataclass(frozen=True, slots=True)
class Case:
    """A token that depends on the row: the value of the first predicate the row matches, else `otherwise`."""

    whens: tuple[tuple[Predicate, str], ...]
    otherwise: str


Token = str | Case


@dataclass(frozen=True, slots=True)
class Classes:
    """Grants that match a row by one of its columns (its id, or its top-level unit), by class of key."""

    fields: tuple[frozenset[str], ...]  # by class; class 0 opens nothing
    members: tuple[frozenset[int], ...]  # by class; class 0 has none
    of_key: Mapping[int, int]
    bases_of_key: Mapping[int, frozenset[str]]

    @classmethod
    def of(cls, keyed: Iterable[tuple[Iterable[int], Grant]]) -> "Classes":
        grants = list(keyed)
        # Most keys are in one grant: work per distinct set of grants, not per key.
        holders: dict[int, list[int]] = {}
        for index, (keys, _) in enumerate(grants):
            for key in keys:
                holders.setdefault(key, []).append(index)
        by_holders: dict[tuple[int, ...], list[int]] = {}
        for key, held_by in holders.items():
            by_holders.setdefault(tuple(held_by), []).append(key)
        members: dict[frozenset[str], set[int]] = {}
        bases_of_key: dict[int, frozenset[str]] = {}
        for indexes, keys in by_holders.items():
            members.setdefault(frozenset().union(*(grants[i][1].fields for i in indexes)), set()).update(keys)
            bases = frozenset(b for i in indexes for b in grants[i][1].bases)
            bases_of_key.update(dict.fromkeys(keys, bases))
        order = sorted(members, key=sorted)  # the same scope always numbers its classes alike
        return cls(
            fields=(NO_FIELDS, *order),
            members=(frozenset(), *(frozenset(members[f]) for f in order)),
            of_key={key: number for number, f in enumerate(order, 1) for key in members[f]},
            bases_of_key=bases_of_key,
        )

    def __len__(self) -> int:
        return len(self.members) - 1

    def token(self, test: type[Named] | type[TopUnits], known: int | None) -> Token:
        """The class of the row's key: a constant when the query already fixes the key (`known`)."""
        if known is not None:
            return str(self.of_key.get(known, 0))
        if not len(self):
            return "0"
        return Case(tuple((test(keys), str(number)) for number, keys in enumerate(self.members[1:], 1)), "0")


@dataclass(frozen=True, slots=True)
class Subtrees:
    """Subtree grants, by path, deepest first: the first path of a CASE that holds a row is its deepest."""

    paths: tuple[str, ...]  # class k is paths[k - 1]
    fields: tuple[frozenset[str], ...]  # by class: what the grants at or above that path open together
    bases: tuple[frozenset[str], ...]

    @classmethod
    def of(cls, grants: list[Grant]) -> "Subtrees":
        by_path = {g.predicate.path: g for g in grants if isinstance(g.predicate, Subtree)}
        paths = tuple(sorted(by_path, key=lambda p: (-len(p), p)))
        # A path's ancestors are its own prefixes ending in "/": "/A/A.1/" is under "/A/".
        above = [[by_path[p[: i + 1]] for i, c in enumerate(p) if c == "/" and p[: i + 1] in by_path] for p in paths]
        return cls(
            paths=paths,
            fields=(NO_FIELDS, *(frozenset().union(*(g.fields for g in gs)) for gs in above)),
            bases=(frozenset(), *(frozenset(b for g in gs for b in g.bases) for gs in above)),
        )

    def token(self, bound: UnitBound | None) -> Token:
        """Inside a bound, the subtrees holding the bound are constant and only those below it vary."""
        if bound is None:
            return Case(tuple((Subtree(p), str(k)) for k, p in enumerate(self.paths, 1)), "0") if self.paths else "0"
        holding = next((k for k, p in enumerate(self.paths, 1) if bound.path.startswith(p)), 0)
        below = tuple(
            (Subtree(p), str(k))
            for k, p in enumerate(self.paths, 1)
            if p.startswith(bound.path) and not bound.path.startswith(p)
        )
        return Case(below, str(holding)) if below else str(holding)


@dataclass(frozen=True, slots=True)
class MaskLayout:
    everyone: bool
    everyone_fields: frozenset[str]
    everyone_bases: frozenset[str]
    ids: Classes
    tops: Classes
    subtrees: Subtrees
    # (fields, bases) of each grant by place (top-level units, a subtree): what a receipt cites for a row
    # whose place the caller may not read (bases).
    by_place: tuple[tuple[frozenset[str], tuple[str, ...]], ...] = ()

    @classmethod
    def of(cls, grants: Iterable[Grant]) -> "MaskLayout":
        grants = list(grants)
        everyone = [g for g in grants if isinstance(g.predicate, Everyone)]
        return cls(
            everyone=bool(everyone),
            everyone_fields=frozenset().union(*(g.fields for g in everyone)),
            everyone_bases=frozenset(b for g in everyone for b in g.bases),
            ids=Classes.of((_ids(g.predicate), g) for g in grants if isinstance(g.predicate, Self | Named)),
            tops=Classes.of((g.predicate.unit_ids, g) for g in grants if isinstance(g.predicate, TopUnits)),
            subtrees=Subtrees.of(grants),
            by_place=tuple((g.fields, g.bases) for g in grants if isinstance(g.predicate, TopUnits | Subtree)),
        )

    def tokens(self, bound: UnitBound | None) -> list[Token]:
        """The mask's pieces for a statement, its dots included."""
        kinds = [len(self.ids), len(self.tops), len(self.subtrees.paths)]
        if not self.everyone and sorted(kinds) == [0, 0, 1]:
            # One grant of one kind and nothing else: every row of the scope matched it.
            return [".".join("1" if n else "0" for n in kinds)]
        return [
            self.ids.token(Named, None),
            ".",
            self.tops.token(TopUnits, bound.top_unit_id if bound is not None else None),
            ".",
            self.subtrees.token(bound),
        ]

    def readable(self, mask: str) -> frozenset[str]:
        i, t, s = (int(part) for part in mask.split("."))
        return self.everyone_fields | self.ids.fields[i] | self.tops.fields[t] | self.subtrees.fields[s]

    def bases(self, mask: str, official_id: int, top_unit_id: int) -> frozenset[str]:
        i, t, s = (int(part) for part in mask.split("."))
        by_id = self.ids.bases_of_key.get(official_id, frozenset()) if i else frozenset()
        readable = self.readable(mask)
        if readable & LOCATION:
            by_top = self.tops.bases_of_key.get(top_unit_id, frozenset()) if t else frozenset()
            return self.everyone_bases | by_id | by_top | self.subtrees.bases[s]
        # The row's place in the tree is not the caller's to know here: which grant by place matched would
        # tell it. Cite every grant by place that opens a field the row shows instead (what the caller
        # can work out from its own grants and the fields it was given), never fewer than matched.
        return self.everyone_bases | by_id | self.bases_by_place(readable)

    def bases_by_place(self, readable: frozenset[str]) -> frozenset[str]:
        return frozenset(b for fields, bases in self.by_place if fields & readable for b in bases)


def _ids(predicate: Predicate) -> frozenset[int]:
    if isinstance(predicate, Self):
        return frozenset({predicate.official_id})
    return predicate.official_ids if isinstance(predicate, Named) else frozenset()
