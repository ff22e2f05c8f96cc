"""Every field of every type has a policy decision (deny by default), and the build enforces it."""

import pytest
from graphql import GraphQLNonNull

from policies.authorizer import Authorizer
from schema import Schema, build_schema
from schema.common import core
from schema.policy import FieldPolicyError, schema_fields

AUTHORIZER = Authorizer()


def _build(authorizer: Authorizer = AUTHORIZER) -> Schema:
    return build_schema(authorizer=authorizer, max_depth=12, max_aliases=30, max_tokens=2000)


def test_every_field_of_every_type_has_a_policy_decision() -> None:
    fields = schema_fields(core(_build()))
    undecided = sorted(name for name in fields if name not in AUTHORIZER.decisions)
    assert undecided == []


def test_every_official_field_but_those_about_the_record_is_checked_row_by_row_and_nullable() -> None:
    from schema.officials import ABOUT_THE_RECORD

    fields = schema_fields(core(_build()))
    official = {name for name in fields if name.startswith("Official.")}
    assert official - AUTHORIZER.data_fields == {f"Official.{name}" for name in ABOUT_THE_RECORD}
    for name in AUTHORIZER.data_fields:
        assert not isinstance(fields[name].type, GraphQLNonNull), name


class _Without(Authorizer):
    """The real policy minus one decision, as if someone added a field and forgot the policy."""

    def __init__(self, missing: str) -> None:
        super().__init__()
        self.__dict__["decisions"] = {k: v for k, v in AUTHORIZER.decisions.items() if k != missing}


@pytest.mark.parametrize("missing", ["Official.religion", "Unit.officials", "Query.officials", "Code.label"])
def test_the_schema_is_not_built_when_a_field_has_no_decision(missing: str) -> None:
    with pytest.raises(FieldPolicyError, match=missing):
        _build(_Without(missing))


def test_the_schema_is_not_built_when_the_policy_decides_a_field_that_does_not_exist() -> None:
    authorizer = Authorizer()
    authorizer.__dict__["decisions"] = {**AUTHORIZER.decisions, "Official.shoeSize": "profile"}
    with pytest.raises(FieldPolicyError, match="shoeSize"):
        _build(authorizer)
