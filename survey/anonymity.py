"""Removing arrival-order traces that the database engine itself keeps.

The schema stores no time finer than a day, no address and no token with a response. What is
left is the engine's own bookkeeping:

- SQLite: response, answer and ballot_token are WITHOUT ROWID tables, stored in the order of
  their random keys; redeeming a token updates its row in place. Nothing to do.
- PostgreSQL: every row carries the id of the transaction that wrote it (xmin) and sits in the
  heap in arrival order (ctid), so while a campaign runs a database superuser could pair a
  token's redemption with the response written in the same transaction. Closing a campaign
  rewrites its responses, answers and tokens in one transaction, in random-key order: all get
  the same xmin and a physical order that follows the random ids. See docs/anonymity.md.
"""
from sqlalchemy import text

from .db import db

REWRITE_POSTGRES = [
    "CREATE TEMP TABLE scrub_response ON COMMIT DROP AS SELECT * FROM response WHERE campaign_id = :c",
    "CREATE TEMP TABLE scrub_answer ON COMMIT DROP AS SELECT a.* FROM answer a JOIN response r ON r.id = a.response_id WHERE r.campaign_id = :c",
    "CREATE TEMP TABLE scrub_token ON COMMIT DROP AS SELECT * FROM ballot_token WHERE campaign_id = :c",
    "DELETE FROM answer a USING response r WHERE r.id = a.response_id AND r.campaign_id = :c",
    "DELETE FROM response WHERE campaign_id = :c",
    "INSERT INTO response SELECT * FROM scrub_response ORDER BY id",
    "INSERT INTO answer SELECT * FROM scrub_answer ORDER BY response_id, item",
    "DELETE FROM ballot_token WHERE campaign_id = :c",
    "INSERT INTO ballot_token SELECT * FROM scrub_token ORDER BY token_hash",
]


def scrub_arrival_order(campaign_id: int) -> None:
    """Rewrite a campaign's response-side rows so no engine trace of arrival order remains.

    Runs inside the caller's transaction (closing the campaign), so it is all or nothing.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for statement in REWRITE_POSTGRES:
        db.session.execute(text(statement), {"c": campaign_id})
