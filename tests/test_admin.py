"""The campaign office's admin: sign-in, CSRF, campaigns, units, QR codes, counts, audit, plugins."""
import io
import re
import subprocess
import types
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select

from survey import hookimpl
from survey.db import db
from survey.models import AuditEntry, Campaign, Unit

GOOD = {
    "slug": "county-2025", "name": "2025年度群众满意度测评", "starts_on": "2025-03-01",
    "ends_on": "2025-03-31", "satisfaction_line": "75", "composition_minimum": "30",
    "minimum_sample": "40", "minimum_cell": "6", "access": "both", "allow_repeat": "y",
}


def _extra_plugin():
    """A second sector with its own questionnaire, so sector/questionnaire checks have two."""
    module = types.ModuleType("admin_test_plugin")

    @hookimpl
    def survey_sectors():
        return [{"key": "admintest", "label": {"zh": "图书馆", "en": "Library"}}]

    @hookimpl
    def survey_questionnaires():
        return [{"key": "library-basic", "version": "1", "sector": "admintest",
                 "title": {"zh": "图书馆满意度", "en": "Library satisfaction"},
                 "items": [{"key": "service", "kind": "choice", "scale": "satisfaction",
                            "label": {"zh": "服务", "en": "Service"}}]}]

    module.survey_sectors = survey_sectors
    module.survey_questionnaires = survey_questionnaires
    return module


@pytest.fixture
def app_config():
    return {"SURVEY_EXTRA_PLUGINS": [("admin-test", _extra_plugin())]}


@pytest.fixture
def admin_client(admin_client):
    """Signed in, reading the admin in English (messages are checked in the source language)."""
    admin_client.set_cookie("lang", "en")
    return admin_client


def count(app, model, **where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).filter_by(**where))


def campaign_row(app, slug):
    with app.app_context():
        return db.session.scalar(select(Campaign).filter_by(slug=slug))


def actions(app):
    with app.app_context():
        return [a for a in db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))]


def post(client, url, data=None, page=None, **kwargs):
    """POST with the CSRF token taken from the page the form is on."""
    return client.post(url, data={**(data or {}), "csrf_token": client.csrf(page or url)}, **kwargs)


# --- sign-in and CSRF -------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/admin/", "/admin/campaigns/new", "/admin/campaigns/test-2025",
                                 "/admin/campaigns/test-2025/units/GEN-001/qr.png", "/admin/audit",
                                 "/admin/plugins"])
def test_admin_pages_need_sign_in(client, make_campaign, url):
    make_campaign()
    response = client.get(url)
    assert response.status_code == 302
    assert "/admin/login" in response.headers["Location"]


def test_post_without_csrf_token_is_refused(app, admin_client, make_campaign):
    response = admin_client.post("/admin/campaigns/new", data=GOOD)
    assert response.status_code == 400
    assert count(app, Campaign) == 0
    make_campaign(state="draft", units=())
    assert admin_client.post("/admin/campaigns/test-2025/units/new",
                             data={"code": "X-1", "name": "x", "sector": "general"}).status_code == 400
    assert admin_client.post("/admin/campaigns/test-2025/open").status_code == 400
    assert count(app, Unit) == 0 and campaign_row(app, "test-2025").state == "draft"


# --- campaigns --------------------------------------------------------------------------------
def test_campaign_list_has_new_button_and_counts(admin_client, make_campaign, full_answer):
    make_campaign()
    assert admin_client.post("/s/GEN-001", data=full_answer).status_code == 303
    html = admin_client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/campaigns/new"' in html
    assert "test-2025" in html and "测评 test-2025" in html
    row = re.search(r"<tr><td><a href=\"/admin/campaigns/test-2025\">.*?</tr>", html, re.S).group(0)
    assert re.findall(r'<td class="n">(\d+)</td>', row) == ["1", "1"]


def test_create_campaign(app, admin_client):
    form = admin_client.get("/admin/campaigns/new").get_data(as_text=True)
    assert 'value="70"' in form and 'value="30"' in form  # the defaults
    response = post(admin_client, "/admin/campaigns/new", GOOD)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/campaigns/county-2025")
    c = campaign_row(app, "county-2025")
    assert c.name == GOOD["name"] and c.state == "draft"
    assert c.satisfaction_line == pytest.approx(0.75) and c.composition_minimum == pytest.approx(0.30)
    assert c.minimum_sample == 40 and c.minimum_cell == 6 and c.access == "both" and c.allow_repeat and not c.show_comments
    assert str(c.starts_on) == "2025-03-01" and str(c.ends_on) == "2025-03-31"
    assert actions(app)[-1] == "campaign.create"
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert GOOD["name"] in page and "75%" in page


@pytest.mark.parametrize("field,value,message", [
    ("slug", "county 2025", "lower-case letters"),
    ("satisfaction_line", "150", "between 1 and 100"),
    ("ends_on", "2025-02-01", "end must not be before the start"),
    ("composition_minimum", "-1", "between 0 and 100"),
    ("minimum_sample", "0", "between 1 and 10000"),
    ("minimum_cell", "2", "At least 3 raters"),
    ("name", "", "required"),
])
def test_bad_campaign_value_names_the_field(app, admin_client, field, value, message):
    response = post(admin_client, "/admin/campaigns/new", {**GOOD, field: value})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', html)
    assert error and message in error.group(1)
    assert f'aria-describedby="{field}-error"' in html
    assert count(app, Campaign) == 0 and count(app, AuditEntry, action="campaign.create") == 0


def test_duplicate_slug_is_a_field_error(app, admin_client, make_campaign):
    make_campaign(slug="county-2025")
    response = post(admin_client, "/admin/campaigns/new", GOOD)
    assert response.status_code == 422
    assert 'id="slug-error"' in response.get_data(as_text=True)
    assert count(app, Campaign) == 1


def test_counting_rules_are_fixed_once_open(app, admin_client, make_campaign):
    make_campaign(slug="county-2025")  # open
    page = admin_client.get("/admin/campaigns/county-2025/edit").get_data(as_text=True)
    assert "only while the campaign is a draft" in page and 'name="satisfaction_line"' not in page
    response = post(admin_client, "/admin/campaigns/county-2025/edit",
                    {**GOOD, "name": "改名", "satisfaction_line": "90", "access": "tokens"})
    assert response.status_code == 302
    c = campaign_row(app, "county-2025")
    assert c.name == "改名" and c.satisfaction_line == pytest.approx(0.70) and c.access == "both"
    assert actions(app)[-1] == "campaign.edit"


def test_opening_without_units_is_refused_with_the_reason(app, admin_client, make_campaign):
    make_campaign(slug="empty", units=(), state="draft")
    response = post(admin_client, "/admin/campaigns/empty/open", page="/admin/campaigns/empty")
    assert response.status_code == 409
    assert "the campaign has no units" in response.get_data(as_text=True)
    assert campaign_row(app, "empty").state == "draft"
    assert "campaign.open" not in actions(app)


def test_open_close_publish(app, admin_client, make_campaign):
    make_campaign(state="draft")
    page = "/admin/campaigns/test-2025"
    for action, state in (("open", "open"), ("close", "closed"), ("open", "open"),
                          ("close", "closed"), ("publish", "published")):
        data = {"confirm": "y"} if action == "publish" else None  # publishing is confirmed on its preview
        response = post(admin_client, f"{page}/{action}", data, page=page)
        assert response.status_code == 302, action
        assert campaign_row(app, "test-2025").state == state
    assert [a for a in actions(app) if a.startswith("campaign.")] == [
        "campaign.open", "campaign.close", "campaign.open", "campaign.close", "campaign.publish"]
    with app.app_context():
        assert set(db.session.scalars(select(AuditEntry.actor).where(AuditEntry.action.like("campaign.%")))) == {"office"}
    # a published campaign has no more buttons, and a forced one is refused
    html = admin_client.get(page).get_data(as_text=True)
    assert "/test-2025/open" not in html and "/test-2025/close" not in html
    assert post(admin_client, f"{page}/close", page="/admin/").status_code == 409


def test_campaign_page_shows_live_counts_address_and_qr_links(admin_client, make_campaign, full_answer):
    make_campaign(units=[("GEN-001", "城关镇党委", "general"), ("GEN-002", "东街社区", "general")])
    page = admin_client.get("/admin/campaigns/test-2025").get_data(as_text=True)
    assert "http://survey.test/s/GEN-001" in page
    assert "/admin/campaigns/test-2025/units/GEN-001/qr.png" in page
    assert "/admin/campaigns/test-2025/units/GEN-001/qr.svg" in page

    def cells(html, code):
        row = re.search(rf'<tr id="unit-{code}".*?</tr>', html, re.S).group(0)
        return [int(re.search(rf'<td class="n {k}">(\d+)</td>', row).group(1)) for k in ("online", "paper", "total")]

    assert cells(page, "GEN-001") == [0, 0, 0]
    assert admin_client.post("/s/GEN-001", data=full_answer).status_code == 303
    page = admin_client.get("/admin/campaigns/test-2025").get_data(as_text=True)
    assert cells(page, "GEN-001") == [1, 0, 1] and cells(page, "GEN-002") == [0, 0, 0]
    unit = admin_client.get("/admin/campaigns/test-2025/units/GEN-001").get_data(as_text=True)
    assert re.search(r"<td class=\"n total\">1</td>", unit) and "representative *" in unit


# --- QR codes ---------------------------------------------------------------------------------
def test_qr_png_decodes_to_the_public_address(admin_client, make_campaign, tmp_path):
    make_campaign()
    response = admin_client.get("/admin/campaigns/test-2025/units/GEN-001/qr.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "GEN-001.png" in response.headers["Content-Disposition"]
    image = tmp_path / "qr.png"
    image.write_bytes(response.data)
    decoded = subprocess.run(["/usr/bin/zbarimg", "--raw", "-q", str(image)],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert decoded == "http://survey.test/s/GEN-001"


def test_qr_svg_is_well_formed(admin_client, make_campaign):
    make_campaign()
    response = admin_client.get("/admin/campaigns/test-2025/units/GEN-001/qr.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert "GEN-001.svg" in response.headers["Content-Disposition"]
    root = ET.fromstring(response.data)
    assert root.tag.endswith("svg")
    assert admin_client.get("/admin/campaigns/test-2025/units/NOPE/qr.svg").status_code == 404


# --- units ------------------------------------------------------------------------------------
def test_add_edit_delete_unit(app, admin_client, make_campaign):
    make_campaign(state="draft", units=())
    new = "/admin/campaigns/test-2025/units/new"
    form = admin_client.get(new).get_data(as_text=True)
    assert "(sector default)" in form and "图书馆 / Library" in form
    response = post(admin_client, new, {"code": "LIB-1", "name": "县图书馆", "sector": "admintest",
                                        "questionnaire": "", "parent": "县文广局",
                                        "commitments": "延长开放时间\n\n每月办一次讲座\n"})
    assert response.status_code == 302
    with app.app_context():
        unit = db.session.scalar(select(Unit).filter_by(code="LIB-1"))
        assert unit.sector == "admintest" and unit.parent == "县文广局"
        assert unit.commitments == ["延长开放时间", "每月办一次讲座"]
    # the same code again, and a questionnaire of another sector: field errors, nothing written
    again = post(admin_client, new, {"code": "LIB-1", "name": "x", "sector": "admintest"})
    assert again.status_code == 422 and 'id="code-error"' in again.get_data(as_text=True)
    wrong = post(admin_client, new, {"code": "LIB-2", "name": "x", "sector": "admintest",
                                     "questionnaire": "five-goods"})
    assert wrong.status_code == 422 and 'id="questionnaire-error"' in wrong.get_data(as_text=True)
    assert count(app, Unit) == 1
    edit = "/admin/campaigns/test-2025/units/LIB-1/edit"
    assert post(admin_client, edit, {"code": "LIB-1", "name": "县图书馆（新馆）", "sector": "admintest",
                                     "questionnaire": "library-basic"}).status_code == 302
    with app.app_context():
        unit = db.session.scalar(select(Unit).filter_by(code="LIB-1"))
        assert unit.name == "县图书馆（新馆）" and unit.questionnaire == "library-basic"
    delete = post(admin_client, "/admin/campaigns/test-2025/units/LIB-1/delete",
                  page="/admin/campaigns/test-2025/units/LIB-1")
    assert delete.status_code == 302 and count(app, Unit) == 0
    assert [a for a in actions(app) if a.startswith("unit.")] == ["unit.add", "unit.edit", "unit.delete"]
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).filter_by(action="unit.add"))
        assert entry.actor == "office" and entry.target == "test-2025/LIB-1"


def test_open_campaign_unit_keeps_code_and_cannot_be_deleted(app, admin_client, make_campaign):
    make_campaign()
    edit = "/admin/campaigns/test-2025/units/GEN-001/edit"
    page = admin_client.get(edit).get_data(as_text=True)
    assert 'name="code"' not in page and 'name="name"' in page
    assert post(admin_client, edit, {"name": "城关镇党委（新）", "code": "OTHER"}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Unit.name).filter_by(code="GEN-001")) == "城关镇党委（新）"
    post(admin_client, "/admin/campaigns/test-2025/units/GEN-001/delete", page=edit)
    assert count(app, Unit) == 1


def test_import_good_csv_adds_units(app, admin_client, make_campaign):
    make_campaign(state="draft", units=())
    csv = "单位编码,单位名称,类别,公开承诺\nLIB-1,县图书馆,admintest,延长开放时间；每月办一次讲座\nGEN-9,城关镇党委,general,\n"
    response = post(admin_client, "/admin/campaigns/test-2025/units/import",
                    {"file": (io.BytesIO(csv.encode()), "units.csv")},
                    page="/admin/campaigns/test-2025", content_type="multipart/form-data")
    assert response.status_code == 302
    page = admin_client.get("/admin/campaigns/test-2025").get_data(as_text=True)
    assert "2 added" in page and "县图书馆" in page and 'id="unit-GEN-9"' in page
    assert count(app, Unit) == 2 and "units.import" in actions(app)


def test_import_bad_csv_shows_every_problem_and_adds_nothing(app, admin_client, make_campaign):
    make_campaign(state="draft", units=())
    csv = "code,name,sector\nGEN-1,城关镇党委,general\nGEN-2,东街社区,nosuch\nGEN-3,,general\n"
    response = post(admin_client, "/admin/campaigns/test-2025/units/import",
                    {"file": (io.BytesIO(csv.encode()), "units.csv")},
                    page="/admin/campaigns/test-2025", content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    problems = re.findall(r"<li>(row \d+: [^<]*)</li>", html)
    assert len(problems) == 2
    assert problems[0].startswith("row 3: field sector") and "nosuch" in problems[0]
    assert problems[1].startswith("row 4: field name")
    assert count(app, Unit) == 0 and "units.import" not in actions(app)


# --- audit log and plugins --------------------------------------------------------------------
def test_audit_log_newest_first_and_paged(app, admin_client):
    from survey.models import audit
    with app.app_context():
        for n in range(150):
            audit("office", "test.entry", f"target-{n:03d}", n=n)
        db.session.commit()
    first = admin_client.get("/admin/audit").get_data(as_text=True)
    targets = re.findall(r"target-(\d{3})", first)
    assert len(targets) == 100 and targets[0] == "149" and targets == sorted(targets, reverse=True)
    assert "?page=2" in first
    second = admin_client.get("/admin/audit?page=2").get_data(as_text=True)
    assert "target-000" in second and "user.login" in second and "user.create" in second
    assert admin_client.get("/admin/audit?page=99").status_code == 200


def test_plugins_page_lists_builtin_as_loaded(admin_client):
    html = admin_client.get("/admin/plugins").get_data(as_text=True)
    row = re.search(r'<tr id="plugin-survey.builtin" class="([^"]*)">(.*?)</tr>', html, re.S)
    assert row and row.group(1) == "loaded"
    assert "five-goods" in row.group(2) and "general" in row.group(2)
    assert "survey_questionnaires" in row.group(2)
    assert 'href="/admin/plugins"' in html and 'href="/admin/audit"' in html


def test_failed_plugin_is_highlighted(app, admin_client):
    from survey.plugins import PluginInfo
    from survey.registry import current_registry
    with app.app_context():
        current_registry().plugins.append(PluginInfo("broken", "1.0", error="import failed: boom"))
    html = admin_client.get("/admin/plugins").get_data(as_text=True)
    assert re.search(r'<tr id="plugin-broken" class="failed">.*?import failed: boom', html, re.S)


def test_admin_pages_have_no_script(admin_client, make_campaign):
    make_campaign()
    for url in ("/admin/", "/admin/campaigns/new", "/admin/campaigns/test-2025",
                "/admin/campaigns/test-2025/units/GEN-001", "/admin/campaigns/test-2025/units/GEN-001/edit",
                "/admin/audit", "/admin/plugins"):
        html = admin_client.get(url).get_data(as_text=True)
        assert "<script" not in html and not re.search(r"\son[a-z]+=", html) and "style=" not in html, url
        assert re.search(r'<link rel="stylesheet" href="/assets/[0-9a-f]{12}/office.css">', html), url
        for form in re.findall(r'<form method="post".*?</form>', html, re.S):
            assert 'name="csrf_token"' in form, (url, form[:80])


def test_previous_campaign_is_chosen_in_the_form_and_the_cli(app, admin_client, runner, make_campaign):
    from survey.models import Campaign
    make_campaign(slug="county-2024", state="published")
    with app.app_context():
        previous_id = db.session.scalar(select(Campaign.id).filter_by(slug="county-2024"))
    page = admin_client.get("/admin/campaigns/new").get_data(as_text=True)
    assert f'value="{previous_id}"' in page
    response = admin_client.post("/admin/campaigns/new", data={
        "csrf_token": admin_client.csrf("/admin/campaigns/new"), "slug": "county-2025", "name": "2025年度测评",
        "satisfaction_line": 70, "composition_minimum": 30, "minimum_sample": 30, "minimum_cell": 5, "access": "both",
        "previous_campaign": str(previous_id)})
    assert response.status_code == 302
    assert runner.invoke(args=["campaign", "create", "county-2026", "--name", "x", "--previous", "county-2025"]).exit_code == 0
    with app.app_context():
        chain = {c.slug: c.previous_campaign_id for c in db.session.scalars(select(Campaign))}
        ids = {c.slug: c.id for c in db.session.scalars(select(Campaign))}
    assert chain["county-2025"] == previous_id and chain["county-2026"] == ids["county-2025"]


def test_nul_characters_in_office_forms_are_dropped_not_a_500(app, admin_client):
    response = admin_client.post("/admin/campaigns/new", data={
        "csrf_token": admin_client.csrf("/admin/campaigns/new"), "slug": "nul-test", "name": "测评\x00活动",
        "satisfaction_line": 70, "composition_minimum": 30, "minimum_sample": 30, "minimum_cell": 5, "access": "both"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Campaign.name).filter_by(slug="nul-test")) == "测评活动"
