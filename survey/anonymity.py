"""The scrub (清痕): removing what the database engine itself keeps of arrival order and of the
link between a ballot token and the answers stored in the same transaction.

The schema stores no time finer than a day, no address and no token with a response. What is
left is the engine's own bookkeeping, which a hostile reader of the database files can use:

- SQLite: the write-ahead log holds every commit's pages (a token's redemption beside the
  responses of the same commit); cells sit inside a B-tree page in the order they were
  written; a rowid table numbers its rows in arrival order; deleted rows may stay in freed
  pages.
- PostgreSQL: every row version carries the id of the transaction that wrote it (``xmin``)
  and lies in the heap in arrival order (``ctid``); an UPDATE or DELETE leaves the old version
  behind as a dead tuple that ``pageinspect`` reads, and plain VACUUM leaves its bytes in
  the page.

A scrub rewrites every row the answering transactions of one campaign wrote (responses,
answers, comment moderation, tokens, paper ballots and entries, tallies, and any table
registered with :func:`scrub_table`) in short chunks, each one a transaction of its own: the
rows then carry the chunk's transaction, and a token's chunk is never a response's chunk.
SQLite: each chunk deletes its rows and puts them back in primary-key order (random ids), with
``secure_delete`` on so what was deleted is zeroed; then the write-ahead log is checkpointed
and truncated to nothing. PostgreSQL: each chunk updates its rows to themselves (a new version
with the chunk's ``xmin``); then ``CLUSTER`` rewrites each table in primary-key order, so rows
lie in key order and no dead tuple, nor any byte of one, is left in a page.

Answering goes on during a scrub: each chunk holds the write locks for a moment and answers
wait for it (SQLite's busy timeout, PostgreSQL's lock queue); the scrub, not the answer, gives
up and retries when locks cross. A lease row in the database makes one process scrub at a
time however many workers and servers there are.

It runs when a campaign closes and, while it is open, every ``scrub_interval`` minutes (the
office's setting, at most an hour) from a thread in each `survey serve` worker, and by hand
with `survey scrub`. See docs/anonymity.md for what this promises and what it does not.
"""
from __future__ import annotations

import datetime as dt
import logging
import math
import os
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from .db import db

log = logging.getLogger("survey.scrub")

RESPONSES_PER_CHUNK = 800    # about 10,000 answer rows: a chunk holds the write locks about 0.3 s
TOKENS_PER_CHUNK = 4000
LEASE_SECONDS = 900
DEFAULT_INTERVAL_MINUTES = 60
LOCK_TIMEOUT = "500ms"       # below PostgreSQL's deadlock_timeout (1 s): the scrub gives way, not an answer
ATTEMPTS = 40
# SQLite's busy handler retries a waiting writer at most every 100 ms: a gap as long between
# chunks lets every waiting answer in, instead of the next chunk taking the lock again at once
SQLITE_GAP_SECONDS = 0.1


@dataclass(frozen=True)
class ScrubbedTable:
    """A table whose rows answering writes, rewritten by every scrub of a campaign.

    where: the SQL condition selecting one campaign's rows (parameter :c); key: the primary
    key columns the rows are put back in; chunk: 'responses' for tables keyed by a response
    id (rewritten with their response), 'tokens' for the token side, None for one transaction.
    """

    name: str
    where: str
    key: str
    chunk: str | None = None


# Lock order is the answering path's (paper ballot → entries → form id → token → response →
# answer → tally; survey/responses.py spends the form id before the token), so a scrub's
# LOCK TABLE never waits on an answer that waits on the scrub.
TABLES: list[ScrubbedTable] = [
    ScrubbedTable("paper_ballot", "campaign_id = :c", "campaign_id, serial"),
    ScrubbedTable("paper_entry", "campaign_id = :c", "campaign_id, serial, clerk"),
    # spent form ids (survey/nonces.py) link to no campaign: the whole small table is rewritten,
    # so their order and xmin keep no trace of when answers came
    ScrubbedTable("form_nonce", "1 = 1", "nonce_hash"),
    ScrubbedTable("ballot_token", "campaign_id = :c", "token_hash", chunk="tokens"),
    ScrubbedTable("response", "campaign_id = :c", "id", chunk="responses"),
    ScrubbedTable("answer", "response_id IN (SELECT id FROM scrub_ids)", "response_id, item", chunk="responses"),
    ScrubbedTable("comment_moderation", "response_id IN (SELECT id FROM scrub_ids)", "response_id, item",
                  chunk="responses"),
    ScrubbedTable("tally", "campaign_id = :c", "unit_id, item, choice, category, channel"),
    ScrubbedTable("paper_aggregate", "campaign_id = :c", "unit_id, item, choice, category"),
    ScrubbedTable("paper_tally_sheet", "campaign_id = :c", "id"),
    # scanned ballots (survey/omr): what was read on a page is cleared when its ballot is counted;
    # rewriting the tables leaves no old version of it (a serial beside its marks) in the file
    ScrubbedTable("scan_file", "campaign_id = :c", "id"),
    ScrubbedTable("scan_page", "campaign_id = :c", "id"),
    ScrubbedTable("scan_doubt", "campaign_id = :c", "id"),
]


def scrub_table(table: ScrubbedTable, before: str | None = None) -> None:
    """Add a table to every scrub (e.g. a store of form nonces), before the named one or last."""
    if any(t.name == table.name for t in TABLES):
        return
    names = [t.name for t in TABLES]
    TABLES.insert(names.index(before) if before in names else len(TABLES), table)


@dataclass
class ScrubReport:
    """What one scrub did, for the CLI, the log and the benchmark."""

    campaign_id: int
    rows: int = 0
    chunks: int = 0
    retries: int = 0
    seconds: float = 0.0
    longest_chunk: float = 0.0
    compact_seconds: float = 0.0


def _dialect() -> str:
    return db.engine.dialect.name


def _ranges(n: int, per_chunk: int) -> list[tuple[str, str | None]]:
    """Key ranges [lo, hi) over random lower-case hex keys, each holding about per_chunk rows."""
    k = max(1, math.ceil(n / per_chunk))
    bounds = [format(i * 16**8 // k, "08x") for i in range(k)] + [None]
    bounds[0] = ""
    return [(bounds[i], bounds[i + 1]) for i in range(k)]


def _range_sql(column: str, hi: str | None) -> str:
    collate = ' COLLATE "C"' if _dialect() == "postgresql" else ""
    sql = f"{column}{collate} >= :lo"
    return sql + (f" AND {column}{collate} < :hi" if hi is not None else "")


def _existing(conn) -> list[ScrubbedTable]:
    from sqlalchemy import inspect
    names = set(inspect(conn).get_table_names())
    return [t for t in TABLES if t.name in names]


def _begin(conn, tables: list[ScrubbedTable]) -> None:
    """Start a chunk's transaction holding the write locks of its tables."""
    if _dialect() == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        conn.exec_driver_sql("LOCK TABLE " + ", ".join(t.name for t in tables) + " IN SHARE ROW EXCLUSIVE MODE")


def _temp(name: str) -> str:
    if _dialect() == "sqlite":
        return f"CREATE TEMP TABLE {name} AS "
    return f"CREATE TEMP TABLE {name} ON COMMIT DROP AS "


def _rewrite(conn, tables: list[ScrubbedTable], params: dict, ids_sql: str | None = None) -> int:
    """Give every row of the chunk a new version written by this transaction.

    SQLite: copy the rows out, delete them, put them back in key order (an UPDATE would put a
    cell back in the slot it came from). PostgreSQL: UPDATE each row to itself, which writes a
    new version with this transaction's xmin and fires no foreign-key check; CLUSTER then lays
    the table out in key order (_forget_old_versions).
    """
    moved = 0
    copies = []
    if ids_sql:
        conn.execute(text(_temp("scrub_ids") + ids_sql), params)
    if _dialect() == "postgresql":
        for table in tables:
            column = table.key.split(",")[0].strip()
            moved += conn.execute(text(f"UPDATE {table.name} SET {column} = {column} WHERE {table.where}"),
                                  params).rowcount
        return moved
    for n, table in enumerate(tables):
        copy = f"scrub_copy_{n}"
        conn.execute(text(_temp(copy) + f"SELECT * FROM {table.name} WHERE {table.where}"), params)
        copies.append((table, copy))
    # children first, so no ON DELETE CASCADE fires (a cascade would drop comment moderation)
    for table, _copy in reversed(copies):
        conn.execute(text(f"DELETE FROM {table.name} WHERE {table.where}"), params)
    for table, copy in copies:
        moved += conn.execute(text(f"INSERT INTO {table.name} SELECT * FROM {copy} ORDER BY {table.key}")).rowcount
    for _table, copy in copies:
        conn.exec_driver_sql(f"DROP TABLE {copy}")
    if ids_sql:
        conn.exec_driver_sql("DROP TABLE scrub_ids")
    return moved


def _is_lock_conflict(exc: DBAPIError) -> bool:
    message = str(exc.orig).lower()
    return any(s in message for s in ("lock timeout", "locked", "deadlock", "could not obtain lock", "busy"))


def _run_chunk(report: ScrubReport, tables, params, ids_sql=None) -> None:
    """One chunk, retried when it meets a lock it must not wait for."""
    for attempt in range(ATTEMPTS):
        started = time.perf_counter()
        with db.engine.connect() as conn:
            try:
                if _dialect() == "sqlite":
                    conn.exec_driver_sql("PRAGMA temp_store = MEMORY")
                _begin(conn, tables)
                report.rows += _rewrite(conn, tables, params, ids_sql)
                conn.commit()
            except DBAPIError as exc:
                conn.rollback()
                if attempt == ATTEMPTS - 1 or not _is_lock_conflict(exc):
                    raise
                report.retries += 1
                time.sleep(0.05 * (attempt + 1))
                continue
        report.chunks += 1
        report.longest_chunk = max(report.longest_chunk, time.perf_counter() - started)
        if _dialect() == "sqlite":
            time.sleep(SQLITE_GAP_SECONDS)
        return


def _count(sql: str, c: int) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text(sql), {"c": c}).scalar() or 0)


def _forget_old_versions(report: ScrubReport, tables: list[ScrubbedTable]) -> None:
    """Make the engine drop every earlier version of the rewritten rows."""
    started = time.perf_counter()
    if _dialect() == "sqlite":
        # secure_delete (db.py) zeroed what was deleted; now the log of old pages goes
        for attempt in range(ATTEMPTS):
            with db.engine.connect() as conn:
                busy, _log_frames, _done = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
                conn.commit()
            if not busy:
                break
            report.retries += 1
            time.sleep(0.05 * (attempt + 1))
        else:
            raise RuntimeError("the write-ahead log could not be checkpointed: a reader stayed open")
    else:
        engine = db.engine.execution_options(isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            parts = [part for table in tables for part in _parts(conn, table.name)]
        for part in parts:  # one table (or partition) at a time: an answer waits for one at most
            for attempt in range(ATTEMPTS):
                with engine.connect() as conn:
                    try:
                        conn.exec_driver_sql(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
                        conn.exec_driver_sql(f"CLUSTER {part} USING {_primary_key_index(conn, part)}")
                        break
                    except DBAPIError as exc:
                        if attempt == ATTEMPTS - 1 or not _is_lock_conflict(exc):
                            raise
                        report.retries += 1
                        time.sleep(0.05 * (attempt + 1))
    report.compact_seconds = time.perf_counter() - started


def _parts(conn, table: str) -> list[str]:
    """The table itself, or its partitions if it is partitioned (answer: docs/anonymity.md)."""
    parts = list(conn.execute(text("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                   "WHERE i.inhparent = CAST(:t AS regclass) ORDER BY c.relname"), {"t": table}).scalars())
    return parts or [table]


def _primary_key_index(conn, table: str) -> str:
    return conn.execute(text("SELECT indexrelid::regclass::text FROM pg_index "
                             "WHERE indrelid = CAST(:t AS regclass) AND indisprimary"), {"t": table}).scalar_one()


def scrub(campaign_id: int) -> ScrubReport:
    """Rewrite one campaign's answer-side rows and make the engine forget their history.

    Must be called outside a transaction of the caller's (it commits chunk by chunk).
    """
    return scrub_many([campaign_id])[0]


def scrub_many(campaign_ids: list[int]) -> list[ScrubReport]:
    """Scrub several campaigns, compacting the tables once after all of them are rewritten."""
    from .omr.records import forget_finished
    for cid in campaign_ids:  # what is kept of scanned ballots no longer needed goes first
        forget_finished(cid)
    db.session.commit()
    tables = _tables()
    marks = {cid: writes_mark(cid) for cid in campaign_ids}  # what is written from now on is due next time
    reports = [_rewrite_campaign(cid, tables) for cid in campaign_ids]
    if reports:
        started = time.perf_counter()
        _forget_old_versions(reports[-1], tables)
        for report in reports:
            _mark_scrubbed(report.campaign_id, marks[report.campaign_id])
            report.seconds += time.perf_counter() - started
            log.info("scrubbed campaign %s: %d rows in %d chunks, %.1f s (longest chunk %.2f s, compaction %.1f s)",
                     report.campaign_id, report.rows, report.chunks, report.seconds, report.longest_chunk,
                     reports[-1].compact_seconds)
    return reports


def _rewrite_campaign(campaign_id: int, tables: list[ScrubbedTable]) -> ScrubReport:
    """Give every answer-side row of one campaign a new version, chunk by chunk."""
    report = ScrubReport(campaign_id)
    started = time.perf_counter()
    params = {"c": campaign_id}
    single = [t for t in tables if t.chunk is None]
    token_side = [t for t in tables if t.chunk == "tokens"]
    response_side = [t for t in tables if t.chunk == "responses"]
    before_tokens = [t for t in single if tables.index(t) < tables.index(token_side[0])] if token_side else []
    after = [t for t in single if t not in before_tokens]

    if before_tokens:
        _run_chunk(report, before_tokens, params)
    n_tokens = _count("SELECT count(*) FROM ballot_token WHERE campaign_id = :c", campaign_id)
    for lo, hi in _ranges(n_tokens, TOKENS_PER_CHUNK):
        ranged = [ScrubbedTable(t.name, f"{t.where} AND {_range_sql('token_hash', hi)}", t.key) for t in token_side]
        _run_chunk(report, ranged, {**params, "lo": lo, "hi": hi})
    n_responses = _count("SELECT count(*) FROM response WHERE campaign_id = :c", campaign_id)
    for lo, hi in _ranges(n_responses, RESPONSES_PER_CHUNK):
        ids_sql = f"SELECT id FROM response WHERE campaign_id = :c AND {_range_sql('id', hi)}"
        ranged = [ScrubbedTable(t.name, "id IN (SELECT id FROM scrub_ids)" if t.name == "response" else t.where,
                                t.key) for t in response_side]
        _run_chunk(report, ranged, {**params, "lo": lo, "hi": hi}, ids_sql=ids_sql)
    if after:
        _run_chunk(report, after, params)
    report.seconds = time.perf_counter() - started
    return report


def _tables() -> list[ScrubbedTable]:
    with db.engine.connect() as conn:
        return _existing(conn)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _mark_scrubbed(campaign_id: int, mark: str) -> None:
    from .models import Campaign
    db.session.execute(update(Campaign).where(Campaign.id == campaign_id).values(scrubbed_at=_now(), scrub_mark=mark))
    db.session.commit()


# --- when to scrub, and who -------------------------------------------------------------------
WRITES_MARK = (
    "SELECT (SELECT coalesce(sum(count), 0) FROM tally WHERE campaign_id = :c AND item = ''), "
    "(SELECT count(*) FROM ballot_token WHERE campaign_id = :c AND redeemed), "
    "(SELECT count(*) FROM paper_ballot WHERE campaign_id = :c), "
    "(SELECT count(*) FROM paper_ballot WHERE campaign_id = :c AND status = 'counted'), "
    "(SELECT count(*) FROM paper_entry WHERE campaign_id = :c), "
    "(SELECT count(*) FROM paper_tally_sheet WHERE campaign_id = :c)")


def writes_mark(campaign_id: int) -> str:
    """A summary that changes whenever an answer or a paper entry is written for the campaign:
    a campaign nothing was written to since its last scrub has nothing new to scrub."""
    with db.engine.connect() as conn:
        return ":".join(str(int(v or 0)) for v in conn.execute(text(WRITES_MARK), {"c": campaign_id}).one())


def due_campaigns(now: dt.datetime | None = None) -> list[int]:
    """Campaigns to scrub now: open or closed ones (paper ballots are still counted when closed)
    written to since their last scrub, once their interval has passed; and any not scrubbed
    since it closed (a scrub at closing that did not finish)."""
    from .models import Campaign
    now = now or _now()
    rows = db.session.execute(select(Campaign.id, Campaign.state, Campaign.scrub_interval, Campaign.scrubbed_at,
                                     Campaign.scrub_mark)
                              .where(Campaign.state != "draft")).all()
    due = []
    for cid, state, interval, scrubbed_at, mark in rows:
        minutes = min(interval or DEFAULT_INTERVAL_MINUTES, DEFAULT_INTERVAL_MINUTES)
        if scrubbed_at is None:
            due.append(cid)
        elif state in ("open", "closed") and scrubbed_at + dt.timedelta(minutes=minutes) <= now \
                and writes_mark(cid) != mark:
            due.append(cid)
    return due


HOLDER = f"{os.uname().nodename}:{os.getpid()}:{secrets.token_hex(4)}"


def take_lease(holder: str | None = None, seconds: int = LEASE_SECONDS) -> bool:
    """Take (or renew) the one scrub lease; False while another process holds it."""
    from .models import ScrubLease
    holder = holder or HOLDER
    now = _now()
    won = db.session.execute(
        update(ScrubLease).where(ScrubLease.name == "scrub",
                                 or_(ScrubLease.holder.is_(None), ScrubLease.holder == holder,
                                     ScrubLease.expires_at < now))
        .values(holder=holder, expires_at=now + dt.timedelta(seconds=seconds))).rowcount == 1
    if not won and db.session.scalar(select(func.count()).select_from(ScrubLease)) == 0:
        db.session.add(ScrubLease(name="scrub", holder=holder, expires_at=now + dt.timedelta(seconds=seconds)))
        try:
            db.session.commit()
            return True
        except IntegrityError:
            db.session.rollback()
            return False
    db.session.commit()
    return won


def release_lease(holder: str | None = None) -> None:
    """Give the lease back so another process need not wait for it to expire."""
    from .models import ScrubLease
    db.session.execute(update(ScrubLease).where(ScrubLease.name == "scrub", ScrubLease.holder == (holder or HOLDER))
                       .values(holder=None))
    db.session.commit()


def scrub_due(holder: str | None = None) -> list[ScrubReport]:
    """Scrub every campaign that is due, if this process gets the lease; else nothing."""
    due = due_campaigns()
    if not due or not take_lease(holder):
        return []
    try:
        due = due_campaigns()  # another process may have scrubbed some meanwhile
        return scrub_many(due)
    finally:
        release_lease(holder)


class Scrubber(threading.Thread):
    """A daemon thread in a server process that scrubs due campaigns every poll seconds."""

    def __init__(self, app, poll: float):
        super().__init__(name="survey-scrubber", daemon=True)
        self.app, self.poll = app, poll
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.poll * (0.5 + secrets.randbelow(1000) / 1000)):
            try:
                with self.app.app_context():
                    scrub_due()
            except Exception:  # a failed scrub is retried at the next poll; answering is unaffected
                log.exception("scrub failed; it will be tried again")


def start_scrubber(app) -> Scrubber | None:
    """Start the background scrubber for this process (SURVEY_SCRUB_POLL_SECONDS, 0 = off)."""
    poll = float(app.config.get("SURVEY_SCRUB_POLL_SECONDS", 60) or 0)
    if poll <= 0:
        return None
    thread = Scrubber(app, poll)
    thread.start()
    return thread
