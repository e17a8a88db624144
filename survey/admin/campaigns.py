"""Admin views of campaigns: the list, create and edit, the campaign page with its units and
live counts, the open/close/publish buttons and the units upload."""
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from forms.fields import choice_list
from forms.office import OfficeForm
from printouts.qr import unit_url
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from flask_babel import get_locale
from wtforms import BooleanField, DateField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.widgets import CheckboxInput, ListWidget
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from ..campaigns import (
    SLUG_PATTERN, TRANSITIONS, CampaignError, answer_counts, slug_problem, transition, withdraw,
)
from ..db import db
from ..models import Campaign, Tally, Unit, audit
from ..registry import current_registry
from ..roles import can, current_scope
from ..units_import import UnitImportError, import_units
from ..roles import require
from . import bp

# settings that decide how results are counted: fixed once the campaign opens
LOCKED_AFTER_DRAFT = ("satisfaction_line", "composition_minimum", "minimum_sample", "minimum_cell", "access",
                      "dont_know", "leave_out")
LEAVE_OUT = {"none": _l("Every item of every unit"), "unit": _l("A unit they do not know may be left out"),
             "items": _l("Any item may be left out")}
ACTION_LABELS = {"open": _l("Open"), "close": _l("Close"), "publish": _l("Publish")}


class CampaignForm(OfficeForm):
    """A campaign's settings; percentages are entered as whole percent and stored as fractions."""

    slug = StringField(_l("Short name (slug)"), validators=[
        InputRequired(), Regexp(SLUG_PATTERN, message=_l(
            "Use 1 to 60 lower-case letters, digits and '-', starting with a letter or digit."))],
        description=_l("Used in addresses and file names, e.g. county-2025."))
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200)])
    starts_on = DateField(_l("Starts on"), validators=[Optional()])
    ends_on = DateField(_l("Ends on"), validators=[Optional()])
    satisfaction_line = IntegerField(_l("Satisfaction line (%)"), default=70, validators=[
        InputRequired(), NumberRange(1, 100)],
        description=_l("Units below this satisfaction rate must redo the work (补课)."))
    composition_minimum = IntegerField(_l("Service recipients and residents at least (%)"), default=30,
                                       validators=[InputRequired(), NumberRange(0, 100)])
    minimum_sample = IntegerField(_l("Minimum raters per unit"), default=30,
                                  validators=[InputRequired(), NumberRange(1, 10000)])
    minimum_cell = IntegerField(_l("Smallest group shown in results (raters)"), default=5, validators=[
        InputRequired(), NumberRange(3, 1000, message=_l("At least 3 raters: a smaller group's answers could be read."))],
        description=_l("Figures of a respondent category or channel with fewer raters are not shown, "
                       "and units with fewer raters than this or the minimum sample are not ranked."))
    access = SelectField(_l("Who may answer"), default="both", choices=choice_list([
        ("open", _l("Anyone scanning the unit's QR code")),
        ("tokens", _l("Holders of one-time ballots only")),
        ("both", _l("QR code and one-time ballots"))]))
    dont_know = BooleanField(_l("Offer “don't know” (不了解) on every rated item"),
                             description=_l("Counted and shown apart; never in a rate's valid answers."))
    leave_out = SelectField(_l("What a ballot holder may leave out by phone"), default="none",
                            choices=choice_list(LEAVE_OUT.items()))
    allow_repeat = BooleanField(_l("A shared family phone may answer again"))
    show_comments = BooleanField(_l("Show residents' comments in the results"))
    personal_data = SelectField(_l("A phone or ID number in a comment"), default="refuse", choices=choice_list([
        ("refuse", _l("Ask the resident to remove it (nothing is stored until they do)")),
        ("mask", _l("Store the comment with the number masked"))]))
    scrub_interval = IntegerField(_l("Scrub every (minutes)"), default=60, validators=[
        Optional(), NumberRange(5, 60)],
        description=_l("While the campaign is open, the traces the database keeps of who answered when are "
                       "removed this often (5 to 60 minutes); also when it closes."))
    hidden_categories = SelectMultipleField(
        _l("Respondent categories this campaign does not offer"), validators=[Optional()],
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
        description=_l("Residents choose among the others. Categories that count toward the share of "
                       "service recipients and residents cannot all be hidden."))
    previous_campaign = SelectField(_l("Previous campaign of the same units (for the change since then)"),
                                    default="", validators=[Optional()],
                                    description=_l("It is compared with, and named, only once it is itself published."))

    def __init__(self, *args, campaign=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        others = select(Campaign.id, Campaign.name).order_by(Campaign.id.desc())
        if campaign is not None and campaign.id is not None:
            others = others.where(Campaign.id != campaign.id)
        self.previous_campaign.choices = choice_list(
            [("", _("(none)"))] + [(str(i), name) for i, name in db.session.execute(others)])
        self.hidden_categories.choices = choice_list(
            (c.key, c.label.get(str(get_locale()))) for c in _campaign_categories(campaign))

    def validate_hidden_categories(self, field):
        problem = hidden_categories_problem(self.campaign, field.data or [])
        if problem:
            raise ValidationError(problem)

    def validate_slug(self, field):
        problem = slug_problem(field.data, self.campaign.id if self.campaign is not None else None)
        if problem:
            raise ValidationError(problem)

    def validate_ends_on(self, field):
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_("The end must not be before the start."))


def _sectors(campaign) -> list[str]:
    """The sectors of a campaign's units (the general sector while it has none)."""
    if campaign is None or campaign.id is None:
        return ["general"]
    found = db.session.scalars(select(Unit.sector).filter_by(campaign_id=campaign.id).distinct()).all()
    return sorted(found) or ["general"]


def _campaign_categories(campaign):
    """Every respondent category the campaign's sectors offer (after plugins hide theirs), once."""
    registry, seen = current_registry(), {}
    for sector in _sectors(campaign):
        for c in registry.categories(sector):
            seen.setdefault(c.key, c)
    return list(seen.values())


def hidden_categories_problem(campaign, hidden) -> str | None:
    """Why hiding these category keys would break the composition rule, or None: every sector
    of the campaign must keep a category counting toward the share of service recipients and
    residents, or its share could not be computed."""
    registry = current_registry()
    for sector in _sectors(campaign):
        if not any(c.counts_toward_share for c in registry.categories(sector) if c.key not in set(hidden)):
            label = registry.sectors[sector].label.get(str(get_locale())) if sector in registry.sectors else sector
            return _("Sector %(sector)s would keep no category of service recipients or residents, so the "
                     "composition minimum could not be checked; keep at least one of them.", sector=label)
    return None


class UploadForm(OfficeForm):
    """A CSV or XLSX file of units."""

    file = FileField(_l("File of units (CSV or XLSX)"), validators=[FileRequired()])


class ActionForm(OfficeForm):
    """The open/close buttons: only the CSRF token."""


class PublishForm(OfficeForm):
    """Publishing needs an explicit confirmation after the preview."""

    confirm = BooleanField(_l("I have checked the preview: publish these results now."), validators=[
        DataRequired(message=_l("Tick the box to confirm that these results are to be published."))])
    leave_uncounted = BooleanField(_l("Publish without the paper ballots listed above as not counted: "
                                      "they can no longer be counted once the results are published."))


class WithdrawForm(OfficeForm):
    """Withdrawing published results needs a reason, kept in the audit log."""

    reason = StringField(_l("Reason for withdrawing"), validators=[InputRequired(), Length(min=2, max=500)])


def get_campaign(slug: str) -> Campaign:
    """The campaign with this slug, or 404 (a slug that cannot exist is not looked up)."""
    if not SLUG_PATTERN.match(slug):
        abort(404)
    campaign = db.session.scalar(select(Campaign).filter_by(slug=slug))
    if campaign is None:
        abort(404)
    return campaign


@bp.get("/")
@require("campaigns.list")
def index():
    """The list of campaigns with their state, units and answers so far."""
    scope = current_scope()
    campaigns = db.session.scalars(select(Campaign).where(scope.campaign_clause())
                                   .order_by(Campaign.id.desc())).all()
    units = dict(db.session.execute(select(Unit.campaign_id, func.count()).where(scope.unit_clause())
                                    .group_by(Unit.campaign_id)).all())
    answers = dict(db.session.execute(
        select(Tally.campaign_id, func.sum(Tally.count)).where(Tally.item == "")
        .group_by(Tally.campaign_id)).all())
    return render_template("admin/index.html", campaigns=campaigns, units=units,
                           answers={k: int(v or 0) for k, v in answers.items()})


def _form_data(campaign: Campaign) -> dict:
    return {
        "slug": campaign.slug, "name": campaign.name, "starts_on": campaign.starts_on,
        "ends_on": campaign.ends_on, "satisfaction_line": round(campaign.satisfaction_line * 100),
        "composition_minimum": round(campaign.composition_minimum * 100),
        "minimum_sample": campaign.minimum_sample, "minimum_cell": campaign.minimum_cell,
        "access": campaign.access, "dont_know": campaign.dont_know, "leave_out": campaign.leave_out,
        "allow_repeat": campaign.allow_repeat, "show_comments": campaign.show_comments,
        "personal_data": campaign.personal_data,
        "scrub_interval": campaign.scrub_interval or 60,
        "previous_campaign": str(campaign.previous_campaign_id or ""),
        "hidden_categories": list(campaign.hidden_categories or []),
    }


def _apply(form: CampaignForm, campaign: Campaign) -> dict:
    """Copy the form onto the campaign; return the changed settings as {name: new value}."""
    values = {"slug": form.slug.data, "name": form.name.data.strip(), "starts_on": form.starts_on.data,
              "ends_on": form.ends_on.data, "allow_repeat": form.allow_repeat.data,
              "show_comments": form.show_comments.data, "personal_data": form.personal_data.data,
              "scrub_interval": form.scrub_interval.data or 60,
              "hidden_categories": sorted(form.hidden_categories.data or []) or None,
              "previous_campaign_id": int(form.previous_campaign.data) if form.previous_campaign.data else None}
    if "satisfaction_line" in form:
        old = _form_data(campaign) if campaign.id else {}
        # a stored fraction that is not a whole percent stays as it is unless changed
        if old.get("satisfaction_line") != form.satisfaction_line.data:
            values["satisfaction_line"] = form.satisfaction_line.data / 100
        if old.get("composition_minimum") != form.composition_minimum.data:
            values["composition_minimum"] = form.composition_minimum.data / 100
        values["minimum_sample"] = form.minimum_sample.data
        values["minimum_cell"] = form.minimum_cell.data
        values["access"] = form.access.data
        values["dont_know"] = bool(form.dont_know.data)
        values["leave_out"] = form.leave_out.data
    changed = {}
    for name, value in values.items():
        if getattr(campaign, name) != value:
            changed[name] = value.isoformat() if hasattr(value, "isoformat") else value
            setattr(campaign, name, value)
    return changed


def _save_form(form, campaign, template, **context):
    """Validate and save a campaign form; 422 with field errors and nothing written if bad."""
    creating = campaign.id is None
    if form.validate_on_submit():
        changed = _apply(form, campaign)
        if creating:
            db.session.add(campaign)
        audit(current_user.username, "campaign.create" if creating else "campaign.edit",
              campaign.slug, **changed)
        try:
            db.session.commit()
        except IntegrityError:  # the slug was taken between the check and the write
            db.session.rollback()
            form.slug.errors = [*form.slug.errors, _("Another campaign already uses this short name.")]
            return render_template(template, form=form, campaign=None if creating else campaign, leave_out=LEAVE_OUT, **context), 422
        flash(_("Campaign created.") if creating else _("Campaign saved."), "ok")
        return redirect(url_for("admin.campaign", slug=campaign.slug))
    status = 422 if request.method == "POST" else 200
    return render_template(template, form=form, campaign=None if creating else campaign, leave_out=LEAVE_OUT, **context), status


@bp.route("/campaigns/new", methods=["GET", "POST"])
@require("campaign.manage")
def campaign_new():
    """Create a campaign (as a draft)."""
    form = CampaignForm()
    return _save_form(form, Campaign(state="draft"), "admin/campaign_form.html")


@bp.route("/campaigns/<slug>/edit", methods=["GET", "POST"])
@require("campaign.manage")
def campaign_edit(slug):
    """Edit a campaign; the line, minimums and access only while it is a draft."""
    campaign = get_campaign(slug)
    form = CampaignForm(data=_form_data(campaign), campaign=campaign)
    if campaign.state != "draft":
        for name in LOCKED_AFTER_DRAFT:
            del form[name]
    return _save_form(form, campaign, "admin/campaign_form.html")


def campaign_page(campaign: Campaign, status: int = 200, upload=None, problems=None):
    """The campaign page: settings, state, actions, units with live counts, upload."""
    counts = answer_counts(campaign)
    base = current_app.config["SURVEY_BASE_URL"]
    rows = []
    for unit in current_scope().units(campaign.units):
        c = counts.get(unit.id, {"online": 0, "paper": 0})
        rows.append({"unit": unit, "online": c.get("online", 0), "paper": c.get("paper", 0),
                     "total": sum(c.values()), "url": unit_url(base, unit.code)})
    totals = {k: sum(r[k] for r in rows) for k in ("online", "paper", "total")}
    actions = [a for a, sources in TRANSITIONS.items()
               if campaign.state in sources and a != "publish" and can("campaign.manage")]
    return render_template(
        "admin/campaign.html", campaign=campaign, rows=rows, totals=totals, actions=actions,
        action_labels=ACTION_LABELS, action_form=ActionForm(), upload=upload or UploadForm(),
        withdraw_form=WithdrawForm(),
        problems=problems or [], registry=current_registry(),
        frozen_keys=frozen_questionnaire_keys(campaign.id)), status


@bp.get("/campaigns/<slug>")
@require("campaign.view")
def campaign(slug):
    """One campaign with its units and the answers so far."""
    return campaign_page(get_campaign(slug))


@bp.post("/campaigns/<slug>/<any(open, close):action>")
@require("campaign.manage")
def campaign_action(slug, action):
    """Open or close; a refusal is shown with its reason (409). Publishing has its own page."""
    campaign = get_campaign(slug)
    try:
        transition(campaign, action, current_registry(), current_user.username)
    except CampaignError as exc:
        db.session.rollback()
        refusals = {"open": _("The campaign could not be opened: %(reason)s", reason=exc),
                    "close": _("The campaign could not be closed: %(reason)s", reason=exc)}
        flash(refusals[action], "error")
        return campaign_page(get_campaign(slug), 409)
    db.session.commit()
    messages = {"open": _("The campaign is open: residents can answer now."),
                "close": _("The campaign is closed: no more answers are taken.")}
    flash(messages[action], "ok")
    return redirect(url_for("admin.campaign", slug=slug))


@bp.get("/campaigns/<slug>/units/template.xlsx")
@require("units.manage")
def units_template(slug):
    """An XLSX to fill in with units: headers, an example row and drop-down lists (in the reader's language)."""
    import io

    from flask import send_file
    from flask_babel import get_locale

    from ..units_import import template_xlsx
    campaign = get_campaign(slug)
    data = template_xlsx(current_registry(), str(get_locale()))
    return send_file(io.BytesIO(data), as_attachment=True, max_age=0,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     download_name=f"{campaign.slug}-units-template.xlsx")


@bp.post("/campaigns/<slug>/units/import")
@require("units.manage")
def units_import(slug):
    """Add or update units from a CSV or XLSX file: every row must be good, or nothing changes."""
    campaign = get_campaign(slug)
    form = UploadForm()
    if not form.validate_on_submit():
        return campaign_page(campaign, 422, upload=form)
    upload = form.file.data
    try:
        scope = current_scope()
        result = import_units(campaign, upload.filename or "units.csv", upload.read(),
                              current_registry(), current_user.username,
                              scope=None if scope.all_units else scope)
    except UnitImportError as exc:
        db.session.rollback()
        return campaign_page(get_campaign(slug), 422, upload=form, problems=exc.problems)
    flash(_("Units imported: %(added)d added, %(updated)d updated.", added=result.added,
            updated=result.updated), "ok")
    return redirect(url_for("admin.campaign", slug=slug))


def publish_page(campaign: Campaign, form: PublishForm, status: int = 200):
    """The preview: exactly the tiles and table the public page will show (through the same
    disclosure rules), what to check, and what the rules withhold."""
    from flask_babel import get_locale

    from ..disclosure import disclosed_results, minimum_cell, publication_minimum
    from ..public_results import pct, points, public_remedies, sector_label
    locale = str(get_locale())
    from ..paper import left_uncounted
    results = disclosed_results(campaign)
    return render_template("admin/publish.html", campaign=campaign, results=results, form=form,
                           remedies=public_remedies(campaign, results), uncounted=left_uncounted(campaign),
                           locale=locale, pct=pct, points=points, minimum_cell=minimum_cell(campaign),
                           publication_minimum=publication_minimum(campaign),
                           withheld=withheld_groups(results, locale),
                           sector=lambda key: sector_label(key, locale)), status


def withheld_groups(results, locale: str) -> list[tuple[str, list[str]]]:
    """Per shown unit, the respondent categories and channels whose figures the public page
    withholds (small groups and their complements), in the reader's words."""
    channels = {"online": _("online"), "paper": _("on paper")}
    rows = []
    for unit in results.ranked:
        if not unit.enough_raters:
            continue
        names = [results.categories[k].get(locale) if k in results.categories else k
                 for k, f in sorted(unit.overall.by_category.items()) if f.withheld]
        names += [channels.get(k, k) for k, f in sorted(unit.overall.by_channel.items()) if f.withheld]
        if names:
            rows.append((unit.name, names))
    return rows


@bp.route("/campaigns/<slug>/publish", methods=["GET", "POST"])
@require("campaign.publish")
def campaign_publish(slug):
    """Preview what publishing makes public; publish only with the confirmation ticked."""
    campaign = get_campaign(slug)
    form = PublishForm()
    if request.method == "GET":
        return publish_page(campaign, form)
    if not form.validate_on_submit():
        return publish_page(campaign, form, 400 if form.csrf_token.errors else 422)
    try:
        transition(campaign, "publish", current_registry(), current_user.username,
                   leave_uncounted=form.leave_uncounted.data)
    except CampaignError as exc:
        db.session.rollback()
        flash(_("The results could not be published: %(reason)s", reason=exc), "error")
        return publish_page(get_campaign(slug), form, 409)
    db.session.commit()
    flash(_("The campaign's results are published."), "ok")
    return redirect(url_for("admin.campaign", slug=slug))


@bp.post("/campaigns/<slug>/withdraw")
@require("campaign.publish")
def campaign_withdraw(slug):
    """Take published results back, with the reason kept in the audit log."""
    campaign = get_campaign(slug)
    form = WithdrawForm()
    if not form.validate_on_submit():
        flash(_("Give the reason for withdrawing the results."), "error")
        return campaign_page(campaign, 422)
    try:
        withdraw(campaign, form.reason.data, current_user.username)
    except CampaignError as exc:
        db.session.rollback()
        flash(_("The results could not be withdrawn: %(reason)s", reason=exc), "error")
        return campaign_page(get_campaign(slug), 409)
    db.session.commit()
    flash(_("The results are withdrawn: the public page no longer shows them."), "ok")
    return redirect(url_for("admin.campaign", slug=slug))


def frozen_questionnaire_keys(campaign_id: int) -> list[str]:
    """The keys of the questionnaires a campaign froze when it opened."""
    from ..models import QuestionnaireSnapshot
    return list(db.session.scalars(select(QuestionnaireSnapshot.key).filter_by(campaign_id=campaign_id)
                                   .order_by(QuestionnaireSnapshot.key)))


@bp.get("/campaigns/<slug>/questionnaires/<key>.xlsx")
@require("campaign.view")
def questionnaire_xlsform(slug, key):
    """A frozen questionnaire as an XLSForm workbook (survey, choices and settings sheets)."""
    from ..snapshot import frozen_for
    from ..xlsform import write_xlsform
    campaign = get_campaign(slug)
    if key not in frozen_questionnaire_keys(campaign.id):
        abort(404)
    frozen = frozen_for(campaign.id, key)
    scales = {k: frozen.scales[k] for k in frozen.questionnaire.scales_used() if k in frozen.scales}
    if "yesno" in frozen.questionnaire.scales_used() and "yesno" not in scales:
        from ..questions import YESNO
        scales["yesno"] = YESNO
    body = write_xlsform(frozen.questionnaire, scales)
    return current_app.response_class(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                      headers={"Content-Disposition": f'attachment; filename="{key}-{frozen.questionnaire.version}.xlsx"'})
