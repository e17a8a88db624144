"""Poor-rating reasons (差评原因) on the 好差评 scale (issue 15, item 4): declared by the
questionnaire, ticked only beside a poor choice, stored as answers beside the rating, counted
per unit in the results, the JSON and the exports, withheld with the item's small cells, kept
by the scrub, and carried by an XLSForm round trip. The resident's page is in
tests/test_poor_reasons_browser.py."""
from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from survey.db import db
from survey.models import Answer, Campaign, Unit
from survey.plugins import build_registry
from survey.questionnaire import Item, QuestionnaireError
from survey.questions import reason_key, split_reason_key

REASONS = ["attitude", "slow", "many_trips", "fees"]
GOOD = {"attitude": "satisfied", "first_enquiry": "yes", "told_once": "yes", "on_time": "satisfied",
        "asked_favours": "no", "improper_fees": "no"}


def visit(overall, reasons=(), category="applicant"):
    """A complete answer to government-visit with this 好差评 rating and these reasons ticked."""
    return {**GOOD, "category": category, "visit_overall": overall, "visit_overall:reasons": list(reasons)}


@pytest.fixture
def window(make_campaign):
    return make_campaign(slug="gov-2025", units=[("GOV-1", "县政务服务中心", "government"),
                                                 ("GOV-2", "乡镇便民服务中心", "government")], minimum_sample=10)


def stored(app):
    with app.app_context():
        return sorted((a.item, a.choice) for a in db.session.scalars(select(Answer))
                      if a.item.startswith("visit_overall"))


def test_keys_split_and_join():
    assert reason_key("visit_overall", "slow") == "visit_overall:slow"
    assert split_reason_key("visit_overall:slow") == ("visit_overall", "slow")
    assert split_reason_key("commitments.1") is None and split_reason_key("visit_overall") is None


def test_definition_is_checked_naming_the_field():
    label = {"zh": "问", "en": "Q"}
    reason = {"key": "slow", "label": {"zh": "办事慢", "en": "Slow"}}
    Item.model_validate({"key": "q", "kind": "choice", "scale": "haochaping", "label": label, "poor_reasons": [reason]})
    with pytest.raises(ValidationError, match="poor_reasons is for choice items"):
        Item.model_validate({"key": "q", "kind": "yesno", "label": label, "poor_reasons": [reason]})
    with pytest.raises(ValidationError, match="distinct"):
        Item.model_validate({"key": "q", "kind": "choice", "scale": "haochaping", "label": label,
                             "poor_reasons": [reason, reason]})
    with pytest.raises(ValidationError, match="key"):  # 20 characters: "<item>:<reason>" must fit 60
        Item.model_validate({"key": "q", "kind": "choice", "scale": "haochaping", "label": label,
                             "poor_reasons": [{**reason, "key": "a" * 20}]})
    from survey.plugins import check_scales
    from survey.questionnaire import Questionnaire
    q = Questionnaire.model_validate({"key": "x", "version": "1", "sector": "general", "title": label, "items": [
        {"key": "q", "kind": "choice", "scale": "satisfaction", "label": label, "poor_reasons": [reason]}]})
    with pytest.raises(QuestionnaireError, match=r"item 1 \(q\), field poor_reasons: scale 'satisfaction' has no poor"):
        check_scales(q, build_registry().scales, "x.toml")


def test_reasons_are_stored_beside_a_poor_rating_only(app, client, window):
    assert client.get("/s/GOV-1").status_code == 200
    assert client.post("/s/GOV-1", data=visit("very_dissatisfied", ["slow", "fees"])).status_code == 303
    assert stored(app) == [("visit_overall", "very_dissatisfied"), ("visit_overall:fees", "fees"),
                           ("visit_overall:slow", "slow")]
    other = app.test_client()  # a fresh phone: ticked, then changed their mind to 满意
    assert other.post("/s/GOV-1", data=visit("satisfied", ["attitude"])).status_code == 303
    assert ("visit_overall:attitude", "attitude") not in stored(app)


def test_a_made_up_reason_is_refused_and_nothing_stored(app, client, window):
    response = client.post("/s/GOV-1?lang=zh_CN", data=visit("dissatisfied", ["slow", "bribe'><script>"]))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "请从所列选项中选择" in html or "Please pick one of the choices shown" in html
    assert "<script>" not in html and stored(app) == []
    assert 'class="reasons bad"' in html  # shown with its message, whatever the rating


def test_the_form_offers_the_reasons_with_the_poor_choices_marked(client, window):
    html = client.get("/s/GOV-1?lang=zh_CN").get_data(as_text=True)
    for label in ("态度不好", "办事慢", "多次跑腿", "收费不规范"):
        assert label in html
    assert html.count('type="checkbox"') == 4 and 'name="visit_overall:reasons"' in html
    assert 'class="poor"' in html and html.count('class="poor"') == 2  # 不满意 and 非常不满意
    assert "如果您给了差评" in html
    english = client.get("/s/GOV-1?lang=en").get_data(as_text=True)
    assert "Slow service" in english and "If you rated it poorly, why?" in english


def _answer(app, cid, code, n, overall, reasons=(), category="applicant", channel="online"):
    from survey.responses import Sheet, store
    with app.app_context():
        unit = db.session.scalar(select(Unit).filter_by(campaign_id=cid, code=code))
        answers = {**{k: (v, None, None) for k, v in GOOD.items()}, "visit_overall": (overall, None, "haochaping"),
                   **{reason_key("visit_overall", r): (r, None, None) for r in reasons}}
        store([Sheet(cid, unit.id, "government-visit", category, answers) for _ in range(n)], channel=channel)


def _overall(results, code):
    [item] = [i for i in {u.code: u for u in results.units}[code].items if i.key == "visit_overall"]
    return item


def test_reasons_are_counted_per_unit_and_withheld_with_small_cells(app, window):
    from survey.disclosure import disclosed_results
    from survey.results import compute, recount, tally_counts
    _answer(app, window, "GOV-1", 20, "satisfied")
    _answer(app, window, "GOV-1", 6, "dissatisfied", ["slow"])
    _answer(app, window, "GOV-1", 4, "very_dissatisfied", ["slow", "many_trips"])
    _answer(app, window, "GOV-1", 2, "very_dissatisfied", ["attitude"], category="deputy")  # two deputies
    _answer(app, window, "GOV-2", 3, "dissatisfied", ["fees"])  # three raters: not enough to show
    with app.app_context():
        campaign = db.session.get(Campaign, window)
        assert recount(window) == tally_counts(window)
        full = _overall(compute(campaign), "GOV-1").reason_counts
        assert full.total == {"slow": 10, "many_trips": 4, "attitude": 2}
        shown = disclosed_results(campaign)
    item = _overall(shown, "GOV-1")
    assert item.figures.total.poor == 12 and item.reason_counts.count("slow") == 10
    data = item.as_dict()["poor_reasons"]
    assert data["counts"] == {"attitude": 2, "slow": 10, "many_trips": 4, "fees": 0}
    assert data["labels"]["many_trips"] == {"zh": "多次跑腿", "en": "Had to come back more than once"}
    # the two deputies' cell is withheld in the reasons as in the rates, and its complement too
    assert data["by_category"]["deputy"] == {"counts": None, "withheld": "small_cell"}
    assert data["by_category"]["applicant"]["counts"] is None
    assert item.figures.by_category["deputy"].withheld == "small_cell"
    small = _overall(shown, "GOV-2").as_dict()["poor_reasons"]
    assert small["counts"] is None and small["withheld"] == "not_enough_raters"


def test_reasons_in_the_api_the_exports_and_the_report(app, client, window, tmp_path):
    from flask_babel import force_locale
    from survey.campaigns import transition
    from survey.disclosure import disclosed_results
    from survey.exports import item_tables
    from survey.registry import current_registry
    _answer(app, window, "GOV-1", 8, "satisfied")
    _answer(app, window, "GOV-1", 3, "dissatisfied", ["slow", "fees"])
    with app.app_context():
        campaign = db.session.get(Campaign, window)
        for action in ("close", "publish"):
            transition(campaign, action, current_registry(), "test")
        db.session.commit()
    [unit] = [u for u in client.get("/api/campaigns/gov-2025/results").get_json()["units"] if u["code"] == "GOV-1"]
    [overall] = [i for i in unit["items"] if i["key"] == "visit_overall"]
    assert overall["poor_reasons"]["counts"] == {"attitude": 0, "slow": 3, "many_trips": 0, "fees": 3}
    with app.test_request_context(), force_locale("zh_CN"):
        tables = item_tables(disclosed_results(db.session.get(Campaign, window)), "zh_CN")
    [(title, header, rows, formats)] = [t for t in tables if "好差评" in t[0]]
    assert header[-4:] == ["差评原因：态度不好", "差评原因：办事慢", "差评原因：多次跑腿", "差评原因：收费不规范"]
    rows = {r[0]: r for r in rows}
    assert rows["GOV-1"][-4:] == [0, 3, 0, 3] and rows["GOV-2"][-4:] == [None] * 4  # GOV-2: no raters
    import subprocess
    from printouts.report import ResultReport
    with app.test_request_context(), force_locale("zh_CN"):
        ResultReport(disclosed_results(db.session.get(Campaign, window)), "zh_CN").write(str(tmp_path / "r.pdf"))
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "r.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    flat = "".join(text.split())  # the cell wraps
    assert "差评原因：态度不好0·办事慢3·多次跑腿0·收费不规范3" in flat


def test_the_scrub_keeps_reasons_and_the_count(app, window):
    from survey.anonymity import scrub
    from survey.results import recount, tally_counts
    _answer(app, window, "GOV-1", 5, "very_dissatisfied", ["many_trips"])
    before = stored(app)
    with app.app_context():
        scrub(window)
        db.session.commit()
        assert recount(window) == tally_counts(window)
        assert tally_counts(window)[(db.session.scalar(select(Unit.id).filter_by(code="GOV-1")), "visit_overall:many_trips",
                                     "many_trips", "applicant", "online")] == 5
    assert stored(app) == before


def test_xlsform_round_trip_keeps_the_reasons():
    from survey.xlsform import XLSFormError, read_xlsform, write_xlsform
    registry = build_registry()
    q = registry.questionnaires["government-visit"]
    scales = {k: registry.scales[k] for k in q.scales_used()}
    content = write_xlsform(q, scales)
    again, _scales = read_xlsform(content, "gov.xlsx")
    assert again == q and [r.key for r in again.item("visit_overall").poor_reasons] == REASONS
    import io
    import openpyxl
    book = openpyxl.load_workbook(io.BytesIO(content))
    column = [c.value for c in book["survey"][1]].index("poor_reasons") + 1
    for row in book["survey"].iter_rows(min_row=2):
        if row[column - 1].value:
            row[column - 1].value = "no_such_list"
    data = io.BytesIO()
    book.save(data)
    with pytest.raises(XLSFormError, match="row .*poor_reasons list 'no_such_list' is not on the choices sheet"):
        read_xlsform(data.getvalue(), "gov.xlsx")
