"""Two languages: Chinese (zh_CN) by default for residents, English beside it.

The locale comes from ?lang=, then the language cookie set by the visible switch, then
Accept-Language, then Chinese. Catalogs (.po, in the package) are compiled into the instance
folder on start when missing or stale, so a fresh install serves Chinese with no extra step.
"""
import os
import tempfile
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import has_request_context, request
from flask_babel import Babel

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
COOKIE = "lang"
SOURCE = Path(__file__).parent / "translations"


_PARSED = {name: Locale.parse(name) for name in LOCALES}  # parsed once, not per request


def select_locale() -> Locale:
    """Pick the locale for this request: ?lang=, the switch's cookie, Accept-Language, Chinese.

    Outside a request (the `survey` command) messages are English; printouts choose their
    language explicitly with force_locale."""
    if not has_request_context():
        return _PARSED["en"]
    asked = request.args.get("lang") or request.cookies.get(COOKIE)
    if asked not in LOCALES:
        asked = request.accept_languages.best_match(LOCALES, default=DEFAULT_LOCALE)
    return _PARSED[asked]


def compile_catalogs(target: Path) -> None:
    """Compile every .po under SOURCE into target unless an up-to-date .mo is there."""
    for po in SOURCE.glob("*/LC_MESSAGES/*.po"):
        # Babel may parse zh_CN as zh_Hans_CN: store the catalog under the name it will look for
        locale_dir = str(Locale.parse(po.parts[-3]))
        mo = target / locale_dir / "LC_MESSAGES" / po.with_suffix(".mo").name
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as f:
            catalog = read_po(f)
        fd, tmp = tempfile.mkstemp(dir=mo.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog)
        os.replace(tmp, mo)  # atomic: several workers may start at once


def init_app(app):
    """Compile catalogs into the instance and set up Flask-Babel."""
    target = Path(app.instance_path) / "translations"
    compile_catalogs(target)
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT_LOCALE
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(target)
    Babel(app, locale_selector=select_locale)

    @app.after_request
    def _remember_switch(response):
        """The visible language switch (?lang=) is remembered for the next pages."""
        asked = request.args.get("lang")
        if asked in LOCALES and request.cookies.get(COOKIE) != asked:
            response.set_cookie(COOKIE, asked, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
        return response

    @app.context_processor
    def _locale():
        from flask_babel import get_locale
        return {"current_locale": str(get_locale()), "locales": LOCALES}
