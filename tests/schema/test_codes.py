"""Units and officials are known by their codes (BNV, BNV.VP, SH00000042): accepted wherever people
name them, within the caller's scope as always."""

from typing import Any

import pytest

from tests.conftest import Api
from tests.schema.test_grants import GRANT, REVOKE, grant_input, refresh


def total(api: Api, unit: str, as_user: str = "admin", **extra: Any) -> int:
    body = api.data(
        "query($f: OfficialFilter) { officials(filter: $f) { totalCount } }",
        as_user=as_user,
        variables={"f": {"unit": unit, **extra}},
    )
    return int(body["officials"]["totalCount"])


def unit_id(api: Api, code: str) -> str:
    return str(api.data(f'{{ unit(code: "{code}") {{ id }} }}')["unit"]["id"])


@pytest.mark.parametrize("code", ["BNV", "BNV.VP", "HNI"])
def test_a_unit_filter_takes_a_code_or_an_id_and_means_the_same(api: Api, code: str) -> None:
    assert total(api, code) == total(api, unit_id(api, code)) > 0
    assert total(api, code, includeSubunits=False) == total(api, unit_id(api, code), includeSubunits=False)


def test_an_unknown_unit_code_is_not_found_by_name(api: Api) -> None:
    body = api.post('{ officials(filter: {unit: "BNV.NOPE"}) { totalCount } }')
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert "BNV.NOPE" in body["errors"][0]["message"]


def test_an_official_is_found_by_code(api: Api) -> None:
    found = api.data('{ official(code: "SH00000042") { id code } }')["official"]
    assert found["code"] == "SH00000042"
    assert api.data(f'{{ official(id: "{found["id"]}") {{ code }} }}')["official"]["code"] == "SH00000042"
    assert api.data('{ official(code: "SH99999999") { id } }')["official"] is None


def test_a_code_given_as_an_id_says_how_to_look_it_up(api: Api) -> None:
    body = api.post('{ official(id: "SH00000042") { id } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "official(code:" in body["errors"][0]["message"]


@pytest.mark.parametrize("arguments", ["", '(id: "1", code: "SH00000001")'])
def test_official_needs_exactly_one_of_id_and_code(api: Api, arguments: str) -> None:
    body = api.post(f"{{ official{arguments} {{ id }} }}")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_an_official_outside_the_scope_is_not_found_by_code_either(api: Api) -> None:
    code = api.data('{ officials(first: 1, filter: {unit: "BTC"}) { nodes { code } } }')["officials"]["nodes"][0]
    assert api.data(f'{{ official(code: "{code["code"]}") {{ id }} }}', as_user="hr.BNV")["official"] is None
    assert api.data(f'{{ official(code: "{code["code"]}") {{ id }} }}', as_user="hr.BTC")["official"] is not None


def test_a_code_unreadable_on_the_row_finds_nothing(api: Api) -> None:
    """A lookup by code is a filter on `code`: where the caller may not read the code (a grant of work
    fields only), it must not confirm it, though the same official is readable by id."""
    node = api.data('{ officials(first: 1, filter: {unit: "BNV.VP"}) { nodes { id code } } }')["officials"]["nodes"][0]
    made = api.data(
        GRANT, as_user="hr.BNV", variables={"input": grant_input(grantee="SH00000662", officials=[node["id"]])}
    )
    refresh(api)
    try:
        by_id = api.post(f'{{ official(id: "{node["id"]}") {{ id code }} }}', as_user="SH00000662")
        assert by_id["data"]["official"]["id"] == node["id"] and by_id["data"]["official"]["code"] is None
        assert by_id["errors"][0]["extensions"]["code"] == "FORBIDDEN_FIELD"
        by_code = api.data(f'{{ official(code: "{node["code"]}") {{ id }} }}', as_user="SH00000662")
        assert by_code["official"] is None
    finally:
        api.data(REVOKE, as_user="hr.BNV", variables={"id": made["grantAccess"]["id"]})
        refresh(api)


def test_grants_take_unit_and_official_codes(api: Api) -> None:
    node = api.data('{ officials(first: 1, filter: {unit: "BNV.VP"}) { nodes { id code } } }')["officials"]["nodes"][0]
    by_unit = api.data(GRANT, as_user="hr.BNV", variables={"input": grant_input(grantee="SH00000663", unit="BNV.VP")})
    named = api.data(
        GRANT, as_user="hr.BNV", variables={"input": grant_input(grantee="SH00000663", officials=[node["code"]])}
    )
    try:
        assert by_unit["grantAccess"]["unit"]["code"] == "BNV.VP"
        assert named["grantAccess"]["officialIds"] == [node["id"]]
    finally:
        for made in (by_unit, named):
            api.data(REVOKE, as_user="hr.BNV", variables={"id": made["grantAccess"]["id"]})
        refresh(api)


def test_a_grant_naming_an_unknown_official_code_writes_nothing(api: Api) -> None:
    body = api.post(
        GRANT, as_user="hr.BNV", variables={"input": grant_input(grantee="SH00000663", officials=["SH99999999"])}
    )
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND" and "SH99999999" in body["errors"][0]["message"]
