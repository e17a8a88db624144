"""The 好差评 scale (haochaping): its five choices and groups, the rates on it (the worked
example in docs/results.md), a questionnaire using it by name, and the XLSForm round trip."""
import pytest
from sqlalchemy import select

from survey import hookimpl
from survey.db import db
from survey.models import Campaign, Unit
from survey.plugins import build_registry
from survey.responses import Sheet, store
from survey.results import Figures, compute
from survey.snapshot import frozen_for
from survey.xlsform import XLSFormError, read_xlsform, write_xlsform

# The worked example of docs/results.md: 10 answers on one window's item.
EXAMPLE = {"very_satisfied": 3, "satisfied": 3, "fairly": 2, "dissatisfied": 1, "very_dissatisfied": 1}


class HaochapingPlugin:
    """A service-window sector whose questionnaire names the built-in haochaping scale."""

    @hookimpl
    def survey_sectors(self):
        return [{"key": "hcp", "label": {"zh": "政务窗口", "en": "Service window"}}]

    @hookimpl
    def survey_questionnaires(self):
        return [{"key": "hcp", "version": "1", "sector": "hcp",
                 "title": {"zh": "好差评", "en": "Service rating"},
                 "items": [{"key": "window", "kind": "choice", "scale": "haochaping",
                            "label": {"zh": "您对本次服务的评价", "en": "How was this service"}}]}]


@pytest.fixture
def app_config():
    return {"SURVEY_EXTRA_PLUGINS": [("haochaping-test", HaochapingPlugin())]}


def test_the_scale_has_five_choices_in_three_groups_with_documented_weights():
    scale = build_registry().scales["haochaping"]
    rows = [(c.label.zh, c.label.en, c.weight, c.positive, c.group) for c in scale.choices]
    assert rows == [("非常满意", "Very satisfied", 100, True, "good"), ("满意", "Satisfied", 80, True, "good"),
                    ("基本满意", "Fairly satisfied", 60, True, "fair"), ("不满意", "Dissatisfied", 20, False, "poor"),
                    ("非常不满意", "Very dissatisfied", 0, False, "poor")]


def test_worked_example_of_the_docs_by_hand():
    scale = build_registry().scales["haochaping"]
    figures = Figures()
    for choice in scale.choices:
        figures.add(choice, EXAMPLE[choice.key])
    # by hand: satisfaction (3+3+2)/10, 好评 (3+3)/10, 差评 (1+1)/10, score (300+240+120+20+0)/10
    assert figures.rate == pytest.approx(0.8)
    assert figures.good_rate == pytest.approx(0.6) and figures.poor_rate == pytest.approx(0.2)
    assert figures.score == pytest.approx(68.0)
    data = figures.as_dict()
    assert (data["good"], data["poor"]) == (6, 2)
    figures.withhold("small")  # a cell too small to show keeps no 好评/差评 figure either
    assert figures.good_rate is None and figures.poor_rate is None
    assert figures.as_dict()["good_rate"] is None and figures.as_dict()["poor"] is None


def test_a_scale_without_groups_shows_no_good_or_poor_rate():
    figures = Figures()
    for choice in build_registry().scales["satisfaction"].choices:
        figures.add(choice, 5)
    assert figures.good_rate is None and "good_rate" not in figures.as_dict()


def test_a_unit_rated_on_the_scale_gets_its_good_and_poor_rates(app, make_campaign):
    cid = make_campaign(units=(("W-1", "政务服务中心一号窗口", "hcp"),))
    with app.app_context():
        unit = db.session.scalar(select(Unit).filter_by(campaign_id=cid, code="W-1"))
        assert frozen_for(cid, unit.questionnaire).questionnaire.items[0].scale == "haochaping"
        store([Sheet(cid, unit.id, unit.questionnaire, "service_recipient", {"window": (key, None, "haochaping")})
               for key, n in EXAMPLE.items() for _ in range(n)])
        results = compute(db.session.get(Campaign, cid))
    u = {u.code: u for u in results.units}["W-1"]
    item = u.items[0].figures.total
    assert item.counts == EXAMPLE and item.valid == 10
    assert (item.rate, item.good_rate, item.poor_rate, item.score) == pytest.approx((0.8, 0.6, 0.2, 68.0))
    assert u.rate == pytest.approx(0.8)  # pooled by default, like the satisfaction scale


def test_xlsform_round_trip_keeps_the_groups():
    registry = build_registry()
    questionnaire = registry.questionnaires["government-visit"]
    scales = {k: registry.scales[k] for k in questionnaire.scales_used()}
    scales["haochaping"] = registry.scales["haochaping"]
    q = questionnaire.model_copy(update={"items": tuple(
        i.model_copy(update={"scale": "haochaping"}) if i.key == "visit_overall" else i for i in questionnaire.items)})
    scales = {k: registry.scales[k] for k in q.scales_used()}
    again, workbook_scales = read_xlsform(write_xlsform(q, scales), "hcp.xlsx")
    assert again == q and workbook_scales["haochaping"] == registry.scales["haochaping"]
    assert [c.group for c in workbook_scales["haochaping"].choices] == ["good", "good", "fair", "poor", "poor"]


def test_xlsform_rejects_an_unknown_group_naming_the_row():
    import io
    import openpyxl
    book = openpyxl.Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label::Chinese (zh)", "label::English (en)"])
    book.create_sheet("choices").append(["list_name", "name", "label::Chinese (zh)", "label::English (en)",
                                         "weight", "positive", "group"])
    book["choices"].append(["mine", "a", "好", "Good", 100, "yes", "great"])
    book.create_sheet("settings").append(["form_id", "version"])
    data = io.BytesIO()
    book.save(data)
    with pytest.raises(XLSFormError, match="row 2.*group 'great'"):
        read_xlsform(data.getvalue(), "bad.xlsx")


def _rate_window(app, cid, code, answers):
    with app.app_context():
        unit = db.session.scalar(select(Unit).filter_by(campaign_id=cid, code=code))
        store([Sheet(cid, unit.id, unit.questionnaire, "service_recipient", {"window": (key, None, "haochaping")})
               for key, n in answers.items() for _ in range(n)])


def test_exports_show_good_and_poor_rates_and_disclosure_hides_a_small_unit(app, make_campaign):
    from survey.disclosure import disclosed_results
    from survey.exports import item_tables
    cid = make_campaign(units=(("W-1", "一号窗口", "hcp"), ("W-2", "二号窗口", "hcp")), minimum_sample=10)
    _rate_window(app, cid, "W-1", EXAMPLE)  # ten raters: the minimum sample
    _rate_window(app, cid, "W-2", {"dissatisfied": 1, "very_dissatisfied": 1})  # two raters, both 差评
    from flask_babel import force_locale
    with app.test_request_context(), force_locale("zh_CN"):
        results = disclosed_results(db.session.get(Campaign, cid))
        [(title, header, rows, formats)] = item_tables(results, "zh_CN")
        by_code = {u.code: u for u in results.units}
    assert header[8:10] == ["好评率", "差评率"] and header[10:15] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    assert header[15:] == ["不了解", "未评"]  # counted apart from the valid answers
    rows = {r[0]: r for r in rows}
    assert rows["W-1"][8:10] == pytest.approx([0.6, 0.2]) and rows["W-1"][10:] == [3, 3, 2, 1, 1, 0, 0]
    # two raters: below the minimum sample, so neither their 差评率 nor their counts are shown
    assert not by_code["W-2"].enough_raters
    assert "W-2" not in rows or (rows["W-2"][9] is None and rows["W-2"][10:] == [None] * 7)
    assert all(i.figures.total.poor_rate is None for i in by_code["W-2"].items)


def test_paper_ballot_prints_the_five_choices_and_a_double_entered_poor_rating_counts(app, make_campaign, tmp_path):
    import subprocess
    from flask_babel import force_locale
    from survey import paper
    from survey.models import Tally
    cid = make_campaign(units=(("W-1", "一号窗口", "hcp"),))
    with app.app_context(), force_locale("zh_CN"):
        campaign = db.session.get(Campaign, cid)
        paper.print_ballots(campaign, tmp_path / "b.pdf", 1, base_url="http://survey.test", category="service_recipient")
        unit_id = db.session.scalar(select(Unit.id).filter_by(campaign_id=cid, code="W-1"))
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "b.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert all(label in text for label in ("非常满意", "基本满意", "非常不满意", "您对本次服务的评价"))
    subprocess.run(["pdftoppm", "-r", "80", "-png", "-f", "1", "-l", "1", str(tmp_path / "b.pdf"),
                    str(tmp_path / "page")], check=True)
    assert list(tmp_path.glob("page-*.png"))
    entry = {f"{unit_id}:window": "very_dissatisfied"}
    with app.app_context(), force_locale("zh_CN"):
        assert paper.enter_ballot(db.session.get(Campaign, cid), 1, "clerk-a", entry, None) == "waiting"
        assert paper.enter_ballot(db.session.get(Campaign, cid), 1, "clerk-b", entry, None) == "counted"
        counted = db.session.scalar(select(Tally.count).filter_by(campaign_id=cid, item="window",
                                                                 choice="very_dissatisfied", channel="paper"))
        [u] = compute(db.session.get(Campaign, cid)).units
    assert counted == 1 and u.items[0].figures.total.poor_rate == 1
