"""Remedy records (整改单, docs/remedy.md): one per unit under the line, created when the
results are published (or earlier by the office), and the steps open → plan_submitted → done
→ verified. Who may take a step is decided here and by the roles (survey/roles.py); every
change is written to the audit log."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from . import personal_data
from .config import office_today
from .db import db
from .models import Campaign, Remedy, Unit, User, audit
from .workdays import DEFAULT_WORKING_DAYS, OfficeCalendar, add_working_days, office_calendar, working_days_between

STATUS_LABELS = {"open": _l("open, no plan yet"), "plan_submitted": _l("plan submitted"), "done": _l("done"),
                 "verified": _l("verified")}
# step → (status it needs, status it gives, who: "owner" (the unit's branch admin or the office) or "office")
STEPS = {"plan": ("open", "plan_submitted", "owner"), "report": ("plan_submitted", "done", "owner"),
         "verify": ("done", "verified", "office")}


class RemedyError(ValueError):
    """A step that cannot be taken now (HTTP 409), in the reader's language."""

    status = 409


class RemedyTextError(RemedyError):
    """A plan or report that cannot be taken as written (HTTP 422); nothing is stored."""

    status = 422


def owner_of(unit: Unit) -> str | None:
    """The active branch admin whose units include this one (the first by user name), if any."""
    from .roles import scope_of
    branch = db.session.scalars(select(User).filter_by(role="branch", active=True).order_by(User.username))
    for user in branch:
        scope = scope_of(user)
        if scope.campaign(unit.campaign) and scope.unit(unit.code, unit.parent):
            return user.username
    return None


def current_owner(remedy: Remedy) -> str | None:
    """Who owns the record now: the branch admin named when it was made while still an active
    branch admin over the unit, else the one whose units include it now (an account made, moved
    or re-enabled since), else None (the office). What the lists, the record and the ledger show."""
    from .roles import scope_of
    if remedy.owner:
        user = db.session.scalar(select(User).filter_by(username=remedy.owner))
        if user is not None and user.active and user.role == "branch":
            scope = scope_of(user)
            if scope.campaign(remedy.unit.campaign) and scope.unit(remedy.unit.code, remedy.unit.parent):
                return user.username
    return owner_of(remedy.unit)


def create_records(campaign: Campaign, actor: str, start: dt.date | None = None,
                   days: int = DEFAULT_WORKING_DAYS) -> int:
    """A record for every unit under the line (as disclosed) that has none yet; the number made.
    The deadline is `days` working days after `start` (today)."""
    from .disclosure import disclosed_results
    start = start or office_today()
    have = set(db.session.scalars(select(Remedy.unit_id).filter_by(campaign_id=campaign.id)))
    made, office = 0, office_calendar()
    for unit in disclosed_results(campaign, with_previous=False).remedy:
        if unit.id in have:
            continue
        model = db.session.get(Unit, unit.id)
        deadline = add_working_days(start, days, office)
        items = [{"key": i.key, "zh": i.label.zh, "en": i.label.en, "rate": i.figures.total.rate}
                 for i in unit.remedy_items]
        db.session.add(Remedy(campaign_id=campaign.id, unit_id=unit.id, items=items, owner=owner_of(model),
                              starts_on=start, due_on=deadline.due, office_calendar=deadline.office_calendar,
                              status="open", reminders=[]))
        audit(actor, "remedy.create", f"{campaign.slug}/{unit.code}", due=deadline.due.isoformat())
        made += 1
    return made


def recount_deadlines(before: OfficeCalendar, actor: str, day: dt.date) -> list[Remedy]:
    """After the office's calendar changed on `day` (it was `before`): every record still to be
    done (open, or its plan submitted) whose deadline was counted partly on that calendar and
    whose window (after its start, up to its due date) holds the day is due the same number of
    working days after its start, counted on the calendar as it is now. A record the day is not
    in keeps its date (one made by a version that did not recount may be due on a day off since
    listed: counted again it would lose a day). Each date moved is audited; returns the records moved."""
    now, moved = office_calendar(), []
    still = db.session.scalars(select(Remedy).where(Remedy.office_calendar.is_(True),
                                                    Remedy.status.in_(("open", "plan_submitted")),
                                                    Remedy.starts_on < day, Remedy.due_on >= day))
    for remedy in still:
        days = working_days_between(remedy.starts_on, remedy.due_on, before)
        deadline = add_working_days(remedy.starts_on, max(days, 1), now)
        if deadline.due != remedy.due_on:
            audit(actor, "remedy.due", f"{remedy.campaign.slug}/{remedy.unit.code}",
                  was=remedy.due_on.isoformat(), due=deadline.due.isoformat())
            remedy.due_on, remedy.office_calendar = deadline.due, deadline.office_calendar
            moved.append(remedy)
    return moved


def take_step(remedy: Remedy, step: str, actor: str, office: bool, text: str | None = None) -> None:
    """Move a record one step (plan, report, verify); RemedyError if it is not at that step or
    the actor may not take it. The plan and the report need their text."""
    need, gives, who = STEPS[step]
    if who == "office" and not office:
        raise RemedyError(_("Only the campaign office verifies a remedy."))
    if remedy.status != need:
        raise _not_now(remedy, step)
    owner = current_owner(remedy) if who == "owner" and office else None
    if owner and owner != actor:  # the office fills in only for a unit no branch admin has
        raise RemedyError(_("%(owner)s, the branch admin of this unit, files its plan and report.", owner=owner))
    values = {"status": gives}
    if step in ("plan", "report"):
        text = (text or "").strip()
        if not text:
            raise RemedyTextError(_("Write the plan or the report before submitting it."))
        if step == "report" and personal_data.find(text):  # residents read it once verified
            raise RemedyTextError(_("The report is published to residents once it is verified: remove the phone "
                                    "number or ID number from it."))
        values[step] = text
    if step == "verify":
        values["verified_on"] = office_today()
    # only from the status read above: of two requests at once (a double tap, two admins) one
    # takes the step and the other is refused, rather than both "succeeding" and one text lost
    moved = db.session.execute(update(Remedy).where(Remedy.id == remedy.id, Remedy.status == need)
                               .values(**values).execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        db.session.refresh(remedy)
        raise _not_now(remedy, step)
    for name, value in values.items():
        set_committed_value(remedy, name, value)
    audit(actor, f"remedy.{step}", f"{remedy.campaign.slug}/{remedy.unit.code}", status=gives)


STEP_WORDS = {"plan": _l("given a plan"), "report": _l("reported done")}


def _not_now(remedy: Remedy, step: str) -> RemedyError:
    """The refusal of a step the record's status does not allow, naming the status. Verifying has
    a sentence of its own: its word is the status word "verified" (已验收), and 现在不能已验收 is no
    Chinese."""
    status = STATUS_LABELS[remedy.status]
    if step == "verify":
        return RemedyError(_("This record is %(status)s: it cannot be verified now.", status=status))
    return RemedyError(_("This record is %(status)s: it cannot be %(step)s now.", status=status, step=STEP_WORDS[step]))


def remind(remedy: Remedy, actor: str, on: dt.date | None = None) -> None:
    """Record a reminder from the office (shown on the record); RemedyError once done."""
    # write to the row first, so two reminders at once wait for each other (a row lock on
    # PostgreSQL, the write lock on SQLite) and each appends to the list the other left
    db.session.execute(update(Remedy).where(Remedy.id == remedy.id).values(status=Remedy.status)
                       .execution_options(synchronize_session=False))
    db.session.refresh(remedy)
    if remedy.status in ("done", "verified"):
        raise RemedyError(_("This record is %(status)s: there is nothing to remind of.",
                            status=STATUS_LABELS[remedy.status]))
    remedy.reminders = [*(remedy.reminders or []), {"on": (on or office_today()).isoformat(), "by": actor}]
    audit(actor, "remedy.remind", f"{remedy.campaign.slug}/{remedy.unit.code}")
