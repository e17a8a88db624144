"""The remedy ledger (整改台账, docs/remedy.md): XLSX and PDF of a campaign's remedy records in
the office's language, with the re-evaluation result through the disclosure rules; the office
and the supervisor download it, a branch admin cannot; the CLI writes the same file."""
from __future__ import annotations

import datetime as dt
import io
import subprocess

from openpyxl import load_workbook

from test_reevaluation import BASE, answer, finish, move, post
from test_remedy import closed  # noqa: F401  (the fixture)
from test_roles import make_user, sign_in


def pdf_text(data: bytes, tmp_path, name="ledger.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return "".join(text.split())  # cells wrap: compare without line breaks and spaces


def ready(app):
    """rem-2025 published; R-1 verified, R-2 done; the re-evaluation counted: R-1 under the
    line again, R-2 with too few raters (withheld)."""
    office, branch = sign_in(app, "office"), sign_in(app, "branch")
    finish(app, office, branch, codes=("R-1", "R-2"))
    assert post(office, f"{BASE}/reevaluate").status_code == 302
    move(app, "rem-2025-reeval", "open")
    answer(app, "rem-2025-reeval", "R-1", 40, "unsatisfied")
    answer(app, "rem-2025-reeval", "R-2", 6, "satisfied")
    move(app, "rem-2025-reeval", "close")
    return office, branch


def sheet_rows(data: bytes) -> list[tuple]:
    book = load_workbook(io.BytesIO(data))
    assert len(book.sheetnames) == 1
    return list(book.active.iter_rows(values_only=True))


def test_xlsx_ledger_in_both_languages(app, closed):
    office, _branch = ready(app)
    response = office.get(f"{BASE}/ledger.xlsx?lang=zh_CN")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "rem-2025-remedy-ledger-zh_CN.xlsx" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["整改台账"]
    rows = sheet_rows(response.data)
    assert rows[0] == ("单位编码", "单位", "拉低满意度的测评项目", "责任人", "开始日期", "整改期限", "整改时限",
                       "状态", "整改方案", "整改报告", "验收日期", "复评结果")
    assert [r[0] for r in rows[1:]] == ["R-1", "R-2"]
    today = dt.date.today()
    r1, r2 = rows[1], rows[2]
    assert r1[1] == "城关镇中心小学" and r1[3] == "branch" and r1[7] == "已验收"
    assert r1[10].date() == today and r1[4].date() == today and r1[5].date() > today
    assert r1[8] == "查找原因，制定措施" and r1[9].startswith("'=HYPERLINK")  # a formula stays text
    assert r1[2].splitlines()[0] == "领导班子好 0.0%" and "个工作日" in r1[6]
    assert r1[11] == "0.0% → 0.0%（+0.0 个百分点） · 复评仍未达线"
    assert r2[3] == "无（由测评办负责）" and r2[7] == "已完成" and r2[10] is None
    assert r2[11] == "复评：0.0% → 不显示（评议人数不足）" and "100.0%" not in str(r2)  # withheld stays withheld

    en = sheet_rows(office.get(f"{BASE}/ledger.xlsx?lang=en").data)
    assert en[0][0] == "Unit code" and en[0][-1] == "Re-evaluation" and en[1][7] == "verified"
    assert en[1][11] == "0.0% → 0.0% (+0.0 points) · again under the line"
    assert en[2][11] == "re-evaluation: 0.0% → withheld (too few raters)"


def test_pdf_ledger_in_both_languages(app, closed, tmp_path):
    office, _branch = ready(app)
    zh = office.get(f"{BASE}/ledger.pdf?lang=zh_CN")
    assert zh.status_code == 200 and zh.mimetype == "application/pdf"
    text = pdf_text(zh.data, tmp_path)
    for words in ("整改台账", "城关镇中心小学", "东街社区", "已验收", "已完成", "复评仍未达线", "责任人",
                  "查找原因", "评议人数不足"):
        assert words in text, words
    assert "100.0%" not in text
    en = pdf_text(office.get(f"{BASE}/ledger.pdf?lang=en").data, tmp_path, "en.pdf")
    for words in ("Remedy ledger", "Unit code", "verified", "again under the line", "too few raters", "none (the"):
        assert words.replace(" ", "") in en, words
    # the supervisor reads it too
    make_user(app, "super", "supervisor")
    assert sign_in(app, "super").get(f"{BASE}/ledger.pdf").status_code == 200
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(tmp_path / "ledger.pdf"),
                    str(tmp_path / "page")], check=True)
    assert (tmp_path / "page-1.png").stat().st_size > 10_000


def test_ledger_from_the_cli_and_refused_to_a_branch_admin(app, closed, runner, tmp_path, monkeypatch):
    office, branch = ready(app)
    assert branch.get(f"{BASE}/ledger.xlsx").status_code == 403
    assert branch.get(f"{BASE}/ledger.pdf").status_code == 403
    assert office.get("/admin/campaigns/nope-2025/remedies/ledger.pdf").status_code == 404
    assert office.get(f"{BASE}/ledger.csv").status_code == 404
    out = tmp_path / "ledger.xlsx"
    result = runner.invoke(args=["remedy", "ledger", "rem-2025", "--format", "xlsx", "--lang", "en", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sheet_rows(out.read_bytes()) == sheet_rows(office.get(f"{BASE}/ledger.xlsx?lang=en").data)
    monkeypatch.setenv("SURVEY_USER", "branch")
    refused = runner.invoke(args=["remedy", "ledger", "rem-2025", "--format", "pdf", "--out", str(tmp_path / "x.pdf")])
    assert refused.exit_code == 1 and "'remedy.ledger'" in refused.output and not (tmp_path / "x.pdf").exists()


def test_a_plan_of_the_longest_length_runs_on_over_pages(app, closed, tmp_path):
    """A plan of 20,000 characters (the most a record takes) is not cut off and breaks no page."""
    from test_reevaluation import records
    office = sign_in(app, "office")
    from test_remedy import publish
    publish(office)
    rid = records(app, closed)["R-2"]["id"]
    plan = ("整改措施第一条：增开窗口。" * 1600)[:19990] + "最后一句话"
    assert post(office, f"{BASE}/{rid}/plan", text=plan).status_code == 302
    response = office.get(f"{BASE}/ledger.pdf")
    assert response.status_code == 200
    (tmp_path / "long.pdf").write_bytes(response.data)
    info = subprocess.run(["pdfinfo", str(tmp_path / "long.pdf")], capture_output=True, text=True, check=True).stdout
    assert int(info.split("Pages:")[1].split()[0]) > 3
    assert "最后一句话" in pdf_text(response.data, tmp_path)
