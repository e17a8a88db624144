"""Admin views of units: add, edit, delete, the unit page with its counts, and its QR code."""
import io

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from forms.office import OfficeForm
from forms.fields import choice_list
from printouts.qr import qr_png, qr_svg, unit_url
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, Regexp, ValidationError

from ..campaigns import _freeze_missing, answer_counts, questionnaire_key
from ..db import db
from ..models import UNIT_FIELDS_FIXED_AT_OPENING, CODE_PATTERN, Campaign, RespondentCategory, Tally, Unit, audit
from ..registry import current_registry
from ..roles import current_scope, require
from . import bp
from .campaigns import ActionForm, get_campaign

MAX_COMMITMENTS = 20
LOCKED_AFTER_DRAFT = UNIT_FIELDS_FIXED_AT_OPENING
MAX_MEMBERS = 200


class UnitForm(OfficeForm):
    """A unit under evaluation."""

    code = StringField(_l("Code"), validators=[InputRequired(), Regexp(CODE_PATTERN, message=_l(
        "Use 1 to 40 letters, digits, '-', '_' and '.', starting with a letter or digit."))],
        description=_l("Printed in the unit's QR code address; it cannot change once the campaign opens."))
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200)])
    sector = SelectField(_l("Sector"), validators=[InputRequired()])
    questionnaire = SelectField(_l("Questionnaire"), validators=[Optional()])
    parent = StringField(_l("Parent unit"), validators=[Optional(), Length(max=200)])
    commitments = TextAreaField(_l("Public commitments (公开承诺), one per line"), validators=[Optional()],
                                render_kw={"rows": 4})
    members = TextAreaField(_l("Party members to appraise (民主评议党员), one name per line"), validators=[Optional()],
                            description=_l("Only for a branch answering the five-leads appraisal (五带头): "
                                           "each member is rated 优秀/合格/基本合格/不合格."),
                            render_kw={"rows": 4})

    def __init__(self, *args, campaign=None, unit=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign, self.unit = campaign, unit
        registry = current_registry()
        locale = str(get_locale())
        sectors = [(key, f"{s.label.zh} / {s.label.en}") for key, s in registry.sectors.items()]
        if self.unit is not None and self.unit.sector not in registry.sectors:
            sectors.append((self.unit.sector, _("%(key)s (not installed)", key=self.unit.sector)))
        self.sector.choices = choice_list(sectors)
        questionnaires = [("", _("(sector default)"))] + [
            (key, f"{q.title.get(locale)} ({key}; {q.sector})") for key, q in registry.questionnaires.items()]
        if self.unit is not None and self.unit.questionnaire and self.unit.questionnaire not in registry.questionnaires:
            questionnaires.append((self.unit.questionnaire, _("%(key)s (not installed)", key=self.unit.questionnaire)))
        self.questionnaire.choices = choice_list(questionnaires)

    def validate_code(self, field):
        if self.unit is not None and self.unit.code == field.data:
            return
        if field.data in ("new", "import"):
            raise ValidationError(_("This code is reserved."))
        taken = db.session.scalar(select(Unit.id).where(Unit.campaign_id == self.campaign.id,
                                                        Unit.code == field.data))
        if taken is not None:
            raise ValidationError(_("This campaign already has a unit with this code."))

    def validate_questionnaire(self, field):
        if not field.data:
            return
        q = current_registry().questionnaires.get(field.data)
        if q is not None and q.sector != self.sector.data:
            raise ValidationError(_("This questionnaire is for another sector (%(sector)s).", sector=q.sector))

    def validate_commitments(self, field):
        lines = commitment_lines(field.data)
        if len(lines) > MAX_COMMITMENTS:
            raise ValidationError(_("At most %(n)d commitments.", n=MAX_COMMITMENTS))
        if any(len(line) > 300 for line in lines):
            raise ValidationError(_("A commitment is longer than 300 characters."))


    def validate_members(self, field):
        lines = commitment_lines(field.data)
        if len(lines) > MAX_MEMBERS:
            raise ValidationError(_("At most %(n)d members.", n=MAX_MEMBERS))
        if any(len(line) > 100 for line in lines):
            raise ValidationError(_("A member's name is longer than 100 characters."))
        if len(set(lines)) != len(lines):
            raise ValidationError(_("A member is listed twice."))


def commitment_lines(text: str | None) -> list[str]:
    """The commitments of a text area: one per non-empty line."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def get_unit(campaign: Campaign, code: str) -> Unit:
    """The campaign's unit with this code, or 404 (a code that cannot exist is not looked up)."""
    if not CODE_PATTERN.match(code):
        abort(404)
    unit = db.session.scalar(select(Unit).filter_by(campaign_id=campaign.id, code=code))
    if unit is None:
        abort(404)
    return unit


def _unit_form(campaign, unit=None):
    data = None
    if unit is not None:
        data = {"code": unit.code, "name": unit.name, "sector": unit.sector,
                "questionnaire": unit.questionnaire or "", "parent": unit.parent or "",
                "commitments": "\n".join(unit.commitments or []),
                "members": "\n".join(unit.members or [])}
    form = UnitForm(data=data, campaign=campaign, unit=unit)
    if unit is not None and campaign.state != "draft":
        for name in LOCKED_AFTER_DRAFT:
            del form[name]
    return form


def _save(form, campaign, unit):
    """Validate and store a unit; 422 with field errors and nothing written if bad."""
    adding = unit is None
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("admin/unit_form.html", form=form, campaign=campaign, unit=unit), status
    values = {"name": form.name.data.strip(), "parent": (form.parent.data or "").strip() or None}
    code = form.code.data if form.sector is not None else unit.code
    if not current_scope().unit(code, values["parent"]):
        abort(403)  # a branch admin may not add a unit elsewhere nor move one out of their units
    if adding:
        unit = Unit(campaign=campaign, code=form.code.data)
        db.session.add(unit)
    if form.sector is not None:
        values.update(code=form.code.data, sector=form.sector.data,
                      questionnaire=form.questionnaire.data or None,
                      commitments=commitment_lines(form.commitments.data),
                      members=commitment_lines(form.members.data))
    changed = {}
    for name, value in values.items():
        if getattr(unit, name) != value:
            changed[name] = value
            setattr(unit, name, value)
    try:
        db.session.flush()
        if campaign.state == "open":
            _freeze_missing(campaign, current_registry())  # a unit added while open answers at once
        audit(current_user.username, "unit.add" if adding else "unit.edit",
              f"{campaign.slug}/{unit.code}", **changed)
        db.session.commit()
    except IntegrityError:  # the code was taken between the check and the write
        db.session.rollback()
        campaign = get_campaign(campaign.slug)
        form.code.errors = [*form.code.errors, _("This campaign already has a unit with this code.")]
        return render_template("admin/unit_form.html", form=form, campaign=campaign,
                               unit=None if adding else get_unit(campaign, unit.code)), 422
    flash(_("Unit %(code)s added.", code=unit.code) if adding else _("Unit %(code)s saved.", code=unit.code), "ok")
    return redirect(url_for("admin.campaign", slug=campaign.slug))


@bp.route("/campaigns/<slug>/units/new", methods=["GET", "POST"])
@require("units.manage")
def unit_new(slug):
    """Add a unit while the campaign is a draft or open."""
    campaign = get_campaign(slug)
    if campaign.state not in ("draft", "open"):
        flash(_("Units can be added while the campaign is a draft or open."), "error")
        return redirect(url_for("admin.campaign", slug=slug))
    form = _unit_form(campaign)
    if request.method == "GET" and current_scope().unit_parent:
        form.parent.data = current_scope().unit_parent  # a branch admin adds units under its parent
    return _save(form, campaign, None)


@bp.route("/campaigns/<slug>/units/<code>/edit", methods=["GET", "POST"])
@require("units.manage")
def unit_edit(slug, code):
    """Edit a unit; once the campaign opens only its name and parent."""
    campaign = get_campaign(slug)
    unit = get_unit(campaign, code)
    return _save(_unit_form(campaign, unit), campaign, unit)


@bp.post("/campaigns/<slug>/units/<code>/delete")
@require("units.manage")
def unit_delete(slug, code):
    """Delete a unit, only while the campaign is a draft."""
    campaign = get_campaign(slug)
    unit = get_unit(campaign, code)
    if campaign.state != "draft":
        flash(_("Units can be deleted only while the campaign is a draft."), "error")
        return redirect(url_for("admin.campaign", slug=slug))
    db.session.delete(unit)
    audit(current_user.username, "unit.delete", f"{slug}/{code}", name=unit.name)
    db.session.commit()
    flash(_("Unit %(code)s deleted.", code=code), "ok")
    return redirect(url_for("admin.campaign", slug=slug))


@bp.get("/campaigns/<slug>/units/<code>")
@require("campaign.view")
def unit(slug, code):
    """One unit: its settings, public address, QR code and answers so far by channel and category."""
    campaign = get_campaign(slug)
    unit = get_unit(campaign, code)
    counts = answer_counts(campaign).get(unit.id, {})
    by_category = dict(db.session.execute(
        select(Tally.category, func.sum(Tally.count))
        .where(Tally.unit_id == unit.id, Tally.item == "").group_by(Tally.category)).all())
    categories = db.session.scalars(
        select(RespondentCategory).filter_by(campaign_id=campaign.id, sector=unit.sector)
        .order_by(RespondentCategory.position)).all()
    total = sum(counts.values())
    share = sum(int(by_category.get(c.key, 0)) for c in categories if c.counts_toward_share)
    locale = str(get_locale())
    rows = [{"label": c.label_en if locale.startswith("en") else c.label_zh,
             "n": int(by_category.get(c.key, 0)), "counts": c.counts_toward_share} for c in categories]
    known = {c.key for c in categories}
    rows += [{"label": key, "n": int(n), "counts": False} for key, n in by_category.items() if key not in known]
    return render_template(
        "admin/unit.html", campaign=campaign, unit=unit, counts=counts, total=total, rows=rows,
        share=share, questionnaire=questionnaire_key(unit, current_registry()),
        sector=current_registry().sectors.get(unit.sector),
        url=unit_url(current_app.config["SURVEY_BASE_URL"], unit.code), action_form=ActionForm())


def _qr(slug, code, kind):
    from ..outputs import OutputError, printed_address
    campaign = get_campaign(slug)
    unit = get_unit(campaign, code)
    try:
        url = unit_url(printed_address(), unit.code)
    except OutputError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.unit", slug=slug, code=code))
    data, mimetype = (qr_png(url), "image/png") if kind == "png" else (qr_svg(url), "image/svg+xml")
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True,
                     download_name=f"{unit.code}.{kind}", max_age=0)


@bp.get("/campaigns/<slug>/units/<code>/qr.png")
@require("print")
def unit_qr_png(slug, code):
    """The unit's QR code as a PNG, to print or post."""
    return _qr(slug, code, "png")


@bp.get("/campaigns/<slug>/units/<code>/qr.svg")
@require("print")
def unit_qr_svg(slug, code):
    """The unit's QR code as an SVG, for print shops."""
    return _qr(slug, code, "svg")
