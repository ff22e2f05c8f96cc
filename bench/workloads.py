"""The standard workload `bench/run` measures, each request with its floor: the bare SQL that fetches the
same data, which the harness runs through asyncpg on the same number of connections in the same run.

Adding a workload is a few lines: a GraphQL document, a function from the fixture (what the database
holds) to its calls, and an entry in WORKLOADS. A call names the account that makes it, the GraphQL
request, and the one SQL statement that is its floor.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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

PARTNER = "agency.bhxh"  # reads every ministry: profile, identity, work and salary


@dataclass(frozen=True, slots=True)
class Fixture:
    """What the calls draw from, read once from the benchmark database."""

    ministries: tuple[int, ...]  # unit ids of the ministries (top-level units)
    officials: tuple[tuple[str, int], ...]  # (account, official id) of a sample of officials


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


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    description: str
    calls: Callable[[Fixture], list[Call]]  # the variants, cycled through by every connection


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
)
