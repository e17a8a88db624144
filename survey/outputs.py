"""Every file a campaign office makes: posters, numbered ballots, tally sheets, the result
report, result exports and raw answers. One function per job, called by the `survey`
command (at once) and by the admin (in the background, see survey/jobs.py).

Each function writes its file beside the destination and moves it into place only when it is
complete, so a failure never leaves a half-written file; it returns a one-line summary.
Printed QR codes are refused while SURVEY_BASE_URL is not an address phones can reach.
"""
from __future__ import annotations

import ipaddress
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from .models import Campaign

Progress = Callable[[int], None]


class OutputError(ValueError):
    """A file that cannot be made; the message says why and how to fix it."""


# --- the address printed QR codes carry -------------------------------------------------------
def address_problem(base_url: str | None) -> str | None:
    """Why residents' phones could not reach base_url (unset, not http(s), loopback), or None."""
    url = (base_url or "").strip()
    how = _("Set SURVEY_BASE_URL to this server's public address, e.g. "
            "SURVEY_BASE_URL=https://pingyi.example.gov.cn in the environment or in instance/config.py, "
            "and restart the server.")
    if not url:
        return _("SURVEY_BASE_URL is not set, so the QR codes would point nowhere.") + " " + how
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _("SURVEY_BASE_URL=%(url)s is not an http:// or https:// address.", url=url) + " " + how
    host = parts.hostname.lower()
    loopback = host == "localhost" or host.endswith(".localhost")
    try:
        ip = ipaddress.ip_address(host)
        loopback = loopback or ip.is_loopback or ip.is_unspecified
    except ValueError:
        pass
    if loopback:
        return _("SURVEY_BASE_URL=%(url)s points at this computer itself: a resident's phone "
                 "cannot reach it.", url=url) + " " + how
    return None


def printed_address() -> str:
    """SURVEY_BASE_URL if printed QR codes may carry it, else OutputError saying how to set it.

    The demo sets SURVEY_ALLOW_LOCAL_QR, since its codes are only tried on the same computer.
    """
    base_url = current_app.config.get("SURVEY_BASE_URL") or ""
    problem = None if current_app.config.get("SURVEY_ALLOW_LOCAL_QR") else address_problem(base_url)
    if problem:
        raise OutputError(_("Nothing was printed.") + " " + problem)
    return base_url


# --- writing files whole or not at all --------------------------------------------------------
def check_destination(out: str | Path) -> Path:
    """The path to write, or OutputError if its folder is missing or it names a folder."""
    out = Path(out)
    folder = out.parent if str(out.parent) else Path(".")
    if out.is_dir():
        raise OutputError(_("%(path)s is a folder: give a file name, e.g. %(example)s.",
                            path=str(out), example=str(out / "out.pdf")))
    if not folder.is_dir():
        raise OutputError(_("The folder %(folder)s does not exist: create it first (mkdir -p %(folder)s) "
                            "or write somewhere else.", folder=str(folder)))
    if not os.access(folder, os.W_OK):
        raise OutputError(_("The folder %(folder)s cannot be written to: choose another place.",
                            folder=str(folder)))
    return out


@contextmanager
def whole_file(out: str | Path):
    """Yield a temporary path beside out; move it into place only if the block succeeds."""
    out = check_destination(out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


# --- the jobs ---------------------------------------------------------------------------------
def make_posters(campaign: Campaign, out: str | Path, *, lang: str = "zh_CN", a5: bool = False,
                 unit_codes: list[str] | None = None, progress: Progress | None = None) -> str:
    """One QR poster per unit (A4, or two A5 on each A4 sheet)."""
    from .paper import poster_printout
    base_url = printed_address()
    printout = poster_printout(campaign, base_url, lang, a5, unit_codes, progress=progress)
    with whole_file(out) as tmp:
        printout.write(str(tmp))
    return _("%(n)d posters", n=len(printout.units))


def make_ballots(campaign: Campaign, out: str | Path, *, count: int, category: str | None = None,
                 unit_codes: list[str] | None = None, lang: str = "zh_CN", actor: str = "cli",
                 progress: Progress | None = None) -> str:
    """count numbered ballots; the batch and its tokens are recorded only if the PDF is written."""
    from .paper import print_ballots
    base_url = printed_address()
    out = check_destination(out)
    batch = print_ballots(campaign, out, count, base_url=base_url, category=category,
                          unit_codes=unit_codes, lang=lang, actor=actor, progress=progress)
    return _("ballots No. %(first)d to %(last)d (%(n)d)", first=batch.serial_from,
             last=batch.serial_to, n=batch.count)


def make_tally_sheet(campaign: Campaign, out: str | Path, *, lang: str = "zh_CN", category: str | None = None,
                     unit_codes: list[str] | None = None, progress: Progress | None = None) -> str:
    """A tally sheet (计票表) for counting the campaign's ballots by hand."""
    from .paper import tally_sheet_printout
    printout = tally_sheet_printout(campaign, lang, category, unit_codes)
    printout.progress = progress or printout.progress
    with whole_file(out) as tmp:
        printout.write(str(tmp))
    return _("tally sheet, %(n)d pages", n=len(printout.pages))


def _results(campaign: Campaign, unit_codes: list[str] | None):
    """The campaign's results as reports show them (small groups withheld: survey.disclosure),
    limited to these units if given (a branch admin's)."""
    from .disclosure import disclosed_results
    results = disclosed_results(campaign)
    return results if unit_codes is None else results.only(unit_codes)


def make_report(campaign: Campaign, out: str | Path, *, lang: str = "zh_CN", unit_codes: list[str] | None = None,
                progress: Progress | None = None) -> str:
    """The result report (测评结果报告) as a PDF, of every unit or of these units."""
    from printouts.report import ResultReport
    pages = []

    def page_done(page):
        pages.append(page)
        if progress:
            progress(1)
    with whole_file(out) as tmp:
        with force_locale(lang):  # the report's texts; messages stay in the reader's language
            ResultReport(_results(campaign, unit_codes), lang, progress=page_done).write(str(tmp))
    return _("result report, %(n)d pages", n=len(pages))


def make_export(campaign: Campaign, out: str | Path, *, fmt: str, lang: str = "zh_CN", raw: bool = False,
                unit_codes: list[str] | None = None, actor: str | None = None,
                progress: Progress | None = None) -> str:
    """The results (summary) or with raw the anonymous raw answers, as CSV, XLSX or JSON; of
    every unit, or of these units. A raw export is written to the audit log (by actor, else
    the signed-in admin or the operating-system user)."""
    from .exports import FORMATS, write_raw, write_results
    if fmt not in FORMATS:
        raise OutputError(_("Unknown format %(fmt)s: use csv, xlsx or json.", fmt=fmt))
    with whole_file(out) as tmp:
        with force_locale(lang):  # headers and labels; messages stay in the reader's language
            if raw:
                count = write_raw(campaign, fmt, str(tmp), unit_codes)
                os.chmod(tmp, 0o600)  # every answer row: readable by its owner only, as backups are
            else:
                results = _results(campaign, unit_codes)
                write_results(results, fmt, str(tmp), lang)
    if raw:
        from .db import db
        from .disclosure import record_raw_export
        record_raw_export(campaign, fmt, count, actor)
        db.session.commit()
        return _("%(n)d answers", n=count)
    return _("results of %(n)d units", n=len(results.units))
