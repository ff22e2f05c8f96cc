"""exportOfficials: a file of the caller's officials, its receipt over the exact bytes, and the download."""

import csv
import hashlib
import io
from typing import Any

import orjson

from evidence.crypto import PublicKeys
from evidence.receipts import ids_sha256, verify_receipt
from tests.conftest import Api

EXPORT = """mutation($filter: OfficialFilter, $format: ExportFormat!, $fields: [String!], $limit: Int!) {
  exportOfficials(filter: $filter, format: $format, fields: $fields, limit: $limit) {
    id format fields columns rowCount byteSize sha256 receipt receiptId url expiresAt
  }
}"""


def export(api: Api, as_user: str, **variables: Any) -> Any:
    variables = {"format": "CSV", "limit": 1000} | variables
    return api.post(EXPORT, as_user=as_user, variables=variables)


def download(api: Api, url: str, as_user: str) -> Any:
    return api.client.get(url, headers={"Authorization": f"Bearer {api.token(as_user)}"})


def keys(api: Api) -> PublicKeys:
    return PublicKeys.from_jwks(api.client.get("/.well-known/jwks.json").json())


def test_a_csv_export_downloads_with_a_receipt_over_its_exact_bytes(api: Api) -> None:
    made = export(api, "agency.BTC", fields=["code", "fullName", "rank", "unit"])["data"]["exportOfficials"]
    file = download(api, made["url"], "agency.BTC")
    assert file.status_code == 200 and file.headers["content-type"].startswith("text/csv")
    assert file.headers["x-ccvc-receipt"] == made["receipt"] and file.headers["x-ccvc-receipt-id"] == made["receiptId"]
    assert hashlib.sha256(file.content).hexdigest() == made["sha256"]
    rows = list(csv.reader(io.StringIO(file.content.decode())))
    assert rows[0] == ["id", "code", "fullName", "rank", "rankLabel", "unitCode", "unitName"] == made["columns"]
    assert len(rows) - 1 == made["rowCount"] > 0
    assert all(row[5].startswith("BTC") for row in rows[1:])  # the agreement covers its own ministry only
    check = verify_receipt(made["receipt"], keys(api), data=file.content)
    assert check.valid and check.data_matches and check.payload is not None
    payload = check.payload
    assert payload["kind"] == "export" and payload["officials"]["count"] == made["rowCount"]
    assert payload["export"] == {"id": made["id"], "format": "csv", "bytes": made["byteSize"], "rows": made["rowCount"]}
    assert payload["basis"] == ["agreement:2:02/2026/QĐ-BNV"]
    flipped = bytearray(file.content)
    flipped[len(flipped) // 2] ^= 1
    assert not verify_receipt(made["receipt"], keys(api), data=bytes(flipped)).valid


def test_a_jsonl_export_has_one_object_per_official_and_counts_them_in_the_receipt(api: Api) -> None:
    made = export(api, "admin", format="JSONL", limit=25, fields=["code", "birthDate", "salaryCoefficient"])
    made = made["data"]["exportOfficials"]
    file = download(api, made["url"], "admin")
    lines = [orjson.loads(line) for line in file.content.splitlines()]
    assert len(lines) == 25 and set(lines[0]) == {"id", "code", "birthDate", "salaryCoefficient"}
    assert file.headers["content-type"].startswith("application/x-ndjson")
    ids = [int(row["id"]) for row in lines]
    assert ids == sorted(ids)
    payload = verify_receipt(made["receipt"], keys(api), data=file.content).payload
    assert payload is not None and payload["officials"]["ids_sha256"] == ids_sha256(sorted(ids))


def test_an_export_is_only_for_its_requester(api: Api) -> None:
    made = export(api, "agency.bhxh", limit=5)["data"]["exportOfficials"]
    assert download(api, made["url"], "agency.bhxh").status_code == 200
    assert download(api, made["url"], "admin").status_code == 404
    assert api.client.get(made["url"]).status_code == 401
    assert download(api, "/exports/" + "0" * 32, "agency.bhxh").status_code == 404
    assert download(api, "/exports/..%2Fsecrets", "agency.bhxh").status_code == 404


def test_an_expired_export_is_gone(api: Api) -> None:
    from sqlalchemy import text

    made = export(api, "admin", limit=2)["data"]["exportOfficials"]
    app: Any = api.client.app

    async def expire() -> None:
        async with app.state.engine.begin() as conn:
            await conn.execute(
                text("UPDATE export_file SET expires_at = created_at WHERE id = :id"), {"id": made["id"]}
            )

    api.run(expire)
    assert download(api, made["url"], "admin").status_code == 404


def test_default_columns_are_the_fields_readable_on_some_row_of_the_scope(api: Api) -> None:
    made = export(api, "agency.bhxh", limit=3)["data"]["exportOfficials"]
    assert "religion" not in made["fields"] and "fullName" in made["fields"] and "salaryGrade" in made["fields"]
    everything = export(api, "admin", limit=3)["data"]["exportOfficials"]
    assert "religion" in everything["fields"] and "health" in everything["fields"]


def test_exporting_a_field_readable_on_no_official_is_refused(api: Api) -> None:
    body = export(api, "agency.bhxh", fields=["code", "religion"])
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN_FIELD"
    body = export(api, "agency.bhxh", fields=["code", "workHistory"])
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = export(api, "agency.bhxh", limit=0)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = export(api, "agency.bhxh", limit=50_001)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_an_export_reads_through_the_scope(api: Api) -> None:
    made = export(api, "manager.BNV.VP", fields=["code", "unit"], limit=50_000)["data"]["exportOfficials"]
    rows = list(csv.reader(io.StringIO(download(api, made["url"], "manager.BNV.VP").content.decode())))[1:]
    assert rows and all(row[2].startswith("BNV.VP") for row in rows)
    total = api.data("{ officials { totalCount } }", as_user="manager.BNV.VP")["officials"]["totalCount"]
    assert len(rows) == total


def test_every_exportable_field_is_an_official_data_field_and_every_plain_data_field_is_exportable(api: Api) -> None:
    from resolvers.exports import EXPORTABLE

    app: Any = api.client.app
    data_fields = {name.partition(".")[2] for name in app.state.scopes.authorizer.data_fields}
    lists = {"workHistory", "training", "salaryHistory", "familyMembers", "rewards", "disciplines", "evaluations"}
    assert set(EXPORTABLE) == data_fields - lists


# -- a grant over a few more officials adds to an export; what it does not open is withheld, and said so ----

GRANT = "mutation($input: GrantAccessInput!) { grantAccess(input: $input) { id documentNumber } }"


def owner(column: str, fields: list[str]) -> str:
    """The field a column exports (`rank` for rankLabel, `unit` for unitCode and unitName)."""
    return next(f for f in fields if column in (f, f"{f}Label", f"{f}Code", f"{f}Name"))


def test_a_grant_adds_to_an_export_and_its_unreadable_cells_are_empty_and_named(api: Api) -> None:
    from policies.authorizer import Authorizer

    outsider = api.data('{ unit(code: "BNV") { officials(first: 1) { nodes { id } } } }')["unit"]["officials"]
    outsider = outsider["nodes"][0]["id"]
    secret = api.data(f'{{ official(id: "{outsider}") {{ fullName personalId }} }}')["official"]
    before = export(api, "hr.HNI", limit=50_000)["data"]["exportOfficials"]
    assert "withheld" not in before["columns"]  # everything readable on every row: a blank is missing data
    grant = api.data(
        GRANT,
        as_user="hr.BNV",
        variables={
            "input": {
                "grantee": "hr.HNI",
                "officials": [outsider],
                "fields": ["work"],
                "validFrom": "2026-01-01",
                "validTo": "2030-12-31",
                "documentNumber": "EXP/1",
            }
        },
    )["grantAccess"]
    try:
        made = export(api, "hr.HNI", limit=50_000)["data"]["exportOfficials"]
        assert made["fields"] == before["fields"] and made["columns"] == [*before["columns"], "withheld"]
        file = download(api, made["url"], "hr.HNI")
        rows = list(csv.DictReader(io.StringIO(file.content.decode())))
        assert len(rows) == before["rowCount"] + 1 == made["rowCount"]
        work = {f.removeprefix("Official.") for f in Authorizer().groups["work"]}
        by_id = {row["id"]: row for row in rows}
        withheld = by_id[outsider]["withheld"].split("; ")
        assert set(withheld) == set(made["fields"]) - work and "jobTitle" not in withheld
        for column, cell in by_id[outsider].items():
            if column not in ("id", "withheld") and owner(column, made["fields"]) in withheld:
                assert cell == "", column
        assert all(row["withheld"] == "" for i, row in by_id.items() if i != outsider)
        # Nothing the grant does not open is written, anywhere in the file.
        assert secret["fullName"].encode() not in file.content and secret["personalId"].encode() not in file.content
        check = verify_receipt(made["receipt"], keys(api), data=file.content)
        assert check.valid and check.data_matches and check.payload is not None
        assert check.payload["basis"] == [f"grant:{grant['id']}:EXP/1", "policy:role:hr"]
        lines = [
            orjson.loads(line)
            for line in download(
                api, export(api, "hr.HNI", format="JSONL", limit=50_000)["data"]["exportOfficials"]["url"], "hr.HNI"
            ).content.splitlines()
        ]
        line = next(item for item in lines if item["id"] == outsider)
        assert line["withheld"] == withheld and line["fullName"] is None and line["jobTitle"] is not None
    finally:
        api.data("mutation($id: ID!) { revokeGrant(id: $id) { id } }", as_user="hr.BNV", variables={"id": grant["id"]})
