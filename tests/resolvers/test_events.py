"""Which subscribers an approval's event concerns: the units whose officials changed, in fields the
subscriber reads; an event folded to fit a NOTIFY concerns every unit below its batch's, never another
ministry's nor a field the subscriber does not read."""

from datetime import UTC, datetime

from resolvers.events import ApprovalEvent

EVENT = ApprovalEvent(
    approval_id=7,
    unit_id=1,
    unit_path="/BNV/",
    period="2026-11",
    change_count=2,
    approved_by="approver.BNV",
    approved_at=datetime(2026, 11, 27, 2, tzinfo=UTC),
    counted=(("/BNV/VP/", ("gender",)), ("/BNV/VP/P1/", ("religion",))),
)


def test_an_event_concerns_the_units_changed_and_those_above_them_in_fields_read() -> None:
    gender = frozenset({"gender"})
    assert EVENT.changed("/BNV/VP/", gender) and EVENT.changed("/BNV/", gender)
    assert not EVENT.changed("/BNV/TC/", gender) and not EVENT.changed("/BNV/VP/P1/", gender)
    assert EVENT.changed("/BNV/VP/P1/", frozenset({"religion"}))
    assert not EVENT.changed("/BNV/VP/", frozenset({"ethnicity"}))


def test_a_folded_event_concerns_every_unit_below_its_batch_never_another_ministry_or_an_unread_field() -> None:
    folded = EVENT.coarse()
    assert folded.folded and folded.counted == (("/BNV/", ("gender", "religion")),)
    assert folded.changed("/BNV/TC/", frozenset({"gender"})) and folded.changed("/BNV/", frozenset({"religion"}))
    assert not folded.changed("/BTC/", frozenset({"gender"})) and not folded.changed("/BNV/TC/", frozenset({"unit"}))
    assert ApprovalEvent.from_json(folded.to_json()) == folded and ApprovalEvent.from_json(EVENT.to_json()) == EVENT
