"""The official's CV (sơ yếu lý lịch, Mẫu 2C) through the API: a PDF of the approved record, in
Vietnamese, exported with a receipt over its exact bytes that anyone can check from the id it prints."""

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from tests.cli.runner import ccvc
from tests.conftest import Api, Writable

CV = "query($id: ID!) { official(id: $id) { cv { id format url receipt receiptId sha256 rowCount } } }"


def _someone(api: Api) -> dict[str, Any]:
    page = api.data(
        '{ officials(first: 1, filter: {unit: "BNV"}) { nodes { id code fullName currentAddress } } }', as_user="hr.BNV"
    )
    return dict(page["officials"]["nodes"][0])


def _pdf(api: Api, url: str, as_user: str) -> bytes:
    response = api.client.get(url, headers={"Authorization": f"Bearer {api.token(as_user)}"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    return response.content


def _text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_an_official_prints_their_cv_with_a_receipt_over_its_bytes(writable: Writable, tmp_path: Path) -> None:
    api = writable.api
    someone = _someone(api)
    cv = api.data("{ me { cv { format url receipt receiptId sha256 } } }", as_user=someone["code"])["me"]["cv"]
    assert cv["format"] == "PDF"
    content = _pdf(api, cv["url"], someone["code"])
    assert content.startswith(b"%PDF-") and hashlib.sha256(content).hexdigest() == cv["sha256"]
    text = _text(content)
    assert someone["fullName"].upper() in text  # with its diacritics: the font covers Vietnamese
    assert cv["receiptId"] in text and "SƠ YẾU LÝ LỊCH" in text

    # Anyone holding the printed id checks the receipt: logged, signed, over these bytes.
    public = api.client.get(f"/receipts/{cv['receiptId']}").json()
    assert public["valid"] and public["kind"] == "export" and public["dataSha256"] == cv["sha256"]
    assert public["export"]["format"] == "pdf" and "sub" not in public and "basis" not in public
    # And offline, the receipt with the file.
    (tmp_path / "cv.pdf").write_bytes(content)
    (tmp_path / "cv.jws").write_text(cv["receipt"])
    ran = ccvc(
        api.settings, "receipts", "verify", "--receipt", str(tmp_path / "cv.jws"), "--data", str(tmp_path / "cv.pdf")
    )
    assert ran.returncode == 0 and "VALID" in ran.stdout, ran.stdout + ran.stderr


def test_the_cv_prints_the_approved_record_not_a_pending_change(writable: Writable) -> None:
    api = writable.api
    someone = _someone(api)
    proposed = "Nhà số 1, ngõ Chờ Duyệt, Hà Nội"
    body = api.post(
        'mutation($id: ID!, $a: String!) { proposeChange(officialId: $id, reason: "chuyển nhà", '
        "changes: {currentAddress: $a}) { id } }",
        as_user=someone["code"],
        variables={"id": someone["id"], "a": proposed},
    )
    change = body["data"]["proposeChange"]["id"]
    try:
        cv = api.data(CV, as_user="hr.BNV", variables={"id": someone["id"]})["official"]["cv"]
        text = _text(_pdf(api, cv["url"], "hr.BNV"))
        assert "Chờ Duyệt" not in text and someone["currentAddress"].split(",")[0] in text
    finally:
        api.data(
            "mutation($id: ID!) { withdrawChange(id: $id) { id } }", as_user=someone["code"], variables={"id": change}
        )


@pytest.mark.parametrize("reader", ["approver.BNV", "agency.bhxh", "analyst"])
def test_the_cv_is_for_those_who_read_every_field_of_the_record(writable: Writable, reader: str) -> None:
    api = writable.api
    someone = _someone(api)
    body = api.post(CV, as_user=reader, variables={"id": someone["id"]})
    official = body["data"]["official"]
    if official is not None:  # a reader outside the scope gets no official at all
        assert official["cv"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN_FIELD"]


def test_one_cv_per_request(writable: Writable) -> None:
    body = writable.api.post('{ officials(first: 2, filter: {unit: "BNV"}) { nodes { cv { id } } } }', as_user="hr.BNV")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT" and body["data"] is None
    assert "at most 1 export" in body["errors"][0]["message"]
