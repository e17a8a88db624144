"""A rate-limit store every worker of one server shares: a small SQLite file of its own.

`survey serve` runs several gunicorn workers; limits kept in each worker's memory would let
one address send workers × the limit. This store is the default
(`SURVEY_RATELIMIT_STORAGE_URI` empty: `<instance>/ratelimits.sqlite`). It is a separate file,
never the response database, and it holds no address: the keys are HMACs of the address with
a key that changes every day (survey/limits.py), and each counter is deleted once its window
has passed, so after the longest window (one hour) nothing of an address is left. Several
servers share limits through Redis instead (docs/operators.md).

Each hit is one autocommitted upsert, atomic across processes; the file is in WAL mode and
not synced to disk (a lost count after a power cut is harmless). It implements the fixed
window that Flask-Limiter uses by default.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time

from limits.storage import Storage

SCHEME = "survey+sqlite"
PURGE_EVERY = 500  # hits per process between deletions of expired counters


class SharedFileStorage(Storage):
    """limits' Storage over one SQLite file: ``survey+sqlite:///abs/path/ratelimits.sqlite``."""

    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012 (limits reads this class attribute as a list)

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = (uri or "").split("://", 1)[1] if uri and "://" in uri else ""
        if not self.path:
            raise ValueError(f"{SCHEME}:// needs a file path, e.g. {SCHEME}:////srv/survey/ratelimits.sqlite")
        self._local = threading.local()
        self._hits = 0

    @property
    def base_exceptions(self):
        return sqlite3.Error

    def _db(self) -> sqlite3.Connection:
        """This thread's connection (a new one after a fork: connections are not shared)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            from .db import create_private
            create_private(self.path)  # 0600 before SQLite makes its -wal and -shm beside it
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("CREATE TABLE IF NOT EXISTS hit (key TEXT PRIMARY KEY, count INTEGER NOT NULL, "
                         "expires REAL NOT NULL) WITHOUT ROWID")
            try:
                os.chmod(self.path, 0o600)
            except OSError:
                pass
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to the key's counter, starting a new window if the old one is over."""
        now = time.time()
        conn = self._db()
        (count,) = conn.execute(
            "INSERT INTO hit (key, count, expires) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
            "count = CASE WHEN hit.expires <= ? THEN excluded.count ELSE hit.count + excluded.count END, "
            "expires = CASE WHEN hit.expires <= ? THEN excluded.expires ELSE hit.expires END "
            "RETURNING count", (key, amount, now + expiry, now, now)).fetchone()
        self._hits += 1
        if self._hits % PURGE_EVERY == 0:
            self.purge()
        return int(count)

    def get(self, key: str) -> int:
        row = self._db().execute("SELECT count FROM hit WHERE key = ? AND expires > ?", (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._db().execute("SELECT expires FROM hit WHERE key = ?", (key,)).fetchone()
        return float(row[0]) if row else time.time()

    def check(self) -> bool:
        try:
            self._db().execute("SELECT 1").fetchone()
            return True
        except sqlite3.Error:
            return False

    def reset(self) -> int | None:
        return self._db().execute("DELETE FROM hit").rowcount

    def clear(self, key: str) -> None:
        self._db().execute("DELETE FROM hit WHERE key = ?", (key,))

    def purge(self) -> int:
        """Delete the counters whose window is over."""
        return self._db().execute("DELETE FROM hit WHERE expires <= ?", (time.time(),)).rowcount
