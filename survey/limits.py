"""Rate limits per client address (Flask-Limiter), kept in memory or Redis, never stored
with responses.

The answering limit (SURVEY_RATELIMIT_ANSWER, default 300 per minute and 3000 per hour per
address) is set to stop a script, not a meeting: an assembly hall of 500 people behind one
Wi-Fi address answering within five minutes sends about 100 answers a minute, with bursts of
perhaps 200; a script sending thousands is stopped within seconds. See docs/operators.md.
"""
from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[])


def answer_limit() -> str:
    """The per-address limit on submitted answers."""
    return current_app.config["SURVEY_RATELIMIT_ANSWER"]


def login_limit() -> str:
    """The per-address limit on admin login attempts."""
    return current_app.config["SURVEY_RATELIMIT_LOGIN"]


def init_app(app):
    """Attach the limiter; storage comes from SURVEY_RATELIMIT_STORAGE_URI."""
    limiter.init_app(app)
