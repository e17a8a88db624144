"""The publish preview on an office admin's phone (360×740, Chromium): the table of what becomes
public is laid out as on the public page (a card per unit), not wider than the screen; in
English, whose headings are longest, and in Chinese."""
from sqlalchemy import select

from survey.db import db
from survey.models import Unit
from survey.testing import ADMIN_PASSWORD, ADMIN_USER, GENERAL_ITEMS


def test_the_publish_preview_fits_a_phone(app, make_campaign, live_server, browser, tmp_path):
    from survey.auth import create_user
    from survey.responses import Sheet, store
    cid = make_campaign(slug="pub-2025", units=[("GEN-001", "城关镇党委", "general"), ("GEN-002", "东街社区党支部", "general")],
                        state="open")
    with app.app_context():
        for unit in db.session.scalars(select(Unit).filter_by(campaign_id=cid)):
            store([Sheet(cid, unit.id, "five-goods", "resident", {k: ("satisfied", None, "satisfaction") for k in GENERAL_ITEMS})
                   for _ in range(12)])
        from survey.campaigns import transition
        from survey.models import Campaign
        from survey.registry import current_registry
        transition(db.session.get(Campaign, cid), "close", current_registry(), "test")
        db.session.commit()
        create_user(ADMIN_USER, ADMIN_PASSWORD)
    wide = []
    for lang in ("en", "zh_CN"):
        context = browser.new_context(viewport={"width": 360, "height": 740})
        context.add_cookies([{"name": "lang", "value": lang, "url": live_server}])
        page = context.new_page()
        page.goto(f"{live_server}/admin/login")
        page.fill("input[name=username]", ADMIN_USER)
        page.fill("input[name=password]", ADMIN_PASSWORD)
        page.press("input[name=password]", "Enter")
        page.wait_for_url("**/admin/")
        page.goto(f"{live_server}/admin/campaigns/pub-2025/publish")
        assert page.locator("table.units td.unit").count() == 2
        width = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(tmp_path / f"publish-{lang}.png"), full_page=True)
        if width > 360:
            wide.append((lang, width))
        context.close()
    assert not wide, wide
