"""What an office hands on: the XLSX in Chinese (汇总, a sheet per item, the categories that
apply), the CSV with Chinese headers and a BOM, and the report's composition tables per sector
with only that sector's categories, on the page."""
import csv
import datetime as dt
import shutil
import subprocess

import pytest
from openpyxl import load_workbook
from test_results import answer

UNITS = [("HOS-1", "县人民医院", "hospital"), ("SCH-1", "城关第一小学", "school"), ("GEN-1", "城关镇党委", "general")]


@pytest.fixture
def rated(app, make_campaign):
    cid = make_campaign(slug="office-2025", units=UNITS, starts_on=dt.date(2025, 6, 1))
    answer(app, cid, "HOS-1", 30, "satisfied", category="patient")
    answer(app, cid, "HOS-1", 10, "unsatisfied", category="staff")
    answer(app, cid, "SCH-1", 35, "unsatisfied", category="parent")
    answer(app, cid, "GEN-1", 35, "satisfied", category="resident")
    return cid


def test_xlsx_in_chinese_with_summary_items_categories_and_formats(runner, rated, tmp_path):
    out = tmp_path / "r.xlsx"
    result = runner.invoke(args=["export", "office-2025", "--format", "xlsx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    assert book.sheetnames[0] == "汇总" and "评议人构成" in book.sheetnames and "领导班子好" in book.sheetnames
    summary = book["汇总"]
    header = [c.value for c in summary[1]]
    assert header[:7] == ["排名", "单位编码", "单位", "上级单位", "类别", "参评人数", "满意率"]
    assert summary.freeze_panes == "A2" and summary.column_dimensions["C"].width >= 12
    rows = {r[1]: r for r in summary.iter_rows(min_row=2, values_only=True)}
    assert len(rows) == 3
    hospital = rows["HOS-1"]
    assert hospital[4] == "医院" and hospital[5] == 40 and 0.7 < hospital[6] < 0.8
    rate_cell = summary.cell(row=2, column=7)
    assert rate_cell.number_format == "0.0%" and summary.cell(row=2, column=8).number_format == "0.0%"
    assert "限期整改" in rows["SCH-1"][10] and rows["SCH-1"][11] == "是"  # verdicts in words
    assert not any("must_remedy" in str(v) or isinstance(v, bool) for r in rows.values() for v in r)
    categories = {(r[0], r[2]) for r in book["评议人构成"].iter_rows(min_row=2, values_only=True)}
    assert ("HOS-1", "患者") in categories and ("HOS-1", "家长") not in categories
    assert ("SCH-1", "家长") in categories and ("SCH-1", "患者") not in categories
    assert ("GEN-1", "患者") not in categories and ("GEN-1", "普通群众代表") in categories
    settings = {r[0]: r[1] for r in book["测评活动"].iter_rows(min_row=2, values_only=True)}
    assert settings["开始日期"] == dt.datetime(2025, 6, 1)  # a date cell, not text


def test_csv_has_chinese_headers_and_a_bom_one_row_per_unit(runner, rated, tmp_path):
    out = tmp_path / "r.csv"
    assert runner.invoke(args=["export", "office-2025", "--format", "csv", "--out", str(out)]).exit_code == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    with open(out, encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 and rows[0]["排名"] == "1" and {r["单位编码"] for r in rows} == {"HOS-1", "SCH-1", "GEN-1"}


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is needed")
def test_report_composition_lists_each_sectors_categories_only(runner, rated, tmp_path):
    out = tmp_path / "r.pdf"
    assert runner.invoke(args=["report", "office-2025", "--out", str(out)]).exit_code == 0
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    section = text.split("参评人员构成", 1)[1].split("各单位测评结果", 1)[0]
    hospital = section.split("医院", 1)[1].split("学校", 1)[0]
    school = section.split("学校", 1)[1]
    assert "患者" in hospital and "家长" not in hospital
    assert "家长" in school.split("基层党组织")[0] and "患者" not in school
    width = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True).stdout
    assert "595.276 x 841.89" in width  # A4 portrait: the tables are laid out to its width


def test_an_export_limited_to_some_units_keeps_their_ranks(app, rated, tmp_path):
    """What a branch admin downloads: only its units, ranked as among all units."""
    from survey.db import db
    from survey.models import Campaign
    from survey.outputs import make_export
    out = tmp_path / "branch.csv"
    with app.test_request_context("/?lang=zh_CN"), app.app_context():
        make_export(db.session.get(Campaign, rated), out, fmt="csv", unit_codes=["SCH-1", "HOS-1"])
    with open(out, encoding="utf-8-sig") as f:
        rows = {r["单位编码"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"SCH-1", "HOS-1"} and rows["HOS-1"]["排名"] == "2" and rows["SCH-1"]["排名"] == "3"
