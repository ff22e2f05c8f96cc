"""Time as approvals see it: the clock (injectable, so that tests stand anywhere in a month without
waiting), the month a change belongs to, and the approval window (Circular 06/2023: "within the last 5
days of each month, the competent person approves the data by digital signature"), all in
Asia/Ho_Chi_Minh, which is UTC+7 all year (no daylight saving time)."""

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from db.errors import BadInput
from policies.written import VIETNAM

# Years 1900-2099: data of this database, and every month's window a valid date.
_PERIOD: Final = re.compile(r"((?:19|20)[0-9]{2})-(0[1-9]|1[0-2])")
DEFAULT_WINDOW_DAYS: Final = 5


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Window:
    """The days of a month in which its batches may be approved, from `start` (inclusive) to `end`
    (exclusive), as instants; `first_day` and `last_day` as Vietnamese calendar dates."""

    period: str
    start: datetime
    end: datetime

    @property
    def first_day(self) -> date:
        return self.start.astimezone(VIETNAM).date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(microseconds=1)).astimezone(VIETNAM).date()

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def describe(self) -> str:
        return f"{self.first_day:%d/%m/%Y} to {self.last_day:%d/%m/%Y} (Asia/Ho_Chi_Minh)"


@dataclass(frozen=True, slots=True)
class Calendar:
    clock: Callable[[], datetime] = utc_now
    window_days: int = DEFAULT_WINDOW_DAYS

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        """Today in Vietnam."""
        return self.now().astimezone(VIETNAM).date()

    def period_now(self) -> str:
        return period_of(self.now())

    def window(self, period: str) -> Window:
        """The last `window_days` days of the month `period`."""
        year, month = parse_period(period)
        days = calendar.monthrange(year, month)[1]
        first = date(year, month, days - self.window_days + 1)
        return Window(period, _start_of(first), month_end(period))


def parse_period(period: str) -> tuple[int, int]:
    """(year, month) of "YYYY-MM"; anything else is bad input."""
    match = _PERIOD.fullmatch(period)
    if match is None:
        raise BadInput(f"'{period}' is not a month: write YYYY-MM, e.g. 2026-11")
    return int(match.group(1)), int(match.group(2))


def period_of(moment: datetime) -> str:
    """The month (YYYY-MM) an instant falls in, in Vietnam."""
    return f"{moment.astimezone(VIETNAM):%Y-%m}"


def month_end(period: str) -> datetime:
    """The first instant after the month `period`, in Vietnam: changes proposed before it belong to it."""
    return _start_of(day_after(period))


def day_after(period: str) -> date:
    """The first day after the month `period`."""
    year, month = parse_period(period)
    return date(year + month // 12, month % 12 + 1, 1)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=VIETNAM).astimezone(UTC)
