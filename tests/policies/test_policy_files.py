"""The real policy files, tested as data: enforce() triples a reviewer can read as the rules."""

from pathlib import Path

import pytest

from policies.authorizer import POLICY_PATH, Authorizer, PolicyError
from policies.principal import Principal
from policies.rules import READ, PolicyLine, RowFacts

AUTHORIZER = Authorizer()
BNV, BTC = 1, 2
BNV_ROW = RowFacts(id=10, unit_path="/BNV/BNV.VP/BNV.VP.P1/", top_unit_id=BNV)
BTC_ROW = RowFacts(id=20, unit_path="/BTC/BTC.VP/", top_unit_id=BTC)
SENSITIVE = {
    "ethnicity",
    "religion",
    "partyAdmissionDate",
    "partyConfirmationDate",
    "health",
    "heightCm",
    "weightKg",
    "familyMembers",
    "disciplines",
}


def staff(role: str, unit_path: str = "/BNV/BNV.TCCB/", top: int = BNV, official_id: int | None = None) -> Principal:
    return Principal(
        account_id=1,
        username=f"{role}.x",
        kind="staff",
        roles=frozenset({role}),
        unit_path=unit_path,
        top_unit_id=top,
        official_id=official_id,
    )


def may_read(principal: Principal, row: RowFacts, field: str, written: list[PolicyLine] | None = None) -> bool:
    return AUTHORIZER.decider(principal, written or []).allows(
        RowFacts(row.id, row.unit_path, row.top_unit_id, f"Official.{field}"), READ
    )


@pytest.mark.parametrize("field", ["fullName", "religion", "health", "salaryCoefficient", "familyMembers"])
def test_admin_reads_every_field_of_every_official(field: str) -> None:
    assert may_read(staff("admin"), BTC_ROW, field)


def test_analyst_reads_everyone_but_no_sensitive_field() -> None:
    analyst = staff("analyst")
    assert may_read(analyst, BTC_ROW, "fullName") and may_read(analyst, BTC_ROW, "salaryCoefficient")
    assert not any(may_read(analyst, BTC_ROW, field) for field in SENSITIVE)


def test_hr_reads_all_fields_of_its_own_ministry_only() -> None:
    hr = staff("hr")
    assert may_read(hr, BNV_ROW, "religion") and may_read(hr, BNV_ROW, "personalId")
    assert not may_read(hr, BTC_ROW, "fullName")


def test_approver_reads_its_ministry_like_hr_but_not_sensitive_fields() -> None:
    approver = staff("approver", unit_path="/BNV/", top=BNV)
    assert may_read(approver, BNV_ROW, "salaryCoefficient")
    assert not may_read(approver, BNV_ROW, "religion")
    assert not may_read(approver, BTC_ROW, "fullName")


def test_manager_reads_work_fields_of_its_subtree_only() -> None:
    manager = staff("manager", unit_path="/BNV/BNV.VP/", top=BNV)
    assert may_read(manager, BNV_ROW, "jobTitle") and may_read(manager, BNV_ROW, "fullName")
    assert not may_read(manager, BNV_ROW, "personalId")
    assert not may_read(manager, BNV_ROW, "salaryCoefficient")
    assert not may_read(manager, BNV_ROW, "religion")
    sibling = RowFacts(id=11, unit_path="/BNV/BNV.VPX/", top_unit_id=BNV)
    assert not may_read(manager, sibling, "jobTitle")


def test_official_reads_all_of_its_own_record_and_nothing_else() -> None:
    me = Principal(account_id=5, username="SH1", kind="official", roles=frozenset({"official"}), official_id=10)
    assert may_read(me, BNV_ROW, "religion") and may_read(me, BNV_ROW, "familyMembers")
    assert not may_read(me, RowFacts(11, BNV_ROW.unit_path, BNV), "fullName")


def test_a_written_grant_opens_only_the_fields_and_people_it_names() -> None:
    me = Principal(account_id=5, username="SH1", kind="official", roles=frozenset({"official"}), official_id=99)
    grant = [PolicyLine(me.subject, "officials:10", "Official.health", READ, "grant:1:CV-1")]
    assert may_read(me, BNV_ROW, "health", grant)
    assert not may_read(me, BNV_ROW, "religion", grant)
    assert not may_read(me, BTC_ROW, "health", grant)


def test_a_partner_reads_what_its_agreement_names() -> None:
    agency = Principal(
        account_id=7, username="agency.BTC", kind="agency", roles=frozenset({"agency"}), agency_code="BTC"
    )
    agreement = [PolicyLine("agency:BTC", f"top_units:{BTC}", "salary", READ, "agreement:2:02/2026")]
    assert may_read(agency, BTC_ROW, "salaryCoefficient", agreement)
    assert not may_read(agency, BTC_ROW, "religion", agreement)
    assert not may_read(agency, BNV_ROW, "salaryCoefficient", agreement)
    assert not may_read(agency, BTC_ROW, "salaryCoefficient")  # no agreement, no data


def test_only_hr_of_the_ministry_and_the_administrator_manage_grants() -> None:
    def manages(principal: Principal, row: RowFacts) -> bool:
        return AUTHORIZER.may_manage_grants(principal, [(row.unit_path, row.top_unit_id)])

    assert manages(staff("hr"), BNV_ROW) and not manages(staff("hr"), BTC_ROW)
    assert manages(staff("admin"), BTC_ROW)
    for role in ("analyst", "approver", "manager", "official"):
        assert not manages(staff(role), BNV_ROW), role


def test_the_sensitive_group_holds_at_least_what_decree_13_names() -> None:
    assert {f"Official.{f}" for f in SENSITIVE} <= AUTHORIZER.groups["sensitive"]


def test_only_self_hr_and_the_administrator_have_role_lines_that_open_sensitive_fields() -> None:
    sensitive = AUTHORIZER.groups["sensitive"]
    openers = {
        line.subject
        for subject in ("admin", "analyst", "hr", "approver", "manager", "official")
        for line in AUTHORIZER.role_lines(staff(subject))
        if line.action == READ and AUTHORIZER.expand([line.fields]) & sensitive
    }
    assert openers == {"role:admin", "role:hr", "role:official"}


def test_every_official_field_is_in_exactly_one_data_group() -> None:
    groups = [g for g in AUTHORIZER.groups if g != "all"]
    for field in AUTHORIZER.data_fields:
        assert sum(field in AUTHORIZER.groups[g] for g in groups) == 1, field


def test_a_policy_that_opens_an_unknown_group_is_refused(tmp_path: Path) -> None:
    policy = tmp_path / "policy.csv"
    policy.write_text("p, role:x, all, secrets, read\ng2, Official.fullName, profile\ng2, profile, all\n")
    with pytest.raises(PolicyError, match="secrets"):
        Authorizer(policy_path=policy)


def test_the_policy_version_changes_with_the_policy(tmp_path: Path) -> None:
    policy = tmp_path / "policy.csv"
    policy.write_text(POLICY_PATH.read_text() + "\n# a comment\n")
    assert Authorizer(policy_path=policy).version != AUTHORIZER.version


def test_lines_with_the_same_rows_become_one_grant_citing_every_basis() -> None:
    me = Principal(account_id=5, username="SH1", kind="official", roles=frozenset(), official_id=99)
    written = [
        PolicyLine(me.subject, "officials:10", "Official.health", READ, "grant:1:CV-1"),
        PolicyLine(me.subject, "officials:10", "Official.religion", READ, "grant:2:CV-2"),
    ]
    (grant,) = AUTHORIZER.scope_for(me, written).grants
    assert grant.fields == {"Official.health", "Official.religion"} and grant.bases == ("grant:1:CV-1", "grant:2:CV-2")


def test_any_number_of_distinct_grants_makes_a_scope() -> None:
    # Once refused past 63 (one bit each in a 64-bit mask), which let a personnel department lock an
    # account out of every request by granting it more.
    me = Principal(account_id=5, username="SH1", kind="official", roles=frozenset(), official_id=99)
    written = [PolicyLine(me.subject, f"officials:{i}", "Official.health", READ, f"grant:{i}:X") for i in range(1, 501)]
    scope = AUTHORIZER.scope_for(me, written)
    assert len(scope.grants) == 500 and len(scope.layout.ids) == 1  # one class: they open the same field
    assert scope.bases("1.0.0", 321, 1) == {"grant:321:X"}
