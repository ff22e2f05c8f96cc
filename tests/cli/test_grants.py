"""`ccvc grants` as an operator runs it: the command acting as a named account, going through the
same resolvers (and the same casbin decision) as the `grantAccess` / `revokeGrant` / `accessGrants`
GraphQL fields. Each test uses its own grantee (SH0000070x) and revokes what it made."""

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from db.engine import create_engine
from db.models import Official, Unit, table_of
from gateway.config import Settings
from policies.written import today
from tests.cli.runner import Ran, ccvc
from tests.conftest import Api

OFFICIAL = table_of(Official)
UNIT = table_of(Unit)
# Officials whose accounts serve as grantees here: never the officials a grant is about.
GRANTEE_IDS = range(700, 800)


@dataclass(frozen=True)
class Place:
    unit_id: int
    unit_code: str
    official_ids: tuple[int, ...]  # two officials of the unit's subtree


@dataclass(frozen=True)
class Places:
    bnv: Place
    btc: Place


def _place(rows: list[Any], top: str) -> Place:
    """The first department under `top` (by code) with at least two officials outside GRANTEE_IDS."""
    by_unit: dict[tuple[int, str], list[int]] = {}
    for row in rows:
        if row.top_code == top and row.official_id not in GRANTEE_IDS:
            by_unit.setdefault((row.unit_id, row.unit_code), []).append(row.official_id)
    (unit_id, code), ids = min(((key, ids) for key, ids in by_unit.items() if len(ids) >= 2), key=lambda x: x[0][1])
    return Place(unit_id=unit_id, unit_code=code, official_ids=tuple(sorted(ids)[:2]))


@pytest.fixture(scope="module")
def places(database_url: str) -> Places:
    async def load() -> list[Any]:
        top = UNIT.alias("top")
        stmt = (
            select(OFFICIAL.c.id.label("official_id"), UNIT.c.id.label("unit_id"), UNIT.c.code.label("unit_code"))
            .add_columns(top.c.code.label("top_code"))
            .join(UNIT, UNIT.c.id == OFFICIAL.c.unit_id)
            .join(top, top.c.id == OFFICIAL.c.top_unit_id)
            .where(top.c.code.in_(["BNV", "BTC"]), UNIT.c.id != top.c.id)
        )
        engine = create_engine(database_url)
        try:
            async with engine.connect() as conn:
                return list((await conn.execute(stmt)).all())
        finally:
            await engine.dispose()

    rows = asyncio.run(load())
    return Places(bnv=_place(rows, "BNV"), btc=_place(rows, "BTC"))


def days(start: int, end: int) -> list[str]:
    """`--from` and `--to`, counted in days from today (Asia/Ho_Chi_Minh)."""
    return ["--from", str(today() + timedelta(days=start)), "--to", str(today() + timedelta(days=end))]


def create(settings: Settings, acting: str, grantee: str, *target: str, fields: str = "work") -> Any:
    return ccvc(
        settings,
        "grants",
        "create",
        "--as",
        acting,
        "--grantee",
        grantee,
        *target,
        "--fields",
        fields,
        *days(0, 30),
        "--document",
        "45/CV-TCCB",
        "--json",
    )


def made(result: Ran) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    [grant] = json.loads(result.stdout)
    assert isinstance(grant, dict)
    return grant


def listed(settings: Settings, acting: str, *options: str) -> dict[int, dict[str, Any]]:
    result = ccvc(settings, "grants", "list", "--as", acting, "--json", *options)
    assert result.returncode == 0, result.stderr
    return {grant["id"]: grant for grant in json.loads(result.stdout)}


def refused(result: Ran, code: str) -> str:
    """The one-line refusal of a domain error: exit status 1, its code on stderr, nothing on stdout."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout == "" and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"ccvc: {code}: "), line
    return line


@pytest.fixture
def cleanup(settings: Settings) -> Iterator[list[int]]:
    """Grant ids to revoke (as admin) after the test, whatever its outcome."""
    ids: list[int] = []
    yield ids
    for grant_id in ids:
        ccvc(settings, "grants", "revoke", "--as", "admin", "--id", str(grant_id))


def test_hr_creates_a_unit_grant_lists_it_and_revokes_it(
    settings: Settings, places: Places, cleanup: list[int]
) -> None:
    unit = places.bnv.unit_code
    result = ccvc(
        settings,
        "grants",
        "create",
        "--as",
        "hr.BNV",
        "--grantee",
        "SH00000701",
        "--unit",
        unit,
        "--fields",
        "work, religion",
        *days(0, 30),
        "--document",
        "12/QĐ-BNV",
    )
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    found = re.match(r"#(\d+) ", line)
    assert found is not None, line
    grant_id = int(found.group(1))
    cleanup.append(grant_id)
    for part in ("active", "SH00000701", f"unit {unit}", "fields religion,work", "12/QĐ-BNV"):
        assert part in line, line
    assert f"{today()}..{today() + timedelta(days=30)}" in line

    grant = listed(settings, "hr.BNV", "--grantee", "SH00000701")[grant_id]
    assert grant == {
        "id": grant_id,
        "grantee": "SH00000701",
        "managing_unit": "BNV",
        "unit": unit,
        "official_ids": None,
        "fields": ["religion", "work"],
        "valid_from": str(today()),
        "valid_to": str(today() + timedelta(days=30)),
        "document_number": "12/QĐ-BNV",
        "granted_by": "hr.BNV",
        "created_at": grant["created_at"],
        "revoked_at": None,
        "state": "active",
    }
    assert grant_id in listed(settings, "hr.BNV", "--in-force")
    assert grant_id in listed(settings, "admin", "--grantee", "SH00000701")
    assert grant_id in listed(settings, "SH00000701")  # the grantee sees the grants made to it
    assert grant_id not in listed(settings, "hr.BTC")  # another ministry's HR does not
    human = ccvc(settings, "grants", "list", "--as", "hr.BNV", "--grantee", "SH00000701")
    assert any(row.startswith(f"#{grant_id} ") for row in human.stdout.splitlines()), human.stdout

    # Another ministry's HR cannot revoke it, and does not even learn that it exists.
    refused(ccvc(settings, "grants", "revoke", "--as", "hr.BTC", "--id", str(grant_id)), "NOT_FOUND")

    revoked = made(ccvc(settings, "grants", "revoke", "--as", "hr.BNV", "--id", str(grant_id), "--json"))
    assert revoked["id"] == grant_id and revoked["state"] == "revoked" and revoked["revoked_at"]
    assert listed(settings, "hr.BNV", "--grantee", "SH00000701")[grant_id]["state"] == "revoked"
    assert grant_id not in listed(settings, "hr.BNV", "--grantee", "SH00000701", "--in-force")

    again = ccvc(settings, "grants", "revoke", "--as", "hr.BNV", "--id", str(grant_id))
    assert "already revoked" in refused(again, "BAD_USER_INPUT")


def test_a_grant_for_named_officials_lists_their_ids(settings: Settings, places: Places, cleanup: list[int]) -> None:
    first, second = places.bnv.official_ids
    grant = made(create(settings, "hr.BNV", "SH00000702", "--officials", f"{second},{first}", fields="religion"))
    cleanup.append(grant["id"])
    assert grant["official_ids"] == [first, second] and grant["unit"] is None
    assert grant["managing_unit"] == "BNV" and grant["fields"] == ["religion"] and grant["state"] == "active"
    revoked = made(ccvc(settings, "grants", "revoke", "--as", "admin", "--id", str(grant["id"]), "--json"))
    assert revoked["state"] == "revoked"


def test_hr_of_another_ministry_is_forbidden(settings: Settings, places: Places, cleanup: list[int]) -> None:
    result = create(settings, "hr.BTC", "SH00000703", "--unit", places.bnv.unit_code)
    refused(result, "FORBIDDEN")
    assert listed(settings, "admin", "--grantee", "SH00000703") == {}
    # Officials outside the acting account's scope are not found, as in the API (no existence leak).
    refused(create(settings, "hr.BTC", "SH00000703", "--officials", str(places.bnv.official_ids[0])), "NOT_FOUND")
    assert listed(settings, "admin", "--grantee", "SH00000703") == {}


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unknown field", "Unknown field or group 'shoe_size'"),
        ("to before from", "`validTo` is before `validFrom`"),
        ("officials of two ministries", "one ministry or province"),
        ("all fields", "`all` is not accepted"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_recorded(
    settings: Settings, places: Places, cleanup: list[int], case: str, message: str
) -> None:
    unit = ["--unit", places.bnv.unit_code]
    arguments: list[str] = ["--grantee", "SH00000704", "--document", "7/CV", *days(0, 30)]
    match case:
        case "unknown field":
            arguments += [*unit, "--fields", "work,shoe_size"]
        case "to before from":
            arguments += [*unit, "--fields", "work", *days(10, 5)]  # argparse: the last --from/--to win
        case "officials of two ministries":
            # As admin, who sees and manages both: as HR, the other ministry's official is not found.
            both = f"{places.bnv.official_ids[0]},{places.btc.official_ids[0]}"
            arguments += ["--officials", both, "--fields", "work"]
        case "all fields":
            arguments += [*unit, "--fields", "all"]
    result = ccvc(settings, "grants", "create", "--as", "admin", *arguments)
    assert message in refused(result, "BAD_USER_INPUT")
    assert listed(settings, "admin", "--grantee", "SH00000704") == {}


def test_unknown_unit_code_is_not_found(settings: Settings) -> None:
    result = create(settings, "hr.BNV", "SH00000704", "--unit", "BNV.NO.SUCH.UNIT")
    assert "BNV.NO.SUCH.UNIT" in refused(result, "NOT_FOUND")


@pytest.mark.parametrize(
    "command",
    [
        ["list"],
        ["revoke", "--id", "1"],
        ["create", "--grantee", "SH00000704", "--unit", "BNV", "--fields", "work", "--document", "1", *days(0, 1)],
    ],
)
def test_an_unknown_acting_account_is_a_clear_error(settings: Settings, command: list[str]) -> None:
    result = ccvc(settings, "grants", command[0], "--as", "nobody.here", *command[1:])
    line = refused(result, "UNAUTHENTICATED")
    assert "nobody.here" in line


def test_a_malformed_date_is_a_usage_error(settings: Settings, places: Places) -> None:
    result = ccvc(
        settings,
        "grants",
        "create",
        "--as",
        "hr.BNV",
        "--grantee",
        "SH00000704",
        "--unit",
        places.bnv.unit_code,
        "--fields",
        "work",
        "--from",
        "01/02/2026",
        "--to",
        str(date.max),
        "--document",
        "1",
    )
    assert result.returncode == 2 and "YYYY-MM-DD" in result.stderr and "Traceback" not in result.stderr


def test_the_grantee_reads_more_while_the_grant_is_in_force(
    api: Api, settings: Settings, places: Places, cleanup: list[int]
) -> None:
    official = places.bnv.official_ids[0]
    query = "query($id: ID!) { official(id: $id) { id jobTitle } }"

    def read() -> Any:
        api.state.scopes.forget()
        return api.data(query, as_user="SH00000705", variables={"id": str(official)})["official"]

    assert read() is None
    # By numeric unit id this time (the code is looked up otherwise).
    grant = made(create(settings, "hr.BNV", "SH00000705", "--unit", str(places.bnv.unit_id)))
    cleanup.append(grant["id"])
    assert grant["unit"] == places.bnv.unit_code
    seen = read()
    assert seen is not None and seen["id"] == str(official)  # and jobTitle, a work field, without error
    revoked = made(ccvc(settings, "grants", "revoke", "--as", "hr.BNV", "--id", str(grant["id"]), "--json"))
    assert revoked["state"] == "revoked"
    assert read() is None
