"""Stylesheets and the scripts: inlined in the page or served under a content hash.

A resident on a slow connection pays about two seconds for every round trip, so the pages
residents see carry their stylesheet inline (``resident.css``, plus ``results.css`` on the
public results page): the first paint needs the page and nothing else. The
Content-Security-Policy admits exactly these inline blocks by their SHA-256 (``style_hashes``)
and no other inline style.

The office's stylesheet and the scripts (answering; keyboard entry of paper ballots) are linked at ``/assets/<hash>/<name>``: the
address changes whenever the content does, so a browser keeps each for a year without asking
again (``immutable``); an address with an old hash still gets today's file, but uncached.
Files are read once per app, and their gzip form is made once.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, abort, current_app, request, url_for
from markupsafe import Markup

STATIC = Path(__file__).parent / "static"
INLINE = ("resident.css", "results.css")
LINKED = ("office.css", "answer.js", "paper-entry.js")
TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
YEAR = 365 * 24 * 3600

bp = Blueprint("assets", __name__)


@dataclass(frozen=True)
class Asset:
    """One file as served: its text, its gzip form, its short content hash and its CSP hash."""

    name: str
    text: str
    gzipped: bytes
    version: str
    csp: str  # 'sha256-…' as a CSP source, and as the script's integrity value (without quotes)

    @classmethod
    def load(cls, name: str) -> "Asset":
        text = (STATIC / name).read_text(encoding="utf-8")
        data = text.encode()
        digest = hashlib.sha256(data)
        return cls(name, text, gzip.compress(data, compresslevel=9, mtime=0), digest.hexdigest()[:12],
                   "sha256-" + base64.b64encode(digest.digest()).decode())


class Assets:
    """The inlined and linked files of one app."""

    def __init__(self):
        self.files = {name: Asset.load(name) for name in INLINE + LINKED}

    def style_hashes(self) -> list[str]:
        """CSP sources for the inline stylesheets."""
        return [f"'{self.files[name].csp}'" for name in INLINE]

    def inline(self, name: str) -> Markup:
        """A <style> element with the file's exact text (the bytes its CSP hash was made of)."""
        return Markup("<style>") + Markup(self.files[name].text) + Markup("</style>")

    def url(self, name: str) -> str:
        """The address of a linked file, with its current content hash (an inlined one has none)."""
        if name not in LINKED:
            raise ValueError(f"{name} is not served as a file: inline it (inline_style) or add it to LINKED")
        asset = self.files[name]
        return url_for("assets.asset", version=asset.version, name=name)


def current_assets() -> Assets:
    """The app's files, read at start."""
    return current_app.extensions["survey_assets"]


@bp.get("/assets/<version>/<name>")
def asset(version, name):
    """A linked file; cached for a year when the address carries its current hash."""
    found = current_assets().files.get(name)
    if found is None or name not in LINKED:
        abort(404)
    gzipped = request.accept_encodings["gzip"] > 0
    response = current_app.response_class(found.gzipped if gzipped else found.text.encode(),
                                          content_type=TYPES[Path(name).suffix])
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = (f"public, max-age={YEAR}, immutable" if version == found.version
                                         else "no-cache")
    return response


def init_app(app):
    """Read the files, register /assets/ and the template helpers."""
    assets = Assets()
    app.extensions["survey_assets"] = assets
    app.register_blueprint(bp)
    app.jinja_env.globals.update(inline_style=assets.inline, asset_url=assets.url,
                                 asset_integrity=lambda name: assets.files[name].csp)
