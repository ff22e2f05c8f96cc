"""Random worlds for the equivalence property: a unit tree, officials, a principal with roles, written
grants, agreements, and a query (filter, order, page size) to run against them; how to write one into
the test database; and the written lines casbin is asked about, worked out from the world itself.

Generated officials are born 1901-1910 and named with words starting with Z, which no seeded official
is or has: a filter on those values matches generated officials only, so its answer can be compared
whole.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from hypothesis import strategies as st
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import AccessGrant, Account, Agency, Agreement, Official, Unit, table_of
from db.queries.officials import OrderField
from db.text import fold, name_sort_key
from policies.authorizer import Authorizer
from policies.principal import Principal
from policies.rules import READ, PolicyLine, RowFacts
from policies.written import today

BASE = 1_000_000  # generated ids start here, far above the seeded ones
ROLES = ("admin", "analyst", "hr", "approver", "manager", "official")
AUTHORIZER = Authorizer()
GROUPS = sorted(g for g in AUTHORIZER.groups if g != "all")
FIELDS = sorted(AUTHORIZER.data_fields)
# Sibling codes chosen so that paths are often prefixes of each other as strings ("/ZA/" vs "/ZAB/",
# "/ZA/ZA.1/" vs "/ZA/ZA.10/", and "/ZA/ZA.A/" vs its sibling "/ZA/ZA.A.1/"): a subtree must not
# take in a sibling whose path merely starts with the same characters.
CODE_PARTS = ("A", "AB", "A.1", "1", "10", "B")
# Words of generated names: accents to fold, and LIKE's wildcards and escape character ("/" in SQLAlchemy's
# autoescape), which a name filter must match as themselves.
WORDS = ("Zan", "Zân", "Zanh", "Zắc", "Zũng", "Zđa", "ZAN", "Z%a", "Z_b", "Z\\c", "Z/d")
WILDCARDS = ("%", "_", "\\", "/", "%%", "_%", "\\%", "%_", "z%%", " % ")


@dataclass(frozen=True)
class Node:
    id: int
    code: str
    parent: int | None
    top: int
    path: str


@dataclass(frozen=True)
class Person:
    name: str = "Zan"
    gender: str = "NAM"
    birth: date = date(1905, 6, 1)


@dataclass(frozen=True)
class WrittenGrant:
    unit: int | None  # index into the tree, or None for named officials
    officials: frozenset[int]  # indexes into the officials
    fields: tuple[str, ...]
    valid_from: date
    valid_to: date
    revoked: bool


@dataclass(frozen=True)
class WrittenAgreement:
    top_units: frozenset[int] | None  # indexes of top units, or None for all
    fields: tuple[str, ...]
    valid_from: date
    valid_to: date


@dataclass(frozen=True)
class Query:
    """A list to ask for. Each filter reads a field: `needle` the name, `birth_years` and `gender` the
    birth date and gender, `unit` the unit (the world's filter_unit, which also folds the scope)."""

    needle: str | None = None
    birth_years: tuple[int | None, int] | None = None  # (from, to); `to` before 1960: generated rows only
    gender: str | None = None  # only with birth_years, for the same reason
    unit: bool = False
    order: OrderField = "id"
    descending: bool = False
    page: int = 3

    @property
    def generated_only(self) -> bool:
        """The filter can match generated officials only, so its whole answer is compared."""
        return self.unit or self.needle is not None or self.birth_years is not None


@dataclass(frozen=True)
class World:
    tree: tuple[Node, ...]
    officials: tuple[int, ...]  # each official's unit, as an index into the tree
    roles: frozenset[str]
    unit: int  # the principal's unit (index into the tree)
    self_index: int | None  # the principal's own record (index into the officials)
    agency: bool
    grants: tuple[WrittenGrant, ...]
    agreements: tuple[WrittenAgreement, ...]
    filter_unit: int = 0  # a unit filter to list by: the scope is then folded over its subtree
    people: tuple[Person, ...] = ()  # names, genders, births by official; defaults where missing
    query: Query = field(default_factory=Query)
    # The fields asked of casbin on each row; None: all. Crowded worlds sample a few, casbin being slow
    # with hundreds of lines (it tries them in turn for every field of every row).
    checked: tuple[str, ...] | None = None

    def person(self, index: int) -> Person:
        return self.people[index] if index < len(self.people) else Person()


@st.composite
def trees(draw: st.DrawFn) -> tuple[Node, ...]:
    nodes: list[Node] = []
    tops = draw(st.lists(st.sampled_from(CODE_PARTS), min_size=1, max_size=3, unique=True))
    frontier: list[Node] = []
    for part in tops:
        node_id = BASE + len(nodes)
        node = Node(node_id, f"Z{part}", None, node_id, f"/Z{part}/")
        nodes.append(node)
        frontier.append(node)
    while frontier and len(nodes) < 12:
        parent = frontier.pop(0)
        if parent.path.count("/") > 4:
            continue
        for part in draw(st.lists(st.sampled_from(CODE_PARTS), max_size=3, unique=True)):
            code = f"{parent.code}.{part}"
            if any(n.code == code for n in nodes):
                continue  # "ZA" > "A" > "1" and "ZA" > "A.1" would both be ZA.A.1
            node = Node(BASE + len(nodes), code, parent.id, parent.top, f"{parent.path}{code}/")
            nodes.append(node)
            frontier.append(node)
    return tuple(nodes)


def _dates() -> st.SearchStrategy[tuple[date, date]]:
    # Around today: in force, expired, or not yet in force.
    offsets = st.integers(min_value=-40, max_value=40)
    return st.tuples(offsets, offsets).map(
        lambda pair: (today() + timedelta(days=min(pair)), today() + timedelta(days=max(pair)))
    )


def _field_names() -> st.SearchStrategy[tuple[str, ...]]:
    # Groups as often as single fields: a row then often reads some of the fields a query uses and not
    # others (a unit but not a name), which is where filtering and ordering by row matter.
    name = st.one_of(st.sampled_from(GROUPS), st.sampled_from(FIELDS))
    return st.lists(name, min_size=1, max_size=4, unique=True).map(tuple)


def people(count: int) -> st.SearchStrategy[tuple[Person, ...]]:
    names = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)
    births = st.builds(
        lambda year, day: date(year, 1, 1) + timedelta(days=day), st.integers(1901, 1910), st.integers(0, 364)
    )
    person = st.builds(Person, names, st.sampled_from(("NAM", "NU")), births)
    return st.lists(person, min_size=count, max_size=count).map(tuple)


def needles() -> st.SearchStrategy[str]:
    """Word prefixes of generated names (so they can match), several words, and wildcards alone."""
    prefix = st.builds(lambda word, end: word[:end], st.sampled_from(WORDS), st.integers(1, 5))
    two_words = st.builds(
        lambda a, b, end: f"{a} {b[:end]}", st.sampled_from(WORDS), st.sampled_from(WORDS), st.integers(1, 4)
    )
    return st.one_of(prefix, two_words, st.sampled_from(WILDCARDS), prefix.map(str.upper))


@st.composite
def queries(draw: st.DrawFn) -> Query:
    years = draw(st.none() | st.tuples(st.none() | st.integers(1900, 1906), st.integers(1904, 1911)))
    return Query(
        needle=draw(st.none() | needles()),
        birth_years=years,
        gender=draw(st.sampled_from(("NAM", "NU"))) if years is not None and draw(st.booleans()) else None,
        unit=draw(st.booleans()),
        order=draw(st.sampled_from(("name", "code", "birth_date", "id"))),
        descending=draw(st.booleans()),
        page=draw(st.integers(1, 4)),
    )


def _written_grant(n_units: int, n_people: int, draw: st.DrawFn, *, dated: bool = True) -> WrittenGrant:
    valid_from, valid_to = draw(_dates()) if dated else (today(), today() + timedelta(days=30))
    by_unit = draw(st.booleans())
    return WrittenGrant(
        unit=draw(st.integers(0, n_units - 1)) if by_unit else None,
        officials=frozenset(draw(st.lists(st.integers(0, n_people - 1), min_size=1, max_size=3))),
        fields=draw(_field_names()),
        valid_from=valid_from,
        valid_to=valid_to,
        revoked=draw(st.integers(0, 4)) == 0,
    )


@st.composite
def worlds(draw: st.DrawFn) -> World:
    tree = draw(trees())
    n_units = len(tree)
    officials = tuple(draw(st.lists(st.integers(0, n_units - 1), min_size=1, max_size=8)))
    roles = frozenset(draw(st.lists(st.sampled_from(ROLES), max_size=2, unique=True)))
    has_self = "official" in roles or draw(st.booleans())
    grants = [_written_grant(n_units, len(officials), draw) for _ in range(draw(st.integers(0, 3)))]
    agency = draw(st.integers(0, 3)) == 0
    agreements = []
    if agency:
        top_indexes = [i for i, node in enumerate(tree) if node.parent is None]
        for _ in range(draw(st.integers(1, 2))):
            valid_from, valid_to = draw(_dates())
            chosen = draw(st.none() | st.frozensets(st.sampled_from(top_indexes), min_size=1))
            agreements.append(WrittenAgreement(chosen, draw(_field_names()), valid_from, valid_to))
    return World(
        tree=tree,
        officials=officials,
        roles=roles,
        unit=draw(st.integers(0, n_units - 1)),
        self_index=draw(st.integers(0, len(officials) - 1)) if has_self else None,
        agency=agency,
        grants=tuple(grants),
        agreements=tuple(agreements),
        filter_unit=draw(st.integers(0, n_units - 1)),
        people=draw(people(len(officials))),
        query=draw(queries()),
    )


@st.composite
def crowded_worlds(draw: st.DrawFn) -> World:
    """One grantee holding 64 to 200 written grants in force, over random units and officials, each for
    random fields: far more distinct grants than the 63 a 64-bit mask once had room for."""
    tree = draw(trees())
    officials = tuple(draw(st.lists(st.integers(0, len(tree) - 1), min_size=1, max_size=6)))
    count = draw(st.integers(64, 200))
    grants = tuple(_written_grant(len(tree), len(officials), draw, dated=False) for _ in range(count))
    return World(
        tree=tree,
        officials=officials,
        roles=frozenset(draw(st.lists(st.sampled_from(ROLES), max_size=1))),
        unit=draw(st.integers(0, len(tree) - 1)),
        self_index=None,
        agency=False,
        grants=grants,
        agreements=(),
        filter_unit=draw(st.integers(0, len(tree) - 1)),
        people=draw(people(len(officials))),
        query=draw(queries()),
        checked=tuple(draw(st.lists(st.sampled_from(FIELDS), min_size=6, max_size=8, unique=True))),
    )


def _unit_rows(world: World) -> list[dict[str, object]]:
    return [
        {
            "id": n.id,
            "code": n.code,
            "name": n.code,
            "kind": "DEPARTMENT",
            "parent_id": n.parent,
            "top_unit_id": n.top,
            "level": n.path.count("/") - 1,
            "path": n.path,
        }
        for n in world.tree
    ]


async def _insert_officials(conn: AsyncConnection, world: World) -> None:
    template = (await conn.execute(select(table_of(Official)).limit(1))).mappings().one()
    rows = []
    for i, unit_index in enumerate(world.officials):
        node, person = world.tree[unit_index], world.person(i)
        rows.append(
            {
                **template,
                "id": BASE + i,
                "code": f"ZP{i:08d}",
                "personal_id": f"9{i:011d}",
                "full_name": person.name,
                "name_search": fold(person.name),
                "name_sort": name_sort_key(person.name),
                "gender": person.gender,
                "birth_date": person.birth,
                "unit_id": node.id,
                "top_unit_id": node.top,
                "position_id": None,
            }
        )
    await conn.execute(insert(table_of(Official)), rows)


def _grant_rows(world: World, now: datetime) -> list[dict[str, object]]:
    return [
        {
            "id": BASE + i,
            "grantee_id": BASE,
            "managing_unit_id": world.tree[0].id,
            "unit_id": world.tree[grant.unit].id if grant.unit is not None else None,
            "official_ids": None if grant.unit is not None else sorted(BASE + o for o in grant.officials),
            "fields": " ".join(grant.fields),
            "valid_from": grant.valid_from,
            "valid_to": grant.valid_to,
            "document_number": f"PT-{i}",
            "granted_by_id": BASE,
            "created_at": now,
            "revoked_at": now if grant.revoked else None,
        }
        for i, grant in enumerate(world.grants)
    ]


def _agreement_rows(world: World, agency_id: int | None, now: datetime) -> list[dict[str, object]]:
    tops = [n for n in world.tree if n.parent is None]
    return [
        {
            "id": BASE + i,
            "agency_id": agency_id,
            "top_unit_ids": None if agreement.top_units is None else sorted(tops[t].id for t in agreement.top_units),
            "fields": " ".join(agreement.fields),
            "document_number": f"PA-{i}",
            "valid_from": agreement.valid_from,
            "valid_to": agreement.valid_to,
            "created_at": now,
        }
        for i, agreement in enumerate(world.agreements)
    ]


async def insert_world(conn: AsyncConnection, world: World) -> Principal:
    """Write the world (inside the caller's transaction) and return its principal."""
    await conn.execute(insert(table_of(Unit)), _unit_rows(world))
    await _insert_officials(conn, world)
    now = datetime.now(UTC)
    agency_id = BASE if world.agency else None
    if agency_id is not None:
        await conn.execute(insert(table_of(Agency)).values(id=agency_id, code="zprop", name="Property test agency"))
    unit = world.tree[world.unit]
    official_id = BASE + world.self_index if world.self_index is not None else None
    kind = "agency" if world.agency else "staff"
    await conn.execute(
        insert(table_of(Account)).values(
            id=BASE,
            username="zprop",
            kind=kind,
            roles=" ".join(sorted(world.roles)),
            unit_id=unit.id,
            official_id=official_id,
            agency_id=agency_id,
            created_at=now,
        )
    )
    if world.grants:
        await conn.execute(insert(table_of(AccessGrant)), _grant_rows(world, now))
    if world.agreements:
        await conn.execute(insert(table_of(Agreement)), _agreement_rows(world, agency_id, now))
    return Principal(
        account_id=BASE,
        username="zprop",
        kind=kind,
        roles=world.roles,
        unit_id=unit.id,
        unit_code=unit.code,
        unit_path=unit.path,
        top_unit_id=unit.top,
        official_id=official_id,
        agency_id=agency_id,
        agency_code="zprop" if world.agency else None,
    )


def facts(world: World) -> list[RowFacts]:
    return [
        RowFacts(id=BASE + i, unit_path=world.tree[u].path, top_unit_id=world.tree[u].top)
        for i, u in enumerate(world.officials)
    ]


def oracle_lines(world: World, principal: Principal) -> list[PolicyLine]:
    """The written lines in force, worked out here from the world, not read back from the database."""
    day = today()
    lines = []
    for i, grant in enumerate(world.grants):
        if grant.revoked or not grant.valid_from <= day <= grant.valid_to:
            continue
        if grant.unit is not None:
            relation = f"units:{world.tree[grant.unit].path}"
        else:
            relation = "officials:" + " ".join(str(BASE + o) for o in sorted(grant.officials))
        lines += [PolicyLine(principal.subject, relation, f, READ, f"grant:{i}") for f in grant.fields]
    tops = [n for n in world.tree if n.parent is None]
    for i, agreement in enumerate(world.agreements):
        if not agreement.valid_from <= day <= agreement.valid_to:
            continue
        relation = (
            "all"
            if agreement.top_units is None
            else "top_units:" + " ".join(str(tops[t].id) for t in sorted(agreement.top_units))
        )
        lines += [PolicyLine("agency:zprop", relation, f, READ, f"agreement:{i}") for f in agreement.fields]
    return lines


def node(index: int, code: str, parent: int | None) -> Node:
    top = BASE if parent is not None else BASE + index
    path = "/" + "/".join(code.split("/")) + "/"
    return Node(BASE + index, code.split("/")[-1], None if parent is None else BASE + parent, top, path)
