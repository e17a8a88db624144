"""Disclosure control, tried as a hostile reader of the published results would (issue 9,
attacks 7 and 8): a small group's answers, or an unpublished previous campaign, must not be
readable from the public page, the JSON API, the report PDF or the result exports."""
import csv
import json
import subprocess

import pytest
from sqlalchemy import select
from test_results import answer, publish

from survey.db import db
from survey.disclosure import withheld_cells
from survey.models import AuditEntry, Campaign

UNITS = [("BIG-1", "城关镇党委", "general"), ("ONE-1", "东关社区", "general"), ("MID-1", "西关社区", "general")]


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def walk_figures(node, path=""):
    """Every figures dict in a results document, with where it is."""
    if isinstance(node, dict):
        if "rate" in node and "valid" in node:
            yield path, node
        for key, value in node.items():
            yield from walk_figures(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk_figures(value, f"{path}/{index}")


@pytest.fixture
def small_groups(app, make_campaign):
    """A published campaign: BIG-1 rated by 36 (one deputy among them, who answers unlike
    anyone else), ONE-1 rated by one deputy only, MID-1 by 31 with a paper group of 2."""
    cid = make_campaign(slug="small-2025", units=UNITS, minimum_sample=30)
    answer(app, cid, "BIG-1", 30, "satisfied", category="resident")
    answer(app, cid, "BIG-1", 5, "basic", category="service_recipient")
    answer(app, cid, "BIG-1", 1, "unsatisfied", category="deputy")  # the one deputy
    answer(app, cid, "ONE-1", 1, "unsatisfied", category="deputy")  # the only rater
    answer(app, cid, "MID-1", 29, "satisfied", category="resident")
    answer(app, cid, "MID-1", 2, "unsatisfied", category="resident", channel="paper")
    publish(app, cid)
    return cid


def test_withheld_cells_include_the_complement_of_a_lone_small_cell():
    assert withheld_cells({"resident": 30, "service_recipient": 8}, 5) == {}
    # one small cell could be worked out as total minus the others: the next smallest goes too
    assert withheld_cells({"resident": 30, "service_recipient": 8, "deputy": 1}, 5) == {
        "deputy": "small_cell", "service_recipient": "complementary"}
    # two small cells holding 5 or more together need no complement
    assert withheld_cells({"resident": 30, "a": 3, "b": 4}, 5) == {"a": "small_cell", "b": "small_cell"}
    # two channels: a small one takes the other with it
    assert withheld_cells({"online": 29, "paper": 2}, 5) == {"paper": "small_cell", "online": "complementary"}


def test_one_deputy_rating_a_unit_leaves_no_answer_in_the_api(client, small_groups):
    data = client.get("/api/campaigns/small-2025/results").get_json()
    assert data["campaign"]["minimum_cell"] == 5
    units = {u["code"]: u for u in data["units"]}
    one = units["ONE-1"]
    # the lone deputy: counted as a rater (composition check), nothing of what they answered
    assert one["raters"] == 1 and one["raters_by_category"] == {"deputy": 1}
    assert one["flags"]["not_enough_raters"] and not one["flags"]["must_remedy"]
    assert one["rank"] is None and one["sector_rank"] is None and one["remedy_items"] == []
    for where, figures in walk_figures(one):
        assert figures["rate"] is None and figures["valid"] is None and figures["weighted_score"] is None, where
        assert figures.get("counts") is None and figures["withheld"] == "not_enough_raters", where
    # the deputy among 36: their category is withheld, and so is the next smallest, so that
    # "total minus the categories shown" mixes the deputy with at least 5 people
    big = units["BIG-1"]
    assert big["rate"] is not None and big["rank"] == 1
    # (the items of the unit's QR form, general-visit, had no answers here)
    for item in [i for i in big["items"] if i["by_category"]] + [big]:
        assert item["by_category"]["deputy"]["withheld"] == "small_cell"
        assert item["by_category"]["service_recipient"]["withheld"] == "complementary"
        assert item["by_category"]["deputy"]["rate"] is None
        assert item["by_category"]["resident"]["rate"] == 1
    leadership = big["items"][0]
    left = {k: n - leadership["by_category"]["resident"]["counts"].get(k, 0) for k, n in leadership["counts"].items()}
    assert sum(left.values()) == 6  # what subtraction yields: six people's answers, not one
    # the paper pair of MID-1: both channels withheld (two cells: the small one takes the other)
    mid = units["MID-1"]
    for item in [i for i in mid["items"] if i["by_channel"]] + [mid]:
        assert item["by_channel"]["paper"]["withheld"] == "small_cell"
        assert item["by_channel"]["online"]["withheld"] == "complementary"
    # nowhere in the document does a cell of fewer than 5 raters carry a number
    for unit in data["units"]:
        for where, figures in walk_figures(unit):
            if "/by_category/" in where:
                cell = unit["raters_by_category"][where.rsplit("/", 1)[1]]
            elif "/by_channel/" in where:
                cell = unit["raters_by_channel"][where.rsplit("/", 1)[1]]
            else:
                cell = unit["raters"]
            if cell < 5:
                assert figures["valid"] is None and figures["rate"] is None, (unit["code"], where)


def test_the_public_page_neither_ranks_nor_lists_for_remedy_a_unit_of_one(client, small_groups):
    html = client.get("/results/small-2025").get_data(as_text=True)
    row = html.split("东关社区", 1)[1].split("</tr>", 1)[0]
    assert "评议人数不足" in row and "0.0%" not in row and "限期整改" not in row
    remedy = html.split("<h2>限期整改单位</h2>", 1)[1].split("<h2>", 1)[0]
    assert "东关社区" not in remedy
    assert "评议人数少于 5 人的分组不显示数据" in html
    english = client.get("/results/small-2025?lang=en").get_data(as_text=True)
    assert "Not enough raters" in english


def test_the_report_pdf_and_result_exports_hold_no_answer_of_a_unit_of_one(app, runner, small_groups, tmp_path):
    out = tmp_path / "report.pdf"
    assert runner.invoke(args=["report", "small-2025", "--out", str(out)]).exit_code == 0
    text = pdf_text(out)
    assert "评议人数不足" in text
    remedy = text.split("限期整改单位", 1)[1].split("参评人员构成", 1)[0]
    assert "东关社区" not in remedy  # not listed for remedy
    unit_part = text.split("东关社区 (ONE-1)", 1)[1][:400]
    assert "不满意 1" not in unit_part and "0.0%" not in unit_part
    assert runner.invoke(args=["export", "small-2025", "--format", "csv", "--lang", "en",
                               "--out", str(tmp_path / "r.csv")]).exit_code == 0
    with open(tmp_path / "r.csv", encoding="utf-8-sig") as f:
        rows = [r for r in csv.DictReader(f) if r["Unit code"] == "ONE-1"]
    assert len(rows) == 1 and rows[0]["Rank"] == "" and rows[0]["Satisfaction"] == ""
    assert rows[0]["Weighted score"] == "" and "Not enough raters" in rows[0]["Verdict"]
    assert rows[0]["Raters"] == "1"  # the rater count stays
    assert runner.invoke(args=["export", "small-2025", "--format", "xlsx", "--lang", "en",
                               "--out", str(tmp_path / "r.xlsx")]).exit_code == 0
    from openpyxl import load_workbook
    book = load_workbook(tmp_path / "r.xlsx")
    item_sheets = 0
    for sheet in book.worksheets:
        header = [c.value for c in sheet[1]]
        if "Valid answers" not in header:
            continue
        item_sheets += 1
        for row in sheet.iter_rows(min_row=2, values_only=True):
            if row[0] == "ONE-1":  # every figure of the lone deputy's unit is an empty cell
                assert all(v is None for v in row[2:]), (sheet.title, row)
    assert item_sheets >= 12
    assert runner.invoke(args=["export", "small-2025", "--format", "json", "--out", str(tmp_path / "r.json")]).exit_code == 0
    one = next(u for u in json.loads((tmp_path / "r.json").read_text())["units"] if u["code"] == "ONE-1")
    assert all(f["rate"] is None for _w, f in walk_figures(one))


def test_the_admin_preview_shows_what_will_be_published(app, admin_client, make_campaign):
    cid = make_campaign(slug="preview-2025", units=UNITS[:2])
    answer(app, cid, "ONE-1", 1, "unsatisfied", category="deputy")
    data = admin_client.get("/api/campaigns/preview-2025/results").get_json()
    one = next(u for u in data["units"] if u["code"] == "ONE-1")
    assert one["rate"] is None and one["flags"]["not_enough_raters"]
    assert "评议人数不足" in admin_client.get("/results/preview-2025").get_data(as_text=True)


def test_raw_export_is_for_the_office_and_each_one_is_audited(app, runner, small_groups, tmp_path):
    for fmt in ("csv", "json"):
        result = runner.invoke(args=["export", "small-2025", "--raw", "--format", fmt, "--out", str(tmp_path / f"raw.{fmt}")])
        assert result.exit_code == 0 and "audit log" in result.output
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).filter_by(action="export.raw")).all()
        assert [(e.target, e.detail["format"]) for e in entries] == [("small-2025", "csv"), ("small-2025", "json")]
        assert all(e.detail["rows"] > 0 and e.actor.startswith("cli") for e in entries)


def test_minimum_cell_is_never_below_three(app):
    with app.app_context(), pytest.raises(ValueError, match="at least 3"):
        Campaign(slug="x", name="x", minimum_cell=2)


# --- attack 8: an unpublished previous campaign --------------------------------------------
def test_an_unpublished_previous_campaign_is_in_no_public_output(app, client, runner, make_campaign, tmp_path):
    secret = make_campaign(slug="secret-2024", units=UNITS[:1])
    answer(app, secret, "BIG-1", 40, "unsatisfied")  # rate 0%: a rank and a rate to leak
    with app.app_context():
        campaign = db.session.get(Campaign, secret)
        campaign.name = "内部摸底测评"
        from survey.campaigns import transition
        from survey.registry import current_registry
        transition(campaign, "close", current_registry(), "test")  # closed, never published
        db.session.commit()
    cid = make_campaign(slug="open-2025", units=UNITS[:1], previous_campaign_id=secret)
    answer(app, cid, "BIG-1", 40, "satisfied")
    publish(app, cid)
    outputs = {"page": client.get("/results/open-2025").get_data(as_text=True),
               "page_en": client.get("/results/open-2025?lang=en").get_data(as_text=True),
               "api": client.get("/api/campaigns/open-2025/results").get_data(as_text=True)}
    assert runner.invoke(args=["report", "open-2025", "--out", str(tmp_path / "r.pdf")]).exit_code == 0
    outputs["pdf"] = pdf_text(tmp_path / "r.pdf")
    for fmt in ("csv", "json"):
        assert runner.invoke(args=["export", "open-2025", "--format", fmt, "--out", str(tmp_path / f"r.{fmt}")]).exit_code == 0
        outputs[fmt] = (tmp_path / f"r.{fmt}").read_text(encoding="utf-8-sig")
    for where, text in outputs.items():
        assert "内部摸底测评" not in text and "secret-2024" not in text, where
    data = json.loads(outputs["api"])
    unit = data["units"][0]
    assert data["campaign"]["previous"] is None
    assert unit["previous_rate"] is None and unit["previous_rank"] is None and unit["change"] is None
    assert "-100.0" not in outputs["page"] and "+100.0" not in outputs["page"]
    # published, it may be compared with
    with app.app_context():
        from survey.campaigns import transition
        from survey.registry import current_registry
        transition(db.session.get(Campaign, secret), "publish", current_registry(), "test")
        db.session.commit()
    data = client.get("/api/campaigns/open-2025/results").get_json()
    assert data["campaign"]["previous"] == "secret-2024" and data["units"][0]["change"] == pytest.approx(1.0)


def test_the_command_line_sets_the_minimum_cell_and_refuses_less_than_three(app, runner):
    assert runner.invoke(args=["campaign", "create", "cell-2025", "--name", "x", "--minimum-cell", "7"]).exit_code == 0
    refused = runner.invoke(args=["campaign", "create", "cell-2026", "--name", "x", "--minimum-cell", "2"])
    assert refused.exit_code == 2 and "--minimum-cell" in refused.output
    with app.app_context():
        assert {c.slug: c.minimum_cell for c in db.session.scalars(select(Campaign))} == {"cell-2025": 7}


def test_an_instance_of_the_previous_version_upgrades_and_keeps_its_campaigns(backend, tmp_path, request):
    """Migration 0004_trust: a database at the revision before it gets minimum_cell 5 on its campaigns and the
    form_nonce table, and keeps its data."""
    import uuid

    from sqlalchemy import inspect, text

    from survey import create_app
    from survey.migrate import upgrade
    from survey.testing import _base_config
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    else:
        server = request.getfixturevalue("postgres_server")
        name = "old_" + uuid.uuid4().hex[:10]
        server.execute(f"CREATE DATABASE {name}")
        url = server.url(name)
    app = create_app(_base_config(tmp_path, url))
    with app.app_context():
        upgrade("0004_personal_data")
        db.session.execute(text("INSERT INTO campaign (slug, name, state, satisfaction_line, composition_minimum, "
                                "minimum_sample, access, allow_repeat, show_comments) "
                                "VALUES ('old-2024', '旧测评', 'published', 0.7, 0.3, 30, 'both', false, false)"))
        db.session.commit()
        upgrade()
        campaign = db.session.scalar(select(Campaign))
        assert (campaign.slug, campaign.name, campaign.minimum_cell) == ("old-2024", "旧测评", 5)
        assert "form_nonce" in inspect(db.engine).get_table_names()
        db.session.remove()
        db.engine.dispose()


def test_reports_and_exports_refuse_the_full_figures(app, small_groups, tmp_path):
    """A new view that forgets the rule fails loudly instead of publishing small groups."""
    from printouts.report import ResultReport
    from survey.exports import write_results
    from survey.results import compute
    with app.app_context():
        full = compute(db.session.get(Campaign, small_groups))
        with pytest.raises(ValueError, match="disclosed_results"):
            ResultReport(full)
        with pytest.raises(ValueError, match="disclosed_results"):
            write_results(full, "csv", str(tmp_path / "x.csv"))
