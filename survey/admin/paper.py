"""Paper ballots in the admin: batches, printouts to download, double entry of ballots,
mismatches to resolve, and hand-counted tally sheets (see survey/paper.py)."""
from __future__ import annotations

from flask import Response, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from forms.office import OfficeForm
from printouts.ballots import short_label
from printouts.fonts import FontMissing
from sqlalchemy import select

from .. import paper
from ..db import db
from ..security import allow_own_script
from ..models import BallotBatch, RespondentCategory
from ..models import PaperTallySheet
from . import bp
from .campaigns import get_campaign


class PostForm(OfficeForm):
    """A form whose fields are read from request.form; this class only checks the CSRF token."""


def _lang() -> str:
    return str(get_locale())


def _pdf(printout, name: str) -> Response:
    return Response(printout.get_pdf(), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/campaigns/<slug>/paper/")
def paper_index(slug):
    """Printed batches with their serial ranges, counting progress and the printouts."""
    campaign = get_campaign(slug)
    batches = db.session.scalars(select(BallotBatch).filter_by(campaign_id=campaign.id)
                                 .order_by(BallotBatch.serial_from)).all()
    sheets = db.session.scalars(select(PaperTallySheet).filter_by(campaign_id=campaign.id)
                                .order_by(PaperTallySheet.id)).all()
    locale = str(get_locale())
    categories = {c.key: paper.category_label(c, locale) for c in db.session.scalars(
        select(RespondentCategory).filter_by(campaign_id=campaign.id))}
    return render_template("admin/paper_index.html", campaign=campaign, batches=batches, sheets=sheets,
                           counts=paper.ballot_counts(campaign.id), categories=categories)


@bp.get("/campaigns/<slug>/paper/tally-sheet.pdf")
def paper_tally_sheet(slug):
    """The tally sheet (计票表) as a PDF."""
    campaign = get_campaign(slug)
    try:
        printout = paper.tally_sheet_printout(campaign, request.args.get("lang", _lang()),
                                              request.args.get("category") or None)
    except (paper.PaperError, FontMissing) as exc:
        flash(str(exc), "error")
        return redirect(url_for(".paper_index", slug=slug))
    return _pdf(printout, f"{campaign.slug}-tally-sheet.pdf")


@bp.get("/campaigns/<slug>/paper/posters.pdf")
def paper_posters(slug):
    """Every unit's QR poster as a PDF (A4, or A5 two-up with ?a5=1)."""
    campaign = get_campaign(slug)
    try:
        printout = paper.poster_printout(campaign, current_app.config["SURVEY_BASE_URL"],
                                         request.args.get("lang", _lang()), bool(request.args.get("a5")))
    except (paper.PaperError, FontMissing) as exc:
        flash(str(exc), "error")
        return redirect(url_for(".paper_index", slug=slug))
    return _pdf(printout, f"{campaign.slug}-posters.pdf")


def entry_grids(blocks) -> list[tuple]:
    """The ballot's units grouped as printed: units with the same questions share a grid,
    as (questions, [(number on the ballot, block)])."""
    groups: dict[tuple, list] = {}
    for number, block in enumerate(blocks, start=1):
        if block.questions:
            groups.setdefault(tuple(block.questions), []).append((number, block))
    return list(groups.items())


@bp.route("/campaigns/<slug>/paper/entry", methods=["GET", "POST"])
def paper_entry(slug):
    """Enter one numbered ballot: first its number (typed or scanned), then every item as
    marked, by keyboard (survey/static/paper-entry.js) or by clicking (no script needed)."""
    campaign = get_campaign(slug)
    form = PostForm()
    raw_serial = request.values.get("serial", "")
    ballot, values, category, status, serial = None, {}, None, 200, None
    try:
        serial = paper.parse_serial(campaign, raw_serial)
        if serial is not None:
            ballot = paper.ballot_form(campaign, serial, _lang())
    except paper.PaperError as exc:
        flash(str(exc), "error")
        status = 404
    if ballot is not None and request.method == "POST":
        values = {k: v for k, v in request.form.items() if ":" in k}
        category = request.form.get("category")
        if not form.validate():
            flash(_("The form has expired; please enter the ballot again."), "error")
            status = 400
        else:
            try:
                outcome = paper.enter_ballot(campaign, serial, current_user.username, values, category)
            except paper.PaperError as exc:
                flash(str(exc), "error")
                status = 409
            else:
                flash({"waiting": _("Ballot No. %(serial)d entered; a second clerk must enter it too.", serial=serial),
                       "counted": _("Ballot No. %(serial)d: both entries agree; it is counted.", serial=serial),
                       "mismatch": _("Ballot No. %(serial)d: the entries differ; it is listed for resolution.",
                                     serial=serial)}[outcome], "ok" if outcome != "mismatch" else "error")
                return redirect(url_for(".paper_entry", slug=slug))
    page = render_template("admin/paper_entry.html", campaign=campaign, form=form, raw_serial=raw_serial,
                           ballot=ballot, grids=entry_grids(ballot.blocks) if ballot else [], values=values,
                           category=category, BLANK=paper.BLANK, INVALID=paper.INVALID,
                           field_name=paper.field_name, short_label=short_label)
    return allow_own_script(make_response(page, status))


@bp.get("/campaigns/<slug>/paper/mismatches")
def paper_mismatches(slug):
    """Ballots whose two entries differ, with each differing line, to resolve."""
    campaign = get_campaign(slug)
    return render_template("admin/paper_mismatches.html", campaign=campaign, form=PostForm(),
                           mismatches=paper.mismatches(campaign, _lang()))


@bp.post("/campaigns/<slug>/paper/mismatches/<int:serial>")
def paper_resolve(slug, serial):
    """A supervisor picks the entry that matches the paper ballot."""
    campaign = get_campaign(slug)
    if not PostForm().validate():
        flash(_("The form has expired; please try again."), "error")
    else:
        try:
            paper.resolve_ballot(campaign, serial, current_user.username, request.form.get("clerk", ""))
            flash(_("Ballot No. %(serial)d is counted.", serial=serial), "ok")
        except paper.PaperError as exc:
            flash(str(exc), "error")
    return redirect(url_for(".paper_mismatches", slug=slug))


def _count(name: str) -> int | None:
    raw = (request.form.get(name) or "").strip()
    return int(raw) if raw.isdigit() else (0 if raw == "" else None)


@bp.route("/campaigns/<slug>/paper/tally", methods=["GET", "POST"])
def paper_tally(slug):
    """Enter a hand-counted tally sheet; it is added only if every number reconciles."""
    campaign = get_campaign(slug)
    form = PostForm()
    problems, status = [], 200
    try:
        units = paper.ballot_units(campaign.id)
        blocks = paper.unit_blocks(campaign.id, units, _lang())
        categories = paper.categories_for(campaign.id, units)
    except paper.PaperError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".paper_index", slug=slug))
    if request.method == "POST":
        totals = {k: _count(k) for k in ("issued", "returned", "valid", "invalid")}
        counts, bad = {}, False
        for name in request.form:
            if name.startswith("c:"):
                _c, unit_id, item, choice = name.split(":", 3)
                n = _count(name)
                bad |= n is None or not unit_id.isdigit()
                if n and unit_id.isdigit():
                    counts[(int(unit_id), item, choice)] = n
        if not form.validate():
            problems, status = [_("The form has expired; please enter the sheet again.")], 400
        elif bad or None in totals.values():
            problems, status = [_("Every count must be a whole number (0 or more).")], 422
        else:
            sheet = paper.TallyCounts(category=request.form.get("category", ""), counts=counts, **totals)
            try:
                paper.enter_tally_sheet(campaign, sheet, current_user.username, _lang())
            except paper.ReconciliationError as exc:
                problems, status = exc.problems, 422
            except paper.PaperError as exc:
                problems, status = [str(exc)], 422
            else:
                flash(_("The tally sheet reconciles and has been added to the count."), "ok")
                return redirect(url_for(".paper_index", slug=slug))
    return render_template("admin/paper_tally.html", campaign=campaign, form=form, blocks=blocks,
                           categories=categories, problems=problems, values=request.form,
                           BLANK=paper.BLANK, INVALID=paper.INVALID), status
