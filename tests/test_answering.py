"""The resident's path by QR code: form, validation, thank-you page, clear refusals."""
import re

from sqlalchemy import func, select

from survey.db import db
from survey.models import Answer, Response, Tally


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_form_in_chinese_by_default(client, make_campaign):
    make_campaign()
    page = client.get("/s/GEN-001")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    # the QR code answers the point-of-service form: the rater's own visit, no leadership
    assert "城关镇党委" in html and "接待" in html and "满意" in html and "基本满意" in html
    assert "领导班子" not in html and "党员带头" not in html
    assert 'lang="zh-CN"' in html


def test_english_from_accept_language_and_switch(client, make_campaign):
    make_campaign()
    html = client.get("/s/GEN-001", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert "Reception: how the staff treated you" in html and "Basically satisfied" in html
    switched = client.get("/s/GEN-001?lang=zh_CN", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "接待：工作人员对您的态度" in switched


def test_answer_is_stored_counted_and_redirected(app, client, make_campaign, full_answer):
    make_campaign()
    response = client.post("/s/GEN-001", data=full_answer)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/s/GEN-001/thanks")
    assert client.get(response.headers["Location"]).status_code == 200
    assert count(app, Response) == 1
    assert count(app, Answer) == 6  # the point-of-service form's 5 rated questions and the comment
    with app.app_context():
        raters = db.session.scalar(select(Tally.count).where(Tally.item == ""))
        reception = db.session.scalar(select(Tally.count).where(Tally.item == "reception", Tally.choice == "satisfied"))
        stored = db.session.scalar(select(Response.questionnaire))
    assert raters == 1 and reception == 1 and stored == "general-visit"


def test_validation_error_keeps_answers_and_writes_nothing(app, client, make_campaign, full_answer):
    make_campaign()
    partial = dict(full_answer)
    del partial["speed"]
    partial["comment"] = "很好"
    response = client.post("/s/GEN-001", data=partial)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert len(re.findall(r"<input [^>]*\bchecked\b", html)) == 5  # the category and the 4 other answers stay checked
    assert "很好" in html
    # the message counts what is missing; the missing question, and only it, gets autofocus
    assert "还有 1 题未作答。" in html and 'href="#q-speed"' in html
    assert re.findall(r"<input [^>]*\bautofocus\b[^>]*>", html) == [
        m for m in re.findall(r"<input [^>]*>", html) if 'name="speed"' in m][:1]
    assert count(app, Response) == 0 and count(app, Tally) == 0


def test_comment_longer_than_limit_is_refused(app, client, make_campaign, full_answer):
    make_campaign()
    response = client.post("/s/GEN-001", data={**full_answer, "comment": "长" * 501})
    assert response.status_code == 422
    assert count(app, Response) == 0


def test_choice_not_on_the_scale_is_refused(app, client, make_campaign, full_answer):
    make_campaign()
    response = client.post("/s/GEN-001", data={**full_answer, "reception": "excellent"})
    assert response.status_code == 422
    assert count(app, Response) == 0


def test_unknown_unit_not_open_and_closed_each_get_their_page(app, client, make_campaign, full_answer):
    make_campaign(slug="draft", units=[("D-1", "草稿单位", "general")], state="draft")
    make_campaign(slug="ended", units=[("C-1", "已结束单位", "general")], state="closed")
    unknown = client.get("/s/NO-SUCH")
    assert unknown.status_code == 404 and "NO-SUCH" in unknown.get_data(as_text=True)
    assert client.get("/s/%3Cscript%3E").status_code == 404
    draft = client.post("/s/D-1", data=full_answer)
    assert draft.status_code == 403
    closed = client.post("/s/C-1", data=full_answer)
    assert closed.status_code == 410
    assert count(app, Response) == 0


def test_already_answered_cookie_and_family_phone_setting(app, client, make_campaign, full_answer):
    make_campaign()
    assert client.post("/s/GEN-001", data=full_answer).status_code == 303
    again = client.post("/s/GEN-001", data=full_answer)
    assert again.status_code == 409
    assert client.get("/s/GEN-001").status_code == 409
    assert count(app, Response) == 1
    make_campaign(slug="family", units=[("FAM-1", "家庭单位", "general")], allow_repeat=True)
    assert client.post("/s/FAM-1", data=full_answer).status_code == 303
    assert client.post("/s/FAM-1", data=full_answer).status_code == 303


def test_forged_answered_cookie_is_ignored(client, make_campaign, full_answer):
    campaign_id = make_campaign()
    client.set_cookie(f"answered_{campaign_id}", "WzFd.forged", domain="localhost")
    assert client.get("/s/GEN-001").status_code == 200


def test_ballot_only_campaign_refuses_open_qr(client, make_campaign, full_answer):
    make_campaign(access="tokens")
    assert client.post("/s/GEN-001", data=full_answer).status_code == 403


def test_commitment_items_are_generated_per_unit(app, client, make_campaign, full_answer):
    make_campaign(commitments=["每月公开一次收支情况", "群众来电三日内答复"])
    # 评诺 is on the assembly form, not on the point-of-service form the QR code answers …
    assert "每月公开一次收支情况" not in client.get("/s/GEN-001").get_data(as_text=True)
    # … unless the campaign has no pair frozen (as campaigns opened before the split): then the
    # QR code answers the unit's own questionnaire
    from survey.models import QuestionnaireSnapshot
    with app.app_context():
        db.session.execute(QuestionnaireSnapshot.__table__.delete().where(QuestionnaireSnapshot.key == "general-visit"))
        db.session.commit()
    html = client.get("/s/GEN-001").get_data(as_text=True)
    assert "每月公开一次收支情况" in html and "已兑现" in html and "部分兑现" in html
    response = client.post("/s/GEN-001", data={**full_answer, "commitments.1": "fulfilled", "commitments.2": "partly"})
    assert response.status_code == 303
    with app.app_context():
        rows = dict(db.session.execute(select(Answer.item, Answer.choice).where(Answer.item.like("commitments%"))).all())
    assert rows == {"commitments.1": "fulfilled", "commitments.2": "partly"}
