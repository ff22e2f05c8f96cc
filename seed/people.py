"""Synthetic officials and their child records, generated in chunks of plain tuples (bulk-load ready).

Every random choice comes from a generator seeded by (seed, chunk), and the assignment of officials
to units and positions from its own stream, so a seed always yields the same database.
"""

import hashlib
import random
from array import array
from bisect import bisect
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import Any, Final

from db.models.officials import RECORD_KEYS
from db.text import fold, name_sort_key
from seed import vocabulary as v
from seed.structure import PositionSeed, Structure

# Fixed, not today's date: the same seed must give the same ages next year too.
REFERENCE_DATE: Final = date(2026, 11, 1)
REFERENCE_TIME: Final = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
CHUNK: Final = 20_000

# Salary scales: (first coefficient, step, grades, years per grade) by rank code.
_SCALES: Final = {
    "A3": (Decimal("6.20"), Decimal("0.36"), 6, 3),
    "A2": (Decimal("4.40"), Decimal("0.34"), 8, 3),
    "A1": (Decimal("2.34"), Decimal("0.33"), 9, 3),
    "A0": (Decimal("2.10"), Decimal("0.31"), 10, 3),
    "B": (Decimal("1.86"), Decimal("0.20"), 12, 2),
    "C": (Decimal("1.65"), Decimal("0.18"), 12, 2),
}
_SCALE_OF_RANK: Final = {
    "01.001": "A3",
    "V.08.01.01": "A3",
    "V.07.01.01": "A3",
    "V.07.05.13": "A3",
    "01.002": "A2",
    "V.08.01.02": "A2",
    "V.07.01.02": "A2",
    "V.07.05.14": "A2",
    "V.05.02.06": "A2",
    "01.003": "A1",
    "06.030": "A1",
    "V.08.01.03": "A1",
    "V.07.01.03": "A1",
    "V.07.05.15": "A1",
    "V.05.02.07": "A1",
    "V.08.05.12": "A1",
    "V.11.06.14": "A0",
    "01.004": "B",
    "01.005": "C",
}
# Rank ladders by position band: (rank, weight). Leaders sit higher; contract staff have no rank.
_BANDS: Final = {
    "leader": (("01.001", 30), ("01.002", 60), ("01.003", 10)),
    "admin": (("01.001", 3), ("01.002", 22), ("01.003", 62), ("06.030", 5), ("01.004", 8)),
    "doctor": (("V.08.01.01", 8), ("V.08.01.02", 32), ("V.08.01.03", 60)),
    "nurse": (("V.08.05.12", 100),),
    "teacher": (("V.07.05.13", 10), ("V.07.05.14", 40), ("V.07.05.15", 50)),
    "lecturer": (("V.07.01.01", 10), ("V.07.01.02", 35), ("V.07.01.03", 55)),
    "researcher": (("V.05.02.06", 35), ("V.05.02.07", 65)),
    "clerk": (("01.004", 50), ("01.005", 30), ("V.11.06.14", 20)),
    "contract": (),
}
_QUALIFICATION_BY_SCALE: Final = {
    "A3": (("TS", 45), ("THS", 45), ("TSKH", 2), ("DH", 8)),
    "A2": (("TS", 12), ("THS", 50), ("DH", 38)),
    "A1": (("THS", 25), ("DH", 75)),
    "A0": (("DH", 60), ("CD", 40)),
    "B": (("CD", 50), ("TC", 50)),
    "C": (("TC", 60), ("SC", 40)),
    None: (("TC", 40), ("SC", 30), ("DH", 30)),
}
_STATUSES: Final = (("ACTIVE", 940), ("ON_LEAVE", 30), ("RETIRED", 20), ("TRANSFERRED", 10))
_EVALUATIONS: Final = (("HTT", 70), ("HTXS", 12), ("HT", 16), ("KHT", 2))


class _Picker:
    """Weighted choice with precomputed cumulative weights (random.choices redoes them each call)."""

    __slots__ = ("values", "cum", "total")

    def __init__(self, pairs: tuple[tuple[str, int], ...] | tuple[tuple[str | None, int], ...]) -> None:
        self.values = [value for value, _ in pairs]
        self.cum = list(accumulate(weight for _, weight in pairs))
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random) -> Any:  # a str, or None where the list allows none
        return self.values[bisect(self.cum, rng.random() * self.total)]


_FAMILY = _Picker(v.FAMILY_NAMES)
_ETHNICITY = _Picker(v.ETHNICITY_WEIGHTS)
_RELIGION = _Picker(v.RELIGION_WEIGHTS)
_STATUS = _Picker(_STATUSES)
_EVALUATION = _Picker(_EVALUATIONS)
_HEALTH = _Picker(v.HEALTH)
_BLOOD = _Picker(v.BLOOD_GROUPS)
_RANK = {band: _Picker(pairs) if pairs else None for band, pairs in _BANDS.items()}
_QUALIFICATION = {scale: _Picker(pairs) for scale, pairs in _QUALIFICATION_BY_SCALE.items()}


@dataclass(slots=True)
class Assignment:
    """Unit and position of official i (0-based), and the filled count of every position."""

    unit_ids: "array[int]" = field(default_factory=lambda: array("i"))
    position_ids: "array[int]" = field(default_factory=lambda: array("i"))


def assign(structure: Structure, n: int, seed: int) -> Assignment:
    rng = random.Random(f"assign:{seed}")
    units = structure.units
    cum = list(accumulate(u.weight for u in units))
    total = cum[-1]
    out = Assignment()
    for _ in range(n):
        unit = units[bisect(cum, rng.random() * total)]
        position = _pick_position(rng, structure.positions_by_unit[unit.id])
        position.filled += 1
        out.unit_ids.append(unit.id)
        out.position_ids.append(position.id)
    return out


def _pick_position(rng: random.Random, positions: list[PositionSeed]) -> PositionSeed:
    head, deputy, *rest = positions
    # The first official of a unit heads it and the next two are deputies, as in a real unit.
    if head.filled == 0:
        return head
    if deputy.filled < 2:
        return deputy
    professional = [p for p in rest if p.category == "PROFESSIONAL"]
    support = [p for p in rest if p.category == "SUPPORT"]
    roll = rng.random()
    if roll < 0.84:
        return professional[int(rng.random() * len(professional))]
    return support[0] if roll < 0.92 else support[1]


def quota_for(rng: random.Random, filled: int) -> int:
    """A staffing quota a little above or below the filled count (units are rarely exactly staffed)."""
    if filled <= 3:
        return max(1, filled + rng.choice((-1, 0, 1, 1)))
    return max(1, round(filled * rng.uniform(0.94, 1.07)))


@dataclass(slots=True)
class Chunk:
    officials: list[tuple[object, ...]] = field(default_factory=list)
    accounts: list[tuple[object, ...]] = field(default_factory=list)
    work_history: list[tuple[object, ...]] = field(default_factory=list)
    training: list[tuple[object, ...]] = field(default_factory=list)
    salary_history: list[tuple[object, ...]] = field(default_factory=list)
    family_member: list[tuple[object, ...]] = field(default_factory=list)
    reward: list[tuple[object, ...]] = field(default_factory=list)
    discipline: list[tuple[object, ...]] = field(default_factory=list)
    evaluation: list[tuple[object, ...]] = field(default_factory=list)


# Column orders of the tuples above; the loader writes them by these names.
OFFICIAL_COLUMNS: Final = (
    "id",
    "code",
    "personal_id",
    "full_name",
    "other_name",
    "name_search",
    "name_sort",
    "birth_date",
    "gender",
    "birthplace",
    "hometown",
    "ethnicity",
    "religion",
    "permanent_address",
    "current_address",
    "employee_type",
    "unit_id",
    "top_unit_id",
    "position_id",
    "job_title",
    "concurrent_titles",
    "recruitment_occupation",
    "main_duties",
    "rank_code",
    "salary_grade",
    "salary_coefficient",
    "salary_effective_date",
    "position_allowance",
    "recruitment_date",
    "recruiting_agency",
    "general_education",
    "qualification",
    "major",
    "academic_title",
    "political_theory",
    "state_management",
    "foreign_languages",
    "it_level",
    "party_admission_date",
    "party_confirmation_date",
    "health",
    "height_cm",
    "weight_kg",
    "blood_group",
    "social_insurance_number",
    "status",
    "version",
    "updated_at",
    "record_key",
)
ACCOUNT_COLUMNS: Final = (
    "username",
    "kind",
    "roles",
    "unit_id",
    "official_id",
    "password_hash",
    "disabled",
    "created_at",
)
CHILD_COLUMNS: Final = {
    "work_history": ("official_id", "from_date", "to_date", "description"),
    "training": ("official_id", "school", "major", "from_date", "to_date", "mode", "diploma"),
    "salary_history": ("official_id", "effective_date", "rank_code", "grade", "coefficient"),
    "family_member": ("official_id", "side", "relation", "full_name", "birth_year", "details"),
    "reward": ("official_id", "year", "form", "decided_by"),
    "discipline": ("official_id", "year", "form", "reason"),
    "evaluation": ("official_id", "year", "level"),
}


def _place(rng: random.Random) -> str:
    _, province = v.PROVINCES[int(rng.random() * len(v.PROVINCES))]
    prefix = v.COMMUNE_PREFIXES[int(rng.random() * 2)]
    commune = v.COMMUNE_NAMES[int(rng.random() * len(v.COMMUNE_NAMES))]
    return f"{prefix} {commune}, {province}"


def _address(rng: random.Random) -> str:
    street = v.STREETS[int(rng.random() * len(v.STREETS))]
    return f"Số {rng.randint(1, 299)} {street}, {_place(rng)}"


def _name(rng: random.Random, gender: str) -> str:
    middle = v.MIDDLE_NAMES[gender]
    given = v.GIVEN_NAMES[gender]
    return f"{_FAMILY(rng)} {middle[int(rng.random() * len(middle))]} {given[int(rng.random() * len(given))]}"


def _days(rng: random.Random, start: date, end: date) -> date:
    span = (end - start).days
    return start + timedelta(days=int(rng.random() * max(span, 1)))


def _years_after(day: date, years: int) -> date:
    """The same day `years` later (28 February for a 29 February that does not exist then)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _coefficient(scale: str, grade: int) -> Decimal:
    first, step, _, _ = _SCALES[scale]
    return first + step * (grade - 1)


class Generator:
    """Produces officials chunk by chunk; identifiers that must be unique are checked as they go."""

    def __init__(self, structure: Structure, assignment: Assignment, seed: int, password_hash: str | None) -> None:
        self.structure = structure
        self.assignment = assignment
        self.seed = seed
        self.password_hash = password_hash
        self.units = {u.id: u for u in structure.units}
        self.positions = {p.id: p for p in structure.positions}
        self.personal_ids: set[str] = set()

    def chunk(self, start: int, stop: int) -> Chunk:
        rng = random.Random(f"officials:{self.seed}:{start}")
        out = Chunk()
        for index in range(start, stop):
            self._official(rng, index, out)
        return out

    def _personal_id(self, rng: random.Random, birth: date, gender: str) -> str:
        province, _ = v.PROVINCES[int(rng.random() * len(v.PROVINCES))]
        century = (0 if birth.year < 2000 else 2) + (1 if gender == "NU" else 0)
        tail = int(rng.random() * 1_000_000)
        while True:
            candidate = f"{province}{century}{birth.year % 100:02d}{tail:06d}"
            if candidate not in self.personal_ids:
                self.personal_ids.add(candidate)
                return candidate
            tail = (tail + 1) % 1_000_000

    def _official(self, rng: random.Random, index: int, out: Chunk) -> None:  # noqa: PLR0915
        official_id = index + 1
        unit = self.units[self.assignment.unit_ids[index]]
        position = self.positions[self.assignment.position_ids[index]]
        gender = "NU" if rng.random() < 0.47 else "NAM"
        # Ages 22-62 (women retire earlier), most officials in mid-career.
        max_age = 58 if gender == "NU" else 62
        age = int(22 + (max_age - 22) * (rng.random() + rng.random()) / 2)
        birth = _days(
            rng,
            date(REFERENCE_DATE.year - age - 1, REFERENCE_DATE.month, 2),
            date(REFERENCE_DATE.year - age, REFERENCE_DATE.month, 1),
        )
        full_name = _name(rng, gender)
        recruited = _days(
            rng,
            _years_after(birth, 22),
            min(REFERENCE_DATE, date(birth.year + min(age, 35), 12, 31)),
        )
        years_served = max(0, (REFERENCE_DATE - recruited).days // 365)
        rank_picker = _RANK[position.band]
        rank = rank_picker(rng) if rank_picker else None
        scale = _SCALE_OF_RANK.get(rank) if rank else None
        grade = coefficient = salary_date = None
        if scale:
            _, _, grades, years = _SCALES[scale]
            grade = min(grades, 1 + years_served // years)
            coefficient = _coefficient(scale, grade)
            salary_date = _days(rng, max(recruited, _years_after(REFERENCE_DATE, -years)), REFERENCE_DATE)
        qualification = _QUALIFICATION[scale](rng)
        major = v.MAJORS[int(rng.random() * len(v.MAJORS))]
        senior = scale in ("A3", "A2") or position.category == "LEADERSHIP"
        party = rng.random() < (0.85 if senior else 0.45)
        admitted = (
            _days(
                rng, date(birth.year + 20, 1, 1), max(date(birth.year + 21, 1, 1), REFERENCE_DATE - timedelta(days=400))
            )
            if party
            else None
        )
        titles = [position.title] if position.category == "LEADERSHIP" else []
        concurrent = ["Bí thư Chi bộ"] if party and position.category == "LEADERSHIP" and rng.random() < 0.4 else []
        top = self.units[unit.top_unit_id]
        out.officials.append((
            official_id, f"SH{official_id:08d}", self._personal_id(rng, birth, gender), full_name, None,
            fold(full_name), name_sort_key(full_name), birth, gender, _place(rng), _place(rng),
            _ETHNICITY(rng), _RELIGION(rng), _address(rng), _address(rng), position.employee_type,
            unit.id, unit.top_unit_id, position.id, titles[0] if titles else None, concurrent,
            "Sinh viên mới tốt nghiệp" if age - years_served < 25 else "Nhân viên văn phòng",
            f"{position.title} tại {unit.name}", rank, grade, coefficient, salary_date,
            Decimal("0.50") if position.code == "TRUONG" else Decimal("0.30") if position.code == "PHO" else None,
            recruited, top.name, "12/12", qualification, major,
            ("PGS" if rng.random() < 0.15 else None) if qualification in ("TS", "TSKH") else None,
            ("CC" if senior else "TC" if party else "SC") if party or senior else None,
            ("CVCC" if scale == "A3" else "CVC" if scale == "A2" else "CV") if position.employee_type == "CONG_CHUC" else None,
            v.FOREIGN_LANGUAGES[int(rng.random() * len(v.FOREIGN_LANGUAGES))],
            v.IT_LEVELS[int(rng.random() * len(v.IT_LEVELS))],
            admitted, admitted + timedelta(days=365) if admitted else None,
            _HEALTH(rng), int(rng.gauss(168 if gender == "NAM" else 157, 5)),
            int(rng.gauss(63 if gender == "NAM" else 51, 6)), _BLOOD(rng),
            f"{(official_id * 7_654_321 + 123_456_789) % 10**10:010d}",
            _STATUS(rng), 1, REFERENCE_TIME, self._record_key(official_id),
        ))  # fmt: skip
        out.accounts.append(
            (
                f"SH{official_id:08d}",
                "official",
                "official",
                unit.id,
                official_id,
                self.password_hash,
                False,
                REFERENCE_TIME,
            )
        )
        self._records(
            rng,
            official_id,
            birth,
            gender,
            recruited,
            rank,
            scale,
            grade,
            qualification,
            major,
            unit.name,
            position.title,
            out,
        )

    def _record_key(self, official_id: int) -> int:
        """Drawn apart from the generator's stream (which every later value follows), from the seed."""
        digest = hashlib.blake2b(f"{self.seed}:{official_id}".encode(), digest_size=4).digest()
        return int.from_bytes(digest) % RECORD_KEYS

    def _records(  # noqa: PLR0913
        self,
        rng: random.Random,
        oid: int,
        birth: date,
        gender: str,
        recruited: date,
        rank: str | None,
        scale: str | None,
        grade: int | None,
        qualification: str,
        major: str,
        unit_name: str,
        title: str,
        out: Chunk,
    ) -> None:
        school = v.SCHOOLS[int(rng.random() * len(v.SCHOOLS))]
        out.training.append(
            (
                oid,
                school,
                major,
                date(birth.year + 18, 9, 1),
                date(birth.year + 22, 6, 30),
                "CHINH_QUY",
                "Cử nhân" if qualification != "TC" else "Trung cấp",
            )
        )
        if qualification in ("THS", "TS", "TSKH") and recruited.year + 4 < REFERENCE_DATE.year:
            out.training.append(
                (
                    oid,
                    v.SCHOOLS[int(rng.random() * len(v.SCHOOLS))],
                    major,
                    date(recruited.year + 2, 9, 1),
                    date(recruited.year + 4, 6, 30),
                    "TAI_CHUC",
                    "Thạc sĩ",
                )
            )
        if qualification in ("TS", "TSKH") and recruited.year + 9 < REFERENCE_DATE.year:
            out.training.append(
                (
                    oid,
                    school,
                    major,
                    date(recruited.year + 5, 9, 1),
                    date(recruited.year + 9, 6, 30),
                    "CHINH_QUY",
                    "Tiến sĩ",
                )
            )
        # Work history: a few steps from recruitment to now, the last one open-ended.
        steps = 1 + int(rng.random() * 3)
        span = max(1, (REFERENCE_DATE - recruited).days)
        starts = sorted({recruited + timedelta(days=1 + int(span * rng.random())) for _ in range(steps - 1)})
        starts = [day for day in starts if day < REFERENCE_DATE]
        boundaries = [recruited, *starts]
        for i, since in enumerate(boundaries):
            until = boundaries[i + 1] - timedelta(days=1) if i + 1 < len(boundaries) else None
            what = (
                f"{title}, {unit_name}"
                if until is None
                else f"Chuyên viên, {v.PROVINCES[int(rng.random() * len(v.PROVINCES))][1]}"
            )
            out.work_history.append((oid, since, until, what))
        if rank and scale and grade:
            _, _, _, years = _SCALES[scale]
            previous = None
            for g in range(max(1, grade - 3), grade + 1):
                when = min(REFERENCE_DATE, _years_after(recruited, (g - 1) * years))
                if previous is None or when > previous:
                    out.salary_history.append((oid, when, rank, g, _coefficient(scale, g)))
                    previous = when
        family_name = _FAMILY(rng)
        out.family_member.append(
            (
                oid,
                "OWN",
                "Bố",
                f"{family_name} {_name(rng, 'NAM').split(' ', 1)[1]}",
                birth.year - 25 - int(rng.random() * 8),
                v.OCCUPATIONS[int(rng.random() * len(v.OCCUPATIONS))],
            )
        )
        out.family_member.append(
            (
                oid,
                "OWN",
                "Mẹ",
                _name(rng, "NU"),
                birth.year - 22 - int(rng.random() * 8),
                v.OCCUPATIONS[int(rng.random() * len(v.OCCUPATIONS))],
            )
        )
        if rng.random() < 0.8:
            spouse_gender = "NAM" if gender == "NU" else "NU"
            out.family_member.append(
                (
                    oid,
                    "OWN",
                    "Chồng" if spouse_gender == "NAM" else "Vợ",
                    _name(rng, spouse_gender),
                    birth.year + int(rng.gauss(0, 3)),
                    v.OCCUPATIONS[int(rng.random() * len(v.OCCUPATIONS))],
                )
            )
            out.family_member.append((oid, "SPOUSE", "Bố vợ (chồng)", _name(rng, "NAM"), birth.year - 27, "Hưu trí"))
            for _ in range(int(rng.random() * 3) if birth.year + 26 < REFERENCE_DATE.year else 0):
                out.family_member.append(
                    (
                        oid,
                        "OWN",
                        "Con",
                        _name(rng, "NU" if rng.random() < 0.5 else "NAM"),
                        min(REFERENCE_DATE.year - 1, birth.year + 25 + int(rng.random() * 10)),
                        "Học sinh",
                    )
                )
        served_years = REFERENCE_DATE.year - recruited.year  # rewards and disciplines come per whole year
        for _ in range(int(rng.random() * rng.random() * 4) if served_years > 0 else 0):
            year = recruited.year + int(rng.random() * served_years)
            out.reward.append((oid, year, v.REWARD_FORMS[int(rng.random() * len(v.REWARD_FORMS))], None))
        if rng.random() < 0.03 and served_years > 0:
            out.discipline.append(
                (
                    oid,
                    REFERENCE_DATE.year - 1 - int(rng.random() * min(5, served_years)),
                    v.DISCIPLINE_FORMS[int(rng.random() * len(v.DISCIPLINE_FORMS))],
                    "Vi phạm quy chế làm việc",
                )
            )
        for year in range(max(recruited.year, REFERENCE_DATE.year - 3), REFERENCE_DATE.year):
            out.evaluation.append((oid, year, _EVALUATION(rng)))
