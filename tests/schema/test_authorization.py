"""Who sees what, end to end over HTTP, on every back end: each kind of principal against the rules
of Circular 06/2023 and Decision 832 (see policies/policy.csv)."""

import base64
import json
from typing import Any

import pytest

from tests.conftest import Api

SENSITIVE = [
    "religion { code }",
    "ethnicity { code }",
    "health",
    "heightCm",
    "partyAdmissionDate",
    "familyMembers { fullName }",
    "disciplines { year }",
]
FIELDS = (
    "id code fullName birthDate personalId socialInsuranceNumber jobTitle rank { code } unit { code } "
    "topUnit { code } salaryCoefficient salaryHistory { grade } qualification { code } training { school } "
    "evaluations { year } " + " ".join(SENSITIVE)
)
LIST = (
    f"query($filter: OfficialFilter) {{ officials(first: 100, filter: $filter) {{ totalCount nodes {{ {FIELDS} }} }} }}"
)
ONE = f"query($id: ID!) {{ official(id: $id) {{ {FIELDS} }} }}"


def forbidden(body: dict[str, Any]) -> set[str]:
    """The field names that came back FORBIDDEN_FIELD (last element of each error path)."""
    errors = body.get("errors", [])
    assert all(e["extensions"]["code"] == "FORBIDDEN_FIELD" for e in errors), errors
    return {e["path"][-1] for e in errors}


def official_of(api: Api, top_unit: str) -> str:
    query = f'{{ unit(code: "{top_unit}") {{ officials(first: 1) {{ nodes {{ id }} }} }} }}'
    return str(api.data(query)["unit"]["officials"]["nodes"][0]["id"])


def manager_unit(api: Api, top_unit: str) -> str:
    children = api.data(f'{{ unit(code: "{top_unit}") {{ children {{ code kind {{ code }} }} }} }}')["unit"]["children"]
    return str(
        next(c["code"] for c in children if c["kind"]["code"] == "DEPARTMENT" and not c["code"].endswith(".TCCB"))
    )


def test_admin_reads_every_field_of_any_official(api: Api) -> None:
    body = api.post(ONE, variables={"id": official_of(api, "BTC")})
    assert "errors" not in body
    assert body["data"]["official"]["religion"]["code"] and body["data"]["official"]["personalId"]


def test_analyst_reads_everyone_but_each_sensitive_field_is_null_with_forbidden_field(api: Api) -> None:
    body = api.post(LIST, as_user="analyst")
    nodes = body["data"]["officials"]["nodes"]
    assert len(nodes) == 100 and all(n["fullName"] and n["salaryCoefficient"] is not None for n in nodes)
    assert all(n["religion"] is None and n["health"] is None and n["familyMembers"] is None for n in nodes)
    assert forbidden(body) == {
        "religion",
        "ethnicity",
        "health",
        "heightCm",
        "partyAdmissionDate",
        "familyMembers",
        "disciplines",
    }
    first = next(e for e in body["errors"] if e["path"][-1] == "religion")
    assert first["path"][:2] == ["officials", "nodes"] and "religion" in first["message"]


def test_hr_reads_all_fields_of_its_own_ministry_and_nobody_else(api: Api) -> None:
    body = api.post(LIST, as_user="hr.BNV")
    assert "errors" not in body
    nodes = body["data"]["officials"]["nodes"]
    assert nodes and {n["topUnit"]["code"] for n in nodes} == {"BNV"}
    assert all(n["religion"] is not None for n in nodes)
    total = api.data("{ officials { totalCount } }", as_user="hr.BNV")["officials"]["totalCount"]
    assert total == api.data('{ unit(code: "BNV") { officials { totalCount } } }')["unit"]["officials"]["totalCount"]


def test_official_outside_scope_returns_null(api: Api) -> None:
    outsider = official_of(api, "BTC")
    for user in ("hr.BNV", "approver.BNV", "manager." + manager_unit(api, "BNV"), "SH00000001", "agency.BYT"):
        body = api.post(ONE, as_user=user, variables={"id": outsider})
        assert body["data"]["official"] is None and "errors" not in body, user


def test_officials_outside_scope_are_not_listed_nor_counted(api: Api) -> None:
    btc = api.data('{ unit(code: "BTC") { id } }')["unit"]["id"]
    for user in ("hr.BNV", "SH00000001", "agency.BYT"):
        result = api.data(
            "query($f: OfficialFilter) { officials(filter: $f) { totalCount nodes { id } } }",
            as_user=user,
            variables={"f": {"unit": btc}},
        )["officials"]
        assert result == {"totalCount": 0, "nodes": []}, user


def test_unit_officials_outside_scope_returns_nothing(api: Api) -> None:
    query = '{ unit(code: "BTC") { code officials { totalCount nodes { id } } } }'
    result = api.data(query, as_user="hr.BNV")["unit"]
    assert result["code"] == "BTC" and result["officials"] == {"totalCount": 0, "nodes": []}


def test_position_holders_outside_scope_returns_nothing(api: Api) -> None:
    btc_holder = '{ unit(code: "BTC") { officials(first: 1, filter: {}) { nodes { position { id } } } } }'
    position = api.data(btc_holder)["unit"]["officials"]["nodes"][0]["position"]["id"]
    query = f'{{ position(id: "{position}") {{ holders {{ totalCount nodes {{ id }} }} }} }}'
    assert api.data(query)["position"]["holders"]["totalCount"] > 0
    assert api.data(query, as_user="hr.BNV")["position"]["holders"] == {"totalCount": 0, "nodes": []}


def test_approver_reads_its_ministry_but_not_sensitive_fields(api: Api) -> None:
    body = api.post(LIST, as_user="approver.BTC")
    nodes = body["data"]["officials"]["nodes"]
    assert nodes and {n["topUnit"]["code"] for n in nodes} == {"BTC"}
    assert all(n["personalId"] and n["salaryCoefficient"] is not None for n in nodes)
    assert forbidden(body) == {
        "religion",
        "ethnicity",
        "health",
        "heightCm",
        "partyAdmissionDate",
        "familyMembers",
        "disciplines",
    }


def test_manager_reads_work_fields_of_its_subtree_only(api: Api) -> None:
    unit = manager_unit(api, "BNV")
    body = api.post(LIST, as_user=f"manager.{unit}")
    nodes = body["data"]["officials"]["nodes"]
    assert nodes and all(n["unit"]["code"].startswith(unit) for n in nodes)
    assert all(n["jobTitle"] is not None or n["rank"] is not None for n in nodes)
    assert forbidden(body) == {
        "personalId",
        "socialInsuranceNumber",
        "salaryCoefficient",
        "salaryHistory",
        "religion",
        "ethnicity",
        "health",
        "heightCm",
        "partyAdmissionDate",
        "familyMembers",
        "disciplines",
    }


def test_an_official_reads_all_of_its_own_record_and_nothing_else(api: Api) -> None:
    body = api.post(f"{{ me {{ {FIELDS} }} officials {{ totalCount }} }}", as_user="SH00000042")
    assert "errors" not in body
    assert body["data"]["me"]["code"] == "SH00000042" and body["data"]["me"]["religion"] is not None
    assert body["data"]["officials"]["totalCount"] == 1
    other = api.data('{ official(id: "1") { id } }', as_user="SH00000042")["official"]
    assert other is None


def test_a_partner_without_a_record_gets_null_for_me(api: Api) -> None:
    body = api.post("{ me { id } }", as_user="agency.bhxh")
    assert body["data"]["me"] is None and body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


# -- partners: the agreement's fields and units, and not one field more ---------------------------------

AGREEMENTS = {
    "agency.bhxh": ({"profile", "identity", "work", "salary"}, None),
    "agency.BTC": ({"profile", "identity", "work", "qualification", "salary"}, "BTC"),
    "agency.BYT": ({"profile", "identity", "work", "qualification", "salary"}, "BYT"),
}


def every_official_field(api: Api) -> list[tuple[str, str]]:
    """(field, selection) for every field of Official, read from the schema itself."""
    fields = api.data(
        '{ __type(name: "Official") { fields { name type { kind name ofType { kind name ofType { kind name '
        "ofType { kind name } } } } } } }"
    )
    out = []
    for field in fields["__type"]["fields"]:
        if field["name"] == "cv":
            continue  # an export, one per request: tests/schema/test_cv.py holds it to the same rule
        if field["name"] == "accessLog":
            continue  # a statement per official, too many for a page of 100: tests/gateway/test_audit.py

        kind = field["type"]
        while kind["kind"] in ("NON_NULL", "LIST"):
            kind = kind["ofType"]
        leaf = kind["kind"] in ("SCALAR", "ENUM")
        out.append((field["name"], field["name"] if leaf else f"{field['name']} {{ __typename }}"))
    return out


@pytest.mark.parametrize("agency", sorted(AGREEMENTS))
def test_partner_field_leak(api: Api, agency: str) -> None:
    from policies.authorizer import Authorizer

    groups, top = AGREEMENTS[agency]
    authorizer = Authorizer()
    allowed = {name.removeprefix("Official.") for g in groups for name in authorizer.groups[g]} | {"id"}
    fields = every_official_field(api)
    selection = " ".join(sel for _, sel in fields)
    body = api.post(f"{{ officials(first: 100) {{ nodes {{ topUnit {{ code }} {selection} }} }} }}", as_user=agency)
    assert body["data"] is not None, body["errors"]
    nodes = body["data"]["officials"]["nodes"]
    assert nodes
    if top is not None:
        assert {n["topUnit"]["code"] for n in nodes} == {top}
    else:
        assert len({n["topUnit"]["code"] for n in nodes}) > 1
    for node in nodes:
        leaked = {name for name, _ in fields if name not in allowed and node[name] is not None}
        assert leaked == set(), leaked
    refused = forbidden(body)
    assert refused == {name for name, _ in fields} - allowed
    assert len(body["errors"]) == len(refused) * len(nodes)  # told once per row, at each row's path


# -- filtering and ordering cannot reveal what the caller may not read ----------------------------------

GRANT = "mutation($input: GrantAccessInput!) { grantAccess(input: $input) { id } }"
REVOKE = "mutation($id: ID!) { revokeGrant(id: $id) { id } }"


def grant_to(api: Api, grantee: str, official: str, fields: list[str]) -> str:
    variables = {
        "input": {
            "grantee": grantee,
            "officials": [official],
            "fields": fields,
            "validFrom": "2026-01-01",
            "validTo": "2030-12-31",
            "documentNumber": "TEST-FILTER",
        }
    }
    return str(api.data(GRANT, as_user="hr.BNV", variables=variables)["grantAccess"]["id"])


def cursor_value(cursor: str) -> Any:
    """The sort value a cursor carries (cursors are opaque to callers; the test looks inside)."""
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))[1]


def test_filtering_or_ordering_answers_by_what_is_readable_on_each_row(api: Api) -> None:
    # An official with a written grant for the sensitive fields (only) of a colleague: names, birth dates
    # and units are not readable on that row, so it never matches a filter on them and sorts as null;
    # the official's own record filters and sorts as before.
    colleague = official_of(api, "BNV")
    name = api.data(f'{{ official(id: "{colleague}") {{ fullName }} }}')["official"]["fullName"]
    me = api.data("{ me { id fullName } }", as_user="SH00000650")["me"]
    grant = grant_to(api, "SH00000650", colleague, ["sensitive"])
    try:
        by_name = "query($n: String) { officials(filter: {name: $n}) { totalCount nodes { id } } }"
        for needle in (name, me["fullName"]):
            found = api.data(by_name, as_user="SH00000650", variables={"n": needle})["officials"]
            assert colleague not in {n["id"] for n in found["nodes"]} and found["totalCount"] == len(found["nodes"])
        assert api.data(by_name, as_user="SH00000650", variables={"n": me["fullName"]})["officials"]["nodes"] == [
            {"id": me["id"]}
        ]
        for direction, expected in (("ASC", [me["id"], colleague]), ("DESC", [colleague, me["id"]])):
            query = f"{{ officials(orderBy: {{field: BIRTH_DATE, direction: {direction}}}) {{ edges {{ cursor node {{ id }} }} }} }}"
            edges = api.data(query, as_user="SH00000650")["officials"]["edges"]
            assert [e["node"]["id"] for e in edges] == expected
            cursors = {e["node"]["id"]: cursor_value(e["cursor"]) for e in edges}
            assert cursors[colleague] is None and cursors[me["id"]] is not None
        in_unit = api.data('{ unit(code: "BNV") { officials { totalCount nodes { id } } } }', as_user="SH00000650")
        assert in_unit["unit"]["officials"] == {"totalCount": 0, "nodes": []}
        # Without a filter or an order, the list is ordered by name, unreadable names last, and shows what
        # the grants open.
        body = api.post("{ officials { nodes { id code religion { code } } } }", as_user="SH00000650")
        assert [n["id"] for n in body["data"]["officials"]["nodes"]] == [me["id"], colleague]
        nodes = {n["id"]: n for n in body["data"]["officials"]["nodes"]}
        assert nodes[colleague]["religion"] is not None and nodes[colleague]["code"] is None
        assert forbidden(body) == {"code"}
    finally:
        api.data(REVOKE, as_user="hr.BNV", variables={"id": grant})


def test_paging_crosses_from_readable_rows_to_the_rest_and_returns_each_once(api: Api) -> None:
    colleague = official_of(api, "BNV")
    grant = grant_to(api, "SH00000650", colleague, ["religion"])
    try:
        seen: list[str] = []
        after = None
        query = "query($after: String) { officials(first: 1, after: $after, orderBy: {field: CODE}) { pageInfo { hasNextPage endCursor } nodes { id } } }"
        while True:
            page = api.data(query, as_user="SH00000650", variables={"after": after})["officials"]
            seen += [n["id"] for n in page["nodes"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert seen == [api.data("{ me { id } }", as_user="SH00000650")["me"]["id"], colleague]
    finally:
        api.data(REVOKE, as_user="hr.BNV", variables={"id": grant})


# -- a caller with no grant at all sees nothing, not even the structure ------------------------------------


@pytest.fixture(scope="module")
def nobody(api: Api) -> str:
    """An account whose roles open nothing (a role the policy does not know)."""
    import asyncio
    from datetime import UTC, datetime

    from db.engine import create_engine
    from db.models import Account, table_of

    async def create() -> None:
        engine = create_engine(api.settings.database_url)
        async with engine.begin() as conn:
            await conn.execute(
                table_of(Account)
                .insert()
                .values(username="nobody.test", kind="staff", roles="visitor", created_at=datetime.now(UTC))
            )
        await engine.dispose()

    asyncio.run(create())
    return "nobody.test"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('{ official(id: "1") { id } }', {"official": None}),
        ("{ officials { totalCount nodes { id } } }", {"officials": {"totalCount": 0, "nodes": []}}),
        ('{ unit(code: "BNV") { id } }', {"unit": None}),
        ("{ units { id } }", {"units": []}),
        ('{ position(id: "1") { id } }', {"position": None}),
        ("{ accessGrants { id } }", {"accessGrants": []}),
    ],
)
def test_every_query_field_outside_scope_returns_null_or_nothing(
    api: Api, nobody: str, query: str, expected: dict[str, Any]
) -> None:
    assert api.data(query, as_user=nobody) == expected


def test_filtering_or_ordering_by_a_field_readable_on_no_official_is_refused(api: Api, nobody: str) -> None:
    # Such a filter could only ever answer nothing; saying so names the cause.
    colleague = official_of(api, "BNV")
    grant = grant_to(api, nobody, colleague, ["sensitive"])
    try:
        for query in (
            '{ officials(filter: {name: "nguyen"}) { nodes { id } } }',
            "{ officials(orderBy: {field: BIRTH_DATE}) { nodes { id } } }",
            '{ unit(code: "BNV") { officials { nodes { id } } } }',
        ):
            error = api.post(query, as_user=nobody)["errors"][0]
            assert (
                error["extensions"]["code"] == "FORBIDDEN_FIELD" and "on any official in your scope" in error["message"]
            )
        body = api.post("{ officials { nodes { id religion { code } } } }", as_user=nobody)
        assert body["data"]["officials"]["nodes"][0]["id"] == colleague and "errors" not in body
    finally:
        api.data(REVOKE, as_user="hr.BNV", variables={"id": grant})
