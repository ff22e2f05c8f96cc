"""The official's sơ yếu lý lịch (Mẫu 2C-BNV/2008) as PDF: display text in, bytes out.

Pure on purpose: the caller resolves codes to labels and decides what the reader may see; this module
only lays the form out, so the same document always gives the same bytes (receipts hash them).
"""

import io
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from importlib.resources import as_file, files
from pathlib import Path

import segno
from fpdf import FPDF, FontFace
from fpdf.enums import Align, WrapMode, XPos, YPos


@dataclass(frozen=True)
class Training:
    school: str
    major: str
    start: date | None
    end: date | None
    mode: str
    diploma: str


@dataclass(frozen=True)
class WorkPeriod:
    start: date | None
    end: date | None  # None: still in post ("nay")
    description: str


@dataclass(frozen=True)
class Relative:
    relation: str
    name: str
    birth_year: int | None
    details: str  # hometown, occupation, position, unit, residence, organisations


@dataclass(frozen=True)
class SalaryStep:
    effective: date
    rank_grade: str  # "01.003/5": rank code / grade
    coefficient: Decimal


@dataclass(frozen=True)
class Distinction:
    """A reward (item 21) or a discipline (item 22)."""

    form: str
    year: int


@dataclass(frozen=True)
class Evaluation:
    year: int
    result: str  # "Hoàn thành tốt nhiệm vụ"


@dataclass(frozen=True, kw_only=True)
class CvDocument:
    receipt_id: str
    verify_url: str
    # The PDF's creation date: taken from the document, never the clock, so a re-render is byte-identical.
    issued_at: datetime
    declaration_place: str = ""
    # Header
    managing_agency: str = ""
    using_agency: str = ""
    official_number: str = ""
    # Items 1-26
    full_name: str
    other_names: str = ""
    birth_date: date | None = None
    sex: str = ""
    birthplace: str = ""
    hometown: str = ""
    ethnicity: str = ""
    religion: str = ""
    permanent_residence: str = ""
    current_residence: str = ""
    occupation_when_recruited: str = ""
    recruitment_date: date | None = None
    recruiting_agency: str = ""
    current_position: str = ""
    concurrent_positions: str = ""
    main_duties: str = ""
    rank: str = ""
    rank_code: str = ""
    salary_grade: int | None = None
    salary_coefficient: Decimal | None = None
    salary_effective_date: date | None = None
    position_allowance: Decimal | None = None
    other_allowances: str = ""
    general_education: str = ""
    professional_qualification: str = ""
    political_theory: str = ""
    state_management: str = ""
    foreign_languages: str = ""
    it_skills: str = ""
    party_admission_date: date | None = None
    party_confirmation_date: date | None = None
    socio_political_organisations: str = ""
    enlistment_date: date | None = None
    discharge_date: date | None = None
    military_rank: str = ""
    honorary_title: str = ""
    strengths: str = ""
    rewards: tuple[Distinction, ...] = ()
    disciplines: tuple[Distinction, ...] = ()
    health: str = ""
    height_cm: int | None = None
    weight_kg: int | None = None
    blood_group: str = ""
    war_invalid_grade: str = ""
    policy_family: str = ""
    id_number: str = ""
    id_issue_date: date | None = None
    social_insurance_number: str = ""
    # Tables 27-32
    training: tuple[Training, ...] = ()
    work_history: tuple[WorkPeriod, ...] = ()
    history_detentions_and_former_regime: str = ""
    history_foreign_organisations: str = ""
    history_relatives_abroad: str = ""
    own_family: tuple[Relative, ...] = ()
    spouse_family: tuple[Relative, ...] = ()
    salary_history: tuple[SalaryStep, ...] = ()
    evaluations: tuple[Evaluation, ...] = ()
    assessment: str = ""


FONT = "BeVietnamPro"
# Be Vietnam Pro, from the PyPI package fontpkg-be-vietnam-pro (OFL-1.1, Google Fonts' build): drawn for
# Vietnamese, with every precomposed letter (ắ, ỗ, ự...) in static Regular and Bold files of ~140 kB each.
# A font shipped by a pinned package renders the same on every machine, unlike one from /usr/share/fonts.
_FONT_PACKAGE = "fontpkg_be_vietnam_pro"
_FONT_FILES = {"": "BeVietnamPro-Regular.ttf", "B": "BeVietnamPro-Bold.ttf", "I": "BeVietnamPro-Italic.ttf"}

_SIZE = 10.5
_LINE = 5.6
_MARGIN_LEFT, _MARGIN_RIGHT, _MARGIN_TOP = 20.0, 15.0, 15.0
# Page 1 keeps room at the bottom for the QR code; the other pages only for the receipt line.
_BOTTOM_FIRST, _BOTTOM_OTHER = 38.0, 20.0
_QR_SIZE = 24.0
_L, _C = Align.L, Align.C
_HEADINGS = FontFace(family=FONT, emphasis="BOLD", size_pt=9, fill_color=(235, 235, 235))
_FORM_ID = "Mẫu 2C-BNV/2008"
TITLE = "SƠ YẾU LÝ LỊCH CÁN BỘ, CÔNG CHỨC"


class _CvPdf(FPDF):
    def __init__(self, document: CvDocument) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.document = document

    def header(self) -> None:
        # The break line moves with the page: page 1's footer holds the QR code.
        self.set_auto_page_break(True, margin=_BOTTOM_FIRST if self.page == 1 else _BOTTOM_OTHER)

    def footer(self) -> None:
        top = self.h - (_BOTTOM_FIRST if self.page == 1 else _BOTTOM_OTHER) + 4
        self.set_draw_color(120)
        self.line(_MARGIN_LEFT, top, self.w - _MARGIN_RIGHT, top)
        self.set_font(FONT, "", 8)
        if self.page == 1:
            self._verification(top + 2)
        else:
            self.set_xy(_MARGIN_LEFT, self.h - 12)
            self.cell(0, 4, self._receipt())
        self.set_xy(_MARGIN_LEFT, self.h - 12)
        self.cell(0, 4, f"Trang {self.page_no()}/{{nb}}", align=Align.R)

    def _verification(self, top: float) -> None:
        self.image(_qr_png(self.document.verify_url), x=_MARGIN_LEFT, y=top, w=_QR_SIZE, h=_QR_SIZE)
        self.set_xy(_MARGIN_LEFT + _QR_SIZE + 3, top + 4)
        width = self.epw - _QR_SIZE - 25  # leaves the page number its corner
        self.multi_cell(width, 4, "Kiểm tra tính xác thực của bản sơ yếu lý lịch này tại:", new_x=XPos.LEFT)
        # A URL has no spaces to break at: wrap it by character rather than let it overflow.
        self.multi_cell(width, 4, self.document.verify_url, wrapmode=WrapMode.CHAR, new_x=XPos.LEFT)
        self.multi_cell(width, 4, self._receipt(), new_x=XPos.LEFT)

    def _receipt(self) -> str:
        return f"Mã biên nhận: {self.document.receipt_id}"


def render(document: CvDocument) -> bytes:
    if document.issued_at.tzinfo is None:
        # fpdf2 would read a naive time in the machine's zone: the same document, other bytes elsewhere.
        raise ValueError(f"CvDocument.issued_at must carry a time zone, got {document.issued_at.isoformat()}")
    with _font_files() as fonts:
        pdf = _new_pdf(document, fonts)
        _header(pdf, document)
        _items(pdf, document)
        _tables(pdf, document)
        _signatures(pdf, document)
        return bytes(pdf.output())


@contextmanager
def _font_files() -> Iterator[dict[str, Path]]:
    # fpdf2 reads the font lazily, so the files must exist until the output is written.
    root = files(_FONT_PACKAGE) / "files"
    with ExitStack() as stack:
        yield {style: stack.enter_context(as_file(root / name)) for style, name in _FONT_FILES.items()}


def _new_pdf(document: CvDocument, fonts: dict[str, Path]) -> _CvPdf:
    pdf = _CvPdf(document)
    for style, path in fonts.items():
        pdf.add_font(FONT, style, path)
    pdf.set_margins(_MARGIN_LEFT, _MARGIN_TOP, _MARGIN_RIGHT)
    pdf.set_title(f"Sơ yếu lý lịch - {_text(document.full_name)}")
    pdf.set_subject(_FORM_ID)
    pdf.set_keywords(document.receipt_id)
    pdf.set_creator("CCVC Gateway")
    pdf.set_lang("vi-VN")
    pdf.set_creation_date(document.issued_at)
    pdf.add_page()
    return pdf


def _qr_png(url: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="png", scale=6, border=4)
    buffer.seek(0)
    return buffer


def _header(pdf: _CvPdf, document: CvDocument) -> None:
    width = pdf.epw * 0.6
    # The agencies wrap within the left 60%: the form's number and the official's number sit on the right.
    pdf.set_right_margin(pdf.w - pdf.l_margin - width)
    _item(pdf, (("Cơ quan, đơn vị có thẩm quyền quản lý CBCC: ", document.managing_agency),), size=9.5, indent=0)
    _item(pdf, (("Cơ quan, đơn vị sử dụng CBCC: ", document.using_agency),), size=9.5, indent=0)
    pdf.set_right_margin(_MARGIN_RIGHT)
    bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + width, _MARGIN_TOP)
    pdf.set_font(FONT, "B", 9.5)
    pdf.cell(0, _LINE, _FORM_ID, align=Align.R, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 9.5)
    pdf.multi_cell(0, _LINE, f"Số hiệu cán bộ, công chức: {_text(document.official_number)}", align=Align.R)
    pdf.set_y(max(bottom, pdf.get_y()) + 4)
    _photo_and_title(pdf)


def _photo_and_title(pdf: _CvPdf) -> None:
    top = pdf.get_y()
    pdf.set_draw_color(0)
    pdf.rect(pdf.l_margin, top, 30, 40)
    pdf.set_xy(pdf.l_margin, top + 14)
    pdf.set_font(FONT, "", 8.5)
    pdf.multi_cell(30, 4.5, "Ảnh màu\n(4 × 6 cm)", align=Align.C)
    pdf.set_xy(pdf.l_margin + 34, top + 14)
    pdf.set_font(FONT, "B", 15)
    pdf.cell(pdf.epw - 34, 8, TITLE, align=Align.C)
    pdf.set_y(top + 46)


def _items(pdf: _CvPdf, d: CvDocument) -> None:
    pdf.set_font(FONT, "", _SIZE)
    for line in _item_lines(d):
        _item(pdf, line)


# A printed line of the form: (label, value) pairs; the label in regular type, the value in bold.
_Line = tuple[tuple[str, str], ...]


def _item_lines(d: CvDocument) -> list[_Line]:
    return [
        (("1) Họ và tên khai sinh (viết chữ in hoa): ", d.full_name.upper()),),
        (("2) Tên gọi khác: ", d.other_names),),
        (("3) Sinh ngày: ", _date(d.birth_date)), ("   Giới tính (nam, nữ): ", d.sex)),
        (("4) Nơi sinh: ", d.birthplace),),
        (("5) Quê quán: ", d.hometown),),
        (("6) Dân tộc: ", d.ethnicity), ("   7) Tôn giáo: ", d.religion)),
        (("8) Nơi đăng ký hộ khẩu thường trú: ", d.permanent_residence),),
        (("9) Nơi ở hiện nay: ", d.current_residence),),
        (("10) Nghề nghiệp khi được tuyển dụng: ", d.occupation_when_recruited),),
        (("11) Ngày tuyển dụng: ", _date(d.recruitment_date)), ("   Cơ quan tuyển dụng: ", d.recruiting_agency)),
        (("12) Chức vụ (chức danh) hiện tại: ", d.current_position),),
        (("      Chức vụ (chức danh) kiêm nhiệm: ", d.concurrent_positions),),
        (("13) Công việc chính được giao: ", d.main_duties),),
        (("14) Ngạch công chức (viên chức): ", d.rank), ("   Mã ngạch: ", d.rank_code)),
        (
            ("      Bậc lương: ", _number(d.salary_grade)),
            ("   Hệ số: ", _decimal(d.salary_coefficient)),
            ("   Ngày hưởng: ", _date(d.salary_effective_date)),
        ),
        (("      Phụ cấp chức vụ: ", _decimal(d.position_allowance)), ("   Phụ cấp khác: ", d.other_allowances)),
        (("15.1- Trình độ giáo dục phổ thông: ", d.general_education),),
        (("15.2- Trình độ chuyên môn cao nhất: ", d.professional_qualification),),
        (("15.3- Lý luận chính trị: ", d.political_theory), ("   15.4- Quản lý nhà nước: ", d.state_management)),
        (("15.5- Ngoại ngữ: ", d.foreign_languages), ("   15.6- Tin học: ", d.it_skills)),
        (
            ("16) Ngày vào Đảng Cộng sản Việt Nam: ", _date(d.party_admission_date)),
            ("   Ngày chính thức: ", _date(d.party_confirmation_date)),
        ),
        (("17) Ngày tham gia tổ chức chính trị - xã hội: ", d.socio_political_organisations),),
        (
            ("18) Ngày nhập ngũ: ", _date(d.enlistment_date)),
            ("   Ngày xuất ngũ: ", _date(d.discharge_date)),
            ("   Quân hàm cao nhất: ", d.military_rank),
        ),
        (("19) Danh hiệu được phong tặng cao nhất: ", d.honorary_title),),
        (("20) Sở trường công tác: ", d.strengths),),
        (("21) Khen thưởng: ", _distinctions(d.rewards)),),
        (("22) Kỷ luật: ", _distinctions(d.disciplines)),),
        (
            ("23) Tình trạng sức khỏe: ", d.health),
            ("   Chiều cao: ", _unit(d.height_cm, "cm")),
            ("   Cân nặng: ", _unit(d.weight_kg, "kg")),
            ("   Nhóm máu: ", d.blood_group),
        ),
        (("24) Là thương binh hạng: ", d.war_invalid_grade), ("   Là con gia đình chính sách: ", d.policy_family)),
        (("25) Số chứng minh nhân dân (căn cước): ", d.id_number), ("   Ngày cấp: ", _date(d.id_issue_date))),
        (("26) Số sổ BHXH: ", d.social_insurance_number),),
    ]


def _item(pdf: _CvPdf, line: _Line, *, size: float = _SIZE, indent: float = 6) -> None:
    # Wrapped lines hang under the text, not under the item's number.
    pdf.set_x(_MARGIN_LEFT)
    # Assigned, not set_left_margin(): that would also push the first line's start to the indent.
    pdf.l_margin = _MARGIN_LEFT + indent
    for label, value in line:
        pdf.set_font(FONT, "", size)
        pdf.write(_LINE, label)
        pdf.set_font(FONT, "B", size)
        pdf.write(_LINE, _text(value))
    pdf.l_margin = _MARGIN_LEFT
    pdf.ln(_LINE + 0.6)


def _tables(pdf: _CvPdf, d: CvDocument) -> None:
    _section(pdf, "27) ĐÀO TẠO, BỒI DƯỠNG VỀ CHUYÊN MÔN, NGHIỆP VỤ, LÝ LUẬN CHÍNH TRỊ, NGOẠI NGỮ, TIN HỌC")
    _table(
        pdf,
        (
            ("Tên trường", 42, _L),
            ("Chuyên ngành đào tạo, bồi dưỡng", 40, _L),
            ("Từ tháng, năm - đến tháng, năm", 33, _C),
        )
        + (("Hình thức đào tạo", 24, _L), ("Văn bằng, chứng chỉ, trình độ", 36, _L)),
        [(t.school, t.major, _period(t.start, t.end, ""), t.mode, t.diploma) for t in d.training],
    )
    _section(pdf, "28) TÓM TẮT QUÁ TRÌNH CÔNG TÁC")
    _table(
        pdf,
        (
            ("Từ tháng, năm đến tháng, năm", 38, _C),
            ("Chức danh, chức vụ, đơn vị công tác (đảng, chính quyền, đoàn thể)", 137, _L),
        ),
        [(_period(w.start, w.end, "nay"), w.description) for w in d.work_history],
    )
    _personal_history(pdf, d)
    _family(pdf, d)
    _section(pdf, "31) DIỄN BIẾN QUÁ TRÌNH LƯƠNG CỦA CÁN BỘ, CÔNG CHỨC")
    _table(
        pdf,
        (("Tháng/năm", 40, _C), ("Mã ngạch/bậc", 40, _C), ("Hệ số lương", 40, _C)),
        [(_month(s.effective), s.rank_grade, _decimal(s.coefficient)) for s in d.salary_history],
    )
    _assessment(pdf, d)


def _section(pdf: _CvPdf, title: str) -> None:
    # A title alone at the foot of a page reads as a blank section: start the next page instead.
    if pdf.will_page_break(22):
        pdf.add_page()
    pdf.ln(3)
    pdf.set_font(FONT, "B", _SIZE)
    pdf.multi_cell(0, _LINE, title, align=Align.L, new_x=XPos.LMARGIN)
    pdf.ln(1.5)


def _subsection(pdf: _CvPdf, title: str) -> None:
    if pdf.will_page_break(18):
        pdf.add_page()
    pdf.set_font(FONT, "B", _SIZE)
    pdf.multi_cell(0, _LINE, title, align=Align.L, new_x=XPos.LMARGIN)
    pdf.ln(1)


def _table(pdf: _CvPdf, columns: Sequence[tuple[str, float, Align]], rows: Sequence[Sequence[str]]) -> None:
    pdf.set_font(FONT, "", 9.5)
    with pdf.table(
        col_widths=tuple(width for _, width, _ in columns),
        width=sum(width for _, width, _ in columns),
        align=Align.L,
        headings_style=_HEADINGS,
        line_height=4.8,
        padding=(1, 1.5),
        v_align="TOP",
        repeat_headings=1,
    ) as table:
        heading = table.row()
        for title, _, _ in columns:
            heading.cell(title, align=Align.C, v_align="MIDDLE")
        # An empty table keeps one blank row, as on the paper form, so it reads as "none" and not as cut off.
        for values in rows or [("",) * len(columns)]:
            row = table.row()
            for value, (_, _, align) in zip(values, columns, strict=True):
                row.cell(_text(value), align=align)
    pdf.ln(2)


def _personal_history(pdf: _CvPdf, d: CvDocument) -> None:
    _section(pdf, "29) ĐẶC ĐIỂM LỊCH SỬ BẢN THÂN")
    for label, value in (
        ("- Bị bắt, bị tù; làm việc trong chế độ cũ: ", d.history_detentions_and_former_regime),
        (
            "- Tham gia hoặc có quan hệ với các tổ chức chính trị, kinh tế, xã hội ở nước ngoài: ",
            d.history_foreign_organisations,
        ),
        ("- Có thân nhân (cha, mẹ, vợ, chồng, con, anh chị em ruột) ở nước ngoài: ", d.history_relatives_abroad),
    ):
        _item(pdf, ((label, value),))


def _family(pdf: _CvPdf, d: CvDocument) -> None:
    _section(pdf, "30) QUAN HỆ GIA ĐÌNH")
    for title, relatives in (
        ("a) Về bản thân: cha, mẹ, vợ (hoặc chồng), các con, anh chị em ruột", d.own_family),
        ("b) Về bên vợ (hoặc chồng): cha, mẹ, anh chị em ruột", d.spouse_family),
    ):
        _subsection(pdf, title)
        _table(
            pdf,
            (("Mối quan hệ", 26, _L), ("Họ và tên", 40, _L), ("Năm sinh", 17, _C))
            + (("Quê quán, nghề nghiệp, chức danh, chức vụ, đơn vị công tác, học tập, nơi ở", 92, _L),),
            [(r.relation, r.name, _number(r.birth_year), r.details) for r in relatives],
        )


def _assessment(pdf: _CvPdf, d: CvDocument) -> None:
    _section(pdf, "32) NHẬN XÉT, ĐÁNH GIÁ CỦA CƠ QUAN, ĐƠN VỊ QUẢN LÝ VÀ SỬ DỤNG CÁN BỘ, CÔNG CHỨC")
    for evaluation in d.evaluations:
        _item(pdf, ((f"- Năm {evaluation.year}: ", evaluation.result),))
    pdf.set_font(FONT, "", _SIZE)
    pdf.multi_cell(0, _LINE, _text(d.assessment), align=Align.L, new_x=XPos.LMARGIN)


def _signatures(pdf: _CvPdf, d: CvDocument) -> None:
    # The statement and both signatures stay together on one page, as a signed form must.
    if pdf.will_page_break(60):
        pdf.add_page()
    pdf.ln(6)
    top, half = pdf.get_y(), pdf.epw / 2
    signed = d.issued_at.date()
    place = f"{_text(d.declaration_place)}, " if d.declaration_place else ""
    pdf.set_xy(_MARGIN_LEFT + half, top)
    pdf.set_font(FONT, "I", _SIZE - 0.5)
    pdf.cell(half, _LINE, f"{place}ngày {signed:%d} tháng {signed:%m} năm {signed:%Y}", align=Align.C)
    declarant = ("Tôi xin cam đoan những lời khai trên đây", "là đúng sự thật", "(Ký tên, ghi rõ họ tên)")
    _signature(pdf, _MARGIN_LEFT, top + _LINE, ("Người khai",), declarant, d.full_name)
    head = ("Thủ trưởng cơ quan, đơn vị", "quản lý và sử dụng CBCC")
    _signature(pdf, _MARGIN_LEFT + half, top + _LINE, head, ("(Ký tên, đóng dấu)",), "")


def _signature(pdf: _CvPdf, x: float, y: float, title: Sequence[str], notes: Sequence[str], name: str) -> None:
    width = pdf.epw / 2
    pdf.set_xy(x, y)
    for line, style, size in [(t, "B", _SIZE) for t in title] + [(n, "I", _SIZE - 1) for n in notes]:
        pdf.set_font(FONT, style, size)
        pdf.cell(width, _LINE, line, align=Align.C, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_xy(x, y + 40)
    pdf.set_font(FONT, "B", _SIZE)
    pdf.multi_cell(width, _LINE, _text(name), align=Align.C, new_x=XPos.LEFT)


def _text(value: str) -> str:
    # Decomposed marks (e.g. "ê" + U+0301) would be drawn as loose accents: the font has the composed letters.
    return unicodedata.normalize("NFC", value)


def _date(value: date | None) -> str:
    return "" if value is None else f"{value:%d/%m/%Y}"


def _month(value: date | None) -> str:
    return "" if value is None else f"{value:%m/%Y}"


def _period(start: date | None, end: date | None, open_end: str) -> str:
    return f"{_month(start)} - {_month(end) or open_end}"


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _unit(value: int | None, unit: str) -> str:
    return "" if value is None else f"{value} {unit}"


def _decimal(value: Decimal | None) -> str:
    # Vietnamese writes the decimal comma: hệ số 4,32.
    return "" if value is None else f"{value:.2f}".replace(".", ",")


def _distinctions(rows: Sequence[Distinction]) -> str:
    return "; ".join(f"{row.form} ({row.year})" for row in rows)
