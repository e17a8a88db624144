"""Single-use form ids (一次性表单号): a repeated submission of the same form counts once.

Every answer form (a unit's QR page and a ballot) carries a hidden field `form_id` issued with
it: random bits, the day of issue and a signature with the instance's secret key, so issuing
one writes nothing. Storing the answers spends it in the same transaction (`spend`, called by
survey/responses.py): the `form_nonce` table gets the id's SHA-256 and the day of issue — no
response id, unit, campaign or time. A second submission of the same form (a double tap, a
browser resending, nginx retrying the POST on another server, a worker restarted mid-request)
finds it spent, writes nothing and is shown the thank-you page, because the first one counted.

A form without a valid id (a script, or a form served before this version) is answered as
before, without the check: the cookie and the rate limit still apply. A form older than
`VALID_DAYS` is shown again with the answers kept and a fresh id, so the table only needs to
hold ids issued in the last days; `purge_expired` deletes older rows (at most once an hour per
process, after an answer is stored).

The table is written by the answering transaction: anything that removes that transaction's
traces (row order, xmin, dead tuples) must include `form_nonce`; the scrub does
(`survey.anonymity.TABLES`, in the answering path's lock order: form id before token).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time

from flask import current_app
from sqlalchemy import delete, select

from .db import db
from .models import FormNonce, today

FIELD = "form_id"
VALID_DAYS = 2  # a form may be submitted on the day it was issued and the next day
_last_purge = 0.0


class AlreadySubmitted(Exception):
    """This form was submitted and counted already (possibly a moment ago, by a racing copy)."""


def _mac(random_part: str, day: int) -> str:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(secret, f"form id {random_part} {day}".encode(), hashlib.sha256).hexdigest()[:24]


def issue() -> str:
    """A fresh form id for a form about to be shown."""
    random_part, day = secrets.token_urlsafe(16), today().toordinal()
    return f"{random_part}.{day}.{_mac(random_part, day)}"


class FormId:
    """A submitted form id that carries a good signature."""

    def __init__(self, value: str, issued_on: dt.date):
        self.value, self.issued_on = value, issued_on

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.value.encode()).hexdigest()

    @property
    def expired(self) -> bool:
        return (today() - self.issued_on).days >= VALID_DAYS


def parse(value: str | None) -> FormId | None:
    """The submitted form id if it is one this instance issued (expired or not), else None."""
    parts = (value or "").split(".")
    if len(parts) != 3 or len(value) > 100 or not parts[1].isdigit():
        return None
    random_part, day, mac = parts[0], int(parts[1]), parts[2]
    if not hmac.compare_digest(mac.encode(), _mac(random_part, day).encode()):  # bytes: any text compares
        return None
    try:
        return FormId(value, dt.date.fromordinal(day))
    except (ValueError, OverflowError):
        return None


def spend(form_id: FormId) -> None:
    """Mark the form id spent inside the caller's transaction; raise AlreadySubmitted if it was.

    ON CONFLICT DO NOTHING waits for a racing transaction holding the same id: if that one
    commits, this one writes nothing and raises; if it rolls back, this one proceeds."""
    table = FormNonce.__table__
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    # RETURNING, not rowcount: psycopg reports no row count for INSERT … ON CONFLICT here
    written = db.session.execute(insert(table).values(nonce_hash=form_id.hash, issued_on=form_id.issued_on)
                                 .on_conflict_do_nothing(index_elements=["nonce_hash"])
                                 .returning(table.c.nonce_hash)).first()
    if written is None:
        raise AlreadySubmitted()


def was_spent(value: str | None) -> bool:
    """True if this submitted form id was spent already (the form counted)."""
    form_id = parse(value)
    return form_id is not None and db.session.get(FormNonce, form_id.hash) is not None


def purge_expired(force: bool = False) -> int:
    """Delete spent ids that could no longer be submitted (at most once an hour unless forced)."""
    global _last_purge
    if not force and time.monotonic() - _last_purge < 3600:
        return 0
    _last_purge = time.monotonic()
    cutoff = today() - dt.timedelta(days=VALID_DAYS)
    result = db.session.execute(delete(FormNonce).where(FormNonce.issued_on <= cutoff))
    db.session.commit()
    return result.rowcount or 0


def spent_count() -> int:
    """How many spent ids are held (for tests and the operator)."""
    from sqlalchemy import func
    return db.session.scalar(select(func.count()).select_from(FormNonce))
