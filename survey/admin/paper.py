"""Paper ballots in the admin: batches, printouts to download, double entry of ballots,
mismatches to resolve, and hand-counted tally sheets (see survey/paper.py)."""
from __future__ import annotations

from flask import Response, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from forms.office import OfficeForm
from printouts.ballots import column_groups, short_label
from printouts.fonts import FontMissing
from sqlalchemy import select

from .. import paper
from ..db import db
from ..models import BallotBatch, RespondentCategory
from ..models import PaperTallySheet
from ..roles import can, current_scope, require
from . import bp
from .campaigns import get_campaign
from .jobs import document_lang


class PostForm(OfficeForm):
    """A form whose fields are read from request.form; this class only checks the CSRF token."""


def _lang() -> str:
    return str(get_locale())


def _scoped_codes(campaign) -> list[str] | None:
    """The unit codes a printout is limited to: None for every unit, else the user's units
    (a PaperError when the user has none in this campaign: an empty list would mean all)."""
    scope = current_scope()
    if scope.all_units:
        return None
    codes = sorted(u.code for u in scope.units(campaign.units))
    if not codes:
        raise paper.PaperError(_("None of your units is in this campaign."))
    return codes


@bp.get("/campaigns/<slug>/paper/")
@require("paper.view")
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
                           counts=paper.ballot_counts(campaign.id), categories=categories, form=PostForm())


@bp.get("/campaigns/<slug>/paper/reconciliation.pdf")
@require("paper.view")
def paper_reconciliation(slug):
    """The assembly's reconciliation record (计票结果报告单) as a PDF (?batch=ID for one batch)."""
    campaign = get_campaign(slug)
    try:
        printout = paper.reconciliation_printout(campaign, document_lang(request.args.get("lang")),
                                                 request.args.get("batch", type=int))
        data = printout.get_pdf()
    except (paper.PaperError, FontMissing) as exc:
        flash(str(exc), "error")
        return redirect(url_for(".paper_index", slug=slug))
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{campaign.slug}-reconciliation.pdf"'})


def _made_now(campaign, make, name: str, **options):
    """Make a short printout at once with the same function as the job (survey/outputs.py)."""
    import tempfile
    from pathlib import Path

    from ..outputs import OutputError
    with tempfile.TemporaryDirectory(prefix="survey-pdf-") as folder:
        out = Path(folder) / name
        try:
            make(campaign, out, lang=document_lang(request.args.get("lang")), unit_codes=_scoped_codes(campaign),
                 **options)
        except (paper.PaperError, FontMissing, OutputError) as exc:
            flash(str(exc), "error")
            return redirect(url_for(".paper_index", slug=campaign.slug))
        data = out.read_bytes()
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/campaigns/<slug>/paper/tally-sheet.pdf")
@require("print")
def paper_tally_sheet(slug):
    """The tally sheet (计票表) as a PDF, at once (?lang= zh_CN or en; another value: the reader's)."""
    from ..outputs import make_tally_sheet
    campaign = get_campaign(slug)
    return _made_now(campaign, make_tally_sheet, f"{campaign.slug}-tally-sheet.pdf",
                     category=request.args.get("category") or None)


@bp.get("/campaigns/<slug>/paper/posters.pdf")
@require("print")
def paper_posters(slug):
    """Every unit's QR poster as a PDF at once (A4, or A5 two-up with ?a5=1)."""
    from ..outputs import make_posters
    campaign = get_campaign(slug)
    return _made_now(campaign, make_posters, f"{campaign.slug}-posters.pdf", a5=bool(request.args.get("a5")))


def entry_grids(blocks) -> list[tuple]:
    """The ballot's units grouped as printed: units with the same questions share a grid,
    as (column groups as printed, [(number on the ballot, block)], {answer key: item number})."""
    groups: dict[tuple, list] = {}
    for number, block in enumerate(blocks, start=1):
        if block.questions:
            groups.setdefault(tuple(block.questions), []).append((number, block))
    out = []
    for questions, units in groups.items():
        columns = column_groups(questions)
        out.append((columns, units, {q.key: n for n, group in columns for q in group}))
    return out


@bp.route("/campaigns/<slug>/paper/entry", methods=["GET", "POST"])
@require("paper.enter")
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
                return redirect(url_for(".paper_entry", slug=slug, next=serial + 1))
    if ballot is None and not raw_serial:
        raw_serial = _next_printed(campaign, request.args.get("next", type=int))
    page = render_template("admin/paper_entry.html", campaign=campaign, form=form, raw_serial=raw_serial,
                           ballot=ballot, grids=entry_grids(ballot.blocks) if ballot else [], values=values,
                           category=category, BLANK=paper.BLANK, INVALID=paper.INVALID,
                           field_name=paper.field_name, short_label=short_label)
    return make_response(page, status)


def _printed_words(block, item: str, choice: str) -> str:
    """An item and choice of a tally sheet as printed on it ("Good leadership team, Satisfied");
    the keys as typed when the sheet has no such item or choice."""
    q = next((q for q in block.questions if q.key == item), None)
    if q is None:
        return f"{item}, {choice}"
    labels = dict(q.choices) | {paper.BLANK: _("none marked"), paper.INVALID: _("two or more marked")}
    return f"{short_label(q.label)}, {labels.get(choice, choice)}"


def _next_printed(campaign, serial: int | None) -> str:
    """The number proposed after a ballot is saved: the next one printed (a stack of ballots is
    entered in order, so Enter opens it), or nothing past the last printed batch."""
    if not serial or serial < 1:
        return ""
    printed = db.session.scalar(select(BallotBatch.id).where(
        BallotBatch.campaign_id == campaign.id, BallotBatch.serial_from <= serial, BallotBatch.serial_to >= serial))
    return str(serial) if printed else ""


@bp.get("/campaigns/<slug>/paper/mismatches")
@require("paper.view")
def paper_mismatches(slug):
    """Ballots whose two entries differ, with each differing line, to resolve."""
    campaign = get_campaign(slug)
    return render_template("admin/paper_mismatches.html", campaign=campaign, form=PostForm(),
                           mismatches=paper.mismatches(campaign, _lang()), sheets=_tally_diffs(campaign))


def _tally_diffs(campaign) -> list[tuple[str, list[str], list[tuple[str, dict]]]]:
    """Tally sheets whose entries differ: (box, clerks, [(what, {clerk: value})])."""
    out = []
    units = {u.id: f"{u.name} ({u.code})" for u in paper.ballot_units(campaign.id)} if campaign.units else {}
    labels = {"category": _("Respondent category"), "issued": _("Ballots issued"), "returned": _("Ballots returned"),
              "valid": _("Valid ballots"), "invalid": _("Invalid ballots"), "ranges": _("Ballot numbers")}
    for box, entries in paper.tally_mismatches(campaign):
        clerks = sorted(entries)
        diffs = []
        for key, label in labels.items():
            values = {c: entries[c][key] for c in clerks}
            if len({str(v) for v in values.values()}) > 1:
                diffs.append((label, {c: str(v) for c, v in values.items()}))
        counts = {c: {(u, i, ch): n for u, i, ch, n in entries[c]["counts"]} for c in clerks}
        for key in sorted(set().union(*counts.values()), key=str):
            values = {c: counts[c].get(key, 0) for c in clerks}
            if len(set(values.values())) > 1:
                u, i, ch = key
                diffs.append((f"{units.get(u, u)} · {i} · {ch}", {c: str(v) for c, v in values.items()}))
        out.append((box, clerks, diffs))
    return out


@bp.post("/campaigns/<slug>/paper/mismatches/<int:serial>")
@require("paper.resolve")
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


def _sheet_from_form(form_data, blocks) -> tuple[paper.TallyCounts, list[str]]:
    """The tally sheet as typed, and every problem reading it (numbers, keys, ranges)."""
    problems: list[str] = []
    labels = {"issued": _("Ballots issued"), "returned": _("Ballots returned"), "valid": _("Valid ballots"),
              "invalid": _("Invalid ballots")}
    totals = {k: paper.parse_number(form_data.get(k), label, problems) for k, label in labels.items()}
    names = {b.unit_id: b for b in blocks}
    counts = {}
    for name in form_data:
        if not name.startswith("c:"):
            continue
        parts = name.split(":", 3)
        if len(parts) != 4 or not (parts[1].isascii() and parts[1].isdigit()):
            problems.append(_("The count “%(name)s” names no unit of this campaign.", name=name[:60]))
            continue
        _c, unit_id, item, choice = parts
        block = names.get(int(unit_id))
        where = f"{block.name} ({block.code}), {_printed_words(block, item, choice)}" if block else name[:60]
        n = paper.parse_number(form_data.get(name), where, problems)
        if n:
            counts[(int(unit_id), item, choice)] = n
    ranges = paper.parse_ranges(form_data.get("ranges", ""), problems)
    sheet = paper.TallyCounts(category=form_data.get("category", ""), counts=counts, box=form_data.get("box", ""),
                              ranges=ranges, **totals)
    return sheet, problems


@bp.route("/campaigns/<slug>/paper/tally", methods=["GET", "POST"])
@require("paper.enter")
def paper_tally(slug):
    """Enter a hand-counted tally sheet (each sheet twice, by two clerks); it is added only if
    every number reconciles and both entries agree. A supervisor resolves differing entries
    and voids an accepted sheet (paper.resolve, paper.tally)."""
    campaign = get_campaign(slug)
    form = PostForm()
    problems, status = [], 200
    try:
        units = paper.ballot_units(campaign.id)
        blocks = paper.unit_blocks(campaign.id, units, _lang())
        categories = paper.all_categories(campaign.id)
    except paper.PaperError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".paper_index", slug=slug))
    if request.method == "POST":
        sheet, problems = _sheet_from_form(request.form, blocks)
        if not form.validate():
            problems, status = [_("The form has expired; please enter the sheet again.")], 400
        elif problems:
            status = 422
        else:
            try:
                outcome = paper.enter_tally_sheet(campaign, sheet, current_user.username, _lang())
            except paper.ReconciliationError as exc:
                problems, status = exc.problems, 422
            except paper.PaperError as exc:
                problems, status = [str(exc)], 409
            else:
                box = sheet.box.strip()
                flash({"waiting": _("The tally sheet of %(box)s checks; a second clerk must enter it too.", box=box),
                       "counted": _("The tally sheet of %(box)s: both entries agree; it is added to the count.", box=box),
                       "mismatch": _("The tally sheet of %(box)s: the entries differ; it is listed for the supervisor.",
                                     box=box)}[outcome], "error" if outcome == "mismatch" else "ok")
                # back to the paper ballots page, or, for a clerk who may not see it, to a new sheet
                after = ".paper_index" if can("paper.view") else ".paper_tally"
                return redirect(url_for(after, slug=slug))
    return render_template("admin/paper_tally.html", campaign=campaign, form=form, blocks=blocks,
                           categories=categories, problems=problems, values=request.form,
                           BLANK=paper.BLANK, INVALID=paper.INVALID), status


@bp.post("/campaigns/<slug>/paper/tally/<box>/resolve")
@require("paper.resolve")
def paper_tally_resolve(slug, box):
    """A supervisor picks the entry of a tally sheet that matches the paper."""
    campaign = get_campaign(slug)
    if not PostForm().validate():
        flash(_("The form has expired; please try again."), "error")
    else:
        try:
            paper.resolve_tally_sheet(campaign, box, current_user.username, request.form.get("clerk", ""), _lang())
            flash(_("The tally sheet of %(box)s is added to the count.", box=box), "ok")
        except paper.ReconciliationError as exc:
            flash("; ".join(exc.problems), "error")
        except paper.PaperError as exc:
            flash(str(exc), "error")
    return redirect(url_for(".paper_mismatches", slug=slug))


@bp.post("/campaigns/<slug>/paper/tally-sheets/<int:sheet_id>/void")
@require("paper.tally")
def paper_tally_void(slug, sheet_id):
    """A supervisor voids an accepted tally sheet, with a reason, so it can be entered again."""
    campaign = get_campaign(slug)
    if not PostForm().validate():
        flash(_("The form has expired; please try again."), "error")
    else:
        try:
            row = paper.void_tally_sheet(campaign, sheet_id, current_user.username, request.form.get("reason", ""))
            flash(_("The tally sheet of %(box)s is voided; its counts are taken off and it can be entered again.",
                    box=row.box or row.id), "ok")
        except paper.PaperError as exc:
            flash(str(exc), "error")
    return redirect(url_for(".paper_index", slug=slug))
