"""`Official.cv`: the official's sơ yếu lý lịch (Mẫu 2C-BNV/2008) as a PDF, from the approved record
only (pending changes are not in the `official` tables), exported with a receipt over the PDF's bytes.

The form prints every field of the record, sensitive ones included (ethnicity, religion, health,
family), so it is for those who may read all of them on this record: the official, HR of their
ministry or province, the national administrator. Anyone else gets FORBIDDEN_FIELD, as for a field.
The PDF shows its receipt's id and a QR code to the public verification of that receipt
(GET /receipts/{rid}); the receipt's id is chosen first, so that the receipt covers the very bytes
that show it.
"""

import asyncio
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import Row

from db.catalog import OFFICIAL_FIELDS, RecordKind
from evidence.receipts import new_rid
from resolvers.codes import labeller
from resolvers.context import RequestContext
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
from resolvers.errors import ForbiddenField
from resolvers.exports import ExportResult, store

# Every field of the record: the form prints them all.
CV_FIELDS: Final = frozenset(field.policy for field in OFFICIAL_FIELDS)
_KINDS: Final[tuple[RecordKind, ...]] = (
    "work_history",
    "training",
    "salary_history",
    "family",
    "rewards",
    "disciplines",
    "evaluations",
)
# Statements a CV takes: its unit and ministry, each kind of child record, storing it with its receipt.
CV_STATEMENTS: Final = 1 + len(_KINDS) + 5


def _label(list_name: str, code: str | None) -> str:
    value = labeller(list_name)(code)
    return "" if value is None else value.label


def _text(value: str | None) -> str:
    return value or ""


async def resolve_cv(ctx: RequestContext, official: Row[Any]) -> ExportResult:
    if not CV_FIELDS <= ctx.scope.readable(official.grants):
        raise ForbiddenField(
            "The CV prints every field of the record, sensitive ones included: it is for the official, HR of "
            "their ministry or province and the national administrator"
        )
    records = dict(
        zip(
            _KINDS,
            await asyncio.gather(*(ctx.loaders.records_by_official(kind).load(official.id) for kind in _KINDS)),
            strict=True,
        )
    )
    unit, top = await asyncio.gather(
        ctx.loaders.unit_by_id.load(official.unit_id), ctx.loaders.unit_by_id.load(official.top_unit_id)
    )
    rid = new_rid()
    document = cv_document(
        official,
        records,
        using_agency=unit.name if unit is not None else "",
        managing_agency=top.name if top is not None else "",
        receipt_id=rid,
        verify_url=f"{ctx.base_url}/receipts/{rid}",
        issued_at=ctx.calendar.now(),
    )
    content = await asyncio.to_thread(render, document)
    return await store(ctx, "pdf", content, [official], fields=["cv"], headers=[], rid=rid)


def cv_document(
    row: Row[Any],
    records: dict[RecordKind, Sequence[Row[Any]]],
    *,
    using_agency: str,
    managing_agency: str,
    **receipt: Any,
) -> CvDocument:
    """The form's content from an approved record: codes as their labels, nothing the record lacks."""
    family = records["family"]
    return CvDocument(
        **receipt,
        managing_agency=managing_agency,
        using_agency=using_agency,
        official_number=row.code,
        full_name=row.full_name,
        other_names=_text(row.other_name),
        birth_date=row.birth_date,
        sex=_label("gender", row.gender),
        birthplace=row.birthplace,
        hometown=row.hometown,
        ethnicity=_label("ethnicity", row.ethnicity),
        religion=_label("religion", row.religion),
        permanent_residence=row.permanent_address,
        current_residence=row.current_address,
        occupation_when_recruited=_text(row.recruitment_occupation),
        recruitment_date=row.recruitment_date,
        recruiting_agency=_text(row.recruiting_agency),
        current_position=_text(row.job_title),
        concurrent_positions=", ".join(row.concurrent_titles or ()),
        main_duties=_text(row.main_duties),
        rank=_label("rank", row.rank_code),
        rank_code=_text(row.rank_code),
        salary_grade=row.salary_grade,
        salary_coefficient=row.salary_coefficient,
        salary_effective_date=row.salary_effective_date,
        position_allowance=row.position_allowance,
        general_education=_text(row.general_education),
        professional_qualification=", ".join(
            part for part in (_label("qualification", row.qualification), _text(row.major)) if part
        ),
        political_theory=_label("political_theory", row.political_theory),
        state_management=_label("state_management", row.state_management),
        foreign_languages=_text(row.foreign_languages),
        it_skills=_text(row.it_level),
        party_admission_date=row.party_admission_date,
        party_confirmation_date=row.party_confirmation_date,
        rewards=tuple(Distinction(r.form, r.year) for r in records["rewards"]),
        disciplines=tuple(Distinction(r.form, r.year) for r in records["disciplines"]),
        health=_text(row.health),
        height_cm=row.height_cm,
        weight_kg=row.weight_kg,
        blood_group=_text(row.blood_group),
        id_number=row.personal_id,
        social_insurance_number=_text(row.social_insurance_number),
        training=tuple(
            Training(t.school, t.major, t.from_date, t.to_date, _label("training_mode", t.mode), t.diploma)
            for t in records["training"]
        ),
        work_history=tuple(WorkPeriod(w.from_date, w.to_date, w.description) for w in records["work_history"]),
        own_family=tuple(_relative(f) for f in family if f.side == "OWN"),
        spouse_family=tuple(_relative(f) for f in family if f.side != "OWN"),
        salary_history=tuple(
            SalaryStep(s.effective_date, f"{s.rank_code}/{s.grade}", s.coefficient) for s in records["salary_history"]
        ),
        evaluations=tuple(Evaluation(e.year, _label("evaluation_level", e.level)) for e in records["evaluations"]),
    )


def _relative(row: Row[Any]) -> Relative:
    return Relative(row.relation, row.full_name, row.birth_year, _text(row.details))
