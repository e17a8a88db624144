"""Importing units in the office's words: labels for sectors and questionnaires, messages in
the reader's language naming row and field, the XLSX template, and an open campaign's import
that never changes what opening fixed."""
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select
from test_results import answer

from survey.db import db
from survey.models import Campaign, Unit
from survey.results import compute
from survey.testing import csrf_from

UNITS_ZH = [["单位编码", "单位名称", "类别", "上级单位", "问卷"],
            ["SCH-1", "城关第一小学", "学校", "县教育局", None],
            ["HOS-1", "县人民医院", "医院", "县卫健委", "医院窗口服务满意度测评"],
            ["VIL-1", "红星村", "Villages", "城关镇", None],
            ["GOV-1", "县政务服务中心", "government", None, None]]


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def upload(client, slug, content, name="units.xlsx", lang="zh_CN"):
    client.set_cookie("lang", lang)
    token = csrf_from(client.get(f"/admin/campaigns/{slug}").get_data(as_text=True))
    return client.post(f"/admin/campaigns/{slug}/units/import", content_type="multipart/form-data",
                       data={"csrf_token": token, "file": (io.BytesIO(content), name)})


def units(app):
    with app.app_context():
        return {u.code: (u.sector, u.questionnaire, u.name, list(u.commitments or []))
                for u in db.session.scalars(select(Unit))}


def test_sectors_and_questionnaires_by_their_chinese_or_english_labels(app, admin_client, make_campaign):
    make_campaign(state="draft", units=())
    response = upload(admin_client, "test-2025", xlsx(UNITS_ZH))
    assert response.status_code == 302, response.get_data(as_text=True)
    got = units(app)
    assert got["SCH-1"][:2] == ("school", None) and got["HOS-1"][:2] == ("hospital", "hospital-window")
    assert got["VIL-1"][0] == "village" and got["GOV-1"][0] == "government"


def test_errors_in_chinese_name_row_and_field_with_no_english_or_ids(app, admin_client, make_campaign):
    make_campaign(state="draft", units=())
    rows = [UNITS_ZH[0], ["SCH-1", "一小", "宇宙飞船", None, None], ["HOS-1", "", "医院", None, None],
            ["HOS-2", "二院", "医院", None, "学校群众满意度测评"]]
    response = upload(admin_client, "test-2025", xlsx(rows))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "第 2 行" in html and "类别" in html and "宇宙飞船" in html and "学校、" in html
    assert "第 3 行" in html and "名称" in html
    assert "第 4 行" in html and "问卷" in html
    for english in ("row ", "field ", "unknown sector", "school", "hospital-window"):
        assert english not in html.split('class="problems"')[1].split("</ul>")[0], english
    assert units(app) == {}
    english = upload(admin_client, "test-2025", xlsx(rows), lang="en").get_data(as_text=True)
    assert "row 2: field sector: unknown sector “宇宙飞船”" in english


def test_cli_takes_labels_and_answers_in_english(app, runner, make_campaign, tmp_path):
    make_campaign(state="draft", units=())
    (tmp_path / "u.xlsx").write_bytes(xlsx(UNITS_ZH[:3] + [["X-1", "某地", "火星", None, None]]))
    result = runner.invoke(args=["units", "import", "test-2025", str(tmp_path / "u.xlsx")])
    assert result.exit_code == 1 and "row 4: field sector: unknown sector “火星”" in result.output
    (tmp_path / "u.xlsx").write_bytes(xlsx(UNITS_ZH))
    assert runner.invoke(args=["units", "import", "test-2025", str(tmp_path / "u.xlsx")]).exit_code == 0
    assert units(app)["HOS-1"][1] == "hospital-window"


def test_template_has_headers_example_and_drop_downs_and_imports_as_is(app, admin_client, runner, make_campaign, tmp_path):
    make_campaign(state="draft", units=())
    admin_client.set_cookie("lang", "zh_CN")
    response = admin_client.get("/admin/campaigns/test-2025/units/template.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]][:3] == ["单位编码", "单位名称", "类别"] and sheet["C2"].value == "学校"
    rules = {str(v.sqref).split(":")[0]: v.formula1 for v in sheet.data_validations.dataValidation}
    assert set(rules) == {"C2", "E2"}
    lists = book["lists"]
    assert "医院" in [c.value for c in lists["A"]] and "医院窗口服务满意度测评" in [c.value for c in lists["B"]]
    assert lists.sheet_state == "hidden"
    # the example row, as downloaded, imports
    assert upload(admin_client, "test-2025", response.data).status_code == 302
    assert units(app)["SCH-001"][0] == "school"
    out = tmp_path / "t.xlsx"
    assert runner.invoke(args=["units", "template", str(out), "--lang", "en"]).exit_code == 0
    assert load_workbook(out).worksheets[0]["A1"].value == "code"


def test_importing_while_open_keeps_the_questionnaire_opening_fixed(app, runner, make_campaign, tmp_path):
    """The bug: a re-import of the office's list (no questionnaire column filled in) moved a
    hospital from the window questionnaire to the sector default and cut its valid answers."""
    cid = make_campaign(state="draft", units=())
    (tmp_path / "first.xlsx").write_bytes(xlsx([UNITS_ZH[0], UNITS_ZH[2]]))
    assert runner.invoke(args=["units", "import", "test-2025", str(tmp_path / "first.xlsx")]).exit_code == 0
    assert runner.invoke(args=["campaign", "open", "test-2025"]).exit_code == 0
    answer(app, cid, "HOS-1", 80, "satisfied")

    def hospital():
        with app.app_context():
            return next(u for u in compute(db.session.get(Campaign, cid)).units if u.code == "HOS-1")
    before = hospital()
    assert before.raters == 80 and before.overall.total.valid >= 80 * 5
    valid_before, items_before = before.overall.total.valid, [i.key for i in before.items]

    # the same list again, questionnaire left empty and commitments added: nothing locked changes
    again = [["单位编码", "单位名称", "类别", "上级单位", "问卷"], ["HOS-1", "县人民医院（新名）", "医院", "县卫健委", None]]
    (tmp_path / "again.xlsx").write_bytes(xlsx(again))
    result = runner.invoke(args=["units", "import", "test-2025", str(tmp_path / "again.xlsx")])
    assert result.exit_code == 0, result.output
    after = hospital()
    assert units(app)["HOS-1"][:3] == ("hospital", "hospital-window", "县人民医院（新名）")
    assert after.raters == 80 and after.overall.total.valid == valid_before
    assert [i.key for i in after.items] == items_before

    # asking for another questionnaire, sector or commitments is refused, naming row and field
    for row, field in ([["HOS-1", "县人民医院", "医院", None, "hospital-patients"], "questionnaire"],
                       [["HOS-1", "县人民医院", "学校", None, None], "sector"]):
        (tmp_path / "move.xlsx").write_bytes(xlsx([again[0], row]))
        result = runner.invoke(args=["units", "import", "test-2025", str(tmp_path / "move.xlsx")])
        assert result.exit_code == 1 and f"row 2: field {field}: unit HOS-1" in result.output, result.output
    (tmp_path / "c.xlsx").write_bytes(xlsx([["code", "name", "sector", "commitments"],
                                             ["HOS-1", "县人民医院", "hospital", "新承诺"]]))
    result = runner.invoke(args=["units", "import", "test-2025", str(tmp_path / "c.xlsx")])
    assert result.exit_code == 1 and "row 2: field commitments" in result.output
    assert hospital().overall.total.valid == valid_before and units(app)["HOS-1"][1] == "hospital-window"


@pytest.mark.parametrize("words", ["普通群众代表", "Residents' representative", "resident"])
def test_ballot_category_in_the_office_words(app, runner, make_campaign, tmp_path, words):
    make_campaign(units=(("GEN-001", "城关镇党委", "general"),))
    result = runner.invoke(args=["ballots", "test-2025", "--count", "1", "--category", words,
                                 "--out", str(tmp_path / "b.pdf")])
    assert result.exit_code == 0, result.output
