"""The approval window and the month a moment falls in, in Asia/Ho_Chi_Minh, at month and year ends,
in February of common and leap years."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from db.errors import BadInput
from resolvers.months import Calendar, month_end, parse_period, period_of


@pytest.mark.parametrize(
    ("period", "first", "last"),
    [
        ("2026-11", date(2026, 11, 26), date(2026, 11, 30)),
        ("2026-12", date(2026, 12, 27), date(2026, 12, 31)),
        ("2027-02", date(2027, 2, 24), date(2027, 2, 28)),
        ("2028-02", date(2028, 2, 25), date(2028, 2, 29)),
        ("2099-02", date(2099, 2, 24), date(2099, 2, 28)),
    ],
)
def test_the_window_is_the_last_five_days_of_the_month(period: str, first: date, last: date) -> None:
    window = Calendar().window(period)
    assert (window.first_day, window.last_day) == (first, last)


def test_the_window_opens_and_closes_at_midnight_in_hanoi() -> None:
    window = Calendar().window("2026-11")
    opens = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)  # 26/11 00:00 in Hanoi
    closes = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 01/12 00:00 in Hanoi
    assert not window.holds(opens - timedelta(microseconds=1)) and window.holds(opens)
    assert window.holds(closes - timedelta(microseconds=1)) and not window.holds(closes)


def test_the_window_length_is_configuration() -> None:
    assert Calendar(window_days=1).window("2028-02").first_day == date(2028, 2, 29)
    assert Calendar(window_days=10).window("2026-11").first_day == date(2026, 11, 21)


def test_the_month_of_a_moment_is_hanois() -> None:
    assert period_of(datetime(2026, 12, 31, 16, 59, tzinfo=UTC)) == "2026-12"
    assert period_of(datetime(2026, 12, 31, 17, 0, tzinfo=UTC)) == "2027-01"
    assert month_end("2026-12") == datetime(2026, 12, 31, 17, 0, tzinfo=UTC)


@pytest.mark.parametrize("period", ["2026-13", "2026-1", "26-11", "2026-00", "2026-11-01", ""])
def test_a_period_is_year_and_month(period: str) -> None:
    with pytest.raises(BadInput):
        parse_period(period)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)))
def test_every_moment_lies_in_its_months_span_and_the_window_is_its_end(moment: datetime) -> None:
    period = period_of(moment)
    year, month = parse_period(period)
    start = month_end(f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}")
    assert start <= moment < month_end(period)
    window = Calendar().window(period)
    assert window.end == month_end(period) and window.end - window.start == timedelta(days=5)
