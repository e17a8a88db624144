"""Re-evaluation (补课, docs/remedy.md): one office action makes a follow-up campaign of the
units whose remedy is done, with the same frozen questionnaires and settings, once; before and
after side by side through the disclosure rules; a unit under the line again flagged; branch
admins and supervisors cannot make one; the action is audited."""
from __future__ import annotations

import re
from html import unescape

from sqlalchemy import func, select

from survey.db import db
from survey.models import AuditEntry, Campaign, QuestionnaireSnapshot, RespondentCategory, Unit

from test_remedy import ITEMS, closed, post, publish, records  # noqa: F401  (the fixture)
from test_roles import make_user, sign_in

BASE = "/admin/campaigns/rem-2025/remedies"


def finish(app, office, branch, codes=("R-1",)):
    """Publish rem-2025; the remedies of `codes` get a plan and a report (R-1 by its branch
    admin and then verified, R-2 by the office, which owns it)."""
    publish(office)
    made = records(app, closed_id(app))
    for code in codes:
        who = branch if code == "R-1" else office
        rid = made[code]["id"]
        assert post(who, f"{BASE}/{rid}/plan", text="查找原因，制定措施").status_code == 302
        assert post(who, f"{BASE}/{rid}/report", text="=HYPERLINK(\"http://x\") 已整改").status_code == 302
    if "R-1" in codes:
        assert post(office, f"{BASE}/{made['R-1']['id']}/verify").status_code == 302


def closed_id(app):
    with app.app_context():
        return db.session.scalar(select(Campaign.id).filter_by(slug="rem-2025"))


def campaigns(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Campaign))


def answer(app, slug, code, n, choice):
    """n residents answer every item of unit `code` in campaign `slug` with `choice`."""
    from survey.responses import Sheet, store
    with app.app_context():
        campaign = db.session.scalar(select(Campaign).filter_by(slug=slug))
        unit = db.session.scalar(select(Unit).filter_by(campaign_id=campaign.id, code=code))
        store([Sheet(campaign.id, unit.id, "five-goods", "resident", {k: (choice, None, "satisfaction") for k in ITEMS})
               for _ in range(n)])


def move(app, slug, *actions):
    from survey.campaigns import transition
    from survey.registry import current_registry
    with app.app_context():
        for action in actions:
            transition(db.session.scalar(select(Campaign).filter_by(slug=slug)), action, current_registry(), "test")
            db.session.commit()


def test_one_action_makes_one_follow_up_with_the_same_questionnaires_and_settings(app, closed, runner):
    office, branch = sign_in(app, "office"), sign_in(app, "branch")
    finish(app, office, branch, codes=("R-1",))  # R-1 verified; R-2 still open: not re-evaluated
    with app.app_context():  # settings the follow-up must keep
        original = db.session.get(Campaign, closed)
        original.minimum_cell, original.allow_repeat, original.hidden_categories = 4, True, ["deputy"]
        original.satisfaction_line = 0.75
        original.dont_know, original.leave_out = True, "unit"  # paper: 不了解, a unit left out by phone
        db.session.commit()
    response = post(office, f"{BASE}/reevaluate")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/campaigns/rem-2025-reeval")
    with app.app_context():
        original = db.session.get(Campaign, closed)
        follow = db.session.scalar(select(Campaign).filter_by(slug="rem-2025-reeval"))
        assert follow.state == "draft" and follow.follows_campaign_id == closed and follow.previous_campaign_id == closed
        for name in ("satisfaction_line", "composition_minimum", "minimum_sample", "minimum_cell", "access",
                     "allow_repeat", "show_comments", "personal_data", "scrub_interval", "hidden_categories",
                     "dont_know", "leave_out"):
            assert getattr(follow, name) == getattr(original, name), name
        assert [(u.code, u.name, u.parent, u.questionnaire) for u in follow.units] == [
            ("R-1", "城关镇中心小学", "城关镇", "five-goods")]

        def frozen(cid):
            return sorted((s.key, s.version, s.definition) for s in
                          db.session.scalars(select(QuestionnaireSnapshot).filter_by(campaign_id=cid)))

        def categories(cid):
            return sorted((c.sector, c.key, c.label_zh, c.counts_toward_share, c.position) for c in
                          db.session.scalars(select(RespondentCategory).filter_by(campaign_id=cid)))
        assert frozen(follow.id) == frozen(closed) and frozen(closed)
        assert categories(follow.id) == categories(closed)
        entry = db.session.scalar(select(AuditEntry).filter_by(action="campaign.reevaluate"))
        assert entry.actor == "office" and entry.target == "rem-2025"
        assert entry.detail == {"follow_up": "rem-2025-reeval", "units": ["R-1"]}
    assert "made a re-evaluation campaign (补课)" in office.get("/admin/audit?lang=en").get_data(as_text=True)
    # twice: 409 naming the one made, nothing new; the CLI names it too
    count = campaigns(app)
    again = office.post(f"{BASE}/reevaluate?lang=en", data={"csrf_token": office.csrf()})
    assert again.status_code == 409 and "exists already" in again.get_data(as_text=True)
    result = runner.invoke(args=["remedy", "reevaluate", "rem-2025"])
    assert result.exit_code == 0 and "rem-2025-reeval (draft), made before" in result.output
    assert campaigns(app) == count
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .filter_by(action="campaign.reevaluate")) == 1
    # opening freezes nothing new: the follow-up answers the questionnaire the original froze
    move(app, "rem-2025-reeval", "open")
    with app.app_context():
        follow_id = db.session.scalar(select(Campaign.id).filter_by(slug="rem-2025-reeval"))
        assert frozen(follow_id) == frozen(closed)
    page = office.get("/admin/campaigns/rem-2025-reeval?lang=en").get_data(as_text=True)
    assert "Re-evaluation (补课) of" in page and "/admin/campaigns/rem-2025-reeval/reevaluation" in page


def test_before_and_after_side_by_side_a_withheld_figure_stays_withheld(app, closed):
    office, branch = sign_in(app, "office"), sign_in(app, "branch")
    finish(app, office, branch, codes=("R-1", "R-2"))
    assert post(office, f"{BASE}/reevaluate").status_code == 302
    # not counted yet: no figure after
    page = office.get(f"{BASE}?lang=en").get_data(as_text=True)
    assert "not counted yet" in page
    move(app, "rem-2025-reeval", "open")
    answer(app, "rem-2025-reeval", "R-1", 40, "unsatisfied")  # under the line again
    answer(app, "rem-2025-reeval", "R-2", 6, "satisfied")  # too few raters: withheld (minimum sample 30)
    move(app, "rem-2025-reeval", "close")
    for url in ("/admin/campaigns/rem-2025-reeval/reevaluation?lang=en", f"{BASE}?lang=en",
                "/admin/campaigns/rem-2025/reevaluation?lang=en"):
        html = office.get(url).get_data(as_text=True)
        r1 = re.search(r'<tr id="reeval-R-1".*?</tr>', html, re.DOTALL).group(0)
        r2 = re.search(r'<tr id="reeval-R-2".*?</tr>', html, re.DOTALL).group(0)
        assert 'class="low"' in r1 and "again under the line" in r1 and r1.count("0.0%") == 2 and "+0.0" in r1, url
        assert "100.0%" not in r2 and "+100.0" not in r2 and "too few raters to tell" in r2, url
        assert r2.count("—") == 2 and "0.0%" in r2  # before shown, after and change withheld
    # a branch admin sees its units only (R-1 under 城关镇, R-2 under 东街街道)
    mine = branch.get("/admin/campaigns/rem-2025-reeval/reevaluation?lang=en").get_data(as_text=True)
    assert 'id="reeval-R-1"' in mine and 'id="reeval-R-2"' not in mine
    # a re-evaluation that came out well
    with app.app_context():
        from survey.reevaluation import comparison
        rows = {r.code: r for r in comparison(db.session.get(Campaign, closed),
                                              db.session.scalar(select(Campaign).filter_by(slug="rem-2025-reeval")))}
    assert rows["R-1"].again_under and rows["R-1"].change == 0.0
    assert rows["R-2"].after is None and rows["R-2"].change is None and not rows["R-2"].again_under


def test_a_unit_that_improved_is_not_flagged_and_zh_is_the_default(app, closed):
    office, branch = sign_in(app, "office"), sign_in(app, "branch")
    finish(app, office, branch, codes=("R-1",))
    post(office, f"{BASE}/reevaluate")
    move(app, "rem-2025-reeval", "open")
    answer(app, "rem-2025-reeval", "R-1", 40, "satisfied")
    move(app, "rem-2025-reeval", "close", "publish")
    html = office.get("/admin/campaigns/rem-2025-reeval/reevaluation?lang=zh_CN").get_data(as_text=True)
    row = re.search(r'<tr id="reeval-R-1".*?</tr>', html, re.DOTALL).group(0)
    assert "0.0%" in row and "100.0%" in row and "+100.0" in row and 'class="low"' not in row
    assert "前后对比" in html and "已达线" in row
    # the follow-up's public results name the original and show the change since then
    public = office.get("/results/rem-2025-reeval?lang=en").get_data(as_text=True)
    assert "Change is compared with" in public and "+100.0" in public


def test_who_may_make_one_and_what_is_refused(app, closed, runner, monkeypatch):
    office, branch = sign_in(app, "office"), sign_in(app, "branch")
    make_user(app, "super", "supervisor")
    supervisor = sign_in(app, "super")
    publish(office)
    count = campaigns(app)
    # no unit's remedy is done yet: 409 with the reason, nothing made
    refused = office.post(f"{BASE}/reevaluate?lang=en", data={"csrf_token": office.csrf()})
    assert refused.status_code == 409 and "No unit's remedy is done yet" in unescape(refused.get_data(as_text=True))
    finish_more = records(app, closed)["R-1"]["id"]
    post(branch, f"{BASE}/{finish_more}/plan", text="计划")
    post(branch, f"{BASE}/{finish_more}/report", text="报告")
    # branch admin and supervisor: 403, whatever they hold
    for who in (branch, supervisor):
        assert post(who, f"{BASE}/reevaluate").status_code == 403
    assert branch.get("/admin/campaigns/rem-2025/remedies/ledger.xlsx").status_code == 403
    assert branch.get("/admin/campaigns/rem-2025/remedies/ledger.pdf").status_code == 403
    # without the CSRF token, a campaign that does not exist, a slug that cannot exist
    assert office.post(f"{BASE}/reevaluate").status_code == 400
    assert post(office, "/admin/campaigns/nope-2025/remedies/reevaluate").status_code == 404
    assert post(office, "/admin/campaigns/NOPE!/remedies/reevaluate").status_code == 404
    assert campaigns(app) == count
    # another campaign (open, no remedies): refused, nothing made
    from survey.campaigns import create_campaign
    with app.app_context():
        create_campaign("open-2025", "另一个", "test")
        db.session.commit()
    other = office.post("/admin/campaigns/open-2025/remedies/reevaluate?lang=en", data={"csrf_token": office.csrf()})
    assert other.status_code == 409 and "closed or published" in other.get_data(as_text=True)
    # the CLI as a branch admin is refused; as the office it makes the one follow-up
    monkeypatch.setenv("SURVEY_USER", "branch")
    result = runner.invoke(args=["remedy", "reevaluate", "rem-2025"])
    assert result.exit_code == 1 and "'remedy.office'" in result.output
    monkeypatch.setenv("SURVEY_USER", "office")
    result = runner.invoke(args=["remedy", "reevaluate", "rem-2025"])
    assert result.exit_code == 0 and "rem-2025-reeval made (draft, 1 units: R-1)" in result.output
    assert campaigns(app) == count + 2  # open-2025 and the follow-up
    with app.app_context():
        assert db.session.scalar(select(AuditEntry.actor).filter_by(action="campaign.reevaluate")) == "office"
    # a follow-up is not followed again from its own remedies page, and its slug is taken: -reeval-2
    with app.app_context():
        from survey.reevaluation import follow_up_slug
        assert follow_up_slug(db.session.get(Campaign, closed)) == "rem-2025-reeval-2"


def test_the_database_holds_one_follow_up_per_campaign(app, closed):
    """The unique index behind "once only" (migration 0015_reevaluation), on both databases: two
    requests racing past the look-up cannot both write a follow-up."""
    import pytest
    from sqlalchemy.exc import IntegrityError
    with app.app_context():
        db.session.add(Campaign(slug="first-reeval", name="a", follows_campaign_id=closed))
        db.session.commit()
        db.session.add(Campaign(slug="second-reeval", name="b", follows_campaign_id=closed))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Campaign).filter_by(follows_campaign_id=closed)) == 1
