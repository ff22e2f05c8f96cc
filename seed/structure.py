"""The synthetic state apparatus: top-level units, the tree below each, and the positions of every unit.

Deterministic: the same seed always yields the same tree, the same ids and the same codes.
"""

import random
from dataclasses import dataclass, field
from typing import Final

# (code, name, kind). BNV is the Ministry of Home Affairs (MOHA), which runs the national database.
TOP_UNITS: Final = (
    ("BNV", "Bộ Nội vụ", "MINISTRY"),
    ("BTC", "Bộ Tài chính", "MINISTRY"),
    ("BYT", "Bộ Y tế", "MINISTRY"),
    ("BGDDT", "Bộ Giáo dục và Đào tạo", "MINISTRY"),
    ("BTP", "Bộ Tư pháp", "MINISTRY"),
    ("BXD", "Bộ Xây dựng", "MINISTRY"),
    ("BNNMT", "Bộ Nông nghiệp và Môi trường", "MINISTRY"),
    ("BCT", "Bộ Công Thương", "MINISTRY"),
    ("HNI", "Thành phố Hà Nội", "PROVINCE"),
    ("HCM", "Thành phố Hồ Chí Minh", "PROVINCE"),
    ("HPG", "Thành phố Hải Phòng", "PROVINCE"),
    ("DNG", "Thành phố Đà Nẵng", "PROVINCE"),
    ("CTO", "Thành phố Cần Thơ", "PROVINCE"),
    ("NAN", "Tỉnh Nghệ An", "PROVINCE"),
    ("THA", "Tỉnh Thanh Hóa", "PROVINCE"),
    ("QNI", "Tỉnh Quảng Ninh", "PROVINCE"),
)

# The personnel department of each kind of top-level unit: where `hr.X` works.
PERSONNEL_DEPARTMENT: Final = {"MINISTRY": "TCCB", "PROVINCE": "SNV"}

_MINISTRY_DEPARTMENTS: Final = (
    ("VP", "Văn phòng"),
    ("TCCB", "Vụ Tổ chức cán bộ"),
    ("KHTC", "Vụ Kế hoạch - Tài chính"),
    ("PC", "Vụ Pháp chế"),
    ("TTR", "Thanh tra"),
    ("HTQT", "Vụ Hợp tác quốc tế"),
)
_PROVINCE_DEPARTMENTS: Final = (
    ("VP", "Văn phòng Ủy ban nhân dân"),
    ("SNV", "Sở Nội vụ"),
    ("STC", "Sở Tài chính"),
    ("STP", "Sở Tư pháp"),
    ("SXD", "Sở Xây dựng"),
    ("SYT", "Sở Y tế"),
    ("SGDDT", "Sở Giáo dục và Đào tạo"),
)
_DIVISIONS: Final = (
    ("P1", "Phòng Tổng hợp"),
    ("P2", "Phòng Nghiệp vụ"),
    ("P3", "Phòng Quản lý"),
    ("P4", "Phòng Kiểm tra"),
)

# Public service units (đơn vị sự nghiệp): (code, name, domain). The domain picks ranks and positions.
_MINISTRY_PSUS: Final = {
    "BYT": (("BVBM", "Bệnh viện Bạch Mai", "hospital"), ("BVK", "Bệnh viện K", "hospital")),
    "BGDDT": (("DHSP", "Trường Đại học Sư phạm", "university"),),
    "BNV": (("HVHC", "Học viện Hành chính và Quản trị công", "university"),),
}
_PROVINCE_PSUS: Final = {
    "SYT": (("BVDK", "Bệnh viện Đa khoa tỉnh", "hospital"), ("BVSN", "Bệnh viện Sản - Nhi", "hospital")),
    "SGDDT": tuple((f"THPT{i:02d}", f"Trường THPT số {i}", "school") for i in range(1, 5)),
}
_GENERIC_PSU: Final = ("TTTT", "Trung tâm Thông tin", "research")

_PSU_SECTIONS: Final = {
    "hospital": (("KNOI", "Khoa Nội"), ("KNGOAI", "Khoa Ngoại"), ("KCC", "Khoa Cấp cứu"), ("KXN", "Khoa Xét nghiệm")),
    "school": (("TTN", "Tổ Tự nhiên"), ("TXH", "Tổ Xã hội"), ("TVP", "Tổ Văn phòng")),
    "university": (("KLUAT", "Khoa Luật"), ("KKT", "Khoa Kinh tế"), ("KQL", "Khoa Quản lý")),
    "research": (("PNC", "Phòng Nghiên cứu"), ("PDL", "Phòng Dữ liệu")),
}
_TEAMS: Final = (("T1", "Tổ 1"), ("T2", "Tổ 2"))

# Professional positions by domain: (code, title, employee type, rank band).
PROFESSIONAL_POSITIONS: Final = {
    "admin": (
        ("CV-TH", "Chuyên viên tổng hợp", "CONG_CHUC", "admin"),
        ("CV-NV", "Chuyên viên nghiệp vụ", "CONG_CHUC", "admin"),
        ("CV-PC", "Chuyên viên pháp chế", "CONG_CHUC", "admin"),
    ),
    "hospital": (
        ("BS", "Bác sĩ", "VIEN_CHUC", "doctor"),
        ("DD", "Điều dưỡng", "VIEN_CHUC", "nurse"),
    ),
    "school": (("GV", "Giáo viên", "VIEN_CHUC", "teacher"),),
    "university": (("GIV", "Giảng viên", "VIEN_CHUC", "lecturer"),),
    "research": (("NCV", "Nghiên cứu viên", "VIEN_CHUC", "researcher"),),
}


@dataclass(slots=True)
class UnitSeed:
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    top_unit_id: int
    level: int
    path: str
    domain: str  # admin | hospital | school | university | research
    weight: float  # share of officials working here, before normalisation

    def row(self) -> tuple[object, ...]:
        return (self.id, self.code, self.name, self.kind, self.parent_id, self.top_unit_id, self.level, self.path)


@dataclass(slots=True)
class PositionSeed:
    id: int
    unit_id: int
    code: str
    title: str
    category: str
    employee_type: str
    band: str  # which rank ladder its holders are on
    required_rank: str | None
    filled: int = 0

    def row(self, quota: int) -> tuple[object, ...]:
        return (self.id, self.unit_id, self.code, self.title, self.category, quota, self.required_rank)


@dataclass(slots=True)
class Structure:
    units: list[UnitSeed] = field(default_factory=list)
    positions: list[PositionSeed] = field(default_factory=list)
    positions_by_unit: dict[int, list[PositionSeed]] = field(default_factory=dict)

    def add_unit(
        self, code: str, name: str, kind: str, parent: UnitSeed | None, domain: str, weight: float
    ) -> UnitSeed:
        unit = UnitSeed(
            id=len(self.units) + 1,
            code=code,
            name=name,
            kind=kind,
            parent_id=parent.id if parent else None,
            top_unit_id=parent.top_unit_id if parent else len(self.units) + 1,
            level=parent.level + 1 if parent else 1,
            path=f"{parent.path if parent else '/'}{code}/",
            domain=domain,
            weight=weight,
        )
        self.units.append(unit)
        self.positions_by_unit[unit.id] = self._positions_for(unit)
        return unit

    def _positions_for(self, unit: UnitSeed) -> list[PositionSeed]:
        # Heads of public service units come from their own profession (a chief physician is a doctor).
        leader_band = "leader" if unit.domain == "admin" else PROFESSIONAL_POSITIONS[unit.domain][0][3]
        specs: list[tuple[str, str, str, str, str]] = [
            (
                "TRUONG",
                f"Trưởng - {unit.name}",
                "LEADERSHIP",
                "CONG_CHUC" if unit.domain == "admin" else "VIEN_CHUC",
                leader_band,
            ),
            (
                "PHO",
                f"Phó trưởng - {unit.name}",
                "LEADERSHIP",
                "CONG_CHUC" if unit.domain == "admin" else "VIEN_CHUC",
                leader_band,
            ),
        ]
        for code, title, etype, band in PROFESSIONAL_POSITIONS[unit.domain]:
            specs.append((code, title, "PROFESSIONAL", etype, band))
        specs.append(("VT", "Văn thư", "SUPPORT", "CONG_CHUC" if unit.domain == "admin" else "VIEN_CHUC", "clerk"))
        specs.append(("HD", "Nhân viên hợp đồng", "SUPPORT", "NGUOI_LAO_DONG", "contract"))
        made = []
        for code, title, category, etype, band in specs:
            position = PositionSeed(
                id=len(self.positions) + 1,
                unit_id=unit.id,
                code=code,
                title=title,
                category=category,
                employee_type=etype,
                band=band,
                required_rank=REQUIRED_RANK.get(band),
            )
            self.positions.append(position)
            made.append(position)
        return made


REQUIRED_RANK: Final = {
    "admin": "01.003",
    "doctor": "V.08.01.03",
    "teacher": "V.07.05.15",
    "lecturer": "V.07.01.03",
    "researcher": "V.05.02.07",
    "clerk": "01.004",
}


def build(seed: int) -> Structure:
    rng = random.Random(f"structure:{seed}")
    tree = Structure()
    for code, name, kind in TOP_UNITS:
        top = tree.add_unit(code, name, kind, None, "admin", 2.0)
        departments = _MINISTRY_DEPARTMENTS if kind == "MINISTRY" else _PROVINCE_DEPARTMENTS
        psus = _MINISTRY_PSUS.get(code, ())
        for dcode, dname in departments:
            department = tree.add_unit(f"{code}.{dcode}", dname, "DEPARTMENT", top, "admin", 3.0)
            for pcode, pname in _DIVISIONS[: rng.randint(2, 4)]:
                tree.add_unit(f"{department.code}.{pcode}", pname, "DIVISION", department, "admin", 8.0)
            for psu in _PROVINCE_PSUS.get(dcode, ()) if kind == "PROVINCE" else ():
                _add_psu(tree, rng, department, *psu)
        for psu in (*psus, _GENERIC_PSU):
            _add_psu(tree, rng, top, *psu)
    return tree


def _add_psu(tree: Structure, rng: random.Random, parent: UnitSeed, code: str, name: str, domain: str) -> None:
    psu = tree.add_unit(f"{parent.code}.{code}", name, "PUBLIC_SERVICE_UNIT", parent, domain, 4.0)
    for index, (scode, sname) in enumerate(_PSU_SECTIONS[domain]):
        section = tree.add_unit(f"{psu.code}.{scode}", sname, "DIVISION", psu, domain, 12.0)
        # The first section always has teams, so every tree reaches 3 (ministries) or 4 (provinces)
        # levels below its top unit.
        if index == 0 or rng.random() < 0.5:
            for tcode, tname in _TEAMS:
                tree.add_unit(f"{section.code}.{tcode}", tname, "DIVISION", section, domain, 6.0)
