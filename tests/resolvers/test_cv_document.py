"""The sơ yếu lý lịch PDF, read back as a person or a machine would: its text, its pixels, its QR code."""

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import zxingcpp
from pypdf import PdfReader

from resolvers.cv_document import (
    TITLE,
    CvDocument,
    Distinction,
    Evaluation,
    Relative,
    SalaryStep,
    Training,
    WorkPeriod,
    render,
)

ROOT = Path(__file__).resolve().parents[2]
RECEIPT = "4f1c2a9e7b3d4c5e8a6f0b1d2e3c4a5b"
VERIFY_URL = f"https://ccvc.example.gov.vn/receipts/{RECEIPT}"
SECTION_TITLES = [
    TITLE,
    "27) ĐÀO TẠO, BỒI DƯỠNG VỀ CHUYÊN MÔN",
    "28) TÓM TẮT QUÁ TRÌNH CÔNG TÁC",
    "29) ĐẶC ĐIỂM LỊCH SỬ BẢN THÂN",
    "30) QUAN HỆ GIA ĐÌNH",
    "31) DIỄN BIẾN QUÁ TRÌNH LƯƠNG CỦA CÁN BỘ, CÔNG CHỨC",
    "32) NHẬN XÉT, ĐÁNH GIÁ",
]


def official() -> CvDocument:
    return CvDocument(
        receipt_id=RECEIPT,
        verify_url=VERIFY_URL,
        issued_at=datetime(2026, 3, 5, 9, 30, tzinfo=timezone(timedelta(hours=7))),
        declaration_place="Bắc Giang",
        managing_agency="Ủy ban nhân dân tỉnh Bắc Giang",
        using_agency="Sở Nội vụ tỉnh Bắc Giang",
        official_number="24.003.000.1187",
        full_name="NGUYỄN THỊ HỒNG ÁNH",
        birth_date=date(1985, 5, 12),
        sex="Nữ",
        hometown="Xã Ngọc Sơn, huyện Hiệp Hòa, tỉnh Bắc Giang",
        ethnicity="Kinh",
        rank="Chuyên viên chính",
        rank_code="01.002",
        salary_coefficient=Decimal("5.08"),
        rewards=(Distinction("Bằng khen của Bộ trưởng Bộ Nội vụ", 2022),),
        training=(
            Training(
                "Học viện Hành chính Quốc gia",
                "Hành chính học",
                date(2003, 9, 1),
                date(2007, 6, 1),
                "Chính quy",
                "Cử nhân",
            ),
        ),
        work_history=(WorkPeriod(date(2008, 9, 1), None, "Chuyên viên, Sở Nội vụ tỉnh Bắc Giang"),),
        own_family=(Relative("Mẹ", "Trần Thị Lụa", 1961, "Xã Ngọc Sơn, huyện Hiệp Hòa; làm ruộng"),),
        spouse_family=(Relative("Bố chồng", "Lê Văn Đạt", 1955, "Xã Tân Dĩnh, huyện Lạng Giang; nghỉ hưu"),),
        salary_history=(SalaryStep(date(2024, 7, 1), "01.002/3", Decimal("5.08")),),
        evaluations=(Evaluation(2025, "Hoàn thành xuất sắc nhiệm vụ"),),
    )


def with_long_work_history(rows: int) -> CvDocument:
    periods = tuple(
        WorkPeriod(
            date(1990 + i // 2, 1 + 6 * (i % 2), 1), None, f"Công tác số {i:02d}, Phòng Tổ chức cán bộ, Sở Nội vụ"
        )
        for i in range(rows)
    )
    return replace(official(), work_history=periods)


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_text_layer_holds_the_name_with_diacritics_the_receipt_and_every_section_title() -> None:
    text = "\n".join(pages_text(render(official())))
    for expected in ["NGUYỄN THỊ HỒNG ÁNH", "Xã Ngọc Sơn, huyện Hiệp Hòa, tỉnh Bắc Giang", RECEIPT, *SECTION_TITLES]:
        assert expected in text, f"{expected!r} is not in the PDF's text"


def test_dates_print_day_first_and_decimals_with_a_comma() -> None:
    text = "\n".join(pages_text(render(official())))
    assert "Sinh ngày: 12/05/1985" in text
    assert "Hệ số: 5,08" in text
    assert "ngày 05 tháng 03 năm 2026" in text
    assert "09/2008 - nay" in text


def test_decomposed_diacritics_print_as_the_composed_letters() -> None:
    decomposed = "NGUYE\u0302\u0303N THI\u0323 HO\u0302\u0300NG A\u0301NH"
    text = "\n".join(pages_text(render(replace(official(), full_name=decomposed))))
    assert "NGUYỄN THỊ HỒNG ÁNH" in text


def test_first_page_renders_to_an_image_with_ink_on_it(tmp_path: Path) -> None:
    pdf = tmp_path / "cv.pdf"
    pdf.write_bytes(render(official()))
    command = [pdftoppm(), "-gray", "-r", "50", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(tmp_path / "page")]
    subprocess.run(command, check=True, capture_output=True)
    width, height, pixels = read_pgm((tmp_path / "page.pgm").read_bytes())
    assert (round(width / 10), round(height / 10)) == (41, 58), "not an A4 page at 50 dpi"
    dark = sum(1 for value in pixels if value < 128) / len(pixels)
    assert 0.01 < dark < 0.3, f"{dark:.1%} of page 1 is dark: blank or smeared"


def test_qr_code_on_the_first_page_decodes_to_the_verify_url() -> None:
    first = PdfReader(io.BytesIO(render(official()))).pages[0]
    images = [image.image for image in first.images if image.image is not None]
    decoded = [barcode.text for image in images for barcode in zxingcpp.read_barcodes(image.convert("L"))]
    assert decoded == [VERIFY_URL]
    assert VERIFY_URL in first.extract_text()


def test_qr_code_is_on_the_first_page_only() -> None:
    later = PdfReader(io.BytesIO(render(with_long_work_history(40)))).pages[1:]
    assert [len(page.images) for page in later] == [0] * len(later)


def test_long_work_history_spans_pages_with_headings_repeated_and_the_receipt_on_each() -> None:
    pages = pages_text(render(with_long_work_history(40)))
    first = next(i for i, text in enumerate(pages) if "Công tác số 00" in text)
    last = next(i for i, text in enumerate(pages) if "Công tác số 39" in text)
    assert last > first, "40 rows of work history fit one page: the test no longer spans pages"
    for number in range(first + 1, last + 1):
        assert "Từ tháng, năm đến" in pages[number], f"page {number + 1} continues the table without its headings"
    for number, text in enumerate(pages, start=1):
        assert f"Mã biên nhận: {RECEIPT}" in text, f"page {number} has no receipt id"
        assert f"Trang {number}/{len(pages)}" in text


def test_same_document_renders_identical_bytes() -> None:
    assert render(with_long_work_history(40)) == render(with_long_work_history(40))


def test_rendering_does_not_depend_on_the_process_hash_seed() -> None:
    # Set iteration order changes with the hash seed: a font subset built from a set would differ per process.
    script = (
        "import hashlib, sys; from resolvers.cv_document import render; "
        "from tests.resolvers.test_cv_document import with_long_work_history; "
        "sys.stdout.write(hashlib.sha256(render(with_long_work_history(40))).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert digests == {hashlib.sha256(render(with_long_work_history(40))).hexdigest()}


def test_creation_date_comes_from_the_document_not_the_clock() -> None:
    earlier = replace(official(), issued_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
    reader = PdfReader(io.BytesIO(render(earlier)))
    assert reader.metadata is not None
    assert reader.metadata.creation_date == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert reader.metadata.title == "Sơ yếu lý lịch - NGUYỄN THỊ HỒNG ÁNH"
    assert render(earlier) != render(official())


def test_naive_issued_at_is_refused_as_it_would_render_differently_per_machine() -> None:
    with pytest.raises(ValueError, match="issued_at must carry a time zone"):
        render(replace(official(), issued_at=datetime(2026, 3, 5, 9, 30)))


def test_empty_tables_still_render_with_their_headings() -> None:
    bare = CvDocument(
        receipt_id=RECEIPT, verify_url=VERIFY_URL, issued_at=datetime(2026, 1, 1, tzinfo=UTC), full_name="Lê Văn A"
    )
    text = "\n".join(pages_text(render(bare)))
    assert "Tên trường" in text
    assert "Mối quan hệ" in text
    assert "Hệ số lương" in text


def pdftoppm() -> str:
    found = shutil.which("pdftoppm")
    if found is None:
        reason = "pdftoppm is missing (Debian's poppler-utils): the page-image test needs it"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}, and CI must run it: .ci/run installs it")
        pytest.skip(reason)
    return found


def read_pgm(data: bytes) -> tuple[int, int, bytes]:
    # Binary PGM as pdftoppm -gray writes it: "P5 <width> <height> 255", one whitespace, then a byte a pixel.
    header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", data)
    assert header, f"not an 8-bit binary PGM: {data[:20]!r}"
    width, height = int(header[1]), int(header[2])
    pixels = data[header.end() :]
    assert len(pixels) == width * height, f"{len(pixels)} pixel bytes for {width}x{height}"
    return width, height, pixels
