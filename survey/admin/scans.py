"""Admin views for scanned ballots (OMR): upload scanner files, follow the reading, decide the
doubts with the cropped image beside the choices, check the read report, count ready ballots."""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import HiddenField

from forms.office import OfficeForm

from ..db import db
from ..models import ScanDoubt, ScanFile, ScanPage, Unit
from ..omr.records import scan_folder, undecided, upload_prefix
from ..paper.ballot import BLANK, INVALID
from ..roles import require
from . import bp
from .campaigns import get_campaign


def _reader():
    """survey.omr.scans, imported when a scan page is used: OpenCV and numpy take half a second
    to load, which every server worker would otherwise pay at start."""
    from ..omr import scans
    return scans

ACTIVE = ("waiting", "reading")


class ScanUploadForm(OfficeForm):
    """One or more files from the scanner."""

    files = FileField(_l("Scanned ballots (PDF, TIFF, PNG or JPEG; several files at once)"),
                      validators=[FileRequired()], render_kw={"multiple": True, "accept": ".pdf,.tif,.tiff,.png,.jpg,.jpeg"})


class DecisionForm(OfficeForm):
    """A reviewer's decision on one doubt."""

    decision = HiddenField()


@bp.url_value_preprocessor
def _scan_upload_size(endpoint, values):
    """Scanner files are large: the upload route takes up to SURVEY_SCAN_MAX_BYTES (set before
    the CSRF check reads the form)."""
    if endpoint == "admin.scans_index" and request.method == "POST":
        request.max_content_length = int(current_app.config["SURVEY_SCAN_MAX_BYTES"])


def upload_name(raw: str | None) -> str:
    """The name an uploaded file is shown and audited under: its last part (after / or \\),
    printable characters only (no NUL, no terminal escapes), at most 200; "scan" if none is left."""
    name = re.split(r"[/\\]", raw or "")[-1]
    return "".join(ch for ch in name if ch.isprintable()).strip()[:200] or "scan"


def _read_in_background(app, campaign_id: int, scan_id: int, path: Path) -> None:
    """Read a file outside the request; the file's row shows how far it got."""
    from flask_babel import force_locale, get_locale
    lang = str(get_locale())  # what the reader stores (a failure's reason) is in the uploader's language

    def work():
        with app.app_context(), force_locale(lang):
            from ..models import Campaign
            campaign = db.session.get(Campaign, campaign_id)
            scan = db.session.get(ScanFile, scan_id)
            try:
                _reader().read_file(campaign, scan, path)
            except Exception as exc:  # recorded on the file for the office to see
                db.session.rollback()
                scan = db.session.get(ScanFile, scan_id)
                scan.state, scan.error = "failed", str(exc)[:500]
                db.session.commit()
            finally:
                path.unlink(missing_ok=True)
                db.session.remove()
    threading.Thread(target=work, name=f"scan-{scan_id}", daemon=True).start()


@bp.route("/campaigns/<slug>/scans", methods=["GET", "POST"])
@require("scan")
def scans_index(slug):
    """Upload scanner files; the files read and being read; ballots ready, waiting, counted."""
    campaign = get_campaign(slug)
    form = ScanUploadForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return _index(campaign, form), 422
        added = 0
        for upload in request.files.getlist(form.files.name):
            name = upload_name(upload.filename)
            suffix = Path(name).suffix.lower()
            suffix = suffix if suffix in (".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg") else ""
            path = scan_folder() / f"{upload_prefix(campaign.id)}{os.urandom(8).hex()}{suffix}"
            upload.save(path)
            try:
                scan, new = _reader().add_file(campaign, path, name, current_user.username)
            except _reader().ScanError as exc:
                path.unlink(missing_ok=True)
                flash(str(exc), "error")
                return _index(campaign, form), 409 if isinstance(exc, _reader().CountingOver) else 422
            if not new:
                path.unlink(missing_ok=True)
                flash(_("%(name)s was read before (%(pages)d pages): it is not read or counted again.",
                        name=name, pages=scan.pages), "ok")
                continue
            _read_in_background(current_app._get_current_object(), campaign.id, scan.id, path)
            added += 1
        if added:
            flash(_("%(n)d file(s) are being read. This page shows how far it got.", n=added), "ok")
        return redirect(url_for("admin.scans_index", slug=slug))
    return _index(campaign, form)


def _index(campaign, form):
    files = db.session.scalars(select(ScanFile).filter_by(campaign_id=campaign.id).order_by(ScanFile.id.desc())).all()
    states = _reader().ballots(campaign)
    tally = {k: sum(s.status == k for s in states) for k in ("ready", "waiting", "counted", "refused")}
    doubts = db.session.scalar(select(db.func.count()).select_from(ScanDoubt).where(
        *undecided(campaign.id))) or 0
    stopped = {f.id for f in files if _reader().stopped(f)}
    reading = any(f.state in ACTIVE and f.id not in stopped for f in files)  # the page refreshes itself
    return render_template("admin/scans.html", campaign=campaign, form=form, files=files, tally=tally,
                           doubts=doubts, reading=reading, stopped=stopped, action_form=DecisionForm(),
                           waiting=[s for s in states if s.status == "waiting"],
                           refused=[s for s in states if s.status == "refused"])


@bp.route("/campaigns/<slug>/scans/review", methods=["GET", "POST"])
@require("scan")
def scans_review(slug):
    """The next doubt: the cropped image beside the choices; the decision is recorded."""
    campaign = get_campaign(slug)
    form = DecisionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            _reader().decide(campaign, int(request.form.get("doubt", "0") or 0), form.decision.data or "",
                         current_user.username)
        except (_reader().ScanError, ValueError) as exc:
            flash(str(exc), "error")
        return redirect(url_for("admin.scans_review", slug=slug))
    open_ones = undecided(campaign.id)
    doubt = db.session.scalar(select(ScanDoubt).where(*open_ones).order_by(ScanDoubt.id).limit(1))
    left = db.session.scalar(select(db.func.count()).select_from(ScanDoubt).where(*open_ones)) or 0
    page = db.session.get(ScanPage, doubt.page_id) if doubt else None
    unit = db.session.get(Unit, doubt.unit_id) if doubt and doubt.unit_id else None
    options, differences = [], []
    if doubt is not None:
        if doubt.reason == "unreadable":
            options = [("set_aside", _("Set the page aside (enter its ballot by keyboard)"))]
        elif doubt.reason == "duplicate_differs":
            options = [(str(p), _("Page read from file %(file)s, page %(position)d", file=_file_name(p), position=_position(p)))
                       for p in doubt.choices or []]
            differences = _copies_differ(campaign, doubt)
        else:
            labels = _choice_labels(campaign, doubt)
            options = [(c, labels.get(c, c)) for c in doubt.choices or []]
            if doubt.item != "category":
                options += [(BLANK, _("none marked"))]
            if doubt.item != "category" and len(doubt.choices or []) > 1:  # one box (a reason) is never two
                options += [(INVALID, _("two or more marked"))]
    has_image = doubt is not None and bool(doubt.crop or (page is not None and page.image))
    return render_template("admin/scan_review.html", campaign=campaign, doubt=doubt, page=page, unit=unit,
                           options=options, left=left, form=form, reasons=REASONS, differences=differences,
                           has_image=has_image,
                           item_label=_item_label(campaign, doubt) if doubt and doubt.unit_id else None)


def _copies_differ(campaign, doubt) -> list[tuple[str, str, list[str]]]:
    """Where the copies of a page scanned twice were read differently: (unit, item as printed,
    what each copy reads, in the order of the choices offered), for the reviewer to hold
    against the paper."""
    from flask_babel import get_locale

    from ..paper.double_entry import ballot_form
    copies = [db.session.get(ScanPage, p) for p in doubt.choices or []]
    read = [{(i["unit_id"], i["item"]): i["value"] for i in ((c.reading or {}).get("items", []) if c else [])}
            for c in copies]
    category = [((c.reading or {}).get("category") or {}).get("value") if c else None for c in copies]
    marks = {BLANK: _("none marked"), INVALID: _("two or more marked"), None: _("not read surely")}
    out = []
    if len(set(category)) > 1:
        out.append(("", _("Respondent category"), [marks.get(v, v) for v in category]))
    for block in ballot_form(campaign, doubt.serial, str(get_locale() or "zh_CN")).blocks:
        for q in block.questions:
            values = [r.get((block.unit_id, q.key), "") for r in read]
            if len(set(values)) > 1:
                labels = dict(q.choices) | marks
                out.append((block.name, q.label, [labels.get(v, v) for v in values]))
    return out


def _item_label(campaign, doubt) -> str | None:
    """The question as printed on the ballot, in the reader's language."""
    from flask_babel import get_locale

    from ..paper.double_entry import ballot_form
    for block in ballot_form(campaign, doubt.serial, str(get_locale() or "zh_CN")).blocks:
        if block.unit_id == doubt.unit_id:
            for q in block.questions:
                if q.key == doubt.item:
                    return q.label
    return None


REASONS = {"faint": _l("a faint or small mark"), "unsure": _l("not read surely"),
           "correction?": _l("a box half filled: a heavy mark or a correction?"),
           "misplaced": _l("the boxes were not found exactly where printed"),
           "unreadable": _l("the page could not be read"), "duplicate_differs": _l("the page was scanned twice with other marks"),
           "category": _l("the respondent category is not marked once")}


def _file_name(page_id: int) -> str:
    page = db.session.get(ScanPage, page_id)
    scan = db.session.get(ScanFile, page.file_id) if page else None
    return scan.name if scan else "?"


def _position(page_id: int) -> int:
    page = db.session.get(ScanPage, page_id)
    return page.position if page else 0


def _choice_labels(campaign, doubt) -> dict:
    from flask_babel import get_locale

    from ..paper.ballot import categories_for, category_label
    from ..paper.double_entry import ballot_form
    lang = str(get_locale() or "zh_CN")
    if doubt.item == "category":
        units = db.session.scalars(select(Unit).where(Unit.campaign_id == campaign.id)).all()
        return {c.key: category_label(c, lang) for c in categories_for(campaign.id, units)}
    form = ballot_form(campaign, doubt.serial, lang)
    for block in form.blocks:
        if block.unit_id == doubt.unit_id:
            for q in block.questions:
                if q.key == doubt.item:
                    return dict(q.choices)
    return {}


@bp.get("/campaigns/<slug>/scans/doubt/<int:doubt_id>.png")
@require("scan")
def scans_doubt_image(slug, doubt_id):
    """The cropped image of a doubtful item, or the whole page for an unreadable one."""
    campaign = get_campaign(slug)
    doubt = db.session.get(ScanDoubt, doubt_id)
    if doubt is None or doubt.campaign_id != campaign.id:
        abort(404)
    image = doubt.crop
    if not image:
        page = db.session.get(ScanPage, doubt.page_id)
        image = page.image if page else None
    if not image:
        abort(404)
    return current_app.response_class(image, mimetype="image/png", headers={"Cache-Control": "no-store"})


@bp.get("/campaigns/<slug>/scans/report")
@require("scan")
def scans_report(slug):
    """What was read on every page and how sure, for the supervisor before counting (JSON too)."""
    campaign = get_campaign(slug)
    if request.args.get("format") == "json":
        return jsonify(_reader().read_report(campaign))
    serials = _reader().scanned_serials(campaign)  # the page shows REPORT_BALLOTS ballots at a time
    parts = [serials[n:n + REPORT_BALLOTS] for n in range(0, len(serials), REPORT_BALLOTS)] or [[]]
    part = min(max(request.args.get("part", 1, type=int), 1), len(parts))
    shown = parts[part - 1]
    report = _reader().read_report(campaign, (shown[0], shown[-1]) if shown else (0, -1))
    if part == 1:  # the pages no one could identify, once, with the first part
        report["unreadable"] = _unidentified(campaign)
    return render_template("admin/scan_report.html", campaign=campaign, report=report, part=part,
                           parts=[(n + 1, p[0], p[-1]) for n, p in enumerate(parts) if p],
                           labels=_printed_labels(campaign), states=PAGE_STATES)


REPORT_BALLOTS = 50  # ballots on one part of the read report page


def _unidentified(campaign) -> list[dict]:
    """The pages no one could identify, for the read report."""
    names = dict(db.session.execute(select(ScanFile.id, ScanFile.name).where(ScanFile.campaign_id == campaign.id)).all())
    return [{"file": p.file_id, "file_name": names.get(p.file_id), "position": p.position, "why": p.note}
            for p in db.session.execute(select(ScanPage.file_id, ScanPage.position, ScanPage.note).where(
                ScanPage.campaign_id == campaign.id, ScanPage.serial.is_(None)).order_by(ScanPage.id))]


PAGE_STATES = {"read": _l("read"), "doubt": _l("waiting for a decision"), "unreadable": _l("unreadable"),
               "duplicate": _l("set aside as a copy"), "counted": _l("counted"), "refused": _l("not counted")}


def _printed_labels(campaign) -> dict:
    """(unit code, item) → (the item's short label as printed, {choice: label}), in the reader's
    language, so the read report names items and choices as the ballot prints them."""
    from flask_babel import get_locale
    from printouts.ballots import short_label

    from ..paper.ballot import BLANK, INVALID, ballot_units, unit_blocks
    marks = {BLANK: _("none marked"), INVALID: _("two or more marked")}
    units = ballot_units(campaign.id)
    return {(b.code, q.key): (short_label(q.label), dict(q.choices) | marks)
            for b in (unit_blocks(campaign.id, units, str(get_locale() or "zh_CN")) if units else [])
            for q in b.questions}


@bp.post("/campaigns/<slug>/scans/count")
@require("paper.resolve")
def scans_count(slug):
    """Count every ready ballot: tokens spent, ballots answered by phone refused and listed."""
    campaign = get_campaign(slug)
    if not DecisionForm().validate_on_submit():
        abort(400)
    done = _reader().count_ready(campaign, current_user.username)
    flash(_("%(n)d ballots counted.", n=len(done["counted"])), "ok")
    for serial, why in done["refused"].items():
        flash(_("Ballot No. %(serial)d not counted: %(why)s", serial=serial, why=why), "error")
    return redirect(url_for("admin.scans_index", slug=slug))
