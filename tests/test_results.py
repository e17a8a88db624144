"""Results from the tally: rate, score, intervals, the line, composition, ranking, the public
page and API, and the tally agreeing with a full recount after racing submissions."""
import random
import threading

import pytest
from sqlalchemy import select

from survey import hookimpl
from survey.db import db
from survey.disclosure import disclosed_results
from survey.models import Campaign, Unit
from survey.responses import Sheet, store
from survey.results import compute, recount, tally_counts, wilson
from survey.snapshot import frozen_for
from survey.testing import GENERAL_ITEMS

ITEMS = GENERAL_ITEMS  # the five-goods (assembly) form's satisfaction items


class ResultsTestPlugin:
    """A second sector with a two-item questionnaire, and a report section."""

    @hookimpl
    def survey_sectors(self):
        return [{"key": "rtest", "label": {"zh": "测试行业", "en": "Test sector"}}]

    @hookimpl
    def survey_questionnaires(self):
        items = [{"key": k, "kind": "choice", "scale": "satisfaction", "label": {"zh": z, "en": e}}
                 for k, z, e in [("service", "服务", "Service"), ("fairness", "公正", "Fairness")]]
        return [{"key": "rtest", "version": "1", "sector": "rtest",
                 "title": {"zh": "测试问卷", "en": "Test questionnaire"}, "items": items}]

    @hookimpl
    def survey_report_sections(self, campaign, results):
        return [{"title": {"zh": "插件专项统计", "en": "Plugin section"},
                 "rows": [["单位", "评价人数"]] + [[u["name"], str(u["raters"])] for u in results]}]


@pytest.fixture
def app_config():
    return {"SURVEY_EXTRA_PLUGINS": [("results-test", ResultsTestPlugin())]}


def answer(app, campaign_id, code, n, choice="satisfied", overrides=None, category="resident",
           channel="online", comment=None):
    """Store n identical answer sheets for a unit (the same path answering takes)."""
    with app.app_context():
        unit = db.session.scalar(select(Unit).filter_by(campaign_id=campaign_id, code=code))
        frozen = frozen_for(campaign_id, unit.questionnaire)
        answers = {}
        for item in frozen.questionnaire.items:
            if item.kind == "choice":
                answers[item.key] = ((overrides or {}).get(item.key, choice), None, item.scale)
            elif item.kind == "comment" and comment:
                answers[item.key] = (None, comment, None)
        store([Sheet(campaign_id, unit.id, unit.questionnaire, category, answers) for _ in range(n)], channel=channel)


def results_of(app, campaign_id, disclosed=False):
    """The office's full figures, or with disclosed=True what the reports show."""
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        results = disclosed_results(campaign) if disclosed else compute(campaign)
        return {u.code: u for u in results.units}, results


def publish(app, campaign_id):
    """Close and publish an open campaign."""
    from survey.campaigns import transition
    from survey.registry import current_registry
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        for action in ("close", "publish"):
            transition(campaign, action, current_registry(), "test")
        db.session.commit()


def test_wilson_interval_known_values():
    low, high = wilson(80, 100)
    assert low == pytest.approx(0.71117, abs=1e-5) and high == pytest.approx(0.86663, abs=1e-5)
    assert wilson(0, 10)[0] == 0 and wilson(0, 10)[1] == pytest.approx(0.27753, abs=1e-5)
    assert wilson(0, 0) is None


def test_rate_weighted_score_and_breakdowns(app, make_campaign):
    cid = make_campaign()
    answer(app, cid, "GEN-001", 60, "satisfied")
    answer(app, cid, "GEN-001", 20, "basic", category="service_recipient", channel="paper")
    answer(app, cid, "GEN-001", 20, "unsatisfied", category="party_delegate")
    units, _ = results_of(app, cid)
    u = units["GEN-001"]
    assert u.raters == 100 and u.raters_by_channel == {"online": 80, "paper": 20}
    assert u.rate == pytest.approx(0.8) and u.score == pytest.approx(72.0)  # (60×100 + 20×60) / 100
    assert u.interval == pytest.approx(wilson(80, 100))  # pooled over raters, not 1,200 answers
    item = u.items[0]
    assert item.key == "leadership" and item.figures.total.counts == {"satisfied": 60, "basic": 20, "unsatisfied": 20}
    assert item.figures.total.valid == 100 and item.figures.total.interval == pytest.approx(wilson(80, 100))
    assert item.figures.by_category["party_delegate"].rate == 0
    assert item.figures.by_category["service_recipient"].score == 60
    assert u.overall.by_channel["online"].rate == pytest.approx(0.75)
    assert u.overall.by_channel["paper"].rate == 1
    assert u.share == pytest.approx(0.8) and u.composition_met
    assert not u.must_remedy and not u.inconclusive and u.final
    with app.app_context():
        assert tally_counts(cid) == recount(cid)


def test_remedy_list_names_the_items_that_pulled_the_unit_down(app, make_campaign):
    cid = make_campaign(units=[("GEN-001", "城关镇党委", "general"), ("GEN-002", "东关社区", "general")])
    answer(app, cid, "GEN-001", 186, overrides={"leadership": "unsatisfied", "members": "unsatisfied"})
    answer(app, cid, "GEN-001", 30, overrides={"leadership": "unsatisfied"})
    answer(app, cid, "GEN-001", 84, "unsatisfied")
    answer(app, cid, "GEN-002", 40, "satisfied")
    units, results = results_of(app, cid)
    u = units["GEN-001"]
    assert u.rate == pytest.approx((8 * 186 + 9 * 30) / 3000)  # other items 72%, members 10%, leadership 0
    assert u.must_remedy and u.final
    assert [i.key for i in u.remedy_items] == ["leadership", "members"]  # worst first; 72% items not listed
    assert [r.code for r in results.remedy] == ["GEN-001"]
    assert not units["GEN-002"].must_remedy


def test_composition_below_minimum_is_flagged_and_not_final(app, make_campaign):
    cid = make_campaign(units=[("GEN-001", "甲", "general"), ("GEN-002", "乙", "general")])
    answer(app, cid, "GEN-001", 30, category="party_delegate")
    answer(app, cid, "GEN-001", 10, category="resident")
    answer(app, cid, "GEN-002", 28, category="deputy")
    answer(app, cid, "GEN-002", 12, category="service_recipient")  # exactly 30%
    units, results = results_of(app, cid)
    assert units["GEN-001"].share == pytest.approx(0.25) and not units["GEN-001"].composition_met
    assert not units["GEN-001"].final and not units["GEN-001"].inconclusive
    assert units["GEN-002"].composition_met and units["GEN-002"].final
    assert [u.code for u in results.composition_not_met] == ["GEN-001"]


def test_inconclusive_by_interval_and_by_small_sample(app, make_campaign):
    cid = make_campaign(units=[("GEN-001", "甲", "general"), ("GEN-002", "乙", "general"),
                               ("GEN-003", "丙", "general")])
    answer(app, cid, "GEN-001", 29)
    answer(app, cid, "GEN-001", 11, "unsatisfied")  # 72.5% of 40: the interval reaches across 70%
    answer(app, cid, "GEN-002", 10)  # 100%, but fewer than 30 raters
    answer(app, cid, "GEN-003", 95)
    answer(app, cid, "GEN-003", 5, "unsatisfied")
    units, _ = results_of(app, cid)
    low, high = units["GEN-001"].interval
    assert low < 0.7 < high and units["GEN-001"].inconclusive and not units["GEN-001"].must_remedy
    assert units["GEN-002"].interval[0] > 0.7 and units["GEN-002"].inconclusive
    assert not units["GEN-003"].inconclusive and units["GEN-003"].final


def test_ranking_within_campaign_and_sector_and_change_since_previous(app, make_campaign):
    units = [("G1", "一号", "general"), ("G2", "二号", "general"), ("G3", "三号", "general"),
             ("S1", "甲校", "rtest"), ("S2", "乙校", "rtest")]
    previous = make_campaign(slug="y2024", units=units[:1], state="open")
    answer(app, previous, "G1", 32)
    answer(app, previous, "G1", 8, "unsatisfied")
    publish(app, previous)  # only a published previous campaign is compared with
    cid = make_campaign(slug="y2025", units=units)
    with app.app_context():
        db.session.get(Campaign, cid).previous_campaign_id = previous
        db.session.commit()
    answer(app, cid, "G1", 40, "satisfied")
    answer(app, cid, "G2", 40, "basic")  # same rate as G1, lower weighted score
    answer(app, cid, "G3", 30, "basic")  # same rate and score as G2, fewer raters
    answer(app, cid, "S1", 30)
    answer(app, cid, "S1", 10, "unsatisfied")
    answer(app, cid, "S2", 40, "basic")  # ties G2 exactly
    by_code, results = results_of(app, cid, disclosed=True)
    assert {c: u.rank for c, u in by_code.items()} == {"G1": 1, "G2": 2, "S2": 2, "G3": 4, "S1": 5}
    assert {c: u.sector_rank for c, u in by_code.items()} == {"G1": 1, "G2": 2, "G3": 3, "S2": 1, "S1": 2}
    assert [u.code for u in results.ranked][:1] == ["G1"]
    assert by_code["G1"].previous_rate == pytest.approx(0.8) and by_code["G1"].change == pytest.approx(0.2)
    assert by_code["G2"].change is None
    assert results.as_dict()["campaign"]["previous"] == "y2024"


def test_public_page_only_after_publishing(app, client, make_campaign):
    open_id = make_campaign(slug="running")
    assert client.get("/results/running").status_code == 404
    assert client.get("/results/no-such").status_code == 404
    cid = make_campaign(slug="done", units=[("D-1", "城关镇党委", "general"), ("D-2", "西关村", "general")],
                        state="published")
    answer(app, cid, "D-1", 40, "unsatisfied")
    answer(app, cid, "D-2", 40)
    page = client.get("/results/done")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'lang="zh-CN"' in html
    assert "城关镇党委" in html and "西关村" in html and "0.0%" in html and "100.0%" in html
    english = client.get("/results/done?lang=en").get_data(as_text=True)
    assert "Must remedy" in english and "Meets the line" in english and 'name="viewport"' in english
    assert open_id


def test_results_api_public_after_publishing_and_for_admins_any_time(app, admin_client, make_campaign):
    client = app.test_client()  # anonymous, beside the signed-in admin
    cid = make_campaign(slug="api-test", minimum_sample=20)
    answer(app, cid, "GEN-001", 30)
    assert client.get("/api/campaigns/api-test/results").status_code == 404
    data = admin_client.get("/api/campaigns/api-test/results").get_json()
    assert data["campaign"]["line"] == pytest.approx(0.7) and data["campaign"]["minimum_sample"] == 20
    assert data["campaign"]["composition_minimum"] == pytest.approx(0.3)
    unit = data["units"][0]
    assert unit["code"] == "GEN-001" and unit["raters"] == 30 and unit["rate"] == 1
    assert unit["flags"] == {"must_remedy": False, "composition_met": True, "inconclusive": False, "final": True,
                             "not_enough_raters": False}
    assert len(unit["interval"]) == 2 and unit["items"][0]["counts"] == {"satisfied": 30}
    assert unit["items"][0]["by_channel"]["online"]["valid"] == 30
    published = make_campaign(slug="api-pub", units=[("P-1", "单位", "general")], state="published")
    assert published and client.get("/api/campaigns/api-pub/results").status_code == 200


def test_tally_equals_recount_after_racing_submissions(app, make_campaign, full_answer):
    cid = make_campaign(units=[("GEN-001", "甲", "general"), ("GEN-002", "乙", "general")], allow_repeat=True)
    errors = []

    def resident(seed):
        rnd = random.Random(seed)
        client = app.test_client()
        for _ in range(5):
            data = dict(full_answer, category=rnd.choice(["resident", "service_recipient", "deputy"]))
            data.update({k: rnd.choice(["satisfied", "basic", "unsatisfied"]) for k in ITEMS})
            status = client.post(f"/s/GEN-00{rnd.randint(1, 2)}", data=data).status_code
            if status != 303:
                errors.append(status)

    threads = [threading.Thread(target=resident, args=(seed,)) for seed in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with app.app_context():
        counts = tally_counts(cid)
        assert counts == recount(cid)
        assert sum(n for k, n in counts.items() if k[1] == "") == 40
