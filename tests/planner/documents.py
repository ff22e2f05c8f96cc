"""Random GraphQL documents over everything the compiled read path covers: every root it compiles, every
field of an official (from the catalog), units and positions at any depth, inside lists too, child
records, codes, connections with their arguments, and the pages of officials below units and positions
(`Unit.officials`, `Position.holders`, inside lists too); written with aliases, named and inline
fragments, and @include/@skip driven by variables. hypothesis-graphql builds documents from the whole schema, where most
would fall back; these stay inside what compiles, so a fallback is a failure of the planner."""

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from db.catalog import OFFICIAL_FIELDS, RECORD_FIELDS, RECORD_TYPES, RecordKind

UNIT_CODES = ("BNV", "BNV.VP", "BNV.TCCB", "BTC", "HNI", "HNI.SNV", "BYT")
CODE_LISTS = ("gender", "ethnicity", "rank", "unit_kind")
UNIT_SCALARS = ("id", "code", "name", "level", "path")
POSITION_SCALARS = ("id", "code", "title", "quota")


@dataclass
class Document:
    """A document under construction: its fragments and variables collect as selections are drawn."""

    fragments: list[str] = field(default_factory=list)
    variables: dict[str, bool] = field(default_factory=dict)
    aliases: int = 0

    def text(self, root: str) -> str:
        header = ", ".join(f"${name}: Boolean!" for name in self.variables)
        operation = f"query Q({header}) {{ {root} }}" if header else f"query Q {{ {root} }}"
        return " ".join([operation, *self.fragments])


def _dressed(draw: st.DrawFn, doc: Document, name: str, body: str = "") -> str:
    """A field (`name` with its arguments), perhaps aliased, perhaps under a directive (which comes before
    the selection set)."""
    text = name
    if draw(st.integers(0, 6)) == 0:
        doc.aliases += 1
        text = f"a{doc.aliases}: {text}"
    if draw(st.integers(0, 8)) == 0:
        variable = f"v{len(doc.variables)}"
        doc.variables[variable] = draw(st.booleans())
        directive = draw(st.sampled_from(("include", "skip")))
        text = f"{text} @{directive}(if: ${variable})"
    return f"{text} {body}".strip()


def _wrapped(draw: st.DrawFn, doc: Document, type_name: str, fields: list[str]) -> str:
    """A selection set, some of it perhaps in a named or an inline fragment."""
    if len(fields) > 1 and draw(st.integers(0, 4)) == 0:
        cut = draw(st.integers(1, len(fields) - 1))
        name = f"F{len(doc.fragments)}"
        doc.fragments.append(f"fragment {name} on {type_name} {{ {' '.join(fields[cut:])} }}")
        fields = [*fields[:cut], f"...{name}"]
    if len(fields) > 1 and draw(st.integers(0, 5)) == 0:
        fields = [fields[0], f"... on {type_name} {{ {' '.join(fields[1:])} }}"]
    return "{ " + " ".join(fields) + " }"


def _some(draw: st.DrawFn, options: tuple[str, ...] | list[str], most: int = 6) -> list[str]:
    return draw(st.lists(st.sampled_from(list(options)), min_size=1, max_size=most, unique=True))


def _code(draw: st.DrawFn, doc: Document) -> str:
    return _wrapped(draw, doc, "Code", [_dressed(draw, doc, n) for n in _some(draw, ("code", "label", "__typename"))])


def _unit(draw: st.DrawFn, doc: Document, depth: int, once: bool = False) -> str:
    """A unit's selection; `once` where a page of officials may be asked below it (not inside a page's
    own officials, which would ask one page per official: past the cost bound, refused on both paths)."""
    names = list(UNIT_SCALARS) + ["kind", "__typename"]
    if depth > 0:
        names += ["parent", "topUnit", "children", "positions"]
        if once:
            names.append("officials")
    fields = []
    for name in _some(draw, names, most=5):
        if name == "kind":
            fields.append(_dressed(draw, doc, name, _code(draw, doc)))
        elif name in ("parent", "topUnit"):
            fields.append(_dressed(draw, doc, name, _unit(draw, doc, depth - 1, once)))
        elif name == "children":
            fields.append(_dressed(draw, doc, name, _unit(draw, doc, depth - 1, once)))
        elif name == "positions":
            fields.append(_dressed(draw, doc, name, _position(draw, doc, depth - 1, once)))
        elif name == "officials":
            fields.append(_dressed(draw, doc, *_page(draw, doc, name, filter_unit=False)))
        else:
            fields.append(_dressed(draw, doc, name))
    return _wrapped(draw, doc, "Unit", fields)


def _position(draw: st.DrawFn, doc: Document, depth: int, once: bool = False) -> str:
    names = list(POSITION_SCALARS) + ["category", "requiredRank", "__typename"]
    if depth > 0:
        names.append("unit")
        if once:
            names.append("holders")
    fields = []
    for name in _some(draw, names, most=4):
        if name in ("category", "requiredRank"):
            fields.append(_dressed(draw, doc, name, _code(draw, doc)))
        elif name == "unit":
            fields.append(_dressed(draw, doc, name, _unit(draw, doc, depth - 1, once)))
        elif name == "holders":
            fields.append(_dressed(draw, doc, *_page(draw, doc, name, filter_unit=True)))
        else:
            fields.append(_dressed(draw, doc, name))
    return _wrapped(draw, doc, "Position", fields)


def _records(draw: st.DrawFn, doc: Document, kind: RecordKind) -> str:
    columns = {c.name: c for c in RECORD_FIELDS[kind]}
    fields = []
    for name in _some(draw, [*columns, "__typename"], most=4):
        coded = name in columns and columns[name].codes is not None
        fields.append(_dressed(draw, doc, name, _code(draw, doc) if coded else ""))
    return _wrapped(draw, doc, RECORD_TYPES[kind], fields)


# Fields few principals may read: drawn often, since where they are refused is what the check is about.
GUARDED = ("religion", "ethnicity", "health", "familyMembers", "disciplines", "salaryCoefficient", "personalId")


def _official(draw: st.DrawFn, doc: Document, once: bool = False) -> str:
    names = ["id", "__typename", *(f.name for f in OFFICIAL_FIELDS)]
    by_name = {f.name: f for f in OFFICIAL_FIELDS}
    fields = []
    chosen = _some(draw, names, most=8)
    if draw(st.booleans()):
        chosen = list(dict.fromkeys([*chosen, draw(st.sampled_from(GUARDED))]))
    for name in chosen:
        catalog = by_name.get(name)
        if catalog is None or catalog.kind == "plain":
            fields.append(_dressed(draw, doc, name))
        elif catalog.kind == "code":
            fields.append(_dressed(draw, doc, name, _code(draw, doc)))
        elif catalog.kind == "unit":
            fields.append(_dressed(draw, doc, name, _unit(draw, doc, 2, once)))
        elif catalog.kind == "position":
            fields.append(_dressed(draw, doc, name, _position(draw, doc, 2, once)))
        else:
            assert catalog.records is not None
            fields.append(_dressed(draw, doc, name, _records(draw, doc, catalog.records)))
    return _wrapped(draw, doc, "Official", fields)


def _filter(draw: st.DrawFn, unit: bool = True) -> str:
    parts = []
    if unit and draw(st.booleans()):
        parts.append(f'unit: "{draw(st.sampled_from(UNIT_CODES))}"')
        if draw(st.booleans()):
            parts.append(f"includeSubunits: {str(draw(st.booleans())).lower()}")
    if draw(st.integers(0, 3)) == 0:
        parts.append(f"employeeTypes: [{draw(st.sampled_from(('CONG_CHUC', 'VIEN_CHUC', 'CAN_BO')))}]")
    if draw(st.integers(0, 3)) == 0:
        parts.append(f"gender: {draw(st.sampled_from(('NAM', 'NU')))}")
    if draw(st.integers(0, 3)) == 0:
        low = draw(st.integers(1960, 2000))
        parts.append(f"birthYearFrom: {low}, birthYearTo: {low + draw(st.integers(0, 15))}")
    if draw(st.integers(0, 3)) == 0:
        parts.append(f'name: "{draw(st.sampled_from(("nguyen", "van a", "thi", "tran", "le")))}"')
    return "{" + ", ".join(parts) + "}"


def _page(draw: st.DrawFn, doc: Document, name: str = "officials", filter_unit: bool = True) -> tuple[str, str]:
    """A page of officials, as the field with its arguments and its selection set: the root `officials`,
    or `Unit.officials` (whose unit is its parent's, so `filter.unit` is left out) and `Position.holders`."""
    arguments = [f"first: {draw(st.integers(0, 100))}"]
    if draw(st.booleans()):
        arguments.append(f"filter: {_filter(draw, unit=filter_unit)}")
    if draw(st.booleans()):
        order = draw(st.sampled_from(("NAME", "CODE", "BIRTH_DATE")))
        arguments.append(f"orderBy: {{field: {order}, direction: {draw(st.sampled_from(('ASC', 'DESC')))}}}")
    parts = []
    for part in _some(draw, ("nodes", "edges", "pageInfo", "totalCount", "__typename"), most=4):
        if part == "nodes":
            parts.append(_dressed(draw, doc, part, _official(draw, doc)))
        elif part == "edges":
            edge = [_dressed(draw, doc, "cursor"), _dressed(draw, doc, "node", _official(draw, doc))]
            parts.append(_dressed(draw, doc, part, "{ " + " ".join(edge) + " }"))
        elif part == "pageInfo":
            names = ("hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename")
            parts.append(_dressed(draw, doc, part, "{ " + " ".join(_some(draw, names)) + " }"))
        else:
            parts.append(_dressed(draw, doc, part))
    return f"{name}({', '.join(arguments)})", f"{{ {' '.join(parts)} }}"


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """(document, variables)."""
    doc = Document()
    root = draw(st.sampled_from(("officials", "official", "me", "unit", "units", "position", "codeList")))
    match root:
        case "officials":
            text = " ".join(_page(draw, doc))
        case "official":
            ref = draw(
                st.sampled_from(('id: "1"', 'id: "42"', 'id: "2147483000"', 'code: "SH00000007"', 'code: "SH00000100"'))
            )
            text = f"official({ref}) {_official(draw, doc, once=True)}"
        case "me":
            text = f"me {_official(draw, doc, once=True)}"
        case "unit":
            text = f'unit(code: "{draw(st.sampled_from(UNIT_CODES))}") {_unit(draw, doc, 2, once=True)}'
        case "units":
            kind = draw(st.sampled_from(("", "(kind: MINISTRY)", "(kind: PROVINCE)")))
            text = f"units{kind} {_unit(draw, doc, 2, once=True)}"
        case "position":
            text = f'position(id: "{draw(st.integers(1, 60))}") {_position(draw, doc, 2, once=True)}'
        case _:
            fields = " ".join(_some(draw, ("code", "label", "__typename")))
            text = f'codeList(name: "{draw(st.sampled_from(CODE_LISTS))}") {{ {fields} }}'
    return doc.text(text), dict(doc.variables)
