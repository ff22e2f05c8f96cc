"""Code lists (danh mục) with their Vietnamese labels.

Codes are what the database stores and what partners exchange; labels are what people read. Each list
is a plain mapping so the API can return both without a join, and so the seed and the validators share
one source. Ranks keep their legal codes (mã ngạch / mã chức danh nghề nghiệp); Law 80/2025 moves
civil servants toward job positions, so nothing here assumes ranks are permanent.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final


def _frozen(pairs: dict[str, str]) -> Mapping[str, str]:
    return MappingProxyType(pairs)


EMPLOYEE_TYPES: Final = _frozen(
    {
        "CAN_BO": "Cán bộ",
        "CONG_CHUC": "Công chức",
        "VIEN_CHUC": "Viên chức",
        "NGUOI_LAO_DONG": "Người lao động",
    }
)

GENDERS: Final = _frozen({"NAM": "Nam", "NU": "Nữ"})

STATUSES: Final = _frozen(
    {
        "ACTIVE": "Đang công tác",
        "ON_LEAVE": "Tạm nghỉ",
        "RETIRED": "Đã nghỉ hưu",
        "TRANSFERRED": "Đã chuyển công tác",
    }
)

UNIT_KINDS: Final = _frozen(
    {
        "MINISTRY": "Bộ, cơ quan ngang bộ",
        "PROVINCE": "Tỉnh, thành phố trực thuộc trung ương",
        "DEPARTMENT": "Vụ, cục, sở, ban",
        "DIVISION": "Phòng, tổ, khoa",
        "PUBLIC_SERVICE_UNIT": "Đơn vị sự nghiệp công lập",
    }
)

POSITION_CATEGORIES: Final = _frozen(
    {
        "LEADERSHIP": "Lãnh đạo, quản lý",
        "PROFESSIONAL": "Chuyên môn, nghiệp vụ",
        "SUPPORT": "Hỗ trợ, phục vụ",
    }
)

# Mã ngạch công chức (01.00x) and a sample of mã chức danh nghề nghiệp viên chức (V.xx.xx.xx).
RANKS: Final = _frozen(
    {
        "01.001": "Chuyên viên cao cấp",
        "01.002": "Chuyên viên chính",
        "01.003": "Chuyên viên",
        "01.004": "Cán sự",
        "01.005": "Nhân viên",
        "06.030": "Kế toán viên",
        "V.08.01.01": "Bác sĩ cao cấp (hạng I)",
        "V.08.01.02": "Bác sĩ chính (hạng II)",
        "V.08.01.03": "Bác sĩ (hạng III)",
        "V.08.05.12": "Điều dưỡng hạng III",
        "V.07.01.01": "Giảng viên cao cấp (hạng I)",
        "V.07.01.02": "Giảng viên chính (hạng II)",
        "V.07.01.03": "Giảng viên (hạng III)",
        "V.07.05.13": "Giáo viên trung học phổ thông hạng I",
        "V.07.05.14": "Giáo viên trung học phổ thông hạng II",
        "V.07.05.15": "Giáo viên trung học phổ thông hạng III",
        "V.05.02.06": "Nghiên cứu viên chính (hạng II)",
        "V.05.02.07": "Nghiên cứu viên (hạng III)",
        "V.11.06.14": "Văn thư viên",
    }
)

# The 54 ethnic groups, in the order and numbering of the statistical code list.
ETHNICITIES: Final = _frozen(
    {
        f"{i:02d}": name
        for i, name in enumerate(
            [
                "Kinh",
                "Tày",
                "Thái",
                "Hoa",
                "Khơ-me",
                "Mường",
                "Nùng",
                "Hmông",
                "Dao",
                "Gia-rai",
                "Ngái",
                "Ê-đê",
                "Ba-na",
                "Xơ-đăng",
                "Sán Chay",
                "Cơ-ho",
                "Chăm",
                "Sán Dìu",
                "Hrê",
                "Mnông",
                "Ra-glai",
                "Xtiêng",
                "Bru-Vân Kiều",
                "Thổ",
                "Giáy",
                "Cơ-tu",
                "Gié-Triêng",
                "Mạ",
                "Khơ-mú",
                "Co",
                "Tà-ôi",
                "Chơ-ro",
                "Kháng",
                "Xinh-mun",
                "Hà Nhì",
                "Chu-ru",
                "Lào",
                "La Chí",
                "La Ha",
                "Phù Lá",
                "La Hủ",
                "Lự",
                "Lô Lô",
                "Chứt",
                "Mảng",
                "Pà Thẻn",
                "Cơ Lao",
                "Cống",
                "Bố Y",
                "Si La",
                "Pu Péo",
                "Brâu",
                "Ơ Đu",
                "Rơ-măm",
            ],
            start=1,
        )
    }
)

RELIGIONS: Final = _frozen(
    {
        "00": "Không",
        "01": "Phật giáo",
        "02": "Công giáo",
        "03": "Tin lành",
        "04": "Cao Đài",
        "05": "Phật giáo Hòa Hảo",
        "06": "Hồi giáo",
        "07": "Bà-la-môn",
    }
)

QUALIFICATIONS: Final = _frozen(
    {
        "TSKH": "Tiến sĩ khoa học",
        "TS": "Tiến sĩ",
        "THS": "Thạc sĩ",
        "DH": "Đại học",
        "CD": "Cao đẳng",
        "TC": "Trung cấp",
        "SC": "Sơ cấp",
    }
)

ACADEMIC_TITLES: Final = _frozen({"GS": "Giáo sư", "PGS": "Phó giáo sư"})

POLITICAL_THEORY_LEVELS: Final = _frozen({"SC": "Sơ cấp", "TC": "Trung cấp", "CC": "Cao cấp", "CN": "Cử nhân"})

STATE_MANAGEMENT_LEVELS: Final = _frozen(
    {
        "CVCC": "Chuyên viên cao cấp",
        "CVC": "Chuyên viên chính",
        "CV": "Chuyên viên",
        "CS": "Cán sự",
    }
)

EVALUATION_LEVELS: Final = _frozen(
    {
        "HTXS": "Hoàn thành xuất sắc nhiệm vụ",
        "HTT": "Hoàn thành tốt nhiệm vụ",
        "HT": "Hoàn thành nhiệm vụ",
        "KHT": "Không hoàn thành nhiệm vụ",
    }
)

TRAINING_MODES: Final = _frozen(
    {
        "CHINH_QUY": "Chính quy",
        "TAI_CHUC": "Tại chức",
        "TU_XA": "Từ xa",
        "BOI_DUONG": "Bồi dưỡng",
    }
)

FAMILY_SIDES: Final = _frozen({"OWN": "Về bản thân", "SPOUSE": "Về bên vợ (chồng)"})

BLOOD_GROUPS: Final = _frozen({"O": "O", "A": "A", "B": "B", "AB": "AB"})

# Every list by the name the API exposes, so `codeList(name)` and validation share one registry.
CODE_LISTS: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        "employee_type": EMPLOYEE_TYPES,
        "gender": GENDERS,
        "status": STATUSES,
        "unit_kind": UNIT_KINDS,
        "position_category": POSITION_CATEGORIES,
        "rank": RANKS,
        "ethnicity": ETHNICITIES,
        "religion": RELIGIONS,
        "qualification": QUALIFICATIONS,
        "academic_title": ACADEMIC_TITLES,
        "political_theory": POLITICAL_THEORY_LEVELS,
        "state_management": STATE_MANAGEMENT_LEVELS,
        "evaluation_level": EVALUATION_LEVELS,
        "training_mode": TRAINING_MODES,
        "family_side": FAMILY_SIDES,
        "blood_group": BLOOD_GROUPS,
    }
)
