"""Print and download in the admin: every printout, the report and the exports of a campaign,
made in the background (survey/jobs.py) with a progress page, and offered when done.

Permissions (survey/roles.py): starting a printing job needs ``print``; the report and the
exports need ``results.view``; a job's page and file need the permission of its kind, and a
branch admin's jobs are of its units only (it sees no job made of others' units).
"""
from __future__ import annotations

import datetime as dt
import io

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from forms.office import OfficeForm
from sqlalchemy import select

from .. import jobs
from ..db import db
from ..i18n import LOCALES
from ..models import Job, RespondentCategory
from ..outputs import address_problem
from ..roles import can, current_scope, require
from . import bp
from .campaigns import get_campaign


MAX_BALLOTS = 100_000
PRINT_KINDS = ("posters", "ballots", "tally_sheet")
RESULT_KINDS = ("report", "export", "raw")


class JobForm(OfficeForm):
    """Only the CSRF token: the fields are read from request.form and checked here."""


def document_lang(value: str | None) -> str:
    """A printout's language: one we have, else the reader's (never an error)."""
    return value if value in LOCALES else str(get_locale())


def _categories(campaign) -> list[tuple[str, str]]:
    locale = str(get_locale())
    seen = {}
    for c in db.session.scalars(select(RespondentCategory).filter_by(campaign_id=campaign.id)
                                .order_by(RespondentCategory.position)):
        seen.setdefault(c.key, c.label_en if locale.startswith("en") else c.label_zh)
    return list(seen.items())


def local_time(value: dt.datetime | None) -> str:
    """A stored UTC time in the office's time zone (SURVEY_TIME_ZONE)."""
    if value is None:
        return "–"
    from ..config import office_zone
    return value.replace(tzinfo=dt.timezone.utc).astimezone(office_zone()).strftime("%Y-%m-%d %H:%M:%S")


def visible(job: Job) -> bool:
    """The signed-in user may see this job: its kind's permission, and for a branch admin a
    job made of its own units only (one of every unit would show the others' results)."""
    if not can(jobs.KINDS[job.kind].permission):
        return False
    scope = current_scope()
    if scope.all_units:
        return True
    mine = {u.code for u in scope.units(job.campaign.units)}
    return bool(job.params.get("units")) and set(job.params["units"]) <= mine


def _jobs_page(campaign, status=200, problems=None):
    base_url = current_app.config["SURVEY_BASE_URL"]
    problem = None if current_app.config.get("SURVEY_ALLOW_LOCAL_QR") else address_problem(base_url)
    recent = db.session.scalars(select(Job).filter_by(campaign_id=campaign.id)
                                .order_by(Job.created_at.desc()).limit(30)).all()
    return render_template("admin/jobs.html", campaign=campaign, form=JobForm(), base_url=base_url,
                           address_problem=problem, jobs=[jobs.refresh(j) for j in recent if visible(j)],
                           kinds=jobs.KINDS, categories=_categories(campaign), problems=problems or [],
                           values=request.form, local_time=local_time, can=can,
                           print_kinds=PRINT_KINDS, result_kinds=RESULT_KINDS), status


@bp.get("/campaigns/<slug>/jobs/")
@require("results.view")
def jobs_index(slug):
    """Print and download: the forms for each printout, report and export, and recent jobs."""
    return _jobs_page(get_campaign(slug))


def _params(kind: str, campaign) -> tuple[dict, list[str]]:
    """The job's parameters from the form, and the problems with them (in the reader's language)."""
    form, problems = request.form, []
    params = {"lang": document_lang(form.get("lang")), "ui_lang": str(get_locale())}
    codes = [c.strip() for c in (form.get("units") or "").replace("，", ",").split(",") if c.strip()]
    if kind in PRINT_KINDS and codes:
        known = {u.code for u in campaign.units}
        unknown = [c for c in codes if c not in known]
        if unknown:
            problems.append(_("Unit codes not in this campaign: %(codes)s.", codes="、".join(unknown)))
        params["units"] = codes
    scope = current_scope()
    if not scope.all_units:  # a branch admin: only its units, in every file
        mine = sorted(u.code for u in scope.units(campaign.units))
        others = [c for c in params.get("units", []) if c not in mine]
        if others:
            problems.append(_("Not your units: %(codes)s.", codes="、".join(others)))
        if not mine:
            problems.append(_("None of your units is in this campaign."))
        params["units"] = params.get("units") or mine
    if kind == "posters":
        params["a5"] = form.get("size") == "a5"
    if kind == "ballots":
        raw = (form.get("count") or "").strip()
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_BALLOTS:
            problems.append(_("Number of ballots: enter a whole number from 1 to %(max)d.", max=MAX_BALLOTS))
        else:
            params["count"] = int(raw)
    if kind in ("ballots", "tally_sheet") and form.get("category"):
        params["category"] = form["category"]
    if kind in ("export", "raw"):
        if form.get("format") not in ("xlsx", "csv", "json"):
            problems.append(_("Choose a file format: XLSX, CSV or JSON."))
        params["format"] = form.get("format")
    return params, problems


def _submit(slug, kind):
    campaign = get_campaign(slug)
    if not can(jobs.KINDS[kind].permission):  # the raw answers need more than the route's permission
        abort(403)
    if not JobForm().validate():
        return _jobs_page(campaign, 400, [_("The form has expired; please try again.")])
    params, problems = _params(kind, campaign)
    if problems:
        return _jobs_page(campaign, 422, problems)
    job = jobs.submit(campaign, kind, params, current_user.username)
    return redirect(url_for(".job", slug=slug, job_id=job.id))


@bp.post("/campaigns/<slug>/jobs/print/<any(posters, ballots, tally_sheet):kind>")
@require("print")
def jobs_print(slug, kind):
    """Start printing posters, numbered ballots or a tally sheet in the background."""
    return _submit(slug, kind)


@bp.post("/campaigns/<slug>/jobs/results/<any(report, export, raw):kind>")
@require("results.view")
def jobs_results(slug, kind):
    """Start making the result report, a results export or the raw answers in the background."""
    return _submit(slug, kind)


def _get_job(slug: str, job_id: str) -> Job:
    campaign = get_campaign(slug)
    job = db.session.get(Job, job_id) if len(job_id) <= 32 else None
    if job is None or job.campaign_id != campaign.id:
        abort(404)
    if not visible(job):
        abort(403)
    return jobs.refresh(job)


@bp.get("/campaigns/<slug>/jobs/<job_id>")
@require("results.view")
def job(slug, job_id):
    """A job's progress (the page reloads itself while it runs), then its file to download."""
    job = _get_job(slug, job_id)
    done, total, _beat = jobs.progress_of(job)
    if job.state == "done":
        done = total = max(done, total, 1)
    waited = (dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - job.created_at).total_seconds()
    return render_template("admin/job.html", campaign=job.campaign, job=job, kind=jobs.KINDS[job.kind],
                           done=done, total=total, form=JobForm(), local_time=local_time,
                           waiting_long=job.state == "queued" and waited > 15,
                           percent=round(100 * done / total) if total else None)


@bp.get("/campaigns/<slug>/jobs/<job_id>/file")
@require("results.view")
def job_file(slug, job_id):
    """The finished job's file."""
    job = _get_job(slug, job_id)
    if job.state != "done":
        abort(404)
    content = db.session.scalar(select(Job.content).where(Job.id == job.id))
    return send_file(io.BytesIO(content or b""), mimetype=job.mimetype, as_attachment=True,
                     download_name=job.filename, max_age=0)


@bp.post("/campaigns/<slug>/jobs/<job_id>/again")
@require("results.view")
def job_again(slug, job_id):
    """Start an interrupted or failed job again with the same settings."""
    job = _get_job(slug, job_id)
    if not JobForm().validate():
        flash(_("The form has expired; please try again."), "error")
        return redirect(url_for(".job", slug=slug, job_id=job.id))
    if job.state in jobs.ACTIVE:
        return redirect(url_for(".job", slug=slug, job_id=job.id))
    again = jobs.submit(job.campaign, job.kind, {**job.params, "ui_lang": str(get_locale())},
                        current_user.username)
    return redirect(url_for(".job", slug=slug, job_id=again.id))
