"""Storing answers: response rows, answer rows and the running tally, in one transaction.

The form id, when the form carried one, is spent first (survey/nonces.py), then a ballot
token, when there is one, is redeemed, in the same transaction: either both are spent and
every answer is stored and counted, or nothing is written. Tables this transaction writes:
form_nonce, ballot_token, response, answer, tally.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import insert

from .db import db
from .models import Answer, Response, Tally, random_id, today
from .tokens import redeem

TALLY_KEY = ("unit_id", "item", "choice", "category", "channel")


@dataclass
class Sheet:
    """One filled-in answer sheet for one unit, ready to store."""

    campaign_id: int
    unit_id: int
    questionnaire: str
    category: str
    answers: dict  # answer key -> (choice, text, scale)


def store(sheets: list[Sheet], channel: str = "online", token_hash: str | None = None,
          form_id=None) -> None:
    """Store sheets (one per unit) atomically; spend the form id (a `nonces.FormId`) and the
    token first if given (raising `nonces.AlreadySubmitted` or `tokens.TokenUsed`)."""
    try:
        if form_id is not None:
            from .nonces import spend
            spend(form_id)
        if token_hash is not None:
            redeem(token_hash)
        responses, answers, tallies = [], [], {}
        day = today()
        for sheet in sheets:
            rid = random_id()
            responses.append({"id": rid, "campaign_id": sheet.campaign_id, "unit_id": sheet.unit_id,
                              "questionnaire": sheet.questionnaire, "category": sheet.category,
                              "channel": channel, "day": day})
            _count(tallies, sheet, "", "", channel)
            for key, (choice, text, _scale) in sheet.answers.items():
                if text is not None:
                    text = text.replace("\x00", "")  # PostgreSQL cannot store NUL; it is never meant
                answers.append({"response_id": rid, "item": key, "choice": choice, "text": text})
                if choice is not None:
                    _count(tallies, sheet, key, choice, channel)
        db.session.execute(insert(Response.__table__), responses)
        if answers:
            db.session.execute(insert(Answer.__table__), answers)
        add_to_tally(tallies)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    from .metrics import answers_stored
    answers_stored(len(sheets))


def _count(tallies: dict, sheet: Sheet, item: str, choice: str, channel: str) -> None:
    key = (sheet.unit_id, item, choice, sheet.category, channel)
    tallies[key] = (sheet.campaign_id, tallies.get(key, (0, 0))[1] + 1)


def add_to_tally(tallies: dict) -> None:
    """Add counts to the tally with one upsert; keys sorted so concurrent writers lock alike."""
    if not tallies:
        return
    rows = [dict(zip(TALLY_KEY, key), campaign_id=cid, count=n)
            for key, (cid, n) in sorted(tallies.items())]
    db.session.execute(_tally_upsert(db.session.get_bind().dialect.name), rows)


@lru_cache(maxsize=4)
def _tally_upsert(dialect: str):
    """INSERT … ON CONFLICT DO UPDATE count = count + excluded.count, built once per dialect."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    table = Tally.__table__
    stmt = upsert(table)
    return stmt.on_conflict_do_update(index_elements=list(TALLY_KEY),
                                      set_={"count": table.c.count + stmt.excluded["count"]})
