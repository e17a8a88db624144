"""Every `survey` failure is one line saying what is wrong and how to fix it, a non-zero exit,
and nothing half-written: a missing output folder, a font setting that is not a font, a
database that does not answer or has no tables yet, an impossible or taken port."""
import os
import socket
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from survey.db import db
from survey.models import BallotBatch, BallotToken


def run(env, *args):
    """The `survey` command in this process (a fresh app each time, as a new process makes)."""
    from click.testing import CliRunner

    from survey.cli import main
    unset = {k: None for k in os.environ if k.startswith("SURVEY_")}
    result = CliRunner().invoke(main, list(args), env={**unset, **{k: v for k, v in env.items() if k.startswith("SURVEY_")}})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def run_process(env, *args):
    """The `survey` command in a new process (for what a process does once, like loading a font)."""
    return subprocess.run([sys.executable, "-m", "survey.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def one_line_error(result, *words):
    """Exit non-zero with exactly one 'Error:' line, no traceback, holding every word."""
    assert result.returncode != 0, result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in errors[0], (word, errors[0])
    return errors[0]


@pytest.fixture
def env(app, tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    environment.update(SURVEY_INSTANCE=app.instance_path, SURVEY_DATABASE_URL=app.config["SURVEY_DATABASE_URL"],
                       SURVEY_BASE_URL="https://pingyi.example.gov.cn", SURVEY_SECRET_KEY="x")
    return environment


@pytest.fixture
def fresh_env(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    environment.update(SURVEY_INSTANCE=str(tmp_path / "new-instance"))
    return environment


def test_an_output_folder_that_does_not_exist(app, env, make_campaign, tmp_path):
    make_campaign()
    missing = tmp_path / "no" / "such" / "folder"
    for args in (["posters", "test-2025"], ["ballots", "test-2025", "--count", "5"], ["tally-sheet", "test-2025"],
                 ["report", "test-2025"], ["export", "test-2025", "--format", "xlsx"],
                 ["export", "test-2025", "--format", "csv", "--raw"], ["units", "template"]):
        out = str(missing / "out.file")
        result = run(env, *args, *(["--out", out] if args[0] != "units" else [out]))
        one_line_error(result, str(missing), "does not exist", "mkdir -p")
    assert not (tmp_path / "no").exists()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BallotBatch)) == 0
        assert db.session.scalar(select(func.count()).select_from(BallotToken)) == 0


def test_a_font_setting_pointing_at_a_file_that_is_not_a_font(app, env, make_campaign, tmp_path):
    make_campaign()
    fake = tmp_path / "font.ttf"
    fake.write_text("this is not a font\n")
    env["SURVEY_PDF_FONT"] = str(fake)
    for args in (["ballots", "test-2025", "--count", "3"],):
        out = tmp_path / f"{args[0]}.pdf"
        result = run_process(env, *args, "--out", str(out))
        one_line_error(result, str(fake), "SURVEY_PDF_FONT")
        assert not out.exists() and not list(tmp_path.glob(".*.tmp"))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BallotBatch)) == 0


def test_a_database_that_does_not_answer(fresh_env):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    fresh_env["SURVEY_DATABASE_URL"] = f"postgresql://survey:s3cret-pw@127.0.0.1:{port}/survey"
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    bind = f"127.0.0.1:{free.getsockname()[1]}"
    free.close()
    for args in (["campaign", "list"], ["db", "upgrade"], ["serve", "--bind", bind], ["worker"]):
        line = one_line_error(run(fresh_env, *args), "cannot use the database", f"127.0.0.1:{port}",
                              "SURVEY_DATABASE_URL")
        assert "s3cret-pw" not in line


def test_a_database_not_yet_upgraded(fresh_env, tmp_path):
    for args in (["campaign", "list"], ["units", "import", "x", __file__], ["serve"], ["worker"]):
        one_line_error(run(fresh_env, *args), "survey db upgrade")
    assert run(fresh_env, "db", "upgrade").returncode == 0
    assert run(fresh_env, "campaign", "list").returncode == 0


def test_an_impossible_or_taken_port(env):
    for bind in ("127.0.0.1:99999", "127.0.0.1:http", "nocolon"):
        one_line_error(run(env, "serve", "--bind", bind), "--bind", "65535")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        one_line_error(run(env, "serve", "--bind", f"127.0.0.1:{port}"), f"127.0.0.1:{port}", "another")
        one_line_error(run(env, "demo", "--port", str(port)), f"127.0.0.1:{port}", "another")
    result = run(env, "demo", "--port", "70000")
    assert result.returncode == 2 and "70000" in result.stderr and "Traceback" not in result.stderr


def test_posters_with_a_loopback_address_name_the_setting(app, env, make_campaign, tmp_path):
    make_campaign()
    for url in ("http://127.0.0.1:5000", "http://localhost", "ftp://survey.example.org", "http://[::1]:8000"):
        env["SURVEY_BASE_URL"] = url
        for args in (["posters", "test-2025"], ["ballots", "test-2025", "--count", "2"]):
            out = tmp_path / "p.pdf"
            one_line_error(run(env, *args, "--out", str(out)), "SURVEY_BASE_URL", "instance/config.py")
            assert not out.exists()
    del env["SURVEY_BASE_URL"]  # the default is the loopback address of the demo
    one_line_error(run_process(env, "posters", "test-2025", "--out", str(tmp_path / "p.pdf")), "SURVEY_BASE_URL")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BallotBatch)) == 0
