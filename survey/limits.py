"""Rate limits per client address (Flask-Limiter), shared by every worker, never stored with
responses and never holding an address in the clear.

The answering limit (SURVEY_RATELIMIT_ANSWER, default 300 per minute and 3000 per hour per
address) is set to stop a script, not a meeting: an assembly hall of 500 people behind one
Wi-Fi address answering within five minutes sends about 100 answers a minute, with bursts of
perhaps 200; a script sending thousands is stopped within seconds. See docs/operators.md.

Where the counts live (SURVEY_RATELIMIT_STORAGE_URI): by default a SQLite file of its own in
the instance folder that all workers of `survey serve` share (survey/limit_storage.py); Redis
(``redis://…``) to share them between servers, falling back to each worker's memory while
Redis is unreachable (logged as a warning by ``survey.limits``, with the recovery, and shown
by /readyz). In every store the key is `client_key()`: an HMAC of the address with a
key derived from the instance's secret and the day, so no store holds an address.
"""
import datetime as dt
import hashlib
import hmac
import logging
from pathlib import Path

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from . import limit_storage


def client_key() -> str:
    """The client's address as the limits store sees it: HMAC-SHA256 with today's key.

    The key changes at midnight UTC (so does the key of every counter: at worst one window's
    count restarts), and is derived from the instance's secret key, so that every worker and
    every server of one instance agree on it."""
    day = dt.datetime.now(dt.UTC).date().isoformat()
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    day_key = hmac.new(secret, f"survey rate limit {day}".encode(), hashlib.sha256).digest()
    return hmac.new(day_key, (get_remote_address() or "").encode(), hashlib.sha256).hexdigest()[:32]


limiter = Limiter(key_func=client_key, default_limits=[])
log = logging.getLogger("survey.limits")
_last_state = {"value": "shared"}


def answer_limit() -> str:
    """The per-address limit on submitted answers."""
    return current_app.config["SURVEY_RATELIMIT_ANSWER"]


def login_limit() -> str:
    """The per-address limit on admin login attempts."""
    return current_app.config["SURVEY_RATELIMIT_LOGIN"]


def storage_uri(configured: str | None, instance_path: str) -> str:
    """The store's address: the configured one, or the instance's shared file by default."""
    if configured:
        return configured
    return f"{limit_storage.SCHEME}:///{Path(instance_path).resolve() / 'ratelimits.sqlite'}"


def storage_state() -> str:
    """"shared" while limits are counted in the configured storage, "fallback" while this
    worker counts in its own memory because that storage was unreachable."""
    return "fallback" if getattr(limiter, "_storage_dead", False) else "shared"


def _watch_fallback(response):
    state = storage_state()
    if state != _last_state["value"]:
        _last_state["value"] = state
        if state == "fallback":
            log.warning("rate-limit storage %s unreachable: limits are now counted in each worker's "
                        "memory (an address may send workers x the limit); answering goes on",
                        _safe_uri(current_app.config["RATELIMIT_STORAGE_URI"]))
        else:
            log.warning("rate-limit storage reachable again: limits are shared again")
    return response


def _safe_uri(uri: str) -> str:
    """The storage address without a password."""
    scheme, sep, rest = str(uri).partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return scheme + sep + rest


def init_app(app):
    """Attach the limiter; storage comes from SURVEY_RATELIMIT_STORAGE_URI."""
    limiter.init_app(app)
    if str(app.config["RATELIMIT_STORAGE_URI"]).startswith(("redis", "rediss")):
        app.after_request(_watch_fallback)
