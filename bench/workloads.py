"""The standard workload `bench/run` measures, each request with its floor: the bare SQL that fetches the
same data, which the harness runs through asyncpg on the same number of connections in the same run.

Adding a workload is a few lines: a GraphQL document, a function from the fixture (what the database
holds) to its calls, and an entry in WORKLOADS. A call names the account that makes it, the GraphQL
request, and the one SQL statement that is its floor.
"""

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from db.queries.aggregates import AGE_BANDS

# 1. A partner agency's page: 100 officials of one ministry, 12 fields plus unit and position.
PARTNER_LIST = """
query PartnerList($unit: ID!) {
  officials(first: 100, filter: {unit: $unit}) {
    nodes {
      id code fullName birthDate gender { code } personalId socialInsuranceNumber
      employeeType { code } jobTitle rank { code } salaryGrade salaryCoefficient
      unit { code name } position { code title }
    }
  }
}
"""
_LIST_COLUMNS = """o.id, o.code, o.full_name, o.birth_date, o.gender, o.personal_id, o.social_insurance_number,
  o.employee_type, o.job_title, o.rank_code, o.salary_grade, o.salary_coefficient,
  u.code AS unit_code, u.name AS unit_name, p.code AS position_code, p.title AS position_title"""
PARTNER_LIST_FLOOR = f"""
SELECT {_LIST_COLUMNS}
FROM official o JOIN unit u ON u.id = o.unit_id LEFT JOIN position p ON p.id = o.position_id
WHERE o.top_unit_id = $1 ORDER BY o.name_sort, o.id LIMIT 100
"""

# 2. An official reading their own record with its child records (the Mẫu 2C CV).
SELF = """
query Me {
  me {
    id code fullName otherName birthDate gender { code } birthplace hometown ethnicity { code }
    religion { code } personalId permanentAddress currentAddress employeeType { code } jobTitle
    rank { code } salaryGrade salaryCoefficient recruitmentDate qualification { code } major
    partyAdmissionDate health heightCm weightKg bloodGroup socialInsuranceNumber
    unit { code name } position { code title }
    workHistory { fromDate toDate description }
    training { school major fromDate toDate mode { code } diploma }
    salaryHistory { effectiveDate rank { code } grade coefficient }
    familyMembers { side { code } relation fullName birthYear details }
    rewards { year form decidedBy }
    disciplines { year form reason }
    evaluations { year level { code } }
  }
}
"""


def _children(table: str, columns: str, order: str) -> str:
    return (
        f"(SELECT coalesce(json_agg(c ORDER BY {order}), '[]') FROM "
        f"(SELECT {columns} FROM {table} WHERE official_id = o.id) c) AS {table}"
    )


SELF_FLOOR = f"""
SELECT o.id, o.code, o.full_name, o.other_name, o.birth_date, o.gender, o.birthplace, o.hometown, o.ethnicity,
  o.religion, o.personal_id, o.permanent_address, o.current_address, o.employee_type, o.job_title,
  o.rank_code, o.salary_grade, o.salary_coefficient, o.recruitment_date, o.qualification, o.major,
  o.party_admission_date, o.health, o.height_cm, o.weight_kg, o.blood_group, o.social_insurance_number,
  u.code AS unit_code, u.name AS unit_name, p.code AS position_code, p.title AS position_title,
  {_children("work_history", "id, from_date, to_date, description", "c.from_date, c.id")},
  {_children("training", "id, school, major, from_date, to_date, mode, diploma", "c.from_date, c.id")},
  {_children("salary_history", "id, effective_date, rank_code, grade, coefficient", "c.effective_date, c.id")},
  {_children("family_member", "id, side, relation, full_name, birth_year, details", "c.id")},
  {_children("reward", "id, year, form, decided_by", "c.year, c.id")},
  {_children("discipline", "id, year, form, reason", "c.year, c.id")},
  {_children("evaluation", "id, year, level", "c.year, c.id")}
FROM official o JOIN unit u ON u.id = o.unit_id LEFT JOIN position p ON p.id = o.position_id
WHERE o.id = $1
"""

# 3. A partner's export of 1,000 officials of one ministry (JSON Lines), with its receipt.
EXPORT_FIELDS = (
    "code fullName birthDate gender personalId socialInsuranceNumber employeeType jobTitle rank "
    "salaryGrade salaryCoefficient unit position"
).split()
EXPORT = f"""
mutation Export($unit: ID!) {{
  exportOfficials(filter: {{unit: $unit}}, format: JSONL, limit: 1000, fields: [{", ".join(f'"{f}"' for f in EXPORT_FIELDS)}]) {{
    id rowCount byteSize sha256 receipt receiptId url
  }}
}}
"""
EXPORT_FLOOR = f"""
SELECT {_LIST_COLUMNS}
FROM official o JOIN unit u ON u.id = o.unit_id LEFT JOIN position p ON p.id = o.position_id
WHERE o.top_unit_id = $1 ORDER BY o.id LIMIT 1000
"""

# 4. Dashboards: `workforceStats` counts of officials by two dimensions, nationally and for a ministry.
STATS = """
query Stats($groupBy: [Dimension!]!, $unit: ID) {
  workforceStats(groupBy: $groupBy, unitId: $unit) {
    keys { dimension code label } count suppressed averageSalaryCoefficient
  }
}
"""
# The floors count in one GROUP BY and name a unit (its code and name, as the answer does) after counting.
# The national administrator's scope is every official (the gateway's statement has no WHERE); a ministry's
# HR officer asking for its own ministry reads exactly the officials whose top-level unit it is.
NATIONAL_UNITS_TYPES_FLOOR = """
SELECT u.code AS d0, u.name AS d0_name, g.employee_type AS d1, g.n, g.average
FROM (SELECT top_unit_id, employee_type, count(*) AS n, avg(salary_coefficient) AS average
      FROM official GROUP BY top_unit_id, employee_type) g
JOIN unit u ON u.id = g.top_unit_id
ORDER BY g.top_unit_id, g.employee_type
"""
MINISTRY_UNITS_GENDER_FLOOR = """
SELECT u.code AS d0, u.name AS d0_name, g.gender AS d1, g.n, g.average
FROM (SELECT unit_id, gender, count(*) AS n, avg(salary_coefficient) AS average
      FROM official WHERE top_unit_id = $1 GROUP BY unit_id, gender) g
JOIN unit u ON u.id = g.unit_id
ORDER BY g.unit_id, g.gender
"""
NATIONAL = "admin"  # MOHA's national administrator: every official, every field
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

PARTNER = "agency.bhxh"  # reads every ministry: profile, identity, work and salary


@dataclass(frozen=True, slots=True)
class Fixture:
    """What the calls draw from, read once from the benchmark database."""

    ministries: tuple[int, ...]  # unit ids of the ministries (top-level units)
    officials: tuple[tuple[str, int], ...]  # (account, official id) of a sample of officials
    ministry_hr: tuple[tuple[str, int], ...]  # (account of its HR officer, unit id) of each ministry


@dataclass(frozen=True, slots=True)
class Call:
    kind: str  # the workload it belongs to (a mixed run reports each kind apart)
    account: str
    query: str
    variables: dict[str, Any]
    floor: str  # the one statement that fetches the same data
    floor_args: tuple[Any, ...]
    # How the floor's rows become a body: one JSON document, or JSON Lines (an export file).
    lines: bool = False
    # A pattern every answer's body must hold (beside having no GraphQL error): what says it is not empty.
    expect: str | None = None
    # Checked once before measuring: (the gateway's `data`, the floor's rows) -> how they differ, or None.
    agrees: Callable[[Any, Sequence[Mapping[str, Any]]], str | None] | None = None


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    description: str
    calls: Callable[[Fixture], list[Call]]  # the variants, cycled through by every connection
    # Also measured one request at a time (1 connection): the latency a dashboard's user waits, with no queue.
    one_at_a_time: bool = False


def partner_list(fixture: Fixture) -> list[Call]:
    return [
        Call("partner", PARTNER, PARTNER_LIST, {"unit": str(u)}, PARTNER_LIST_FLOOR, (u,)) for u in fixture.ministries
    ]


def self_record(fixture: Fixture) -> list[Call]:
    return [Call("self", account, SELF, {}, SELF_FLOOR, (official,)) for account, official in fixture.officials]


def export(fixture: Fixture) -> list[Call]:
    return [
        Call("export", PARTNER, EXPORT, {"unit": str(u)}, EXPORT_FLOOR, (u,), lines=True) for u in fixture.ministries
    ]


def _age_band_floor(today: date) -> str:
    """AGE_BAND x GENDER as the gateway groups it: completed years on `today`, bands from the oldest."""
    whens = " ".join(
        f"WHEN birth_date <= DATE '{_years_before(today, age)}' THEN '{band}'" for band, age in AGE_BANDS[:-1]
    )
    return f"""
SELECT CASE {whens} ELSE '{AGE_BANDS[-1][0]}' END AS d0, gender AS d1, count(*) AS n, avg(salary_coefficient) AS average
FROM official GROUP BY d0, d1 ORDER BY d0, d1
"""


def _years_before(day: date, years: int) -> date:
    # As db/queries/aggregates.py counts a birthday on 29 February; `agrees` would tell if they differed.
    return day.replace(year=day.year - years, day=min(day.day, 28 if day.month == 2 else day.day))


_STATS_ANSWER = r'"count":[0-9]'  # at least one bucket with a count shown


def _same_counts(data: Any, rows: Sequence[Mapping[str, Any]]) -> str | None:
    """The gateway's buckets against the floor's rows: the same keys' codes, counts and averages."""
    answered = {
        tuple(key["code"] for key in bucket["keys"]): (bucket["count"], bucket["averageSalaryCoefficient"])
        for bucket in data["workforceStats"]
    }
    counted = {}
    for row in rows:
        average = None if row["average"] is None else float(round(Decimal(row["average"]), 2))
        counted[tuple(None if row[k] is None else str(row[k]) for k in ("d0", "d1"))] = (row["n"], average)
    if not answered:
        return "no buckets"
    if answered != counted:
        differing = sorted(set(answered.items()) ^ set(counted.items()), key=repr)[:4]
        return f"{len(answered)} buckets against the floor's {len(counted)}; differing: {differing}"
    return None


def national_stats(fixture: Fixture) -> list[Call]:
    today = datetime.now(VIETNAM).date()  # the gateway's today (resolvers/months.py)
    shapes = (
        ("national-units-types", ["TOP_LEVEL_UNIT", "EMPLOYEE_TYPE"], NATIONAL_UNITS_TYPES_FLOOR),
        ("national-age-gender", ["AGE_BAND", "GENDER"], _age_band_floor(today)),
    )
    return [
        Call(kind, NATIONAL, STATS, {"groupBy": group_by}, floor, (), expect=_STATS_ANSWER, agrees=_same_counts)
        for kind, group_by, floor in shapes
    ]


def ministry_stats(fixture: Fixture) -> list[Call]:
    return [
        Call(
            "ministry-stats",
            account,
            STATS,
            {"groupBy": ["UNIT", "GENDER"], "unit": str(unit)},
            MINISTRY_UNITS_GENDER_FLOOR,
            (unit,),
            expect=_STATS_ANSWER,
            agrees=_same_counts,
        )
        for account, unit in fixture.ministry_hr
    ]


def mixed(*parts: tuple[Callable[[Fixture], list[Call]], int]) -> Callable[[Fixture], list[Call]]:
    """Calls in the given proportions (e.g. 80/15/5), shuffled the same way on every run."""

    def calls(fixture: Fixture) -> list[Call]:
        chosen: list[Call] = []
        for make, weight in parts:
            variants = make(fixture)
            chosen += [variants[i % len(variants)] for i in range(weight * 10)]
        random.Random(5).shuffle(chosen)
        return chosen

    return calls


WORKLOADS = (
    Workload("partner", "partner list: 100 officials of one ministry, 12 fields + unit + position", partner_list),
    Workload("self", "self: `me` with its seven kinds of child records", self_record),
    Workload("export", "export: 1,000 officials of one ministry as JSON Lines", export),
    Workload(
        "mixed",
        "mixed: 80% partner list, 15% self, 5% export",
        mixed((partner_list, 80), (self_record, 15), (export, 5)),
    ),
    Workload(
        "national-stats",
        "national dashboard: MOHA's administrator counts every official by TOP_LEVEL_UNIT x EMPLOYEE_TYPE, "
        "and by AGE_BAND x GENDER (the age pyramid), in turn",
        national_stats,
        one_at_a_time=True,
    ),
    Workload(
        "ministry-stats",
        "ministry dashboard: hr.<ministry> counts its ministry by UNIT x GENDER, each ministry in turn",
        ministry_stats,
        one_at_a_time=True,
    ),
)
