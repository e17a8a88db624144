"""One-time ballot tokens: made at printing, stored hashed, redeemed exactly once.

The token itself is only ever on the printed ballot (and in its QR code); the database keeps
its SHA-256. Redemption is one conditional UPDATE (… WHERE redeemed = false) whose row count
says whether this submission won, so racing submissions of one token count once.
"""
from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import update

from .db import db
from .models import BallotToken

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{22}$")


class TokenUsed(Exception):
    """The token was redeemed already (possibly a moment ago, by a racing submission)."""


def new_token() -> str:
    """A fresh token: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


def token_hash(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def well_formed(token: str) -> bool:
    """True if the text could be a token at all (checked before any database look-up)."""
    return bool(TOKEN_PATTERN.match(token or ""))


def find(token: str) -> BallotToken | None:
    """The stored token for this text, or None."""
    if not well_formed(token):
        return None
    return db.session.get(BallotToken, token_hash(token))


def redeem(hashed: str) -> None:
    """Mark the token used inside the caller's transaction; raise TokenUsed if it was."""
    result = db.session.execute(
        update(BallotToken)
        .where(BallotToken.token_hash == hashed, BallotToken.redeemed.is_(False))
        .values(redeemed=True))
    if result.rowcount != 1:
        raise TokenUsed()
