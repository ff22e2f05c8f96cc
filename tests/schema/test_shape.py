"""The written-out size of a document (schema/shape.py): measured in one pass over the document, the
same depth and alias counts strawberry's validators gave, and never the work of writing it out."""

from graphql import DocumentNode, parse, validate
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

from policies.authorizer import Authorizer
from schema import build_schema
from schema.common import core
from schema.limits import Limits
from schema.shape import CEILING, measure
from tests.examples import examples
from tests.schema.queries import fan_out, nodes

SCHEMA = core(build_schema(authorizer=Authorizer(), max_depth=12, max_aliases=50, max_tokens=5000))
LIMITS = Limits()


def test_a_fragment_spread_twice_at_every_level_counts_every_written_out_field() -> None:
    shape = measure(parse(fan_out(30)))
    assert shape.fields == 1 + (2**31 - 1)  # `me` and the ids
    assert LIMITS.refusal(shape) == (
        "The document asks for 2,147,483,648 fields once its fragments are written out in place; "
        "at most 2,000 are allowed (CCVC_MAX_QUERY_FIELDS)"
    )


def test_measuring_the_fan_out_visits_each_node_of_the_document_once() -> None:
    for levels in (5, 10, 30, 300):
        document = parse(fan_out(levels))
        assert measure(document).steps <= nodes(document)


def test_counts_stop_at_a_ceiling_however_far_fragments_multiply() -> None:
    shape = measure(parse(fan_out(300)))
    assert shape.fields == CEILING
    assert "more than 1,000,000,000,000,000 fields" in (LIMITS.refusal(shape) or "")


def test_a_fragment_that_spreads_itself_is_refused_without_measuring_it() -> None:
    document = parse("{ me { ...A } } fragment A on Official { id ...B } fragment B on Official { ...A }")
    shape = measure(document)
    assert shape.cycles == ["'A' via 'B'"]
    assert LIMITS.refusal(shape) == "Cannot spread fragment 'A' via 'B' within itself."


def test_a_long_chain_of_fragments_is_measured_without_recursion() -> None:
    chain = " ".join(f"fragment F{i} on Official {{ id ...F{i + 1} }}" for i in range(3000))
    shape = measure(parse("{ me { ...F0 } } " + chain + " fragment F3000 on Official { id }", max_tokens=100_000))
    assert shape.fields == 1 + 3001
    assert shape.operations[0][1].depth == 1


def strawberry_refusals(document: DocumentNode, limits: Limits) -> list[str]:
    rules = [depth_rule(limits.max_depth, None, None), aliases_rule(limits.max_aliases)]
    return [error.message for error in validate(SCHEMA, document, rules, max_errors=10**9)]


@settings(max_examples=examples(150), deadline=None)
@given(st.data())
def test_depth_and_aliases_are_refused_exactly_where_strawberry_refused_them(data: st.DataObject) -> None:
    text = data.draw(documents())
    document = parse(text)
    depth, aliases = data.draw(st.integers(2, 6)), data.draw(st.integers(1, 6))
    limits = Limits(max_fields=CEILING, max_depth=depth, max_aliases=aliases)
    ours = limits.refusal(measure(document))
    theirs = strawberry_refusals(document, limits)
    assert (ours is not None) == bool(theirs), (text, ours, theirs)
    if ours is not None and "depth" in ours:
        assert ours.startswith(theirs[0])
    if ours is not None and "aliases" in ours:
        assert ours.startswith(theirs[0])


@settings(max_examples=examples(150), deadline=None)
@given(st.data())
def test_measuring_is_linear_in_the_document_whatever_it_writes_out_to(data: st.DataObject) -> None:
    document = parse(data.draw(documents()))
    shape = measure(document)
    assert shape.steps <= nodes(document)


@st.composite
def documents(draw: st.DrawFn) -> str:
    """Random documents over units (a recursive type): fields, aliases, inline fragments, introspection,
    and named fragments that spread one another (never in a cycle), some of them several times."""
    count = draw(st.integers(0, 6))

    def selection(depth: int, spreadable: int) -> str:
        parts = [draw(st.sampled_from(["code", "name", "__typename"]))]
        for _ in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(["field", "alias", "inline", "spread", "introspection"]))
            if kind in ("field", "alias") and depth < 8:
                alias = f"a{draw(st.integers(0, 99))}: " if kind == "alias" else ""
                parts.append(
                    f"{alias}{draw(st.sampled_from(['parent', 'topUnit']))} {{ {selection(depth + 1, spreadable)} }}"
                )
            elif kind == "inline":
                parts.append(f"... on Unit {{ {selection(depth, spreadable)} }}")
            elif kind == "spread" and spreadable < count:
                target = draw(st.integers(spreadable, count - 1))
                parts.extend([f"...U{target}"] * draw(st.integers(1, 3)))
            elif kind == "introspection":
                parts.append('__type(name: "Unit") { fields { type { name ofType { name } } } }')
        return " ".join(parts)

    fragments = [f"fragment U{i} on Unit {{ {selection(0, i + 1)} }}" for i in range(count)]
    used = " ".join(f"...U{i}" for i in range(count))
    return f'{{ unit(code: "BNV") {{ {selection(1, 0)} {used} }} }} ' + " ".join(fragments)
