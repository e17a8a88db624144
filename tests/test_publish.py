"""Publishing is guarded: a preview of exactly what becomes public and what to check, a POST
with an explicit confirmation, withdrawal with a reason in the audit log; and the summary
tiles always agree with the badges in the table."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from survey.db import db
from survey.models import AuditEntry, Campaign, Unit

ITEMS = ["leadership", "members", "mechanism", "results", "reputation", "serve_development",
         "serve_people", "grassroots", "integrity", "style"]
UNITS = [("P-1", "城关镇党委", "general"), ("P-2", "东街社区", "general"), ("P-3", "西街社区", "general"),
         ("P-4", "南关村", "general"), ("P-5", "北关村", "general"), ("P-6", "河东村", "general"),
         ("P-7", "河西村", "general")]


@pytest.fixture
def closed(app, make_campaign):
    """P-1 conclusive and met, with 2 deputies (a small group, withheld with its complement);
    P-2 too few raters, all deputies; P-3..P-6 no raters (not enough raters, but not
    'composition not met'); P-7 under the line with 25% residents."""
    from survey.responses import Sheet, store
    cid = make_campaign(slug="pub-2025", units=UNITS, state="open")
    with app.app_context():
        ids = {u.code: u.id for u in db.session.scalars(select(Unit).filter_by(campaign_id=cid))}

        def sheets(code, n, category, choice):
            return [Sheet(cid, ids[code], "five-goods", category,
                          {k: (choice, None, "satisfaction") for k in ITEMS}) for _ in range(n)]
        store(sheets("P-1", 40, "resident", "satisfied") + sheets("P-1", 2, "deputy", "satisfied")
              + sheets("P-2", 10, "deputy", "satisfied")
              + sheets("P-7", 30, "deputy", "unsatisfied") + sheets("P-7", 10, "resident", "unsatisfied"))
        from survey.campaigns import transition
        from survey.registry import current_registry
        transition(db.session.get(Campaign, cid), "close", current_registry(), "test")
        db.session.commit()
    return cid


def tiles(html) -> dict[str, int]:
    summary = re.search(r'<div class="res-summary">(.*?)</div>\s*\n\s*<h2>', html, re.S).group(1)
    return {label.strip(): int(n) for label, n in re.findall(r"<div>([^<]+)<b>(\d+)</b></div>", summary)}


def badges(html, label) -> int:
    table = re.search(r'<table class="units">.*?</table>', html, re.S).group(0)
    return table.count(f">{label}</span>")


@pytest.mark.parametrize("where", ["/results/pub-2025?lang=en", "/admin/campaigns/pub-2025/publish?lang=en"])
def test_summary_tiles_agree_with_the_table(admin_client, closed, where):
    html = admin_client.get(where).get_data(as_text=True)
    counts = tiles(html)
    assert counts["Composition not met"] == badges(html, "Composition not met") == 1
    assert counts["Must remedy"] == badges(html, "Must remedy") == 1
    assert counts["Inconclusive"] == badges(html, "Inconclusive") == 0
    assert counts["Not enough raters"] == badges(html, "Not enough raters") == 5
    assert counts["Units"] == html.count("<td class=\"unit\">") == 7
    assert counts["Raters"] == 92


def test_the_preview_shows_what_becomes_public_and_what_to_check(app, admin_client, closed):
    client = app.test_client()  # a visitor, not signed in
    preview = admin_client.get("/admin/campaigns/pub-2025/publish?lang=en").get_data(as_text=True)
    check = {k: re.search(rf'<li id="check-{k}">(.*?)</li>', preview, re.S).group(1)
             for k in ("composition", "few", "inconclusive", "withheld")}
    assert "Composition rule not met" in check["composition"] and "河西村" in check["composition"]
    assert "城关镇党委" not in check["composition"] and "东街社区" not in check["composition"]  # too few to judge
    assert "5 unit(s) have fewer than 30 raters" in check["few"]
    assert "东街社区 (10)" in check["few"] and "南关村 (0)" in check["few"] and "城关镇党委" not in check["few"]
    assert "Every unit shown with its figures has a conclusive result." in check["inconclusive"]
    # what the disclosure rules withhold: the 2 deputies of 城关镇党委, and the residents with them
    assert "Small groups withheld" in check["withheld"] and "fewer than 5 raters" in check["withheld"]
    assert "城关镇党委 (People&#39;s congress deputy or CPPCC member、Residents&#39; representative)" in check["withheld"]
    assert "河西村" not in check["withheld"]
    # exactly the public page's tiles and table
    public = admin_client.get("/results/pub-2025?lang=en").get_data(as_text=True)
    part = lambda html: re.search(r'<div class="res-summary">.*?</table>', html, re.S).group(0)  # noqa: E731
    assert part(preview) == part(public)
    assert client.get("/results/pub-2025").status_code == 404  # not public yet


def test_publishing_needs_the_confirmation_and_withdrawing_a_reason(app, admin_client, closed):
    client = app.test_client()  # a visitor, not signed in
    url = "/admin/campaigns/pub-2025/publish"
    # the one-click POST of before (no confirmation field) publishes nothing
    for data in ({}, {"confirm": ""}):
        response = admin_client.post(url + "?lang=en", data={**data, "csrf_token": admin_client.csrf(url)})
        assert response.status_code == 422 and "Tick the box" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Campaign.state).filter_by(slug="pub-2025")) == "closed"
    assert admin_client.post(url, data={"confirm": "y", "csrf_token": admin_client.csrf(url)}).status_code == 302
    assert client.get("/results/pub-2025").status_code == 200
    assert client.get("/api/campaigns/pub-2025/results").status_code == 200
    # withdrawing needs a reason
    page = "/admin/campaigns/pub-2025"
    assert admin_client.post(page + "/withdraw", data={"reason": "", "csrf_token": admin_client.csrf(page)}
                             ).status_code == 422
    with app.app_context():
        assert db.session.scalar(select(Campaign.state).filter_by(slug="pub-2025")) == "published"
    reason = "河西村的纸质票漏录，重新计票"
    assert admin_client.post(page + "/withdraw", data={"reason": reason, "csrf_token": admin_client.csrf(page)}
                             ).status_code == 302
    assert client.get("/results/pub-2025").status_code == 404
    assert client.get("/api/campaigns/pub-2025/results").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(Campaign.state).filter_by(slug="pub-2025")) == "closed"
        entry = db.session.scalar(select(AuditEntry).filter_by(action="campaign.withdraw"))
        assert entry.target == "pub-2025" and entry.detail == {"reason": reason} and entry.actor == "office"
    # a withdrawn campaign can be published again, through the preview
    assert "/admin/campaigns/pub-2025/publish" in admin_client.get(page).get_data(as_text=True)


def test_cli_withdraw_needs_a_published_campaign_and_keeps_the_reason(app, runner, closed):
    refused = runner.invoke(args=["campaign", "withdraw", "pub-2025", "--reason", "x"])
    assert refused.exit_code == 1 and "only published results can be withdrawn" in refused.output
    assert runner.invoke(args=["campaign", "publish", "pub-2025"]).exit_code == 0
    done = runner.invoke(args=["campaign", "withdraw", "pub-2025", "--reason", "重新计票"])
    assert done.exit_code == 0, done.output
    with app.app_context():
        assert db.session.scalar(select(Campaign.state).filter_by(slug="pub-2025")) == "closed"
        assert db.session.scalar(select(AuditEntry.detail).filter_by(action="campaign.withdraw")) == {
            "reason": "重新计票"}
