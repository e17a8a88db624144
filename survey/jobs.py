"""Background jobs for the admin: a printout, report or export runs on a huey task queue and
its file is kept with the job, to download when done.

The queue is SQLite (instance/queue.sqlite) by default, so nothing else needs to run;
SURVEY_QUEUE_URL=redis://… puts it on Redis for several servers. The consumer runs beside the
web server (`survey serve` starts one; `survey worker` runs one on its own; `survey demo` runs
one in a thread). A job row in the database says what was asked and how far it got; the
progress (done, total, heartbeat) lives in the queue's key-value store, so a job writing in a
long database transaction can still report it. A job that was running when its consumer
stopped is marked interrupted when a consumer starts again (or, with Redis, when its
heartbeat is older than STALE seconds); it is never silently lost, and can be started again.

Permissions, for the roles table: the printing kinds need ``print``, the others ``results.view``.
"""
from __future__ import annotations

import logging
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from . import outputs
from .db import db
from .models import Campaign, Job, audit, utcnow

log = logging.getLogger("survey.jobs")
STALE = 120  # seconds without a heartbeat after which a running job on Redis counts as interrupted
ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class JobKind:
    """What a kind of job makes: its label, the permission it needs, its file and its function."""

    label: object
    permission: str
    suffix: str
    mimetype: str
    run: Callable  # run(campaign, out, params, actor, progress) -> summary


PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MIMETYPES = {"pdf": PDF, "xlsx": XLSX, "csv": "text/csv; charset=utf-8", "json": "application/json"}

KINDS: dict[str, JobKind] = {
    "posters": JobKind(_l("QR posters"), "print", "pdf", PDF, lambda c, out, p, actor, progress: outputs.make_posters(
        c, out, lang=p["lang"], a5=bool(p.get("a5")), unit_codes=p.get("units"), progress=progress)),
    "ballots": JobKind(_l("Numbered ballots"), "print", "pdf", PDF, lambda c, out, p, actor, progress: outputs.make_ballots(
        c, out, count=int(p["count"]), category=p.get("category"), unit_codes=p.get("units"), lang=p["lang"],
        actor=actor, progress=progress)),
    "tally_sheet": JobKind(_l("Tally sheet"), "print", "pdf", PDF, lambda c, out, p, actor, progress: outputs.make_tally_sheet(
        c, out, lang=p["lang"], category=p.get("category"), unit_codes=p.get("units"), progress=progress)),
    "report": JobKind(_l("Result report"), "results.view", "pdf", PDF, lambda c, out, p, actor, progress: outputs.make_report(
        c, out, lang=p["lang"], unit_codes=p.get("units"), progress=progress)),
    "export": JobKind(_l("Results table"), "results.view", "", "", lambda c, out, p, actor, progress: outputs.make_export(
        c, out, fmt=p["format"], lang=p["lang"], raw=False, unit_codes=p.get("units"), progress=progress)),
    "raw": JobKind(_l("Raw answers"), "results.raw", "", "", lambda c, out, p, actor, progress: outputs.make_export(
        c, out, fmt=p["format"], lang=p["lang"], raw=True, unit_codes=p.get("units"), actor=actor,
        progress=progress)),
}


def file_name(job: Job) -> str:
    """The download name: campaign-kind[-serials].suffix."""
    suffix = KINDS[job.kind].suffix or job.params.get("format", "bin")
    name = job.kind.replace("_", "-")
    if job.kind == "posters" and job.params.get("a5"):
        name += "-a5"
    return f"{job.campaign.slug}-{name}.{suffix}"


# --- the queue --------------------------------------------------------------------------------
def make_queue(app: Flask):
    """The app's huey queue (SQLite in the instance folder, or Redis) with its one task."""
    from huey import RedisHuey, SqliteHuey
    url = str(app.config.get("SURVEY_QUEUE_URL") or "")
    if url.startswith(("redis://", "rediss://", "unix://")):
        huey = RedisHuey("survey", url=url, results=False)
    else:
        from .db import create_private
        path = url or str(Path(app.instance_path) / "queue.sqlite")
        if not url:
            create_private(path)  # 0600, and so its -wal/-shm
        huey = SqliteHuey("survey", filename=path, results=False)

    @huey.task(name="survey.run_job")
    def run_job(job_id: str):
        with app.app_context():
            run(job_id)

    huey.survey_run_job = run_job
    return huey


_making = threading.Lock()


def queue_of(app: Flask):
    """The app's huey queue, made on first use: commands that queue nothing never open it."""
    if "survey_queue" not in app.extensions:
        with _making:
            if "survey_queue" not in app.extensions:
                app.extensions["survey_queue"] = make_queue(app)
    return app.extensions["survey_queue"]


def queue():
    """The current app's huey queue."""
    return queue_of(current_app._get_current_object())


def _progress_key(job_id: str) -> str:
    return f"progress:{job_id}"


def progress_of(job: Job) -> tuple[int, int, float | None]:
    """(done, total, time of the last heartbeat) of a job, from the queue's store."""
    value = queue().storage.peek_data(_progress_key(job.id))
    from huey.constants import EmptyData
    if value is EmptyData or value is None:
        return (0, job.total, None)
    done, total, beat = queue().serializer.deserialize(value)
    return done, total, beat


def _put_progress(job_id: str, done: int, total: int) -> None:
    q = queue()
    q.storage.put_data(_progress_key(job_id), q.serializer.serialize((done, total, time.time())))


def submit(campaign: Campaign, kind: str, params: dict, actor: str) -> Job:
    """Record a job and put it on the queue; nothing is made until a consumer takes it."""
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    total = int(params.get("count") or 0) if kind == "ballots" else (
        len(params.get("units") or campaign.units) if kind == "posters" else 0)
    job = Job(kind=kind, campaign_id=campaign.id, params=params, state="queued", total=total, created_by=actor)
    db.session.add(job)
    audit(actor, "job.submit", campaign.slug, kind=kind, **{k: v for k, v in params.items() if k != "units"})
    db.session.commit()
    queue().survey_run_job(job.id)
    return job


def run(job_id: str) -> None:
    """Make the job's file (inside an app context); the file is stored with the job."""
    job = db.session.get(Job, job_id)
    if job is None or job.state != "queued":
        return  # withdrawn, or already taken by another consumer
    claimed = db.session.execute(update(Job).where(Job.id == job_id, Job.state == "queued")
                                 .values(state="running", started_at=utcnow())).rowcount
    db.session.commit()
    if not claimed:
        return
    job = db.session.get(Job, job_id)
    kind = KINDS[job.kind]
    done, last = [0], [0.0]
    _put_progress(job.id, 0, job.total)

    def progress(n: int = 1) -> None:
        done[0] += n
        now = time.monotonic()
        if now - last[0] >= 0.3:
            last[0] = now
            _put_progress(job_id, done[0], job.total)

    refusals = _refusals()
    folder = Path(tempfile.mkdtemp(prefix="survey-job-"))
    out = folder / file_name(job)
    campaign, params, actor = job.campaign, dict(job.params), job.created_by
    try:
        with force_locale(params.get("ui_lang") or params.get("lang", "zh_CN")):
            summary = kind.run(campaign, out, params, actor, progress)
        content = out.read_bytes()
    except refusals as exc:  # a refusal: its message says what to do
        db.session.rollback()
        _finish(job_id, "failed", str(exc))
        return
    except Exception:  # a bug: reported as failed, logged with its traceback
        db.session.rollback()
        log.exception("job %s (%s) failed", job_id, job.kind)
        with force_locale(params.get("ui_lang") or params.get("lang", "zh_CN")):
            _finish(job_id, "failed", str(_l("The job failed unexpectedly; the server log has the details.")))
        return
    finally:
        for path in folder.iterdir():
            path.unlink(missing_ok=True)
        folder.rmdir()
    _put_progress(job_id, max(done[0], job.total), job.total)
    _finish(job_id, "done", str(summary), content=content, filename=out.name,
            mimetype=kind.mimetype or MIMETYPES.get(params.get("format"), "application/octet-stream"))


def _refusals() -> tuple[type, ...]:
    """The errors whose message is for the person who asked (the rest are bugs, logged)."""
    from printouts.fonts import FontMissing

    from .campaigns import CampaignError
    from .paper import PaperError
    return outputs.OutputError, PaperError, FontMissing, CampaignError


def _finish(job_id: str, state: str, message: str, **values) -> None:
    db.session.execute(update(Job).where(Job.id == job_id).values(
        state=state, message=message, finished_at=utcnow(),
        size=len(values["content"]) if "content" in values else None, **values))
    db.session.commit()


def mark_interrupted(stale_after: float | None = None) -> int:
    """Mark running jobs whose consumer stopped as interrupted; return how many.

    With the embedded SQLite queue one consumer serves the instance, so when it starts every
    running job was left by its predecessor (stale_after=0). With Redis only jobs whose
    heartbeat is older than stale_after are."""
    if stale_after is None:
        stale_after = 0 if isinstance(queue().storage, _sqlite_storage()) else STALE
    count = 0
    for job in db.session.scalars(select(Job).where(Job.state == "running")).all():
        _, _, beat = progress_of(job)
        if stale_after == 0 or beat is None or time.time() - beat > stale_after:
            job.state, job.finished_at = "interrupted", utcnow()
            count += 1
    db.session.commit()
    return count


def refresh(job: Job) -> Job:
    """The job, marked interrupted if it is running with no heartbeat for STALE seconds."""
    if job.state == "running":
        _, _, beat = progress_of(job)
        if beat is not None and time.time() - beat > STALE:
            job.state, job.finished_at = "interrupted", utcnow()
            db.session.commit()
    return job


def _sqlite_storage():
    from huey.storage import SqliteStorage
    return SqliteStorage


# --- consumers --------------------------------------------------------------------------------
def consumer(app: Flask, workers: int = 1, signals: bool = True):
    """A huey consumer of the app's queue, after marking the jobs its predecessor left.

    With signals (`survey worker`) it stops on SIGINT/SIGTERM; without (inside `survey demo`
    or a test) the host process keeps its own signal handling and calls stop()."""
    from huey.consumer import Consumer
    with app.app_context():
        interrupted = mark_interrupted()
        if interrupted:
            log.warning("%d job(s) were interrupted by the last stop; they can be started again", interrupted)

    class SurveyConsumer(Consumer):
        def _set_signal_handlers(self):
            if signals:
                super()._set_signal_handlers()

    return SurveyConsumer(queue_of(app), workers=workers, worker_type="thread",
                          periodic=False, initial_delay=0.1, max_delay=1.0, backoff=1.15)


def start_in_thread(app: Flask):
    """Start a consumer inside this process (the demo and tests); returns it, to stop()."""
    c = consumer(app, signals=False)
    c.start()
    return c


def worker_command() -> list[str]:
    """The command `survey serve` runs for its consumer process."""
    import sys
    return [sys.executable, "-m", "survey.cli", "worker"]


def run_pending(app: Flask, limit: int = 100) -> int:
    """Run the queued tasks in this thread, one after another (for tests and `survey worker --once`)."""
    huey = queue_of(app)
    n = 0
    while n < limit:
        task = huey.dequeue()
        if task is None:
            break
        huey.execute(task)
        n += 1
    return n

