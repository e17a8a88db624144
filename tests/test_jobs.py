"""Print and download in the admin: jobs on the real huey queue (SQLite in the instance
folder), their progress page, their files; refusals of unreachable QR addresses; a restart
that interrupts a running job and keeps a finished file."""
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from survey.db import db
from survey.jobs import run_pending
from survey.models import BallotBatch, BallotToken, Job

UNITS = [("GEN-001", "城关镇党委", "general"), ("GEN-002", "东街社区党支部", "general")]
needs_poppler = pytest.mark.skipif(not all(shutil.which(t) for t in ("pdftoppm", "zbarimg", "pdftotext")),
                                   reason="poppler-utils and zbar-tools are needed")


@pytest.fixture
def campaign(make_campaign):
    return make_campaign(units=UNITS)


def submit(client, path, **data):
    token = client.csrf("/admin/campaigns/test-2025/jobs/")
    return client.post(f"/admin/campaigns/test-2025/jobs/{path}", data={"csrf_token": token, **data})


def job_id(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


@needs_poppler
def test_ballots_from_the_admin_run_on_the_queue_with_progress_and_a_file(app, admin_client, campaign, tmp_path):
    page = admin_client.get("/admin/campaigns/test-2025/jobs/").get_data(as_text=True)
    assert "http://survey.test" in page  # the address the codes will carry, before printing
    jid = job_id(submit(admin_client, "print/ballots", count="30", category="", lang="zh_CN"))
    waiting = admin_client.get(f"/admin/campaigns/test-2025/jobs/{jid}").get_data(as_text=True)
    assert 'http-equiv="refresh"' in waiting and "<progress" in waiting and "0 / 30" in waiting
    with app.app_context():
        assert db.session.get(Job, jid).state == "queued"
        assert db.session.scalar(select(func.count()).select_from(BallotToken)) == 0  # nothing made yet
    assert run_pending(app) == 1
    done = admin_client.get(f"/admin/campaigns/test-2025/jobs/{jid}").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in done and "test-2025-ballots.pdf" in done
    pdf = admin_client.get(f"/admin/campaigns/test-2025/jobs/{jid}/file")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    path = tmp_path / "b.pdf"
    path.write_bytes(pdf.data)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", str(path), str(tmp_path / "p")], check=True)
    codes = subprocess.run(["zbarimg", "-q", "--raw", str(next(tmp_path.glob("p-*.png")))],
                           capture_output=True, text=True).stdout.split()
    # the answering address, and the page's own code (ballot and page numbers, no token)
    answer = [c for c in codes if not c.startswith("B:")]
    assert len(answer) == 1 and answer[0].startswith("http://survey.test/b/"), codes
    assert any(c.startswith("B:1:P:1/") for c in codes), codes
    with app.app_context():
        batch = db.session.scalar(select(BallotBatch))
        assert (batch.serial_from, batch.serial_to, batch.count) == (1, 30, 30)
        assert db.session.scalar(select(func.count()).select_from(BallotToken)) == 30


def test_every_kind_of_job_makes_its_file(app, admin_client, campaign):
    ids = {
        "posters": job_id(submit(admin_client, "print/posters", size="a5", lang="en")),
        "tally": job_id(submit(admin_client, "print/tally_sheet", lang="zh_CN", units="GEN-002")),
        "report": job_id(submit(admin_client, "results/report", lang="zh_CN")),
        "xlsx": job_id(submit(admin_client, "results/export", format="xlsx", lang="zh_CN")),
        "csv": job_id(submit(admin_client, "results/export", format="csv", lang="en")),
        "json": job_id(submit(admin_client, "results/export", format="json", lang="en")),
        "raw": job_id(submit(admin_client, "results/raw", format="csv", lang="en")),
    }
    assert run_pending(app) == len(ids)
    files = {}
    for name, jid in ids.items():
        response = admin_client.get(f"/admin/campaigns/test-2025/jobs/{jid}/file")
        assert response.status_code == 200, (name, admin_client.get(f"/admin/campaigns/test-2025/jobs/{jid}").data)
        files[name] = response.data
    assert all(files[k].startswith(b"%PDF") for k in ("posters", "tally", "report"))
    book = load_workbook(io.BytesIO(files["xlsx"]))
    assert "汇总" in book.sheetnames
    assert files["csv"].startswith(b"\xef\xbb\xbf")
    listing = admin_client.get("/admin/campaigns/test-2025/jobs/").get_data(as_text=True)
    assert listing.count("test-2025-") >= len(ids)


def test_bad_job_input_is_named_and_nothing_is_queued(app, admin_client, campaign):
    for data, words in [({"count": "0"}, "1"), ({"count": "abc"}, "1"), ({"count": "5", "units": "GEN-001,NOPE-9"}, "NOPE-9")]:
        response = submit(admin_client, "print/ballots", lang="zh_CN", **data)
        assert response.status_code == 422 and words in response.get_data(as_text=True)
    response = submit(admin_client, "results/export", format="docx")
    assert response.status_code == 422
    no_token = admin_client.post("/admin/campaigns/test-2025/jobs/print/posters", data={"lang": "zh_CN"})
    assert no_token.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Job)) == 0
    assert admin_client.get("/admin/campaigns/test-2025/jobs/nope").status_code == 404
    assert admin_client.get("/admin/campaigns/test-2025/jobs/" + "x" * 300).status_code == 404


def test_a_refused_job_fails_with_its_reason_in_the_readers_language(app, admin_client, make_campaign):
    make_campaign(units=UNITS, state="draft")
    jid = job_id(submit(admin_client, "print/ballots", count="5", lang="zh_CN"))
    run_pending(app)
    page = admin_client.get(f"/admin/campaigns/test-2025/jobs/{jid}?lang=zh_CN").get_data(as_text=True)
    with app.app_context():
        job = db.session.get(Job, jid)
        assert job.state == "failed" and "草稿" in job.message and job.message in page, job.message
        assert "Ballots" not in job.message
        assert db.session.scalar(select(func.count()).select_from(BallotBatch)) == 0


@pytest.mark.parametrize("app_config", [{"SURVEY_BASE_URL": "http://127.0.0.1:5000"}])
def test_loopback_address_refuses_posters_and_ballots_in_the_admin(app, admin_client, campaign):
    page = admin_client.get("/admin/campaigns/test-2025/jobs/?lang=en").get_data(as_text=True)
    assert "SURVEY_BASE_URL" in page and "cannot be printed now" in page
    jid = job_id(submit(admin_client, "print/posters", lang="zh_CN"))
    run_pending(app)
    with app.app_context():
        job = db.session.get(Job, jid)
        assert job.state == "failed" and "SURVEY_BASE_URL" in job.message and job.content is None
    now = admin_client.get("/admin/campaigns/test-2025/paper/posters.pdf?lang=en")
    assert now.status_code == 302  # back to the page with the reason, no PDF
    assert admin_client.get("/admin/campaigns/test-2025/units/GEN-001/qr.png").status_code in (302, 409)


@pytest.mark.parametrize("lang", ["xx", "../../etc", "zh_CN'", ""])
def test_pdf_routes_answer_a_bad_lang_with_the_default(admin_client, campaign, lang):
    for path in ("paper/tally-sheet.pdf", "paper/posters.pdf"):
        response = admin_client.get(f"/admin/campaigns/test-2025/{path}?lang={lang}")
        assert response.status_code == 200 and response.data.startswith(b"%PDF"), path


def _worker(env):
    return subprocess.Popen([sys.executable, "-m", "survey.cli", "worker"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _wait(app, jid, states, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            db.session.remove()
            job = db.session.get(Job, jid)
            if job.state in states:
                return job.state
        time.sleep(0.2)
    raise AssertionError(f"job {jid} never reached {states}")


def test_a_restart_reports_the_running_job_interrupted_and_keeps_the_finished_file(app, admin_client, campaign):
    """A real `survey worker` process makes a file, then is killed in the middle of a big job;
    after the restart the finished file still downloads and the big job says interrupted."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    env.update(SURVEY_INSTANCE=app.instance_path, SURVEY_DATABASE_URL=app.config["SURVEY_DATABASE_URL"],
               SURVEY_BASE_URL="http://survey.test", SURVEY_SECRET_KEY="test-secret-key")
    small = job_id(submit(admin_client, "print/tally_sheet", lang="zh_CN"))
    worker = _worker(env)
    try:
        assert _wait(app, small, ("done",)) == "done"
        big = job_id(submit(admin_client, "print/ballots", count="4000", lang="zh_CN"))
        _wait(app, big, ("running",))
        page = admin_client.get(f"/admin/campaigns/test-2025/jobs/{big}").get_data(as_text=True)
        assert re.search(r"\d+ / 4000", page)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # a power cut, not a polite stop
        worker.wait()
    worker = _worker(env)
    try:
        assert _wait(app, big, ("interrupted",)) == "interrupted"
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=20)
    page = admin_client.get(f"/admin/campaigns/test-2025/jobs/{big}?lang=en").get_data(as_text=True)
    assert "interrupted" in page and "Start again" in page and 'http-equiv="refresh"' not in page
    assert admin_client.get(f"/admin/campaigns/test-2025/jobs/{small}/file").data.startswith(b"%PDF")
    with app.app_context():  # the interrupted batch recorded no ballots
        assert db.session.scalar(select(func.count()).select_from(BallotBatch)) == 0
        assert db.session.scalar(select(func.count()).select_from(BallotToken)) == 0


@pytest.mark.parametrize("app_config", [{"SURVEY_BASE_URL": "http://127.0.0.1:5000", "SURVEY_ALLOW_LOCAL_QR": True}])
def test_the_demo_setting_lets_local_codes_print(app, admin_client, campaign):
    """`survey demo` sets SURVEY_ALLOW_LOCAL_QR: its codes are tried on the same computer."""
    page = admin_client.get("/admin/campaigns/test-2025/jobs/").get_data(as_text=True)
    assert "http://127.0.0.1:5000" in page and "SURVEY_BASE_URL=" not in page
    jid = job_id(submit(admin_client, "print/posters", lang="zh_CN"))
    run_pending(app)
    assert admin_client.get(f"/admin/campaigns/test-2025/jobs/{jid}/file").data.startswith(b"%PDF")


def test_a_job_belongs_to_its_campaign(app, admin_client, make_campaign):
    """A job's id under another campaign's address is not found: ids do not cross campaigns."""
    make_campaign(units=UNITS)
    make_campaign(slug="other-2025", units=(("OTH-1", "别的单位", "general"),))
    jid = job_id(submit(admin_client, "print/tally_sheet", lang="zh_CN"))
    run_pending(app)
    assert admin_client.get(f"/admin/campaigns/test-2025/jobs/{jid}/file").status_code == 200
    for path in (f"/admin/campaigns/other-2025/jobs/{jid}", f"/admin/campaigns/other-2025/jobs/{jid}/file"):
        assert admin_client.get(path).status_code == 404
    anonymous = app.test_client()
    response = anonymous.get(f"/admin/campaigns/test-2025/jobs/{jid}/file")
    assert response.status_code in (302, 401) and b"%PDF" not in response.data


@pytest.fixture
def redis_url(tmp_path):
    from survey.testing import free_port, wait_for_port
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is needed")
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                               "--bind", "127.0.0.1", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)  # several servers: PostgreSQL and Redis
def test_the_queue_on_redis_and_its_heartbeat(app, admin_client, campaign, redis_url):
    """With SURVEY_QUEUE_URL=redis://… jobs queue in Redis; a restarting consumer marks only
    the running jobs whose heartbeat is stale (another server may be making the others)."""
    import time as clock

    from survey import jobs
    app.config["SURVEY_QUEUE_URL"] = redis_url
    app.extensions["survey_queue"] = jobs.make_queue(app)
    assert type(app.extensions["survey_queue"]).__name__ == "RedisHuey"
    jid = job_id(submit(admin_client, "print/tally_sheet", lang="zh_CN"))
    assert run_pending(app) == 1
    assert admin_client.get(f"/admin/campaigns/test-2025/jobs/{jid}/file").data.startswith(b"%PDF")
    with app.app_context():
        fresh, stale = (Job(kind="report", campaign_id=campaign, params={"lang": "zh_CN"}, state="running",
                            created_by="office") for _ in range(2))
        db.session.add_all([fresh, stale])
        db.session.commit()
        queue = jobs.queue_of(app)
        queue.storage.put_data(f"progress:{fresh.id}", queue.serializer.serialize((3, 0, clock.time())))
        queue.storage.put_data(f"progress:{stale.id}", queue.serializer.serialize((3, 0, clock.time() - 600)))
        assert jobs.mark_interrupted() == 1
        assert (db.session.get(Job, fresh.id).state, db.session.get(Job, stale.id).state) == ("running", "interrupted")
