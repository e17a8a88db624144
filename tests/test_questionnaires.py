"""Questionnaires a rater can answer honestly and a rate that is fair across sectors (issue 17):
two forms per unit, incidence items, own staff outside the 30% share, one scale in the headline
rate, the five-leads appraisal, and campaigns frozen before all this left exactly as they were."""
import json
import re
import tomllib
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import select

import upgrade_2024
from survey import hookimpl
from survey.db import db
from survey.models import Campaign, QuestionnaireSnapshot, RespondentCategory, Response, Unit
from survey.plugins import build_registry
from survey.questionnaire import load_questionnaire, parse_questionnaire, point_of_service_problems
from survey.questions import rated_questions
from survey.registry import current_registry
from survey.responses import Sheet, store
from survey.results import compute
from survey.snapshot import Frozen, frozen_for

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted([*ROOT.glob("survey/builtin/*.toml"), *ROOT.glob("plugins/*/survey_*/*.toml")])
REGISTRY = build_registry()
SECTORS = ["general", "school", "hospital", "village", "community", "enterprise", "government"]


def test_all_sector_plugins_are_installed_and_load():
    assert REGISTRY.failed() == []
    assert set(SECTORS) <= set(REGISTRY.sectors)
    assert REGISTRY.sectors["village"].label.zh == "村" and REGISTRY.sectors["community"].label.zh == "社区"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_questionnaire_declares_its_audience(path):
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data.get("audience") in ("point_of_service", "assembly"), path
    q = REGISTRY.questionnaires.get(data["key"]) or load_questionnaire(path)  # the example branch is not installed
    assert point_of_service_problems(q) == []
    if q.audience == "point_of_service":
        assert not {i.kind for i in q.items} & {"commitments", "members"}


@pytest.mark.parametrize("sector", SECTORS)
def test_each_sector_has_an_assembly_form_paired_with_a_point_of_service_form(sector):
    default = REGISTRY.default_questionnaire(sector)
    assert default.audience == "assembly" and default.point_of_service
    pair = REGISTRY.questionnaires[default.point_of_service]
    assert pair.audience == "point_of_service" and pair.sector == sector
    assert any(i.kind == "commitments" for i in default.items)  # 评诺 at the assembly
    assert default.items[0].key == "leadership" and default.items[0].section.zh == "五个好"


class SneakyVisit:
    """A point-of-service form that asks the people at the door about the party members."""

    @hookimpl
    def survey_sectors(self):
        return [{"key": "clinic", "label": {"zh": "诊所", "en": "Clinics"}}]

    @hookimpl
    def survey_questionnaires(self):
        return [{"key": "clinic-visit", "version": "1", "sector": "clinic", "audience": "point_of_service",
                 "title": {"zh": "诊所", "en": "Clinic"},
                 "items": [{"key": "doctors", "kind": "choice", "scale": "satisfaction",
                            "label": {"zh": "医生态度", "en": "Doctors"}},
                           {"key": "lead", "kind": "choice", "scale": "satisfaction",
                            "label": {"zh": "党员医生带头服务", "en": "Member doctors lead"}}]}]


class PairedWrongly:
    """An assembly form whose pair is itself an assembly form."""

    @hookimpl
    def survey_sectors(self):
        return [{"key": "clinic", "label": {"zh": "诊所", "en": "Clinics"}}]

    @hookimpl
    def survey_questionnaires(self):
        item = {"key": "overall", "kind": "choice", "scale": "satisfaction", "label": {"zh": "总体", "en": "Overall"}}
        base = {"version": "1", "sector": "clinic", "title": {"zh": "诊所", "en": "Clinic"}, "items": [item]}
        return [{**base, "key": "clinic", "audience": "assembly", "point_of_service": "clinic-b"},
                {**base, "key": "clinic-b", "audience": "assembly"}]


def test_a_point_of_service_form_about_party_members_leaves_its_plugin_out():
    registry = build_registry(entry_points=False, extra_plugins=[("sneaky", SneakyVisit())])
    failed, = registry.failed()
    assert failed.name == "sneaky" and "clinic-visit" in failed.error and "item lead" in failed.error
    assert "党员" in failed.error and "clinic-visit" not in registry.questionnaires
    wrong = build_registry(entry_points=False, extra_plugins=[("wrong", PairedWrongly())])
    assert "not a point-of-service questionnaire" in wrong.failed()[0].error


@pytest.fixture
def app_config(request):
    marker = request.node.get_closest_marker("extra_plugins")
    return {"SURVEY_EXTRA_PLUGINS": marker.args[0]} if marker else {}


@pytest.mark.extra_plugins([("sneaky", SneakyVisit())])
def test_survey_plugins_check_fails_on_such_a_form(app, runner):
    result = runner.invoke(args=["plugins", "--check"])
    assert result.exit_code == 1 and "sneaky" in result.output and "point-of-service" in result.output


# --- which form each channel answers ----------------------------------------------------------
def test_qr_answers_the_point_of_service_form_and_ballots_the_assembly_form(app, client, make_campaign, make_tokens):
    cid = make_campaign(units=[("HOS-001", "县人民医院", "hospital")], commitments=["三日内答复投诉"])
    with app.app_context():
        keys = set(db.session.scalars(select(QuestionnaireSnapshot.key).filter_by(campaign_id=cid)))
    assert keys == {"hospital", "hospital-patients"}  # the pair is frozen with the campaign
    qr = client.get("/s/HOS-001").get_data(as_text=True)
    assert "这次看病" in qr and "红包" in qr and "没有" in qr
    assert "领导" not in qr and "党员医务人员" not in qr and "三日内答复投诉" not in qr
    token, = make_tokens(cid, category="deputy")
    ballot = client.get(f"/b/{token}").get_data(as_text=True)
    assert "领导班子好" in ballot and "三日内答复投诉" in ballot and "这次看病" not in ballot
    visit = {"category": "patient", "attitude": "satisfied", "explained": "basic", "waiting": "unsatisfied",
             "bill": "satisfied", "cleanliness": "satisfied", "visit_overall": "satisfied", "red_envelope": "yes"}
    assert client.post("/s/HOS-001", data=visit).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Response.questionnaire)) == "hospital-patients"
        unit = compute(db.session.get(Campaign, cid)).units[0]
    items = {i.key: i for i in unit.items}
    assert {"leadership", "commitments.1", "attitude", "red_envelope"} <= set(items)  # both forms
    assert unit.rate == pytest.approx(5 / 6)  # the six satisfaction answers, not the incidence one
    assert items["red_envelope"].measure == "incidence" and not items["red_envelope"].pooled
    assert items["red_envelope"].negative_share == 1.0  # one rater in one was asked: 100% incidence
    assert unit.as_dict()["incidence"] == {"red_envelope": 1.0}


# --- incidence and yes/no: the good answer is the item's, never the word 是 -------------------
def _frozen(items, scales=("satisfaction", "rating", "yesno", "incidence")):
    q = parse_questionnaire({"key": "t", "version": "1", "sector": "general", "title": {"zh": "测", "en": "T"},
                             "items": items})
    return Frozen(q, {k: REGISTRY.scales[k] for k in scales}, ())


def test_incidence_and_yesno_good_answers_are_defined_per_item():
    asked = {"key": "asked", "kind": "incidence", "label": {"zh": "有没有人向您要红包？", "en": "Asked for a red envelope?"}}
    noisy = {"key": "noisy", "kind": "yesno", "good": "no", "label": {"zh": "排队超过半小时吗？", "en": "Queued over half an hour?"}}
    told = {"key": "told", "kind": "yesno", "label": {"zh": "一次说清楚了吗？", "en": "Told at once?"}}
    a, n, t = rated_questions(_frozen([asked, noisy, told]), [])
    assert [c.key for c in a.scale.choices if c.positive] == ["no"] and a.scale.choices[0].label.zh == "没有"
    assert [c.key for c in n.scale.choices if c.positive] == ["no"]
    assert [c.key for c in t.scale.choices if c.positive] == ["yes"]
    assert not any(q.pooled for q in (a, n, t))
    with pytest.raises(Exception, match="good is for yesno and incidence items"):
        _frozen([{**told, "kind": "choice", "scale": "satisfaction", "good": "no"}])


def test_misconduct_is_asked_as_incidence_in_every_sector():
    incidence = {q.sector for q in REGISTRY.questionnaires.values() for i in q.items if i.kind == "incidence"}
    assert set(SECTORS) <= incidence
    words = " ".join(i.label.zh for q in REGISTRY.questionnaires.values() for i in q.items if i.kind == "incidence")
    for misconduct in ("红包", "收费的补课", "罚", "规定以外的钱", "要好处"):
        assert misconduct in words
    # no item asks about misconduct on the satisfaction scale any more
    for q in REGISTRY.questionnaires.values():
        for i in q.items:
            if i.kind == "choice":
                assert "吃拿卡要" not in i.label.zh and "红包" not in i.label.zh and "乱收费" not in i.label.zh


# --- one rate, one scale ------------------------------------------------------------------------
def test_same_answers_on_different_sectors_forms_get_the_same_rate(app, make_campaign):
    cid = make_campaign(units=[("HOS-001", "县人民医院", "hospital"), ("ENT-001", "宏达机械厂", "enterprise"),
                               ("LIB-001", "县图书馆", "general")])
    pattern = ["satisfied", "basic", "unsatisfied", "satisfied", "basic"]
    with app.app_context():
        for unit in db.session.scalars(select(Unit).filter_by(campaign_id=cid)):
            frozen = frozen_for(cid, unit.questionnaire)
            for r in range(20):
                answers = {}
                for q in rated_questions(frozen, []):
                    if q.scale.key == "satisfaction":
                        answers[q.key] = (pattern[r % 5], None, "satisfaction")
                    elif q.kind == "yesno":  # the enterprise's wage question: always the bad answer
                        answers[q.key] = ("no", None, "yesno")
                category = next(c.key for c in frozen.categories if c.counts_toward_share)
                store([Sheet(cid, unit.id, unit.questionnaire, category, answers)])
        units = {u.code: u for u in compute(db.session.get(Campaign, cid)).units}
    rates = {code: u.rate for code, u in units.items()}
    assert rates["HOS-001"] == rates["ENT-001"] == rates["LIB-001"] == pytest.approx(0.8)
    assert len({u.rank for u in units.values()}) == 1  # all tied on rate and score
    assert units["ENT-001"].items[4].key == "wages_on_time" and units["ENT-001"].items[4].figures.total.rate == 0


def test_a_rating_item_is_reported_beside_the_rate_not_in_it():
    items = [{"key": "service", "kind": "choice", "scale": "satisfaction", "label": {"zh": "服务", "en": "Service"}},
             {"key": "teaching", "kind": "choice", "scale": "rating", "label": {"zh": "教学", "en": "Teaching"}},
             {"key": "counted", "kind": "choice", "scale": "rating", "pooled": True, "label": {"zh": "计", "en": "C"}}]
    service, teaching, counted = rated_questions(_frozen(items), [])
    assert (service.pooled, teaching.pooled, counted.pooled) == (True, False, True)
    assert (service.measure, teaching.measure) == ("satisfaction", "rating")


# --- categories: the 30% share counts no unit staff -------------------------------------------
@pytest.mark.parametrize("sector", SECTORS)
def test_own_staff_never_count_and_each_sector_shows_its_own_categories(sector):
    flags = {c.key: c.counts_toward_share for c in REGISTRY.categories(sector)}
    assert flags["own_staff"] is False and flags.get("party_delegate", False) is False and flags["deputy"] is False
    counting = [k for k, v in flags.items() if v]
    assert counting
    if sector != "general":
        assert "service_recipient" not in flags and "resident" not in flags  # no generic beside 患者
    labels = [c.label.zh for c in REGISTRY.categories(sector)]
    assert len(labels) == len(set(labels))
    assert not {"医务人员", "教职工", "职工", "党员", "企业管理人员"} & set(labels)


def test_an_assembly_of_the_units_own_staff_does_not_meet_the_composition(app, make_campaign):
    cid = make_campaign(units=[("SCH-001", "实验中学", "school")])
    with app.app_context():
        unit = db.session.scalar(select(Unit))
        frozen = frozen_for(cid, unit.questionnaire)
        answers = {q.key: ("satisfied", None, "satisfaction") for q in rated_questions(frozen, []) if q.pooled}
        store([Sheet(cid, unit.id, unit.questionnaire, "own_staff", answers) for _ in range(40)])
        store([Sheet(cid, unit.id, unit.questionnaire, "parent", answers) for _ in range(10)])
        result = compute(db.session.get(Campaign, cid)).units[0]
    assert result.share == pytest.approx(0.2) and not result.composition_met and not result.final


# --- five leads: the members' democratic appraisal ----------------------------------------------
def test_five_leads_appraisal_per_member_on_paper_phone_and_results(app, client, make_campaign, make_tokens, tmp_path):
    cid = make_campaign(units=[("BR-001", "东街社区党支部", "general")], state="draft")
    with app.app_context():
        unit = db.session.scalar(select(Unit))
        unit.questionnaire, unit.members = "five-leads", ["张三", "李四", "王五"]
        from survey.campaigns import transition
        transition(db.session.get(Campaign, cid), "open", current_registry(), "test")
        db.session.commit()
        from survey.paper.ballot import questions_for
        paper = questions_for(frozen_for(cid, "five-leads"), unit, "zh_CN")
    assert [(p.key, p.label) for p in paper] == [("members.1", "张三"), ("members.2", "李四"), ("members.3", "王五")]
    assert [c[1] for c in paper[0].choices] == ["优秀", "合格", "基本合格", "不合格"]
    # the printed grid ballot states the criteria the members are rated against (五带头)
    import subprocess
    from survey import paper as paper_ballots
    with app.app_context(), force_locale("zh_CN"):
        paper_ballots.print_ballots(db.session.get(Campaign, cid), tmp_path / "b.pdf", 1,
                                    base_url="http://survey.test", category="own_staff")
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "b.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "张三" in text and "带头服务群众" in text.replace(" ", "").replace("\n", ""), text
    token, = make_tokens(cid, category="own_staff")
    page = client.get(f"/b/{token}").get_data(as_text=True)
    assert "张三" in page and "带头服务群众" in page and "不合格" in page
    uid = unit.id
    data = {f"u{uid}-members.1": "excellent", f"u{uid}-members.2": "unqualified", f"u{uid}-members.3": "qualified"}
    assert client.post(f"/b/{token}", data=data).status_code == 303
    with app.app_context():
        for choice in ("basic", "unqualified", "qualified"):
            store([Sheet(cid, uid, "five-leads", "party_delegate",
                         {"members.1": ("qualified", None, "appraisal"), "members.2": (choice, None, "appraisal")})])
        result = compute(db.session.get(Campaign, cid)).units[0]
    members = {m.label.zh: m for m in result.members}
    assert members["李四"].negative_share == pytest.approx(0.5)  # 不合格 2 of 4
    assert members["张三"].negative_share == 0 and members["王五"].figures.total.valid == 1
    assert members["李四"].figures.total.counts == {"unqualified": 2, "basic": 1, "qualified": 1}
    assert result.rate is None and result.rank is None  # no satisfaction item: not ranked by it


# --- wording ------------------------------------------------------------------------------------
def test_wording_asks_the_rater_only_for_their_own_view():
    for q in REGISTRY.questionnaires.values():
        assert q.intro and ("分钟" in q.intro.zh or "秒" in q.intro.zh), q.key
        assert "minute" in q.intro.en or "seconds" in q.intro.en, q.key
        for i in q.items:
            assert "群众对" not in i.label.zh and "群众反映" not in i.label.zh, (q.key, i.key)
            if "四议两公开" in i.label.zh:
                assert "商量" in i.label.zh and "公布" in i.label.zh  # said what it means
            assert "Party branch" in i.label.en or "两委" not in i.label.zh
    short = [q for q in REGISTRY.questionnaires.values() if q.audience == "point_of_service"]
    assert all(sum(i.kind != "comment" for i in q.items) <= 8 and re.search(r"约需.{1,2}分钟", q.intro.zh) for q in short)


# --- versioning: a campaign frozen with the 2024 questionnaires keeps its results --------------
FIXTURE = json.loads((Path(__file__).parent / "data" / "campaign_2024.json").read_text(encoding="utf-8"))


def _subset(new, old, path="results"):
    """Every key and value of the old document is in the new one (the new may add keys)."""
    if isinstance(old, dict):
        for key, value in old.items():
            assert key in new, f"{path}.{key} is gone"
            _subset(new[key], value, f"{path}.{key}")
    elif isinstance(old, list):
        assert len(new) == len(old), path
        for n, (a, b) in enumerate(zip(new, old)):
            _subset(a, b, f"{path}[{n}]")
    elif isinstance(old, float):
        assert new == pytest.approx(old, rel=1e-12), path
    else:
        assert new == old, path


def test_campaign_frozen_with_the_2024_questionnaires_keeps_identical_results(app, client):
    with app.app_context():
        campaign = Campaign(slug="eval-2024", name="2024年度群众满意度测评", access="both", state="open")
        db.session.add(campaign)
        db.session.flush()
        for s in FIXTURE["snapshots"]:
            db.session.add(QuestionnaireSnapshot(campaign_id=campaign.id, **s))
        for c in FIXTURE["categories"]:
            db.session.add(RespondentCategory(campaign_id=campaign.id, **c))
        for u in FIXTURE["units"]:
            db.session.add(Unit(campaign=campaign, **u))
        db.session.commit()
        units = list(db.session.scalars(select(Unit).order_by(Unit.code)))
        for channel, sheet in upgrade_2024.sheets(campaign.id, units, frozen_for, rated_questions, Sheet):
            store([sheet], channel=channel)
        campaign.state = "closed"
        _subset(compute(campaign).as_dict(), FIXTURE["results"])
        # the frozen 2024 questionnaire still answers the QR code: no pair was frozen with it
        assert frozen_for(campaign.id, "hospital-patients").questionnaire.rate == "every_choice"
        campaign.state = "open"
        db.session.commit()
    page = client.get("/s/HOS-001").get_data(as_text=True)
    assert "领导班子好" in page and "不收红包" in page


def test_members_come_from_the_units_import_and_bad_lists_are_refused(app, make_campaign):
    from survey.units_import import UnitImportError, import_units
    cid = make_campaign(state="draft", units=[])
    good = "单位编码,单位名称,类别,问卷,党员\nBR-001,东街社区党支部,general,five-leads,张三、李四；王五\n".encode()
    twice = "code,name,sector,members\nBR-002,北关支部,general,张三、张三\n".encode()
    with app.app_context():
        campaign = db.session.get(Campaign, cid)
        import_units(campaign, "units.csv", good, current_registry(), "test")
        unit = db.session.scalar(select(Unit).filter_by(code="BR-001"))
        assert unit.members == ["张三", "李四", "王五"] and unit.questionnaire == "five-leads"
        with pytest.raises(UnitImportError, match="row 2.*field members: a member is listed twice"):
            import_units(campaign, "units.csv", twice, current_registry(), "test")
        assert db.session.scalar(select(Unit).filter_by(code="BR-002")) is None


def test_admin_lists_members_of_a_branch_and_refuses_a_name_twice(app, admin_client, make_campaign):
    from survey.testing import csrf_from
    make_campaign(state="draft", units=[])
    admin_client.set_cookie("lang", "en", domain="localhost")
    new = "/admin/campaigns/test-2025/units/new"
    token = csrf_from(admin_client.get(new).get_data(as_text=True))
    data = {"csrf_token": token, "code": "BR-1", "name": "东街社区党支部", "sector": "general",
            "questionnaire": "five-leads", "members": "张三\n李四\n张三\n"}
    refused = admin_client.post(new, data=data)
    assert refused.status_code == 422 and "A member is listed twice." in refused.get_data(as_text=True)
    assert admin_client.post(new, data={**data, "members": "张三\n\n李四\n"}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Unit.members).filter_by(code="BR-1")) == ["张三", "李四"]
    page = admin_client.get("/admin/campaigns/test-2025/units/BR-1").get_data(as_text=True)
    assert "Party members to appraise" in page and "李四" in page


def test_the_paper_ballot_of_an_appraisal_prints_the_five_leads_and_each_member(app, runner, make_campaign, tmp_path):
    import subprocess
    cid = make_campaign(slug="br-2025", units=[("BR-001", "东街社区党支部", "general")], state="draft")
    with app.app_context():
        unit = db.session.scalar(select(Unit))
        unit.questionnaire, unit.members = "five-leads", ["张三", "李四"]
        from survey.campaigns import transition
        transition(db.session.get(Campaign, cid), "open", current_registry(), "test")
        db.session.commit()
    out = tmp_path / "ballots.pdf"
    assert runner.invoke(args=["ballots", "br-2025", "--count", "1", "--out", str(out)]).exit_code == 0
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
    assert "带头弘扬正气" in text and "张三" in text and "李四" in text and "不合格" in text
