"""Rate limits per client address (Flask-Limiter), kept in memory or Redis, never stored
with responses.

The answering limit (SURVEY_RATELIMIT_ANSWER, default 300 per minute and 3000 per hour per
address) is set to stop a script, not a meeting: an assembly hall of 500 people behind one
Wi-Fi address answering within five minutes sends about 100 answers a minute, with bursts of
perhaps 200; a script sending thousands is stopped within seconds. See docs/operators.md.

When Redis is unreachable, limits fall back to each worker's memory and answering goes on;
the fall-back and the recovery are logged as warnings by ``survey.limits`` and shown by
/readyz.
"""
import logging

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[])
log = logging.getLogger("survey.limits")
_last_state = {"value": "shared"}


def answer_limit() -> str:
    """The per-address limit on submitted answers."""
    return current_app.config["SURVEY_RATELIMIT_ANSWER"]


def login_limit() -> str:
    """The per-address limit on admin login attempts."""
    return current_app.config["SURVEY_RATELIMIT_LOGIN"]


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
    if not str(app.config["RATELIMIT_STORAGE_URI"]).startswith("memory"):
        app.after_request(_watch_fallback)
