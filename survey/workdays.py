"""Working-day deadlines (工作日) on the Chinese official calendar, for remedy records (整改单).

A remedy deadline is N working days after a start date, counted on the State Council's
holiday calendar including make-up working days (调休: a Saturday or Sunday declared a
working day). The calendar comes from the `chinesecalendar` package (`chinese_calendar`),
which knows the years it was released with and raises NotImplementedError beyond them.
For such a date the office's own calendar decides: the dates it lists as holidays are days
off, the dates it lists as make-up working days are working days, and otherwise Monday to
Friday are working days. `Deadline.office_calendar` says when it was used, so the record can
say its deadline rests on the office's calendar rather than the official one.

The office's calendar is stored (OfficeCalendarDay) and edited in the admin (*Calendar*, the
office only): `office_calendar()` reads it, `add_office_day()` and `remove_office_day()`
change it, refusing a date the official calendar already decides.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import chinese_calendar
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

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


def working_days_between(start: dt.date, end: dt.date, office: OfficeCalendar | None = None) -> int:
    """The working days after `start` up to and including `end` (add_working_days undone)."""
    day, count = start, 0
    while day < end:
        day += dt.timedelta(days=1)
        count += is_workday(day, office)[0]
    return count


# --- the office's calendar, stored ------------------------------------------------------------
OFFICE_DAY_LABELS = {"holiday": _l("public holiday (day off)"), "workday": _l("make-up working day (调休上班)")}


class CalendarError(ValueError):
    """A date the office's calendar cannot take, in the reader's language (HTTP 422)."""


def official_knows(day: dt.date) -> bool:
    """The official calendar (chinesecalendar) decides this date."""
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)  # fromisoformat alone also reads 20270208 and 2027-W06-1


def parse_day(text: str) -> dt.date:
    """A date written YYYY-MM-DD; CalendarError naming what was given otherwise."""
    try:
        if not ISO_DAY.fullmatch((text or "").strip()):
            raise ValueError(text)
        return dt.date.fromisoformat((text or "").strip())
    except ValueError:
        raise CalendarError(_("“%(text)s” is not a date: write it as YYYY-MM-DD, e.g. 2027-02-08.",
                              text=(text or "").strip()[:40])) from None


def office_calendar() -> OfficeCalendar:
    """The office's calendar as stored."""
    from .db import db
    from .models import OfficeCalendarDay
    rows = db.session.execute(db.select(OfficeCalendarDay.day, OfficeCalendarDay.kind)).all()
    return OfficeCalendar(holidays=frozenset(d for d, k in rows if k == "holiday"),
                          workdays=frozenset(d for d, k in rows if k == "workday"))


def add_office_day(day: dt.date, kind: str, actor: str, note: str | None = None) -> None:
    """List a holiday or a make-up working day on the office's calendar (audited); CalendarError
    for a date the official calendar decides, a make-up working day that is not a Saturday or
    Sunday, a holiday on a weekend, or a date already listed."""
    from .db import db
    from .models import OfficeCalendarDay, audit
    if kind not in OFFICE_DAY_LABELS:
        raise CalendarError(_("Choose a public holiday or a make-up working day."))
    if official_knows(day):
        raise CalendarError(_("%(day)s is on the official calendar already (chinesecalendar knows its year): "
                              "the office's calendar is only for dates it does not know yet.", day=day.isoformat()))
    if kind == "workday" and day.weekday() < 5:
        raise CalendarError(_("%(day)s is a weekday, a working day anyway: a make-up working day is a Saturday "
                              "or Sunday declared a working day.", day=day.isoformat()))
    if kind == "holiday" and day.weekday() >= 5:
        raise CalendarError(_("%(day)s is a Saturday or Sunday, a day off anyway: list the weekdays of the "
                              "holiday.", day=day.isoformat()))
    existing = db.session.get(OfficeCalendarDay, day)
    if existing is not None:
        raise CalendarError(_("%(day)s is listed already, as a %(kind)s: remove it first to change it.",
                              day=day.isoformat(), kind=OFFICE_DAY_LABELS[existing.kind]))
    note = (note or "").strip()[:200] or None
    db.session.add(OfficeCalendarDay(day=day, kind=kind, note=note, added_by=actor))
    audit(actor, "calendar.add", day.isoformat(), kind=kind, note=note)


def remove_office_day(day: dt.date, actor: str) -> bool:
    """Take a date off the office's calendar (audited); False if it was not listed."""
    from .db import db
    from .models import OfficeCalendarDay, audit
    existing = db.session.get(OfficeCalendarDay, day)
    if existing is None:
        return False
    db.session.delete(existing)
    audit(actor, "calendar.remove", day.isoformat(), kind=existing.kind)
    return True
