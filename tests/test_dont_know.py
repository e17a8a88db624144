"""“Don't know” (不了解): offered on every rated item when the campaign says so, on the phone and on
paper; counted and shown apart, never in a rate's valid base. A ballot holder may leave out a
unit they do not know when the campaign allows it."""
import json
import subprocess

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from survey.db import db
from survey.models import Campaign, Response, Unit

from test_paper import ITEMS, UNITS, tokens_on_ballots


@pytest.fixture
def ballots(app, make_campaign, tmp_path):
    """Two units, don't know offered, a unit may be left out; ballots 1–2 with their tokens."""
    from survey import paper
    make_campaign(units=UNITS, dont_know=True, leave_out="unit", minimum_sample=5)
    with app.app_context(), force_locale("en"):
        campaign = db.session.scalar(select(Campaign))
        batch = paper.print_ballots(campaign, tmp_path / "b.pdf", 2, base_url="http://survey.test", category="resident")
        layout = paper.ballot_layout(batch)
    return tokens_on_ballots(tmp_path / "b.pdf", tmp_path), layout


def unit_ids(app):
    with app.app_context():
        return [u.id for u in db.session.scalars(select(Unit).order_by(Unit.code))]


def test_phone_dont_know_is_apart_and_an_unknown_unit_is_left_out(app, client, ballots):
    from survey.results import compute
    tokens, _layout = ballots
    u1, u2 = unit_ids(app)
    page = client.get(f"/b/{tokens[0]}?lang=en").get_data(as_text=True)
    assert 'value="dont_know"' in page and "Don&#39;t know" in page or "Don't know" in page
    answers = {f"u{u1}-{k}": "satisfied" for k in ITEMS}
    answers.update({f"u{u1}-leadership": "dont_know", f"u{u1}-members": "unsatisfied"})
    assert client.post(f"/b/{tokens[0]}", data=answers).status_code == 303  # unit 2 left out
    with app.app_context():
        assert [r for r in db.session.scalars(select(Response.unit_id))] == [u1]
        results = compute(db.session.scalar(select(Campaign)))
    unit = next(u for u in results.units if u.id == u1)
    leadership = next(i for i in unit.items if i.key == "leadership")
    assert leadership.figures.total.dont_know == 1 and leadership.figures.total.valid == 0
    assert leadership.figures.total.rate is None and leadership.not_rated == 0
    assert unit.overall.total.valid == len(ITEMS) - 1 and unit.overall.total.dont_know == 1
    # every other item satisfied but one; don't know not in the base
    assert unit.rate == pytest.approx((len(ITEMS) - 2) / (len(ITEMS) - 1))
    assert next(u for u in results.units if u.id == u2).raters == 0
    data = next(u for u in results.as_dict()["units"] if u["code"] == "GEN-001")
    assert data["dont_know"] == 1 and data["valid"] == len(ITEMS) - 1
    assert next(i for i in data["items"] if i["key"] == "leadership")["dont_know"] == 1


def test_leaving_every_unit_out_is_refused(app, client, ballots):
    tokens, _layout = ballots
    refused = client.post(f"/b/{tokens[0]}?lang=en", data={})
    assert refused.status_code == 422 and "Please rate at least one unit." in refused.get_data(as_text=True)
    with app.app_context():
        assert not db.session.scalar(select(func.count()).select_from(Response))


def test_without_leave_out_every_unit_must_be_answered(app, client, make_campaign, tmp_path):
    from survey import paper
    make_campaign(units=UNITS)
    with app.app_context(), force_locale("en"):
        paper.print_ballots(db.session.scalar(select(Campaign)), tmp_path / "b.pdf", 1,
                            base_url="http://survey.test", category="resident")
    token, = tokens_on_ballots(tmp_path / "b.pdf", tmp_path)
    u1, _u2 = unit_ids(app)
    page = client.get(f"/b/{token}").get_data(as_text=True)
    assert 'value="dont_know"' not in page
    refused = client.post(f"/b/{token}", data={f"u{u1}-{k}": "satisfied" for k in ITEMS})
    assert refused.status_code == 422
    with app.app_context():
        assert not db.session.scalar(select(func.count()).select_from(Response))


def test_paper_dont_know_box_entry_and_tally_sheet(app, ballots, runner, tmp_path):
    from survey import paper
    _tokens, layout = ballots
    u1, u2 = unit_ids(app)
    boxes = layout["pages"][0]["boxes"]
    assert {b["choice"] for b in boxes if b.get("item") == "leadership"} == {"satisfied", "basic", "unsatisfied",
                                                                             "dont_know"}
    assert len(boxes) == 2 * len(ITEMS) * 4
    entry = {paper.field_name(u, k): "dont_know" if k == "contact" else "basic" for u in (u1, u2) for k in ITEMS}
    with app.app_context(), force_locale("en"):
        campaign = db.session.scalar(select(Campaign))
        paper.enter_ballot(campaign, 2, "clerk-a", entry)
        assert paper.enter_ballot(campaign, 2, "clerk-b", entry) == "counted"
        paper.print_ballots(campaign, tmp_path / "more.pdf", 10, base_url="http://survey.test", category="resident")
        counts = {}
        for k in ITEMS:
            counts.update({(u1, k, "satisfied"): 6, (u1, k, "dont_know"): 3, (u1, k, paper.BLANK): 1})
        sheet = paper.TallyCounts(category="resident", issued=10, returned=10, valid=10, invalid=0, counts=counts,
                                  box="B", ranges=[(3, 12)])
        assert [paper.enter_tally_sheet(campaign, sheet, c) for c in ("a", "b")] == ["waiting", "counted"]
    out = tmp_path / "r.json"
    assert runner.invoke(args=["export", "test-2025", "--format", "json", "--out", str(out)]).exit_code == 0
    unit = next(u for u in json.loads(out.read_text(encoding="utf-8"))["units"] if u["code"] == "GEN-001")
    contact = next(i for i in unit["items"] if i["key"] == "contact")
    assert (contact["dont_know"], contact["valid"], contact["not_rated"]) == (4, 6, 1)
    leadership = next(i for i in unit["items"] if i["key"] == "leadership")
    assert (leadership["valid"], leadership["dont_know"], leadership["not_rated"]) == (7, 3, 1)
    assert leadership["rate"] == 1.0  # 6 satisfied + 1 basic of 7 valid: don't know is not in the base
    xlsx = tmp_path / "r.xlsx"
    assert runner.invoke(args=["export", "test-2025", "--format", "xlsx", "--out", str(xlsx)]).exit_code == 0
    import openpyxl
    cells = [[c.value for c in row] for sheet in openpyxl.load_workbook(xlsx).worksheets for row in sheet.iter_rows()]
    assert any("不了解" in [str(v) for v in row] for row in cells)
    assert runner.invoke(args=["report", "test-2025", "--out", str(tmp_path / "r.pdf")]).exit_code == 0
    text = subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True).stdout
    flat = "".join(text.split())
    assert "(不了解4·未评1)" in flat  # contact of GEN-001, apart from its valid answers


def test_items_may_be_left_out_by_qr_but_not_everything(app, client, make_campaign):
    make_campaign(units=UNITS[:1], leave_out="items", dont_know=True)
    # the unit's QR asks its point-of-service questionnaire (survey.answering.point_of_service)
    partly = {"category": "resident", "reception": "satisfied", "speed": "dont_know"}
    assert client.post("/s/GEN-001", data=partly).status_code == 303
    with app.app_context():
        from survey.models import Answer
        assert dict(db.session.execute(select(Answer.item, Answer.choice)).all()) == {
            "reception": "satisfied", "speed": "dont_know"}
    nothing = app.test_client().post("/s/GEN-001?lang=en", data={"category": "resident"})  # another phone
    assert nothing.status_code == 422 and "Please answer at least one question." in nothing.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 1
