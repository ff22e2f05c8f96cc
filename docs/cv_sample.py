"""Renders docs/cv-sample.pdf and its first page as docs/cv-sample.png from synthetic data.

    .venv/bin/python docs/cv_sample.py

The official, the agencies and the receipt are invented; the PNG needs Debian's poppler-utils (pdftoppm).
"""

import shutil
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from resolvers.cv_document import (
    CvDocument,
    Distinction,
    Evaluation,
    Relative,
    SalaryStep,
    Training,
    WorkPeriod,
    render,
)

DOCS = Path(__file__).resolve().parent


def sample() -> CvDocument:
    return CvDocument(
        receipt_id="4f1c2a9e7b3d4c5e8a6f0b1d2e3c4a5b",
        verify_url="https://ccvc.example.gov.vn/receipts/4f1c2a9e7b3d4c5e8a6f0b1d2e3c4a5b",
        issued_at=datetime(2026, 3, 5, 2, 30, tzinfo=UTC),
        declaration_place="Bắc Giang",
        managing_agency="Ủy ban nhân dân tỉnh Bắc Giang",
        using_agency="Sở Nội vụ tỉnh Bắc Giang",
        official_number="24.003.000.1187",
        full_name="Nguyễn Thị Hồng Ánh",
        other_names="Không",
        birth_date=date(1985, 5, 12),
        sex="Nữ",
        birthplace="Xã Ngọc Sơn, huyện Hiệp Hòa, tỉnh Bắc Giang",
        hometown="Xã Ngọc Sơn, huyện Hiệp Hòa, tỉnh Bắc Giang",
        ethnicity="Kinh",
        religion="Không",
        permanent_residence="Số 18, đường Nguyễn Văn Cừ, phường Ngô Quyền, thành phố Bắc Giang, tỉnh Bắc Giang",
        current_residence="Số 18, đường Nguyễn Văn Cừ, phường Ngô Quyền, thành phố Bắc Giang, tỉnh Bắc Giang",
        occupation_when_recruited="Chuyên viên",
        recruitment_date=date(2008, 9, 1),
        recruiting_agency="Sở Nội vụ tỉnh Bắc Giang",
        current_position="Phó Trưởng phòng Công chức, viên chức",
        concurrent_positions="Ủy viên Ban Chấp hành Công đoàn cơ sở",
        main_duties="Quản lý hồ sơ, cơ sở dữ liệu cán bộ, công chức, viên chức của tỉnh",
        rank="Chuyên viên chính",
        rank_code="01.002",
        salary_grade=3,
        salary_coefficient=Decimal("5.08"),
        salary_effective_date=date(2024, 7, 1),
        position_allowance=Decimal("0.30"),
        other_allowances="Phụ cấp công vụ 25%",
        general_education="12/12 (hệ chính quy)",
        professional_qualification="Thạc sĩ, chuyên ngành Quản lý công",
        political_theory="Cao cấp",
        state_management="Chuyên viên chính",
        foreign_languages="Tiếng Anh, trình độ B2",
        it_skills="Ứng dụng công nghệ thông tin nâng cao",
        party_admission_date=date(2010, 5, 19),
        party_confirmation_date=date(2011, 5, 19),
        socio_political_organisations="26/03/2001, Đoàn TNCS Hồ Chí Minh; Công đoàn Viên chức tỉnh",
        honorary_title="Không",
        strengths="Tổ chức cán bộ, xây dựng cơ sở dữ liệu",
        rewards=(
            Distinction("Bằng khen của Bộ trưởng Bộ Nội vụ", 2022),
            Distinction("Giấy khen của Giám đốc Sở", 2019),
        ),
        health="Tốt",
        height_cm=158,
        weight_kg=52,
        blood_group="O",
        id_number="024185004321",
        id_issue_date=date(2021, 4, 20),
        social_insurance_number="2408012345",
        training=(
            Training(
                "Học viện Hành chính Quốc gia",
                "Hành chính học",
                date(2003, 9, 1),
                date(2007, 6, 30),
                "Chính quy",
                "Cử nhân",
            ),
            Training(
                "Học viện Chính trị Quốc gia Hồ Chí Minh",
                "Lý luận chính trị",
                date(2015, 3, 1),
                date(2016, 12, 31),
                "Tại chức",
                "Cao cấp lý luận chính trị",
            ),
            Training(
                "Học viện Hành chính Quốc gia",
                "Quản lý công",
                date(2017, 9, 1),
                date(2019, 10, 31),
                "Chính quy",
                "Thạc sĩ",
            ),
        ),
        work_history=(
            WorkPeriod(
                date(2008, 9, 1), date(2009, 8, 31), "Tập sự, Phòng Công chức, viên chức, Sở Nội vụ tỉnh Bắc Giang"
            ),
            WorkPeriod(
                date(2009, 9, 1),
                date(2019, 12, 31),
                "Chuyên viên, Phòng Công chức, viên chức, Sở Nội vụ tỉnh Bắc Giang",
            ),
            WorkPeriod(date(2020, 1, 1), None, "Phó Trưởng phòng Công chức, viên chức, Sở Nội vụ tỉnh Bắc Giang"),
        ),
        history_detentions_and_former_regime="Không",
        history_foreign_organisations="Không",
        history_relatives_abroad="Không",
        own_family=(
            Relative("Bố", "Nguyễn Văn Hùng", 1958, "Xã Ngọc Sơn, huyện Hiệp Hòa, tỉnh Bắc Giang; nghỉ hưu"),
            Relative("Mẹ", "Trần Thị Lụa", 1961, "Xã Ngọc Sơn, huyện Hiệp Hòa, tỉnh Bắc Giang; làm ruộng"),
            Relative("Chồng", "Lê Đức Thắng", 1983, "Kỹ sư xây dựng, Công ty Cổ phần Xây dựng Bắc Giang; ở cùng"),
            Relative("Con", "Lê Minh Khuê", 2012, "Học sinh lớp 8, Trường THCS Ngô Sĩ Liên"),
        ),
        spouse_family=(
            Relative("Bố chồng", "Lê Văn Đạt", 1955, "Xã Tân Dĩnh, huyện Lạng Giang, tỉnh Bắc Giang; nghỉ hưu"),
            Relative("Mẹ chồng", "Phạm Thị Huế", 1957, "Xã Tân Dĩnh, huyện Lạng Giang, tỉnh Bắc Giang; nội trợ"),
        ),
        salary_history=(
            SalaryStep(date(2008, 9, 1), "01.003/1", Decimal("2.34")),
            SalaryStep(date(2011, 9, 1), "01.003/2", Decimal("2.67")),
            SalaryStep(date(2014, 9, 1), "01.003/3", Decimal("3.00")),
            SalaryStep(date(2020, 1, 1), "01.002/1", Decimal("4.40")),
            SalaryStep(date(2024, 7, 1), "01.002/3", Decimal("5.08")),
        ),
        evaluations=(
            Evaluation(2023, "Hoàn thành xuất sắc nhiệm vụ"),
            Evaluation(2024, "Hoàn thành tốt nhiệm vụ"),
            Evaluation(2025, "Hoàn thành xuất sắc nhiệm vụ"),
        ),
        assessment="Có phẩm chất chính trị vững vàng, năng lực chuyên môn tốt, đoàn kết, được đồng nghiệp tín nhiệm.",
    )


def main() -> None:
    pdf = DOCS / "cv-sample.pdf"
    pdf.write_bytes(render(sample()))
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise SystemExit(f"Wrote {pdf}; no PNG: pdftoppm is missing (apt-get install poppler-utils)")
    page_one = [pdftoppm, "-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(DOCS / "cv-sample")]
    subprocess.run(page_one, check=True)  # noqa: S603 (pdftoppm found on PATH, the arguments are ours)
    print(f"Wrote {pdf} and {DOCS / 'cv-sample.png'}")


if __name__ == "__main__":
    main()
