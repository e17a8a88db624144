"""The resident's path: GET/POST /s/<unit code> (open QR) and /b/<token> (one-time ballot).

Pages work without JavaScript; a validation error keeps every answer given; success
redirects to a thank-you page (post/redirect/get) whose address carries no token.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, case, select

from forms import build_answer_form, collect_answers

from . import answering_time, nonces, personal_data, tokens
from .db import db
from .limits import answer_limit, limiter
from .models import CODE_PATTERN, Campaign, QuestionnaireSnapshot, Unit
from .plugins import RequiredCheckFailed
from .questionnaire import assembly_only
from .registry import current_registry
from .responses import Sheet, store
from .snapshot import frozen_by_id, frozen_for
from .visits import already_answered, mark_answered

bp = Blueprint("answering", __name__)
log = logging.getLogger("survey.answering")
BALLOT_ONCE = _l("This ballot counts once: answer here by phone, or fill in the paper ballot, not both.")
EXPIRED = _l("This form was opened too long ago. Your answers are kept: please check them and submit again.")


def takes(minutes: int) -> str:
    """The time a ballot states, in whole minutes (survey.answering_time)."""
    return ngettext("It takes about %(num)d minute.", "It takes about %(num)d minutes.", minutes)


def notice(status: int, title: str, message: str):
    """A clear page for a resident who cannot answer here, with the right status."""
    return render_template("answer/notice.html", title=title, message=message), status


def closed_notice(campaign: Campaign):
    """The page for a campaign that is not answering now, or None if it is."""
    if campaign.state == "draft":
        return notice(403, _("Not open yet"), _("The evaluation “%(name)s” has not started yet. Please come back when it opens.", name=campaign.name))
    if campaign.state in ("closed", "published"):
        return notice(410, _("Evaluation closed"), _("The evaluation “%(name)s” has ended. Thank you for your interest.", name=campaign.name))
    return None


@dataclass(frozen=True)
class CampaignView:
    """What answering needs of a campaign, read in the same query as the unit."""

    id: int
    name: str
    state: str
    access: str
    allow_repeat: bool
    personal_data: str
    hidden_categories: tuple = ()
    dont_know: bool = False
    leave_out: str = "none"

    accepts_open = Campaign.accepts_open
    accepts_tokens = Campaign.accepts_tokens


@dataclass(frozen=True)
class UnitView:
    """What answering needs of a unit, its campaign and its frozen questionnaire."""

    id: int
    code: str
    name: str
    sector: str
    parent: str | None
    commitments: list
    questionnaire: str | None
    campaign_id: int
    campaign: CampaignView
    snapshot: tuple | None  # (id, version) of the frozen questionnaire
    members: list = ()

    as_dict = Unit.as_dict


UNIT_QUERY = (
    select(Unit.id, Unit.code, Unit.name, Unit.sector, Unit.parent, Unit.commitments, Unit.questionnaire,
           Unit.members, Unit.campaign_id, Campaign.name, Campaign.state, Campaign.access, Campaign.allow_repeat,
           Campaign.personal_data, Campaign.hidden_categories, Campaign.dont_know, Campaign.leave_out,
           QuestionnaireSnapshot.id, QuestionnaireSnapshot.version)
    .join(Campaign, Campaign.id == Unit.campaign_id)
    .outerjoin(QuestionnaireSnapshot, and_(QuestionnaireSnapshot.campaign_id == Unit.campaign_id,
                                           QuestionnaireSnapshot.key == Unit.questionnaire))
    .where(Unit.code == bindparam("code"))
    .order_by(case((Campaign.state == "open", 0), else_=1), Campaign.id.desc()).limit(1))


def find_unit(code: str) -> UnitView | None:
    """The unit with this code in an open campaign, else in the latest campaign that has it:
    one query for the unit, its campaign and its frozen questionnaire (the busiest read)."""
    if not CODE_PATTERN.match(code):
        return None
    row = db.session.execute(UNIT_QUERY, {"code": code}).first()
    if row is None:
        return None
    (uid, ucode, name, sector, parent, commitments, questionnaire, members, campaign_id,
     cname, state, access, allow_repeat, personal_data, hidden, dont_know, leave_out, snapshot_id, version) = row
    campaign = CampaignView(campaign_id, cname, state, access, allow_repeat, personal_data, tuple(hidden or ()),
                            bool(dont_know), leave_out or "none")
    return UnitView(uid, ucode, name, sector, parent, list(commitments or []), questionnaire, campaign_id,
                    campaign, (snapshot_id, version) if snapshot_id else None, list(members or []))


def point_of_service(unit: UnitView) -> UnitView:
    """The unit as its QR code answers it: with its assembly questionnaire's point-of-service
    companion when that was frozen with the campaign, else unchanged (ballots and paper always
    answer the unit's own questionnaire)."""
    frozen = _frozen(unit)
    companion = frozen.questionnaire.point_of_service if frozen is not None else None
    if not companion:
        return unit
    row = db.session.execute(
        select(QuestionnaireSnapshot.id, QuestionnaireSnapshot.version)
        .filter_by(campaign_id=unit.campaign_id, key=companion)).first()
    if row is None:
        return unit
    return dataclasses.replace(unit, questionnaire=companion, snapshot=(row.id, row.version))


def _frozen(unit):
    """The frozen questionnaire a unit answers (from the unit view's snapshot when it has one)."""
    snapshot = getattr(unit, "snapshot", None)
    if snapshot:
        return frozen_by_id(snapshot[0], unit.campaign_id, unit.questionnaire, snapshot[1])
    return frozen_for(unit.campaign_id, unit.questionnaire)


def _form_class(unit, ask_category=True, campaign=None):
    frozen = _frozen(unit)
    if frozen is None:
        abort(404)
    campaign = campaign or unit.campaign
    form_class = build_answer_form(
        frozen, unit, str(get_locale()), ask_category=ask_category,
        comment_max_length=current_app.config["SURVEY_COMMENT_MAX_LENGTH"],
        hidden_categories=campaign.hidden_categories or (),
        dont_know=bool(campaign.dont_know), optional=campaign.leave_out == "items")
    return frozen, form_class


def _answered_any(form) -> bool:
    """Whether any rated question or comment of the form was answered."""
    return bool(collect_answers(form))


def plugin_errors(frozen, unit, category, answers) -> list[tuple[str | None, str]]:
    """The checks beyond the form's own: personal data in comments (refused, or masked in
    place in ``answers``, as the campaign says), then the plugins' checks in the resident's
    language. A plugin check marked required that raises refuses the answer
    (RequiredCheckFailed, answered with a page asking to try again)."""
    errors = []
    for key, (choice, text, scale) in list(answers.items()):
        if text and personal_data.find(text):
            if unit.campaign.personal_data == "mask":
                answers[key] = (choice, personal_data.mask(text), scale)
            else:
                errors.append((key, _("For your privacy, please remove the phone number or ID number from "
                                      "your comment: this evaluation is anonymous.")))
    if errors:
        return errors
    plain = {k: (c if c is not None else t) for k, (c, t, _s) in answers.items()}
    return current_registry().validate_response(frozen.questionnaire, unit.as_dict(), category, plain,
                                                str(get_locale()))


@bp.errorhandler(RequiredCheckFailed)
def required_check_failed(exc):
    """A required plugin check could not run: nothing was stored; ask to try again."""
    return notice(503, _("Please try again"), _("Your answer could not be checked just now, so it was not "
                                                 "saved. Please go back and send it again in a moment."))


@dataclass(frozen=True)
class Problems:
    """What a refused page tells the resident first: remarks on the whole page (an expired form,
    a plugin's remark on the unit's answers), how many questions are unanswered, how many answers
    need a correction, and the question to bring into view and focus first."""

    missing: int
    invalid: int
    first: str | None  # the element id (q-<field id>) of the first question to fix, in page order
    remarks: tuple = ()

    def __bool__(self):
        return self.first is not None or bool(self.remarks)


NO_PROBLEMS = Problems(0, 0, None)


def problems_of(forms, category_error=False, remarks=(), remarks_in_place=True) -> Problems:
    """The problems of a page of answer forms (one unit's, or every unit's on a ballot), in page
    order: the ballot's category question, then each form's questions and, when they are shown
    in place (on a ballot, under each unit), the form's own remarks. ``remarks`` go on top."""
    pending = [("q-category", False)] if category_error else []
    for form in forms:
        pending += [(f"q-{field.id}", field.data not in (None, "")) for field in form if field.errors]
        if form.form_errors and remarks_in_place:
            pending.append((f"q-{form._prefix}form-errors", True))
    missing = sum(1 for _id, answered in pending if not answered)
    return Problems(missing, len(pending) - missing, pending[0][0] if pending else None,
                    tuple(str(r) for r in remarks))


def _attach(form, errors) -> bool:
    for item, message in errors:
        target = form._fields.get(item) if item else None
        (target.errors if target is not None else form.form_errors).append(message)
    return not errors


@bp.route("/s/<code>", methods=["GET", "POST"])
@limiter.limit(answer_limit, methods=["POST"])
def answer_unit(code):
    """Rate one unit, reached by scanning its QR code."""
    unit = find_unit(code)
    if unit is None:
        return notice(404, _("Unknown unit"), _("No unit has the code “%(code)s”. Please check the address or scan the code again.", code=code[:40]))
    campaign = unit.campaign
    stop = closed_notice(campaign)
    if stop:
        return stop
    if not campaign.accepts_open:
        return notice(403, _("Ballot only"), _("This evaluation is answered with the numbered ballot you were given. Please scan the code printed on your ballot."))
    if not campaign.allow_repeat and already_answered(campaign.id, unit.id):
        if request.method == "POST" and nonces.was_spent(request.form.get(nonces.FIELD)):
            return _answered(unit, campaign)  # the same form again: it counted the first time
        return notice(409, _("Already answered"), _("This phone has already rated %(unit)s in this evaluation. Thank you!", unit=unit.name))
    unit = point_of_service(unit)
    frozen, form_class = _form_class(unit)
    if assembly_only(frozen.questionnaire):
        return notice(403, _("Answered at the assembly"), _(
            "The appraisal of the party members of %(unit)s is answered at its assembly, with the numbered "
            "ballot or the paper form handed out there, not through this code.", unit=unit.name))
    form = form_class(request.form if request.method == "POST" else None)
    form_id = _submitted_form_id()
    if request.method == "POST" and form.validate() and not _expired(form, form_id):
        answers = collect_answers(form)
        if not answers:
            form.form_errors.append(_("Please answer at least one question."))
        elif _attach(form, plugin_errors(frozen, unit, form.category.data, answers)):
            try:
                store([Sheet(campaign.id, unit.id, unit.questionnaire, form.category.data, answers)],
                      form_id=form_id)
            except nonces.AlreadySubmitted:
                pass  # a repeated submission of a form that counted: thank the resident again
            nonces.purge_expired()
            return _answered(unit, campaign)
    status = 422 if request.method == "POST" else 200
    problems = problems_of([form], remarks=form.form_errors, remarks_in_place=False) if request.method == "POST" else NO_PROBLEMS
    return render_template("answer/form.html", unit=unit, campaign=campaign, frozen=frozen,
                           forms=[(unit, form)], category_form=form, problems=problems,
                           form_id=_form_id_to_show(form_id),
                           form_id_field=nonces.FIELD), status


def _answered(unit, campaign):
    """The redirect to the thank-you page, marking the unit answered on this phone."""
    response = redirect(url_for(".thanks", code=unit.code), code=303)
    if not campaign.allow_repeat:
        mark_answered(response, campaign.id, [unit.id])
    return response


def _submitted_form_id():
    """The form id this POST carries (signed by this instance), or None."""
    return nonces.parse(request.form.get(nonces.FIELD)) if request.method == "POST" else None


def _expired(form, form_id) -> bool:
    """A form id too old to be checked: say so on the form (answers kept, a fresh id)."""
    if form_id is None or not form_id.expired:
        return False
    form.form_errors.append(str(EXPIRED))
    return True


def _form_id_to_show(form_id) -> str:
    """The id to put in the form shown: the submitted one while it is valid, else a fresh one."""
    return form_id.value if form_id is not None and not form_id.expired else nonces.issue()


@bp.get("/s/<code>/thanks")
def thanks(code):
    """The thank-you page after an answer from a unit's QR code."""
    unit = find_unit(code)
    return render_template("answer/thanks.html", unit=unit)


def _ballot_units(token_row) -> list[Unit]:
    batch = token_row.batch
    query = select(Unit).where(Unit.campaign_id == batch.campaign_id).order_by(Unit.code)
    if batch.unit_codes:
        query = query.where(Unit.code.in_(batch.unit_codes))
    return list(db.session.scalars(query))


def _common_categories(frozens, hidden=()):
    """The categories every questionnaire on the ballot offers, in the first one's order, less
    those the campaign hides."""
    first, *rest = frozens
    keys = set.intersection(*[{c.key for c in f.categories} for f in frozens]) if rest else None
    return [c for c in first.categories if (keys is None or c.key in keys) and c.key not in set(hidden)]


@bp.route("/b/<token>", methods=["GET", "POST"])
@limiter.limit(answer_limit, methods=["POST"])
def answer_ballot(token):
    """Answer a numbered ballot by phone: every unit it lists, counted once."""
    row = tokens.find(token)
    if row is None:
        return notice(404, _("Unknown ballot"), _("This ballot code is not valid. Please scan the code printed on your ballot again."))
    campaign = db.session.get(Campaign, row.campaign_id)
    if campaign.state == "published" and request.method in ("GET", "HEAD"):
        return _published_ballot(campaign, row)
    if campaign.state == "closed":
        return notice(410, _("Evaluation closed"), _("The evaluation “%(name)s” has ended. Once its results are "
                                                     "published, this address shows the results of the units on "
                                                     "your ballot.", name=campaign.name))
    stop = closed_notice(campaign)
    if stop:
        return stop
    if not campaign.accepts_tokens:
        return notice(403, _("Ballots not accepted"), _("This evaluation is answered by scanning the code posted at each unit."))
    if row.redeemed:
        if request.method == "POST" and nonces.was_spent(request.form.get(nonces.FIELD)):
            return redirect(url_for(".ballot_thanks"), code=303)  # the same form again: it counted
        return notice(410, _("Ballot already used"), _("This ballot has already been answered, on paper or by phone. Each ballot counts once."))
    units = _ballot_units(row)
    data = request.form if request.method == "POST" else None
    built = [(unit, *_form_class(unit, ask_category=False, campaign=campaign)) for unit in units]
    forms = [(unit, form_class(data, prefix=f"u{unit.id}-")) for unit, _f, form_class in built]
    categories = _common_categories([f for _u, f, _c in built], campaign.hidden_categories or ())
    fixed = row.batch.category
    category = fixed or (request.form.get("category") if data else None)
    category_error = rate_error = None
    form_id, form_error = _submitted_form_id(), None
    if request.method == "POST":
        # a unit the holder does not know may be left out wholly when the campaign allows it
        skippable = campaign.leave_out in ("unit", "items")
        rated = [(u, f) for u, f in forms if not skippable or _answered_any(f)]
        valid = all([form.validate() for _u, form in rated])
        if form_id is not None and form_id.expired:
            form_error, valid = EXPIRED, False
        if category not in {c.key for c in categories} and not fixed:
            category_error = (_("This evaluation does not offer that respondent category; please choose one of those shown.")
                              if category else _("Please say who you are."))
            valid = False
        if not rated:
            rate_error = _("Please rate at least one unit.")
            valid = False
        sheets = []
        frozen_of = {u.id: frozen for u, frozen, _c in built}
        for unit, form in rated:
            answers = collect_answers(form)
            valid &= _attach(form, plugin_errors(frozen_of[unit.id], unit, category, answers))
            sheets.append(Sheet(campaign.id, unit.id, unit.questionnaire, category, answers))
        if valid:
            try:
                store(sheets, token_hash=row.token_hash, form_id=form_id)
            except nonces.AlreadySubmitted:
                pass  # a repeated submission of a form that counted: thank the resident again
            except tokens.TokenUsed:
                return notice(410, _("Ballot already used"), _("This ballot has already been answered, on paper or by phone. Each ballot counts once."))
            nonces.purge_expired()
            return redirect(url_for(".ballot_thanks"), code=303)
    status = 422 if request.method == "POST" else 200
    lang = "en" if str(get_locale()).startswith("en") else "zh"
    asked = [] if fixed else [c.label.get(lang) for c in categories]
    intro = f"{BALLOT_ONCE} {takes(10)}"  # as shown, but for the figure itself
    minutes = answering_time.ballot_minutes(forms, asked, lang, shown=[intro] + ([_("You are")] if asked else []),
                                            optional=_("(optional)"))
    problems = (problems_of([form for _u, form in forms], bool(category_error), [r for r in (form_error, rate_error) if r])
                if request.method == "POST" else NO_PROBLEMS)
    return render_template("answer/ballot.html", campaign=campaign, forms=forms, serial=row.serial,
                           categories=categories, fixed_category=fixed, category=category,
                           category_error=category_error, rate_error=rate_error,
                           may_leave_out=campaign.leave_out in ("unit", "items"),
                           form_error=form_error, problems=problems,
                           once=BALLOT_ONCE, takes=takes(minutes),
                           form_id=_form_id_to_show(form_id),
                           form_id_field=nonces.FIELD), status


def _published_ballot(campaign: Campaign, row):
    """A ballot's address after its campaign is published: the results and remedy status of the
    units on it (survey/public_results.py). Only the batch's unit list is read from the token —
    not whether it was redeemed — and nothing is written; no-store keeps shared phones and
    proxies from keeping a copy under the token's address."""
    from .public_results import ballot_results
    response = make_response(ballot_results(campaign, [u.code for u in _ballot_units(row)]))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/b/done")
def ballot_thanks():
    """The thank-you page after a ballot answered by phone."""
    return render_template("answer/thanks.html", unit=None)


@bp.get("/")
def index():
    """A landing page telling residents to scan a unit's code."""
    return render_template("answer/index.html")
