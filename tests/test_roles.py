"""Roles (docs/users.md): every admin route for every role, a branch admin held to its units
by URL, by form field and by import file, every CLI command's permission, and sessions that
end when they should — in-process and against a real multi-worker `survey serve`."""
from __future__ import annotations

import io
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest
from sqlalchemy import select

from survey.db import db
from survey.models import AuditEntry, Campaign, Unit, User
from survey.testing import csrf_from, free_port, wait_for_port

PASSWORD = "long-enough-password"
O, B, C, S, V = "office", "branch", "clerk", "supervisor", "observer"
ALL = {O, B, C, S, V}
PUBLIC = "public"

# Every admin route and method, and the roles that may use it. A route missing here fails
# test_every_admin_route_is_allowed_or_forbidden_for_every_role: add it with its roles.
EXPECTED = {
    ("auth.login", "GET"): PUBLIC, ("auth.login", "POST"): PUBLIC, ("auth.logout", "POST"): PUBLIC,
    ("admin.index", "GET"): ALL,
    ("admin.password", "GET"): ALL, ("admin.password", "POST"): ALL,
    ("admin.campaign_new", "GET"): {O}, ("admin.campaign_new", "POST"): {O},
    ("admin.campaign_edit", "GET"): {O}, ("admin.campaign_edit", "POST"): {O},
    ("admin.campaign", "GET"): {O, B, S},
    ("admin.questionnaire_xlsform", "GET"): {O, B, S},
    ("admin.campaign_action", "POST"): {O},
    ("admin.campaign_publish", "GET"): {O}, ("admin.campaign_publish", "POST"): {O},
    ("admin.campaign_withdraw", "POST"): {O},
    ("admin.units_import", "POST"): {O, B},
    ("admin.unit_new", "GET"): {O, B}, ("admin.unit_new", "POST"): {O, B},
    ("admin.unit_edit", "GET"): {O, B}, ("admin.unit_edit", "POST"): {O, B},
    ("admin.unit_delete", "POST"): {O, B},
    ("admin.unit", "GET"): {O, B, S},
    ("admin.unit_qr_png", "GET"): {O, B}, ("admin.unit_qr_svg", "GET"): {O, B},
    ("admin.paper_index", "GET"): {O, B, S},
    ("admin.paper_posters", "GET"): {O, B}, ("admin.paper_tally_sheet", "GET"): {O, B},
    ("admin.paper_entry", "GET"): {O, C}, ("admin.paper_entry", "POST"): {O, C},
    ("admin.scans_index", "GET"): {O, C, S}, ("admin.scans_index", "POST"): {O, C, S},
    ("admin.scans_review", "GET"): {O, C, S}, ("admin.scans_review", "POST"): {O, C, S},
    ("admin.scans_doubt_image", "GET"): {O, C, S}, ("admin.scans_report", "GET"): {O, C, S},
    ("admin.scans_count", "POST"): {O, S},
    ("admin.paper_mismatches", "GET"): {O, B, S},
    ("admin.paper_resolve", "POST"): {O, S},
    ("admin.paper_tally", "GET"): {O, C}, ("admin.paper_tally", "POST"): {O, C},  # clerks enter sheets twice
    ("admin.paper_tally_resolve", "POST"): {O, S}, ("admin.paper_tally_void", "POST"): {O, S},
    ("admin.paper_reconciliation", "GET"): {O, B, S},
    ("admin.comments", "GET"): {O, S, V},
    ("admin.comment_hide", "POST"): {O}, ("admin.comment_show", "POST"): {O},
    ("admin.audit_log", "GET"): {O, S},
    ("admin.plugins", "GET"): {O, B, S},
    ("admin.users", "GET"): {O}, ("admin.user_new", "GET"): {O}, ("admin.user_new", "POST"): {O},
    ("admin.user_active", "POST"): {O},
    ("admin.user_reset", "GET"): {O}, ("admin.user_reset", "POST"): {O},
    ("admin.units_template", "GET"): {O, B},
    ("admin.jobs_index", "GET"): {O, B, S, V},
    ("admin.jobs_print", "POST"): {O, B}, ("admin.jobs_results", "POST"): {O, B, S, V},
    ("admin.job", "GET"): {O, B, S, V}, ("admin.job_file", "GET"): {O, B, S, V},
    ("admin.job_again", "POST"): {O, B, S, V},
    ("admin.remedies", "GET"): {O, B, S}, ("admin.remedy", "GET"): {O, B, S},
    ("admin.remedies_create", "POST"): {O},
    ("admin.remedy_plan", "POST"): {O, B}, ("admin.remedy_report", "POST"): {O, B},
    ("admin.remedy_verify", "POST"): {O}, ("admin.remedy_remind", "POST"): {O},
    ("admin.remedies_reevaluate", "POST"): {O}, ("admin.reevaluation", "GET"): {O, B, S},
    ("admin.remedies_ledger", "GET"): {O, S},
    ("admin.calendar", "GET"): {O}, ("admin.calendar_add", "POST"): {O}, ("admin.calendar_remove", "POST"): {O},
}

UNITS = [("C-1", "城关镇中心小学", "general", "城关镇"), ("C-2", "东街社区", "general", "东街街道")]


def make_user(app, name, role, **scope):
    from survey.users import create_user
    with app.app_context():
        campaigns = [db.session.scalar(select(Campaign).filter_by(slug=s)) for s in scope.pop("campaigns", [])]
        create_user(name, PASSWORD, role, "test", campaigns=campaigns, **scope)


def sign_in(app, name, password=PASSWORD):
    client = app.test_client()
    page = client.get("/admin/login").get_data(as_text=True)
    response = client.post("/admin/login", data={"username": name, "password": password,
                                                 "csrf_token": csrf_from(page)})
    assert response.status_code == 302, (name, response.status_code)
    client.csrf = lambda url="/admin/password": csrf_from(client.get(url).get_data(as_text=True))
    return client


@pytest.fixture
def office(app, make_campaign):
    """Two campaigns: roles-2025 (open, C-1 under 城关镇 and C-2 under 东街街道) and other-2025."""
    cid = make_campaign(slug="roles-2025", units=[u[:3] for u in UNITS], state="draft")
    make_campaign(slug="other-2025", units=[("X-1", "西街社区", "general")], state="open")
    with app.app_context():
        for code, _name, _sector, parent in UNITS:
            db.session.scalar(select(Unit).filter_by(campaign_id=cid, code=code)).parent = parent
        db.session.commit()
        from survey.campaigns import transition
        from survey.registry import current_registry
        transition(db.session.get(Campaign, cid), "open", current_registry(), "test")
        db.session.commit()
    make_user(app, O, "office")
    make_user(app, B, "branch", unit_parent="城关镇")
    make_user(app, C, "clerk", campaigns=["roles-2025"])
    make_user(app, S, "supervisor")
    make_user(app, V, "observer")
    make_user(app, "victim", "clerk", campaigns=["roles-2025"])
    with app.app_context():  # a finished report of C-1 (a unit the branch admin holds) for the job pages
        from survey.models import Job
        import datetime as dt

        from survey.models import Remedy
        c1 = db.session.scalar(select(Unit.id).filter_by(campaign_id=cid, code="C-1"))
        db.session.add(Remedy(campaign_id=cid, unit_id=c1, items=[], owner=B, starts_on=dt.date(2026, 1, 5),
                              due_on=dt.date(2026, 1, 26), office_calendar=False, status="open", reminders=[]))
        db.session.add(Job(kind="report", campaign_id=cid, params={"lang": "zh_CN", "units": ["C-1"]}, state="done",
                           content=b"%PDF-1.4\n", size=9, filename="roles-2025-report.pdf",
                           mimetype="application/pdf", created_by=O))
        from survey.models import ScanDoubt, ScanFile, ScanPage  # a doubt for the review pages
        scan = ScanFile(campaign_id=cid, sha256="0" * 64, name="scan.tif", uploaded_by=O, state="read")
        db.session.add(scan)
        db.session.flush()
        page = ScanPage(campaign_id=cid, file_id=scan.id, position=1, status="unreadable")
        db.session.add(page)
        db.session.flush()
        db.session.add(ScanDoubt(campaign_id=cid, page_id=page.id, reason="unreadable", crop=b"\x89PNG\r\n"))
        db.session.commit()
    return cid


def admin_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin")]


def build(app, rule):
    with app.app_context():
        victim = db.session.scalar(select(User.id).filter_by(username="victim"))
        from survey.models import Job
        job = db.session.scalar(select(Job.id).filter_by(kind="report"))
        from survey.models import Remedy
        remedy = db.session.scalar(select(Remedy.id))
    values = {"slug": "roles-2025", "code": "C-1", "serial": 1, "action": "close", "user_id": victim,
              "key": "five-goods", "job_id": job, "sheet_id": 1, "box": "Box 1", "doubt_id": 1,
              "remedy_id": remedy, "day": "2027-02-08"}
    if "action" in rule.arguments and "disable" in str(rule):
        values["action"] = "disable"
    return rule.build({k: values[k] if k in values else sorted(rule._converters[k].items)[0]
                       for k in rule.arguments}, append_unknown=False)[1]


PLAUSIBLE = {"name": "新名称", "satisfaction_line": "70", "composition_minimum": "30", "minimum_sample": "30",
             "access": "both", "code": "C-1", "sector": "general", "parent": "城关镇", "serial": "1", "reason": "r",
             "response_id": "0" * 32, "item": "comment", "clerk": "office", "category": "resident",
             "issued": "1", "returned": "1", "valid": "1", "invalid": "0", "username": "someone", "role": "observer",
             "current": "wrong-password", "password": "another-password", "confirm": "another-password"}


def test_every_admin_route_is_allowed_or_forbidden_for_every_role(app, office):
    routes = sorted({(rule.endpoint, method) for rule in admin_rules(app)
                     for method in rule.methods - {"HEAD", "OPTIONS"}})
    missing = [r for r in routes if r not in EXPECTED]
    assert not missing, f"admin routes without an expected role list in EXPECTED: {missing}"
    assert not [r for r in EXPECTED if r not in routes], "EXPECTED names routes that no longer exist"
    rules = {(rule.endpoint, m): rule for rule in admin_rules(app) for m in rule.methods}
    anonymous = app.test_client()
    checked = 0
    # office last: what an allowed POST changes (a unit deleted, the campaign closed) must not
    # turn another role's answer into a 404 that would hide a missing check
    for role in (V, C, S, B, O):
        client = sign_in(app, role)
        for endpoint, method in routes:
            allowed = EXPECTED[(endpoint, method)]
            if allowed == PUBLIC or (endpoint, method) == ("auth.logout", "POST"):
                continue
            url = build(app, rules[(endpoint, method)])
            if method == "GET":
                response = client.get(url)
            else:
                data = {**PLAUSIBLE, "csrf_token": client.csrf()}
                if endpoint == "admin.units_import":
                    data["file"] = (io.BytesIO("code,name,sector,parent\nC-1,城关镇中心小学,general,城关镇\n".encode()),
                                    "units.csv")
                response = client.post(url, data=data)
            where = (role, method, url, response.status_code)
            if role in allowed:
                assert response.status_code != 403 and response.status_code < 500, where
                if method == "GET":
                    assert response.status_code in (200, 302), where
            else:
                assert response.status_code == 403, where
            checked += 1
            if role == V and method == "GET":  # and nobody signed out gets in
                assert anonymous.get(url).status_code == 302, url
    assert checked == 5 * (len(EXPECTED) - 3)


def test_forbidden_posts_change_nothing(app, office):
    from test_hostile import dump_database
    client = sign_in(app, V)
    before = dump_database(app)  # the sign-in is audited
    for rule in admin_rules(app):
        allowed = EXPECTED[(rule.endpoint, "POST")] if "POST" in rule.methods else PUBLIC
        if allowed != PUBLIC and V not in allowed:
            url = build(app, rule)
            assert client.post(url, data={**PLAUSIBLE, "csrf_token": client.csrf()}).status_code == 403, url
    assert dump_database(app) == before


def test_a_clerk_enters_ballots_only_in_assigned_campaigns(app, office):
    clerk = sign_in(app, C)
    assert clerk.get("/admin/campaigns/roles-2025/paper/entry").status_code == 200
    assert clerk.get("/admin/campaigns/other-2025/paper/entry").status_code == 403
    index = clerk.get("/admin/").get_data(as_text=True)
    assert "roles-2025/paper/entry" in index and "other-2025" not in index
    assert "/admin/users/" not in index and "/admin/audit" not in index  # no links to what is forbidden
    assert clerk.get("/results/roles-2025").status_code == 404  # no result preview for clerks


def test_a_branch_admin_sees_and_changes_only_its_units(app, office):
    branch = sign_in(app, B)
    page = branch.get("/admin/campaigns/roles-2025").get_data(as_text=True)
    assert 'id="unit-C-1"' in page and 'id="unit-C-2"' not in page and "城关镇" in page
    # by URL
    for url in ("/admin/campaigns/roles-2025/units/C-2", "/admin/campaigns/roles-2025/units/C-2/edit",
                "/admin/campaigns/roles-2025/units/C-2/qr.png"):
        assert branch.get(url).status_code == 403, url
    assert branch.post("/admin/campaigns/roles-2025/units/C-2/delete",
                       data={"csrf_token": branch.csrf()}).status_code == 403
    # by form field: moving its unit elsewhere, or adding one under another parent
    edit = "/admin/campaigns/roles-2025/units/C-1/edit"
    form = {"name": "改名", "parent": "东街街道", "csrf_token": branch.csrf(edit)}
    assert branch.post(edit, data=form).status_code == 403
    new = "/admin/campaigns/roles-2025/units/new"
    form = {"code": "C-3", "name": "新单位", "sector": "general", "parent": "东街街道", "csrf_token": branch.csrf(new)}
    assert branch.post(new, data=form).status_code == 403
    form.update(parent="城关镇")
    assert branch.post(new, data=form).status_code == 302  # within its parent: allowed
    # by import file: a row for another parent's unit, or taking one over, imports nothing
    with app.app_context():
        before = sorted((u.code, u.name, u.parent) for u in db.session.scalars(select(Unit)))
    for body in ("code,name,sector,parent\nC-1,甲,general,城关镇\nC-2,乙,general,东街街道\n",
                 "code,name,sector,parent\nC-2,归我,general,城关镇\n",
                 "code,name,sector,parent\nC-9,新,general,西街\n"):
        response = branch.post("/admin/campaigns/roles-2025/units/import", data={
            "csrf_token": branch.csrf("/admin/campaigns/roles-2025"),
            "file": (io.BytesIO(body.encode()), "units.csv")})
        assert response.status_code == 422 and "不属于您负责的单位" in response.get_data(as_text=True), body
    with app.app_context():
        assert sorted((u.code, u.name, u.parent) for u in db.session.scalars(select(Unit))) == before
    # results before publication: only its units, in the page and the API
    html = branch.get("/results/roles-2025").get_data(as_text=True)
    assert "城关镇中心小学" in html and "东街社区" not in html
    api = branch.get("/api/campaigns/roles-2025/results").get_json()
    assert [u["code"] for u in api["units"]] == ["C-1", "C-3"]


def test_a_branch_admins_posters_hold_only_its_units(app, office, tmp_path):
    branch = sign_in(app, B)
    response = branch.get("/admin/campaigns/roles-2025/paper/posters.pdf")
    if response.status_code == 302:
        pytest.skip("no CJK font installed for printouts")
    assert response.status_code == 200
    pdf = tmp_path / "posters.pdf"
    pdf.write_bytes(response.data)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "城关镇中心小学" in text and "东街社区" not in text


# --- the command line ----------------------------------------------------------------------------
COMMAND_PERMISSIONS = {
    "scan": "scan", "db upgrade": "system", "serve": "system", "demo": "system", "plugins": "plugins.view", "plugin new": "local", "scrub": "system",
    "backup": "system", "restore": "system",
    "user create": "users.manage", "user list": "users.manage", "user disable": "users.manage",
    "user enable": "users.manage", "user reset-password": "users.manage",
    "units import": "units.manage", "units template": "local", "worker": "system",
    "campaign list": "campaigns.list", "campaign create": "campaign.manage", "campaign open": "campaign.manage",
    "campaign close": "campaign.manage", "campaign publish": "campaign.publish",
    "campaign withdraw": "campaign.publish", "campaign urls": "print",
    "posters": "print", "ballots": "print", "tally-sheet": "print", "reconciliation": "paper.view",
    "report": "results.view", "export": "results.view",
    "remedy reevaluate": "remedy.office", "remedy ledger": "remedy.ledger",
}


def all_commands(group, prefix=""):
    import click
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            yield from all_commands(command, path + " ")
        else:
            yield path, command


def test_every_cli_command_declares_its_permission():
    from survey.cli import main
    found = dict(all_commands(main))
    assert set(found) == set(COMMAND_PERMISSIONS), set(found) ^ set(COMMAND_PERMISSIONS)
    for path, command in found.items():
        assert getattr(command.callback, "required_permission", None) == COMMAND_PERMISSIONS[path], path


def test_commands_run_as_a_user_are_held_to_its_role_and_units(app, runner, office, tmp_path, monkeypatch):
    def run(user, *args):
        monkeypatch.setenv("SURVEY_USER", user)
        return runner.invoke(args=list(args))
    out = str(tmp_path / "p.pdf")
    refused = run(C, "posters", "roles-2025", "--out", out)
    assert refused.exit_code == 1 and "clerk" in refused.output and "'print'" in refused.output
    assert run(V, "user", "list").exit_code == 1
    assert run(B, "report", "roles-2025", "--out", out).exit_code == 1  # the report covers every unit
    outside = run(B, "posters", "roles-2025", "--units", "C-1,C-2", "--out", out)
    assert outside.exit_code == 1 and "C-2" in outside.output
    assert run(C, "campaign", "list").exit_code == 0
    assert run("nobody", "campaign", "list").exit_code == 1
    csv = tmp_path / "u.csv"
    csv.write_text("code,name,sector,parent\nC-2,归我,general,城关镇\n", encoding="utf-8")
    taken = run(B, "units", "import", "roles-2025", str(csv))
    assert taken.exit_code == 1 and "not one of your units" in taken.output
    assert not list(tmp_path.glob("*.pdf"))


def test_user_commands_read_the_password_from_a_prompt_or_a_file(app, runner, office, tmp_path):
    result = runner.invoke(args=["user", "create", "clerk-3", "--role", "clerk", "--campaign", "roles-2025"],
                           input="first-password\nfirst-password\n")
    assert result.exit_code == 0, result.output
    assert "first-password" not in result.output
    # there is no way to give it in argv
    assert runner.invoke(args=["user", "create", "x", "--password", "abcdefgh1"]).exit_code == 2
    pw = tmp_path / "pw"
    pw.write_text("branch-password\n", encoding="utf-8")
    result = runner.invoke(args=["user", "create", "br-2", "--role", "branch", "--units", "C-1,C-2",
                                 "--password-file", str(pw), "--must-change-password"])
    assert result.exit_code == 0, result.output
    for bad, message in ((["--role", "branch"], "parent organisation"),
                         (["--role", "clerk"], "at least one campaign"),
                         (["--role", "observer", "--unit-parent", "城关镇"], "Only a branch admin")):
        result = runner.invoke(args=["user", "create", "bad", *bad, "--password-file", str(pw)])
        assert result.exit_code == 1 and message in result.output, (bad, result.output)
    listed = runner.invoke(args=["user", "list"]).output
    assert re.search(r"br-2\tbranch\tunits C-1,C-2\tall campaigns\tactive", listed), listed
    assert re.search(r"clerk-3\tclerk\tall units\troles-2025\tactive", listed), listed
    assert runner.invoke(args=["user", "disable", "br-2"]).exit_code == 0
    assert "br-2\tbranch\tunits C-1,C-2\tall campaigns\tdisabled" in runner.invoke(args=["user", "list"]).output
    assert runner.invoke(args=["user", "reset-password", "clerk-3", "--password-file", str(pw)]).exit_code == 0
    assert runner.invoke(args=["user", "disable", "nobody"]).output.startswith("Error: There is no user")
    with app.app_context():
        assert db.session.scalar(select(User).filter_by(username="clerk-3")).must_change_password


def test_existing_users_become_office_admins_on_upgrade(tmp_path):
    """An instance made before roles keeps its admin, who is now an office admin."""
    import sqlalchemy as sa
    from survey import create_app
    from survey.migrate import upgrade
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k",
                      "SURVEY_DATABASE_URL": url})
    with app.app_context():
        upgrade("0003")
        db.session.execute(sa.text("INSERT INTO \"user\" (username, password_hash, active) "
                                   "VALUES ('old-admin', 'x', 1)"))
        db.session.commit()
        upgrade()
        user = db.session.scalar(select(User).filter_by(username="old-admin"))
        assert (user.role, user.session_version, user.must_change_password) == ("office", 1, False)
        db.session.remove()
        db.engine.dispose()


# --- sessions ------------------------------------------------------------------------------------
def copy_of(client, app):
    """Another client holding a copy of this client's session cookie (as a thief would)."""
    thief = app.test_client()
    cookie = client.get_cookie("session")
    thief.set_cookie("session", cookie.value)
    assert thief.get("/admin/").status_code == 200
    return thief


def test_sign_out_ends_the_session_and_every_copy_of_it(app, office):
    client = sign_in(app, S)
    thief = copy_of(client, app)
    other_device = sign_in(app, S)
    assert client.post("/admin/logout", data={"csrf_token": client.csrf()}).status_code == 302
    for c in (client, thief, other_device):
        response = c.get("/admin/")
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_password_change_reset_and_disabling_end_sessions(app, office):
    # changing one's own password keeps this session and ends the others
    client = sign_in(app, C)
    thief = copy_of(client, app)
    form = {"current": PASSWORD, "password": "a-new-password", "confirm": "a-new-password",
            "csrf_token": client.csrf()}
    assert client.post("/admin/password", data=form).status_code == 302
    assert client.get("/admin/").status_code == 200
    assert thief.get("/admin/").status_code == 302
    # an office admin resets it: every session of the clerk ends
    boss = sign_in(app, O)
    with app.app_context():
        clerk_id = db.session.scalar(select(User.id).filter_by(username=C))
    reset = f"/admin/users/{clerk_id}/reset-password"
    assert boss.post(reset, data={"password": "temporary-pass", "confirm": "temporary-pass", "must_change": "y",
                                  "csrf_token": boss.csrf(reset)}).status_code == 302
    assert client.get("/admin/").status_code == 302
    # and at the next sign-in the clerk must choose a new password before anything else
    client = sign_in(app, C, "temporary-pass")
    assert client.get("/admin/campaigns/roles-2025/paper/entry").headers["Location"].endswith("/admin/password")
    form = {"current": "temporary-pass", "password": "clerks-own-pass", "confirm": "clerks-own-pass",
            "csrf_token": client.csrf()}
    assert client.post("/admin/password", data=form).status_code == 302
    assert client.get("/admin/campaigns/roles-2025/paper/entry").status_code == 200
    # disabling ends the session at once and the sign-in is refused
    disable = f"/admin/users/{clerk_id}/disable"
    assert boss.post(disable, data={"csrf_token": boss.csrf("/admin/users/")}).status_code == 303
    assert client.get("/admin/").status_code == 302
    page = app.test_client().get("/admin/login").get_data(as_text=True)
    assert app.test_client().post("/admin/login", data={"username": C, "password": "clerks-own-pass",
                                                        "csrf_token": csrf_from(page)}).status_code in (400, 401)
    with app.app_context():
        logged = list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.target == C)))
    assert {"user.reset_password", "user.disable", "user.change_password"} <= set(logged)


def test_an_old_cookie_without_a_session_version_is_signed_out(app, office):
    """A cookie made before session versions (user id only) no longer opens the admin."""
    client = sign_in(app, O)
    with client.session_transaction() as session:
        session["_user_id"] = session["_user_id"].split(".")[0]
    assert client.get("/admin/").status_code == 302


def _http(port, path, cookie=None, data=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                     data=urllib.parse.urlencode(data).encode() if data else None)
    if cookie:
        request.add_header("Cookie", cookie)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None
    try:
        response = urllib.request.build_opener(NoRedirect).open(request, timeout=20)
    except urllib.error.HTTPError as exc:
        response = exc
    return response.status, response.headers, response.read().decode()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)  # the multi-server database
def test_sign_out_ends_the_session_in_every_worker_of_survey_serve(app, office, tmp_path):
    """A real `survey serve` with 4 workers: a cookie copied before sign-out no longer opens
    /admin/ in any of them."""
    import os
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    env.update(SURVEY_INSTANCE=str(tmp_path / "serve"), SURVEY_DATABASE_URL=app.config["SURVEY_DATABASE_URL"],
               SURVEY_SECRET_KEY="serve-secret", SURVEY_RATELIMIT_ENABLED="0")
    server = subprocess.Popen([sys.executable, "-m", "survey.cli", "serve", "--bind", f"127.0.0.1:{port}",
                               "--workers", "4", "--allow-local-base-url"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port, timeout=90)  # 4 workers start slowly on a busy machine
        status, headers, page = _http(port, "/admin/login")
        cookie = headers["Set-Cookie"].split(";")[0]
        status, headers, _ = _http(port, "/admin/login", cookie, {"username": O, "password": PASSWORD,
                                                                   "csrf_token": csrf_from(page)})
        assert status == 302, status
        cookie = headers["Set-Cookie"].split(";")[0]
        copied = cookie
        # each request is a new connection, so the workers take turns answering
        assert {_http(port, "/admin/", copied)[0] for _ in range(12)} == {200}
        page = _http(port, "/admin/", cookie)[2]
        assert _http(port, "/admin/logout", cookie, {"csrf_token": csrf_from(page)})[0] == 302
        answers = [_http(port, "/admin/", copied) for _ in range(12)]
        assert {status for status, _h, _b in answers} == {302}
        assert all("/admin/login" in h["Location"] for _s, h, _b in answers)
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_only_the_office_gets_the_raw_answers(app, runner, office, tmp_path, monkeypatch):
    """The breaker's attack: results.view let observers, supervisors and branch admins start a
    raw-answer export (every answer row, past disclosure control). Only the office may."""
    from survey.models import Job
    with app.app_context():
        jobs_before = db.session.query(Job).count()
    for role in (V, S, B):
        client = sign_in(app, role)
        page = client.get("/admin/campaigns/roles-2025/jobs/").get_data(as_text=True)
        assert 'id="form-raw"' not in page, role
        response = client.post("/admin/campaigns/roles-2025/jobs/results/raw",
                               data={"format": "csv", "lang": "zh_CN",
                                     "csrf_token": client.csrf("/admin/campaigns/roles-2025/jobs/")})
        assert response.status_code == 403, role
    with app.app_context():
        assert db.session.query(Job).count() == jobs_before  # nothing was started
    office_page = sign_in(app, O).get("/admin/campaigns/roles-2025/jobs/").get_data(as_text=True)
    assert 'id="form-raw"' in office_page
    out = tmp_path / "raw.csv"
    for role in (V, S):
        monkeypatch.setenv("SURVEY_USER", role)
        refused = runner.invoke(args=["export", "roles-2025", "--raw", "--format", "csv", "--out", str(out)])
        assert refused.exit_code == 1 and "results.raw" in refused.output, role
    assert not out.exists()
    monkeypatch.setenv("SURVEY_USER", O)
    assert runner.invoke(args=["export", "roles-2025", "--raw", "--format", "csv", "--out", str(out)]).exit_code == 0
    assert out.exists()
