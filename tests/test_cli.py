"""The `survey` command: units import, campaigns, demo, serve — with clear errors."""
import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from survey.db import db
from survey.models import Unit
from survey.testing import free_port, wait_for_port

GOOD_CSV = """code,name,sector,parent,commitments
SCH-101,城关第一小学,school,县教育局,每周公开食堂账目；家长接待日每月一次
HOS-101,县人民医院,hospital,县卫健委,
VIL-101,红星村,village,城关镇,
"""


def units(app):
    with app.app_context():
        return {u.code: u for u in db.session.scalars(select(Unit))}


@pytest.fixture
def draft(runner):
    result = runner.invoke(args=["campaign", "create", "county-2025", "--name", "2025年度全县群众满意度测评"])
    assert result.exit_code == 0, result.output
    return "county-2025"


def test_import_csv_adds_units_with_commitments(app, runner, draft, tmp_path):
    path = tmp_path / "units.csv"
    path.write_text(GOOD_CSV, encoding="utf-8")
    result = runner.invoke(args=["units", "import", draft, str(path)])
    assert result.exit_code == 0 and "3 added" in result.output
    school = units(app)["SCH-101"]
    assert school.commitments == ["每周公开食堂账目", "家长接待日每月一次"] and school.parent == "县教育局"
    again = runner.invoke(args=["units", "import", draft, str(path)])
    assert "0 added, 3 updated" in again.output and len(units(app)) == 3


def test_import_xlsx_with_chinese_headers(app, runner, draft, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["单位编码", "单位名称", "类别", "上级单位"])
    sheet.append(["ENT-1", "县自来水公司", "enterprise", "县国资委"])
    sheet.append(["GOV-1", "县政务服务中心", "government", None])
    book.save(tmp_path / "units.xlsx")
    result = runner.invoke(args=["units", "import", draft, str(tmp_path / "units.xlsx")])
    assert result.exit_code == 0, result.output
    assert set(units(app)) == {"ENT-1", "GOV-1"}


def test_bad_file_names_each_row_and_field_and_imports_nothing(app, runner, draft, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("code,name,sector\nSCH-1,一小,school\nSCH 2,二小,school\nSCH-3,,school\n"
                    "SCH-1,重复,school\nX-5,某单位,spaceship\n", encoding="utf-8")
    result = runner.invoke(args=["units", "import", draft, str(path)])
    assert result.exit_code == 1
    for expected in ("row 3: field code", "row 4: field name: empty", "row 5: field code: SCH-1 is already used in row 2",
                     "row 6: field sector: unknown sector “spaceship”"):
        assert expected in result.output
    assert units(app) == {}


def test_import_refuses_missing_columns_and_wrong_type(runner, draft, tmp_path):
    (tmp_path / "nocols.csv").write_text("编码,名字\nA,B\n", encoding="utf-8")
    result = runner.invoke(args=["units", "import", draft, str(tmp_path / "nocols.csv")])
    assert result.exit_code == 1 and "row 1: missing column" in result.output
    (tmp_path / "units.pdf").write_bytes(b"%PDF-1.4")
    result = runner.invoke(args=["units", "import", draft, str(tmp_path / "units.pdf")])
    assert result.exit_code == 1 and "unsupported file type .pdf" in result.output


def test_gb18030_csv_from_a_spreadsheet(app, runner, draft, tmp_path):
    (tmp_path / "gbk.csv").write_bytes("code,name,sector\nVIL-9,柳树沟村,village\n".encode("gb18030"))
    assert runner.invoke(args=["units", "import", draft, str(tmp_path / "gbk.csv")]).exit_code == 0
    assert units(app)["VIL-9"].name == "柳树沟村"


def test_campaign_life_cycle_and_json_list(app, runner, draft, tmp_path):
    refused = runner.invoke(args=["campaign", "open", draft])
    assert refused.exit_code == 1 and "no units" in refused.output
    (tmp_path / "u.csv").write_text(GOOD_CSV, encoding="utf-8")
    runner.invoke(args=["units", "import", draft, str(tmp_path / "u.csv")])
    for action, state in (("open", "open"), ("close", "closed"), ("publish", "published")):
        result = runner.invoke(args=["campaign", action, draft])
        assert result.exit_code == 0 and f"now {state}" in result.output
    listed = json.loads(runner.invoke(args=["campaign", "list", "--json"]).output)
    assert listed == [{"id": listed[0]["id"], "slug": draft, "name": "2025年度全县群众满意度测评",
                       "state": "published", "units": 3}]
    assert runner.invoke(args=["campaign", "open", "no-such"]).exit_code == 2
    assert "no campaign 'no-such'" in runner.invoke(args=["campaign", "open", "no-such"]).output


def test_one_unit_code_answers_one_open_campaign(app, runner, make_campaign):
    make_campaign(slug="first")
    make_campaign(slug="second", state="draft")
    result = runner.invoke(args=["campaign", "open", "second"])
    assert result.exit_code == 1 and "GEN-001 is already in open campaign first" in result.output


def test_campaign_create_validates(runner, draft):
    assert runner.invoke(args=["campaign", "create", draft, "--name", "x"]).exit_code == 2
    assert runner.invoke(args=["campaign", "create", "Bad Slug", "--name", "x"]).exit_code == 2
    assert runner.invoke(args=["campaign", "create", "ok", "--name", "x", "--line", "150"]).exit_code == 2


def test_user_create(runner):
    assert runner.invoke(args=["user", "create", "clerk"], input="short\nshort\n").exit_code == 1
    assert runner.invoke(args=["user", "create", "clerk"], input="long-enough-1\nlong-enough-1\n").exit_code == 0
    again = runner.invoke(args=["user", "create", "clerk"], input="long-enough-1\nlong-enough-1\n")
    assert again.exit_code == 1 and "already exists" in again.output


def test_every_command_has_help(runner):
    from survey.cli import main
    def walk(group, path):
        for name, command in group.commands.items():
            result = runner.invoke(args=[*path, name, "--help"])
            assert result.exit_code == 0 and command.help, f"{' '.join(path + [name])} has no help"
            if hasattr(command, "commands"):
                walk(command, path + [name])
    walk(main, [])


def _env(tmp_path, backend_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    env.update(SURVEY_INSTANCE=str(tmp_path / "instance"), SURVEY_DATABASE_URL=backend_url)
    return env


def test_demo_prints_login_and_one_url_per_line(tmp_path):
    env = _env(tmp_path, "")
    del env["SURVEY_DATABASE_URL"]
    out = subprocess.run([sys.executable, "-m", "survey.cli", "demo", "--no-serve"], env=env,
                         capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    assert lines[0].endswith("/admin/login") and "user: admin" in lines[1]
    urls = [line for line in lines if "/s/" in line]
    assert len(urls) >= 15 and all(line.startswith("http://127.0.0.1:5000/s/") for line in urls)
    assert any("/s/SCH-" in u for u in urls) and any("/s/HOS-" in u for u in urls)


def test_serve_runs_gunicorn_and_redacts_tokens(app, make_campaign, make_tokens, tmp_path, full_answer):
    """`survey serve` answers over HTTP; its access log never shows a ballot token."""
    campaign = make_campaign()
    token, = make_tokens(campaign, category="resident")
    port = free_port()
    env = _env(tmp_path, app.config["SURVEY_DATABASE_URL"])
    env["SURVEY_SECRET_KEY"] = "x"
    server = subprocess.Popen([sys.executable, "-m", "survey.cli", "serve", "--bind", f"127.0.0.1:{port}",
                               "--workers", "2", "--access-log", "--allow-local-base-url"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/b/{token}") as page:
            assert page.status == 200 and "城关镇党委" in page.read().decode()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/s/GEN-001") as page:
            assert page.status == 200
        # the background worker `survey serve` started makes an admin job's file
        from survey.jobs import submit
        from survey.models import Campaign, Job
        with app.app_context():
            job_id = submit(db.session.get(Campaign, campaign), "tally_sheet", {"lang": "zh_CN"}, "office").id
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with app.app_context():
                state = db.session.get(Job, job_id).state
            if state not in ("queued", "running"):
                break
            time.sleep(0.3)
        assert state == "done"
    finally:
        server.terminate()
        log = server.communicate(timeout=30)[0]
    assert "/b/<token>" in log and token not in log


def test_serve_refuses_an_unmigrated_database(tmp_path):
    env = _env(tmp_path, "")
    del env["SURVEY_DATABASE_URL"]
    result = subprocess.run([sys.executable, "-m", "survey.cli", "serve"], env=env, capture_output=True, text=True)
    assert result.returncode == 1 and "survey db upgrade" in result.stderr
