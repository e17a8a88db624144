"""Working-day deadlines (工作日) on the Chinese official calendar, for remedy records (整改单).

A remedy deadline is N working days after a start date, counted on the State Council's
holiday calendar including make-up working days (调休: a Saturday or Sunday declared a
working day). The calendar comes from the `chinesecalendar` package (`chinese_calendar`),
which knows the years it was released with and raises NotImplementedError beyond them.
For such a date the office's own calendar decides: the dates it lists as holidays are days
off, the dates it lists as make-up working days are working days, and otherwise Monday to
Friday are working days. `Deadline.office_calendar` says when it was used, so the record can
say its deadline rests on the office's calendar rather than the official one.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import chinese_calendar

DEFAULT_WORKING_DAYS = 15


@dataclass(frozen=True)
class OfficeCalendar:
    """The office's calendar for years the official calendar does not know yet."""

    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    workdays: frozenset[dt.date] = field(default_factory=frozenset)

    def is_workday(self, day: dt.date) -> bool:
        """Listed make-up working day, or a weekday not listed as a holiday."""
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays


@dataclass(frozen=True)
class Deadline:
    """The due date and whether any day counted came from the office's calendar."""

    due: dt.date
    office_calendar: bool


def is_workday(day: dt.date, office: OfficeCalendar | None = None) -> tuple[bool, bool]:
    """(is a working day, decided by the office's calendar) for one date."""
    try:
        return bool(chinese_calendar.is_workday(day)), False
    except NotImplementedError:
        return (office or OfficeCalendar()).is_workday(day), True


def add_working_days(start: dt.date, days: int = DEFAULT_WORKING_DAYS,
                     office: OfficeCalendar | None = None) -> Deadline:
    """The date `days` working days after `start` (start itself not counted)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    day, left, used_office = start, days, False
    while left:
        day += dt.timedelta(days=1)
        work, by_office = is_workday(day, office)
        used_office |= by_office
        left -= work
    return Deadline(day, used_office)
