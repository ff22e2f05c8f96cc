"""Written grants: made and revoked by the personnel department of the officials' ministry or
province, in force between two dates, opening only what they name."""

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from db.engine import create_engine
from db.models import AccessGrant, table_of
from db.queries import accounts, grants
from policies.written import today
from tests.conftest import Api

GRANT = "mutation($input: GrantAccessInput!) { grantAccess(input: $input) { id grantee fields validFrom validTo documentNumber active unit { code } officialIds managingUnit { code } grantedBy } }"
REVOKE = "mutation($id: ID!) { revokeGrant(id: $id) { id active revokedAt } }"
READ = "query($id: ID!) { official(id: $id) { id jobTitle salaryCoefficient religion { code } } }"


def unit_with_officials(api: Api, top: str) -> tuple[str, str]:
    """(unit id, one of its officials' id) for a department under `top`."""
    query = f'{{ unit(code: "{top}") {{ officials(first: 1) {{ nodes {{ id unit {{ id }} }} }} }} }}'
    node = api.data(query)["unit"]["officials"]["nodes"][0]
    return node["unit"]["id"], node["id"]


def grant_input(**overrides: Any) -> dict[str, Any]:
    return {
        "grantee": "SH00000660",
        "fields": ["work"],
        "validFrom": str(today()),
        "validTo": str(today() + timedelta(days=30)),
        "documentNumber": "123/CV-TCCB",
        **overrides,
    }


def error_code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


def refresh(api: Api) -> None:
    # The gateway caches each principal's scope for a few seconds; a grant made through this process
    # clears it, which is what these tests rely on (other processes catch up within the cache time).
    api.state.scopes.forget()


def count_grants(api: Api) -> int:
    async def count() -> int:
        engine = create_engine(api.settings.database_url)
        async with engine.connect() as conn:
            total = (await conn.execute(select(func.count()).select_from(table_of(AccessGrant)))).scalar_one()
        await engine.dispose()
        return int(total)

    return asyncio.run(count())


def test_hr_grants_a_unit_subtree_for_the_fields_it_names_and_revokes_it(api: Api) -> None:
    unit, official = unit_with_officials(api, "BNV")
    assert api.data(READ, as_user="SH00000660", variables={"id": official})["official"] is None
    made = api.data(GRANT, as_user="hr.BNV", variables={"input": grant_input(unit=unit)})["grantAccess"]
    assert made["active"] and made["grantee"] == "SH00000660" and made["grantedBy"] == "hr.BNV"
    assert made["fields"] == ["work"] and made["managingUnit"]["code"] == "BNV" and made["officialIds"] is None

    body = api.post(READ, as_user="SH00000660", variables={"id": official})
    assert body["data"]["official"]["id"] == official and "jobTitle" in body["data"]["official"]
    refused = {e["path"][-1] for e in body["errors"]}
    assert refused == {"salaryCoefficient", "religion"}  # work opens neither salary nor sensitive fields

    listed = api.data("{ accessGrants { id } }", as_user="hr.BNV")["accessGrants"]
    assert made["id"] in {g["id"] for g in listed}
    assert made["id"] in {g["id"] for g in api.data("{ accessGrants { id } }", as_user="SH00000660")["accessGrants"]}
    assert made["id"] not in {g["id"] for g in api.data("{ accessGrants { id } }", as_user="hr.BTC")["accessGrants"]}

    revoked = api.data(REVOKE, as_user="hr.BNV", variables={"id": made["id"]})["revokeGrant"]
    assert not revoked["active"] and revoked["revokedAt"]
    assert api.data(READ, as_user="SH00000660", variables={"id": official})["official"] is None
    # The grantee no longer sees the grant either: it would name officials it can no longer read.
    assert api.data("{ accessGrants { id } }", as_user="SH00000660")["accessGrants"] == []


def test_sensitive_fields_open_only_when_the_grant_names_them(api: Api) -> None:
    _, official = unit_with_officials(api, "BNV")
    made = api.data(
        GRANT,
        as_user="hr.BNV",
        variables={"input": grant_input(grantee="SH00000661", officials=[official], fields=["religion"])},
    )["grantAccess"]
    try:
        assert made["officialIds"] == [official] and made["fields"] == ["religion"]
        body = api.post(READ, as_user="SH00000661", variables={"id": official})
        assert body["data"]["official"]["religion"]["code"]
        assert {e["path"][-1] for e in body["errors"]} == {"jobTitle", "salaryCoefficient"}
    finally:
        api.data(REVOKE, as_user="hr.BNV", variables={"id": made["id"]})


def test_the_administrator_may_grant_for_any_ministry(api: Api) -> None:
    unit, _ = unit_with_officials(api, "BTC")
    made = api.data(GRANT, variables={"input": grant_input(grantee="SH00000662", unit=unit)})["grantAccess"]
    assert made["managingUnit"]["code"] == "BTC"
    api.data(REVOKE, variables={"id": made["id"]})


@pytest.mark.parametrize("user", ["hr.BTC", "analyst", "approver.BNV", "SH00000663"])
def test_only_hr_of_the_officials_ministry_may_grant(api: Api, user: str) -> None:
    unit, _ = unit_with_officials(api, "BNV")
    before = count_grants(api)
    body = api.post(GRANT, as_user=user, variables={"input": grant_input(unit=unit)})
    assert error_code(body) == "FORBIDDEN" and body["data"] is None
    assert count_grants(api) == before


def test_named_officials_outside_the_callers_scope_are_not_found(api: Api) -> None:
    _, outsider = unit_with_officials(api, "BTC")
    body = api.post(GRANT, as_user="hr.BNV", variables={"input": grant_input(officials=[outsider])})
    assert error_code(body) == "NOT_FOUND"


def test_one_grant_covers_one_ministry(api: Api) -> None:
    _, a = unit_with_officials(api, "BNV")
    _, b = unit_with_officials(api, "BTC")
    body = api.post(GRANT, variables={"input": grant_input(officials=[a, b])})
    assert error_code(body) == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "overrides",
    [
        {"fields": ["shoeSize"]},
        {"fields": ["all"]},
        {"fields": []},
        {"validFrom": "2026-12-31", "validTo": "2026-12-01"},
        {"validFrom": "2020-01-01", "validTo": "2020-12-31"},
        {"validFrom": "2026-01-01", "validTo": "2035-01-01"},
        {"documentNumber": "  "},
        {"documentNumber": "x" * 65},
        {"officials": ["1"]},  # together with unit
    ],
)
def test_invalid_grants_are_refused_and_nothing_is_written(api: Api, overrides: dict[str, Any]) -> None:
    unit, _ = unit_with_officials(api, "BNV")
    before = count_grants(api)
    body = api.post(GRANT, as_user="hr.BNV", variables={"input": grant_input(unit=unit, **overrides)})
    assert error_code(body) == "BAD_USER_INPUT", body
    assert count_grants(api) == before


def test_a_grant_needs_a_unit_or_officials(api: Api) -> None:
    assert error_code(api.post(GRANT, as_user="hr.BNV", variables={"input": grant_input()})) == "BAD_USER_INPUT"


def test_a_grant_to_an_unknown_account_is_not_found(api: Api) -> None:
    unit, _ = unit_with_officials(api, "BNV")
    body = api.post(GRANT, as_user="hr.BNV", variables={"input": grant_input(grantee="nobody", unit=unit)})
    assert error_code(body) == "NOT_FOUND"


def test_revoking_twice_or_another_ministrys_grant_is_refused(api: Api) -> None:
    unit, _ = unit_with_officials(api, "BNV")
    made = api.data(GRANT, as_user="hr.BNV", variables={"input": grant_input(grantee="SH00000664", unit=unit)})
    grant_id = made["grantAccess"]["id"]
    assert error_code(api.post(REVOKE, as_user="hr.BTC", variables={"id": grant_id})) == "NOT_FOUND"
    api.data(REVOKE, as_user="hr.BNV", variables={"id": grant_id})
    assert error_code(api.post(REVOKE, as_user="hr.BNV", variables={"id": grant_id})) == "BAD_USER_INPUT"
    assert error_code(api.post(REVOKE, as_user="hr.BNV", variables={"id": "99999999"})) == "NOT_FOUND"


@pytest.mark.parametrize(("start", "end"), [(-30, -1), (1, 30)])
def test_a_grant_outside_its_dates_does_not_work(api: Api, start: int, end: int) -> None:
    # Expired grants stop working by themselves; future ones start by themselves. Written directly,
    # since the API refuses to create a grant that is already over.
    unit, official = unit_with_officials(api, "BNV")

    async def write() -> None:
        engine = create_engine(api.settings.database_url)
        async with engine.begin() as conn:
            grantee = await accounts.get_by_username(conn, "SH00000665")
            granter = await accounts.get_by_username(conn, "hr.BNV")
            assert grantee is not None and granter is not None
            await grants.create(
                conn,
                grantee_id=grantee.id,
                managing_unit_id=granter.top_unit_id,
                unit_id=int(unit),
                official_ids=None,
                fields=["work"],
                valid_from=today() + timedelta(days=start),
                valid_to=today() + timedelta(days=end),
                document_number="OLD/1",
                granted_by_id=granter.id,
                now=datetime.now(UTC),
            )
        await engine.dispose()

    asyncio.run(write())
    refresh(api)
    assert api.data(READ, as_user="SH00000665", variables={"id": official})["official"] is None
    in_force = api.data("{ accessGrants(inForce: true) { id } }", as_user="SH00000665")["accessGrants"]
    assert in_force == []


def test_a_revocation_that_lost_a_race_is_reported_as_already_revoked(api: Api) -> None:
    # Another process revokes between our read and our update: the update matches no row. Simulated by
    # revoking in the database right after the resolver's first read.
    unit, _ = unit_with_officials(api, "BNV")
    made = api.data(GRANT, as_user="hr.BNV", variables={"input": grant_input(grantee="SH00000666", unit=unit)})
    grant_id = int(made["grantAccess"]["id"])
    original = grants.get

    async def get_then_lose_the_race(conn: Any, *, grant_id: int) -> Any:
        row = await original(conn, grant_id=grant_id)
        if row is not None and row.revoked_at is None:
            await conn.execute(
                table_of(AccessGrant)
                .update()
                .where(table_of(AccessGrant).c.id == grant_id)
                .values(revoked_at=datetime.now(UTC))
            )
        return row

    grants.get = get_then_lose_the_race
    try:
        body = api.post(REVOKE, as_user="hr.BNV", variables={"id": str(grant_id)})
    finally:
        grants.get = original
    assert error_code(body) == "BAD_USER_INPUT" and "already revoked" in body["errors"][0]["message"]


def test_a_narrow_grant_does_not_take_filtering_away_from_a_national_reader(api: Api) -> None:
    # The analyst reads names everywhere; a grant for one official's religion adds to that, and must not
    # make every filter by name look like it could reveal something.
    _, official = unit_with_officials(api, "BNV")
    made = api.data(
        GRANT,
        as_user="hr.BNV",
        variables={"input": grant_input(grantee="analyst", officials=[official], fields=["religion"])},
    )["grantAccess"]
    try:
        assert (
            api.data('{ officials(filter: {name: "nguyen"}) { totalCount } }', as_user="analyst")["officials"][
                "totalCount"
            ]
            > 0
        )
        religion = api.data(READ, as_user="analyst", variables={"id": official})["official"]["religion"]
        assert religion is not None
    finally:
        api.data(REVOKE, as_user="hr.BNV", variables={"id": made["id"]})


# -- grants given to an account never take away what it had ---------------------------------------------

BY_NAME = "query($n: String) { officials(first: 100, filter: {name: $n}) { totalCount nodes { id } } }"
LISTED = "{ officials(first: 20) { nodes { id fullName unit { code } } } }"


def bnv_officials(api: Api) -> list[str]:
    nodes = api.data('{ unit(code: "BNV") { officials(first: 100) { nodes { id } } } }')["unit"]["officials"]["nodes"]
    return [n["id"] for n in nodes]


def test_hr_granted_an_official_of_another_ministry_keeps_filtering_its_own_and_learns_no_name(api: Api) -> None:
    # The example: hr.BNV grants hr.HNI `work` on one BNV official.
    outsider = bnv_officials(api)[0]
    name = api.data(f'{{ official(id: "{outsider}") {{ fullName }} }}')["official"]["fullName"]
    before = api.data(BY_NAME, as_user="hr.HNI", variables={"n": "a"})["officials"]
    statements = api.count_statements(LISTED, as_user="hr.HNI")
    made = api.data(GRANT, as_user="hr.BNV", variables={"input": grant_input(grantee="hr.HNI", officials=[outsider])})[
        "grantAccess"
    ]
    try:
        assert api.data(BY_NAME, as_user="hr.HNI", variables={"n": "a"})["officials"] == before
        # Still one statement for the page, though in the order of a field one of its rows cannot read.
        assert api.count_statements(LISTED, as_user="hr.HNI") == statements
        found = api.data(BY_NAME, as_user="hr.HNI", variables={"n": name})["officials"]["nodes"]
        assert outsider not in {n["id"] for n in found}
        body = api.post(
            "query($id: ID!) { official(id: $id) { jobTitle fullName } }", as_user="hr.HNI", variables={"id": outsider}
        )
        assert {e["path"][-1] for e in body["errors"]} == {"fullName"} and "jobTitle" in body["data"]["official"]
        # Its name sorts as null: first when descending, last ascending.
        descending = "{ officials(first: 1, orderBy: {field: NAME, direction: DESC}) { nodes { id } } }"
        assert api.data(descending, as_user="hr.HNI")["officials"]["nodes"] == [{"id": outsider}]
    finally:
        api.data(REVOKE, as_user="hr.BNV", variables={"id": made["id"]})


def test_any_number_of_grants_never_locks_the_grantee_out(api: Api) -> None:
    # 66 grants over different officials and for different fields: more than the 63 a 64-bit grant mask
    # once held, when every request of the grantee answered 403 and it could do nothing about it.
    people = bnv_officials(api)
    fields = [["work"], ["religion"], ["salary"], ["work", "religion"], ["identity"], ["health", "salary"]]
    pairs = [list(t) for t in zip(people, people[1:], strict=False)]
    triples = [list(t) for t in zip(people, people[1:], people[2:], strict=False)]
    targets = ([[p] for p in people] + pairs + triples)[:66]
    before = api.data(BY_NAME, as_user="hr.HNI", variables={"n": "a"})["officials"]
    made = [
        api.data(
            GRANT,
            as_user="hr.BNV",
            variables={"input": grant_input(grantee="hr.HNI", officials=t, fields=fields[i % len(fields)])},
        )["grantAccess"]["id"]
        for i, t in enumerate(targets)
    ]
    try:
        assert len(made) == 66
        assert api.data(BY_NAME, as_user="hr.HNI", variables={"n": "a"})["officials"] == before
        held = api.data('{ accessGrants(grantee: "hr.HNI", inForce: true) { id } }', as_user="hr.BNV")["accessGrants"]
        assert set(made) <= {g["id"] for g in held}
        body = api.post(READ, as_user="hr.HNI", variables={"id": people[0]})
        assert body["data"]["official"]["jobTitle"] is not None and body["data"]["official"]["religion"] is not None
        assert all(e["extensions"]["code"] == "FORBIDDEN_FIELD" for e in body.get("errors", []))
        total = api.data("{ officials { totalCount } }", as_user="hr.HNI")["officials"]["totalCount"]
        own = api.data('{ unit(code: "HNI") { officials { totalCount } } }')["unit"]["officials"]["totalCount"]
        assert total == own + len({p for t in targets for p in t})
    finally:
        for grant_id in made:
            api.data(REVOKE, as_user="hr.BNV", variables={"id": grant_id})


def test_a_receipt_does_not_tell_where_an_official_sits_when_the_caller_may_not_read_it(api: Api) -> None:
    """Two grants of names over two places, and neither place readable: the receipt for one official
    cites both grants, not the one whose place holds the official (which would tell its unit)."""
    made = [
        api.data(
            GRANT,
            as_user="admin",
            variables={
                "input": grant_input(grantee="SH00000664", unit=unit, fields=["fullName"], documentNumber=document)
            },
        )["grantAccess"]["id"]
        for unit, document in (("BNV.VP", "CV-PLACE-1"), ("BTC", "CV-PLACE-2"))
    ]
    refresh(api)
    try:
        node = api.data('{ officials(first: 1, filter: {unit: "BNV.VP"}) { nodes { id } } }')["officials"]["nodes"][0]
        response = api.client.post(
            "/graphql",
            json={"query": f'{{ official(id: "{node["id"]}") {{ id fullName }} }}'},
            headers={"Authorization": f"Bearer {api.token('SH00000664')}", "X-CCVC-Receipt": "1"},
        ).json()
        assert response["data"]["official"]["fullName"]
        part = response["extensions"]["receipt"].split(".")[1]
        basis = orjson.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))["basis"]
        assert {b.rsplit(":", 1)[1] for b in basis if b.startswith("grant:")} == {"CV-PLACE-1", "CV-PLACE-2"}
    finally:
        for grant in made:
            api.data(REVOKE, as_user="admin", variables={"id": grant})
        refresh(api)


def test_an_account_holds_at_most_so_many_grants_and_is_told_how_to_make_room(api: Api, monkeypatch: Any) -> None:
    """Each grant an account holds is part of every statement its requests run: the count is bounded
    when grants are made, so that no number of grants can make the grantee's requests unusable."""
    monkeypatch.setattr("resolvers.grants.MAX_STANDING_GRANTS", 2)
    unit, _ = unit_with_officials(api, "BNV")
    made = [
        api.data(GRANT, as_user="hr.BNV", variables={"input": grant_input(grantee="SH00000669", unit=unit)})[
            "grantAccess"
        ]["id"]
        for _ in range(2)
    ]
    try:
        refused = api.post(GRANT, as_user="hr.BNV", variables={"input": grant_input(grantee="SH00000669", unit=unit)})
        assert error_code(refused) == "BAD_USER_INPUT" and "already holds 2 grants" in refused["errors"][0]["message"]
        api.data(REVOKE, as_user="hr.BNV", variables={"id": made.pop()})
        made.append(
            api.data(GRANT, as_user="hr.BNV", variables={"input": grant_input(grantee="SH00000669", unit=unit)})[
                "grantAccess"
            ]["id"]
        )
    finally:
        for grant in made:
            api.data(REVOKE, as_user="hr.BNV", variables={"id": grant})
        refresh(api)
