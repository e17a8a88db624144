"""Remedy deadlines in working days: the Spring Festival, a make-up Saturday, an unknown year."""
import datetime as dt

import pytest

from survey.workdays import OfficeCalendar, add_working_days, is_workday

D = dt.date


def test_spring_festival_2026_is_skipped():
    # 2026 Spring Festival: 15-23 February off; Saturday 14 Feb and 28 Feb are make-up workdays.
    assert is_workday(D(2026, 2, 14)) == (True, False)      # make-up Saturday counts
    assert is_workday(D(2026, 2, 17)) == (False, False)     # 初一
    # From Friday 13 Feb: the 14th is day 1, then 24, 25, 26, 27, 28 (Sat, make-up) ...
    assert add_working_days(D(2026, 2, 13), 1).due == D(2026, 2, 14)
    assert add_working_days(D(2026, 2, 13), 2).due == D(2026, 2, 24)
    assert add_working_days(D(2026, 2, 13), 6).due == D(2026, 2, 28)


def test_make_up_sunday_2025_and_fifteen_day_default():
    # 2025: 28 Jan - 4 Feb off; Sunday 26 Jan and Saturday 8 Feb are make-up workdays.
    assert add_working_days(D(2025, 1, 25), 1).due == D(2025, 1, 26)
    deadline = add_working_days(D(2025, 1, 24))
    # 26, 27 Jan; 5, 6, 7, 8(Sat), 10-14, 17-20 Feb -> the 15th working day is 20 Feb.
    assert deadline == type(deadline)(D(2025, 2, 20), False)
    # Naive weekday counting would have said 14 Feb: the holiday matters.
    assert deadline.due != D(2025, 2, 14)


def test_unknown_year_uses_the_office_calendar_and_says_so():
    with pytest.raises(NotImplementedError):
        import chinese_calendar
        chinese_calendar.is_workday(D(2030, 1, 2))
    office = OfficeCalendar(holidays=frozenset({D(2030, 1, 1)}), workdays=frozenset({D(2030, 1, 5)}))
    # From Monday 31 Dec 2029 (beyond the package too) count 3 days:
    # 1 Jan is the office's holiday; 2, 3, 4 Jan are working days -> 4 Jan.
    deadline = add_working_days(D(2029, 12, 31), 3, office)
    assert deadline.due == D(2030, 1, 4) and deadline.office_calendar
    # Without the office's holiday, plain weekdays: 1, 2, 3 Jan -> 3 Jan.
    assert add_working_days(D(2029, 12, 31), 3).due == D(2030, 1, 3)
    # The make-up Saturday 5 Jan counts, Sunday 6 does not.
    assert add_working_days(D(2030, 1, 4), 2, office).due == D(2030, 1, 7)
    assert add_working_days(D(2030, 1, 4), 1, office).due == D(2030, 1, 5)


def test_known_year_never_claims_the_office_calendar():
    assert not add_working_days(D(2026, 3, 2), 15).office_calendar
    with pytest.raises(ValueError):
        add_working_days(D(2026, 3, 2), 0)
