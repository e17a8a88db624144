"""Settings: defaults, the instance's config.py, then SURVEY_* environment variables."""
import os
import secrets
from pathlib import Path

DEFAULTS = {
    # SURVEY_DATABASE_URL switches from the embedded SQLite file to PostgreSQL.
    "DATABASE_URL": None,
    # The public address QR codes and printed short links point to. Printing refuses a loopback
    # or non-http(s) address (phones could not reach it) unless ALLOW_LOCAL_QR (the demo sets it).
    "BASE_URL": "http://127.0.0.1:5000",
    "ALLOW_LOCAL_QR": False,
    # The task queue of the admin's background jobs: empty for SQLite in the instance folder,
    # or redis://… to share it between servers.
    "QUEUE_URL": "",
    # The office's time zone, for the times the admin shows (the audit log, jobs) and the days of
    # remedy records (start, verified, overdue): office_today().
    "TIME_ZONE": "Asia/Shanghai",
    # Limits on answering, per client address (never in responses, never an address in the clear).
    # Empty: a SQLite file of its own in the instance folder, shared by every worker; redis://…
    # to share between servers; memory:// counts per worker (tests only).
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "",
    "RATELIMIT_ANSWER": "300 per minute;3000 per hour",
    "RATELIMIT_LOGIN": "10 per minute;50 per hour",
    "COMMENT_MAX_LENGTH": 500,
    "DISABLED_PLUGINS": "",
    "MAX_CONTENT_LENGTH": 256 * 1024,
    # An upload of scanned ballots (survey/omr): a scanner's PDF of a few hundred pages.
    "SCAN_MAX_BYTES": 1024 * 1024 * 1024,
    # How many reverse proxies (nginx) stand in front: their X-Forwarded-For is then trusted.
    "PROXY_COUNT": 0,
    # Log lines: "text" (time, level, logger, message) or "json"; and the level.
    "LOG_FORMAT": "text",
    "LOG_LEVEL": "INFO",
    # /metrics (Prometheus): answered to loopback clients not coming through a proxy, or to
    # anyone sending "Authorization: Bearer <this token>". Empty: loopback only.
    "METRICS_TOKEN": "",
    # How often each server process looks for campaigns due for a scrub (0 turns the thread off).
    "SCRUB_POLL_SECONDS": 60,
}


def _secret_key(instance: Path) -> str:
    """Read the instance's secret key, creating one on first start."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_hex(32))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    return path.read_text().strip()


def configure(app, test_config=None):
    """Fill app.config from defaults, instance/config.py, SURVEY_* variables and test_config."""
    app.config.from_mapping({f"SURVEY_{k}": v for k, v in DEFAULTS.items()})
    app.config["MAX_CONTENT_LENGTH"] = DEFAULTS["MAX_CONTENT_LENGTH"]
    app.config.from_pyfile("config.py", silent=True)
    for name, value in os.environ.items():
        if name == "SURVEY_SECRET_KEY":
            app.config["SECRET_KEY"] = value
        elif name.startswith("SURVEY_") and name[7:] in DEFAULTS:
            app.config[name] = _loads(value)
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(Path(app.instance_path))
    url = app.config.get("SURVEY_DATABASE_URL") or (
        "sqlite:///" + str(Path(app.instance_path) / "survey.sqlite")
    )
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(url)
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["SURVEY_MAX_CONTENT_LENGTH"])
    app.config["RATELIMIT_ENABLED"] = _truthy(app.config["SURVEY_RATELIMIT_ENABLED"])
    app.config["SURVEY_ALLOW_LOCAL_QR"] = _truthy(app.config["SURVEY_ALLOW_LOCAL_QR"])
    from .limits import storage_uri
    app.config["RATELIMIT_STORAGE_URI"] = storage_uri(app.config["SURVEY_RATELIMIT_STORAGE_URI"], app.instance_path)
    app.config["RATELIMIT_HEADERS_ENABLED"] = False
    # If Redis is unreachable, count in memory for a while rather than refuse residents' answers.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    # Flask's defaults are already in app.config (SameSite None, Secure off), so setdefault would
    # never apply: HttpOnly always, SameSite Lax unless set, Secure whenever served over https
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if str(app.config["SURVEY_BASE_URL"]).startswith("https:"):
        app.config["SESSION_COOKIE_SECURE"] = True


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for postgresql:// addresses."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def office_zone():
    """The office's time zone (SURVEY_TIME_ZONE): China time when unset, misspelt or outside an app."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from flask import current_app, has_app_context
    name = (current_app.config.get("SURVEY_TIME_ZONE") if has_app_context() else None) or DEFAULTS["TIME_ZONE"]
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # a misspelt setting shows China time, not an error
        return ZoneInfo(DEFAULTS["TIME_ZONE"])


def office_today():
    """Today in the office's time zone, whatever the server's clock is set to (often UTC): the day a
    remedy record starts, is verified or reminded, and after which its due date is overdue."""
    import datetime as dt
    return dt.datetime.now(office_zone()).date()


def _truthy(value) -> bool:
    """Read a boolean setting that may arrive as text from the environment."""
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off", "")
    return bool(value)


def _loads(value: str):
    """Keep environment values as text except plain integers."""
    return int(value) if value.isdigit() else value
