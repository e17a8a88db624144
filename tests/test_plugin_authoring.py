"""A branch writes its own plugin without reading the source: `survey plugin new`, `survey
plugins --check [PATH]` with messages naming file, item, line and fix, XLSForm questionnaires,
validation messages in the resident's language, required checks, and personal data in comments.

Each deliberate break below is one a newcomer makes; each test asserts the message they get.
"""
import io
import os
import subprocess
import sys
import tempfile
import textwrap
import types
from pathlib import Path

import openpyxl
import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from survey.db import db
from survey.models import Answer, Campaign, Response
from survey.plugin_check import check
from survey.plugins import build_registry, read_faults
from survey.xlsform import XLSFormError, read_xlsform, write_xlsform

ROOT = Path(__file__).resolve().parents[1]


def plugin_folder(tmp_path, hooks: str, files: dict[str, str] | None = None, name="clinic") -> Path:
    """A plugin source folder (pyproject with the entry point, a package with these hooks)."""
    root = tmp_path / name
    package = root / f"survey_{name}"
    package.mkdir(parents=True)
    (root / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [project]
        name = "survey-plugin-{name}"
        version = "0.1.0"
        [project.entry-points."survey.plugins"]
        {name} = "survey_{name}"
        """), encoding="utf-8")
    (package / "__init__.py").write_text("from pathlib import Path\nfrom survey import hookimpl, required_check\n"
                                         "HERE = Path(__file__).parent\n" + textwrap.dedent(hooks), encoding="utf-8")
    for filename, content in (files or {}).items():
        (package / filename).write_text(textwrap.dedent(content), encoding="utf-8")
    return root


SECTOR_HOOKS = """
@hookimpl
def survey_sectors():
    return [{"key": "clinic", "label": {"zh": "社区卫生服务中心", "en": "Community health centres"}}]

@hookimpl
def survey_questionnaires():
    return [HERE / "clinic.toml"]

@hookimpl
def survey_respondent_categories(sector):
    if sector != "clinic":
        return []
    return [{"key": "dweller", "label": {"zh": "居民", "en": "Resident"}, "counts_toward_share": True}]
"""
QUESTIONNAIRE = """\
key = "clinic"
version = "1"
sector = "clinic"

[title]
zh = "社区卫生服务中心满意度测评"
en = "Community satisfaction survey"

[[items]]
key = "cleanliness"
kind = "choice"
scale = "satisfaction"
label = { zh = "小区环境卫生干净", en = "The neighbourhood is kept clean" }

[[items]]
key = "safety"
kind = "choice"
scale = "satisfaction"
label = { zh = "小区治安好，住得安心", en = "The neighbourhood is safe" }
"""


def survey(*args, tmp_path) -> subprocess.CompletedProcess:
    """The `survey` command as a branch's IT person runs it, in a fresh instance folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    env["SURVEY_INSTANCE"] = str(tmp_path / "instance")
    return subprocess.run([sys.executable, "-m", "survey.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


# --- survey plugin new -------------------------------------------------------------------------
def test_plugin_new_writes_a_distribution_that_passes_its_own_tests(tmp_path):
    result = survey("plugin", "new", "clinic", "--sector", "clinic", "--label-zh", "社区卫生服务中心",
                    "--label-en", "Community health centres", "--out", str(tmp_path), tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"pip install -e {tmp_path / 'clinic'}" in result.stdout
    root = tmp_path / "clinic"
    assert {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} == {
        "pyproject.toml", "README.md", "conftest.py", "survey_clinic/__init__.py",
        "survey_clinic/clinic.toml", "tests/test_plugin.py"}
    assert 'clinic = "survey_clinic"' in (root / "pyproject.toml").read_text()
    # its own tests, as generated, on SQLite and PostgreSQL (the toolkit's fixtures start the server)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root)],
                         cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout  # the registry test, and the answering test on both databases
    # and the check passes on the folder before installing
    report = check(root)
    assert report.ok and report.checked == ["clinic"], report.errors


def test_plugin_new_refuses_bad_names_and_existing_folders(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    bad = survey("plugin", "new", "My Plugin", "--sector", "clinic", "--out", str(out), tmp_path=tmp_path)
    assert bad.returncode == 1 and "use lower-case letters" in bad.stderr
    assert list(out.iterdir()) == []
    (out / "clinic").mkdir()
    again = survey("plugin", "new", "clinic", "--sector", "clinic", "--out", str(out), tmp_path=tmp_path)
    assert again.returncode == 1 and "already exists" in again.stderr


# --- survey plugins --check PATH ------------------------------------------------------------------
def test_check_names_file_line_item_and_suggests_the_valid_name(tmp_path):
    broken = QUESTIONNAIRE.replace('scale = "satisfaction"\nlabel = { zh = "小区治安',
                                   'scale = "satisfation"\nlabel = { zh = "小区治安')
    report = check(plugin_folder(tmp_path, SECTOR_HOOKS, {"clinic.toml": broken}))
    assert not report.ok
    [error] = report.errors
    toml = tmp_path / "clinic/survey_clinic/clinic.toml"
    line = broken.splitlines().index("[[items]]", 10) + 1
    assert f"{toml}:{line}: item 2 (safety), field scale: unknown scale 'satisfation'" in error
    assert "did you mean `satisfaction`?" in error and "(scales: appraisal, commitment, haochaping, incidence, rating, satisfaction" in error


def test_check_names_a_misspelt_kind_and_field(tmp_path):
    broken = QUESTIONNAIRE.replace('kind = "choice"\nscale = "satisfaction"\nlabel = { zh = "小区治安',
                                   'kind = "choise"\nscale = "satisfaction"\nlable = { zh = "小区治安')
    report = check(plugin_folder(tmp_path, SECTOR_HOOKS, {"clinic.toml": broken}))
    text = "\n".join(report.errors)
    assert "item 2 (safety), field kind: Input should be 'choice'" in text and "did you mean `choice`?" in text
    assert "field lable: Extra inputs are not permitted; did you mean `label`?" in text
    assert ".toml:15: item 2 (safety)" in text  # the line of the second [[items]]


def test_check_suggests_the_hook_a_misspelt_name_meant(tmp_path):
    hooks = SECTOR_HOOKS.replace("def survey_sectors():", "def survey_sector():")
    report = check(plugin_folder(tmp_path, hooks, {"clinic.toml": QUESTIONNAIRE}))
    assert any("unknown hook 'survey_sector'" in e and "did you mean `survey_sectors`?" in e for e in report.errors)


def test_check_warns_about_a_hook_function_without_hookimpl(tmp_path):
    hooks = SECTOR_HOOKS.replace("@hookimpl\ndef survey_respondent_categories", "def survey_respondent_categories")
    report = check(plugin_folder(tmp_path, hooks, {"clinic.toml": QUESTIONNAIRE}))
    assert report.ok
    [warning] = report.warnings
    assert "__init__.py:" in warning and "survey_respondent_categories has no @hookimpl" in warning


def test_a_category_missing_a_field_is_named_without_pydantic_noise(tmp_path):
    hooks = SECTOR_HOOKS.replace(', "counts_toward_share": True}', "}")
    report = check(plugin_folder(tmp_path, hooks, {"clinic.toml": QUESTIONNAIRE}))
    [error] = report.errors
    assert "survey_respondent_categories(sector='clinic'): category 1 (dweller): field counts_toward_share: " \
           "Field required" in error
    assert "pydantic" not in error and "errors.pydantic.dev" not in error


def test_check_fails_when_a_runtime_hook_raises(tmp_path):
    hooks = SECTOR_HOOKS + """
@hookimpl
def survey_validate_response(answers):
    return [(None, answers["no-such-item"])]
"""
    report = check(plugin_folder(tmp_path, hooks, {"clinic.toml": QUESTIONNAIRE}))
    assert not report.ok and any("survey_validate_response: KeyError" in e for e in report.errors)


def test_check_a_questionnaire_file_before_installing(tmp_path):
    path = tmp_path / "school2.toml"
    path.write_text(QUESTIONNAIRE.replace('sector = "clinic"', 'sector = "schol"'), encoding="utf-8")
    report = check(path)
    assert "no installed plugin provides sector 'schol'; did you mean `school`?" in report.errors[0]
    missing = check(tmp_path / "nothing.toml")
    assert missing.errors == [f"{tmp_path / 'nothing.toml'}: no such file or folder"]


def test_check_command_exits_non_zero_and_prints_each_error(tmp_path):
    folder = plugin_folder(tmp_path, SECTOR_HOOKS.replace("def survey_sectors():", "def survey_sector():"),
                           {"clinic.toml": QUESTIONNAIRE})
    result = survey("plugins", "--check", str(folder), tmp_path=tmp_path)
    assert result.returncode == 1
    assert "did you mean `survey_sectors`?" in result.stderr and "1 error(s)" in result.stdout
    installed = survey("plugins", "--check", tmp_path=tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr


# --- validation messages, required checks, faults seen while running -------------------------------
def _plugin(**hooks):
    module = types.ModuleType("survey_validating")
    for name, function in hooks.items():
        setattr(module, name, function)
    return module


def _form(page: str, choice="satisfied") -> dict:
    import re
    offered = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*type="radio" value="([^"]*)"', page):
        offered.setdefault(name, []).append(value)
    # `choice` where the question offers it; else its first choice (是 on yes/no, 没有 on incidence)
    form = {name: choice if choice in values else values[0] for name, values in offered.items() if name != "category"}
    form["category"] = "resident"
    return form


def _responses(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Response))


@pytest.fixture
def app_config(request):
    marker = request.node.get_closest_marker("extra_plugins")
    return {"SURVEY_EXTRA_PLUGINS": marker.args[0]} if marker else {}


def _bilingual_check():
    from survey import hookimpl

    @hookimpl
    def survey_validate_response(answers, locale):
        if answers.get("reception") == "unsatisfied":
            return [("reception", {"zh": "请在意见中说明不满意的原因", "en": "Please say why in your comment"})]
        return []
    return _plugin(survey_validate_response=survey_validate_response)


def _raising_check(required: bool):
    from survey import hookimpl, required_check

    def survey_validate_response(answers):
        raise RuntimeError("the branch's address book is unreachable")
    if required:
        survey_validate_response = required_check(survey_validate_response)
    return _plugin(survey_validate_response=hookimpl(survey_validate_response))


@pytest.mark.extra_plugins([("bilingual", _bilingual_check())])
def test_a_validation_message_is_shown_in_the_residents_language(client, make_campaign):
    make_campaign()
    form = _form(client.get("/s/GEN-001").get_data(as_text=True))
    form["reception"] = "unsatisfied"
    zh = client.post("/s/GEN-001", data=form)
    assert zh.status_code == 422 and "请在意见中说明不满意的原因" in zh.get_data(as_text=True)
    assert "{'zh'" not in zh.get_data(as_text=True)
    client.set_cookie("lang", "en")
    en = client.post("/s/GEN-001", data=form)
    assert en.status_code == 422 and "Please say why in your comment" in en.get_data(as_text=True)


@pytest.mark.extra_plugins([("strict", _raising_check(required=True))])
def test_a_required_check_that_raises_refuses_the_answer(app, client, make_campaign):
    make_campaign()
    form = _form(client.get("/s/GEN-001").get_data(as_text=True))
    refused = client.post("/s/GEN-001", data=form)
    assert refused.status_code == 503
    assert "暂时无法核验，尚未保存" in refused.get_data(as_text=True)
    assert _responses(app) == 0


@pytest.mark.extra_plugins([("lenient", _raising_check(required=False))])
def test_a_check_that_raises_while_running_makes_check_fail(app, client, make_campaign, runner):
    make_campaign()
    form = _form(client.get("/s/GEN-001").get_data(as_text=True))
    assert client.post("/s/GEN-001", data=form).status_code == 303  # not required: the answer is stored
    assert _responses(app) == 1
    faults = read_faults(Path(app.instance_path) / "plugin-faults.log")
    assert faults == [{"plugin": "lenient", "hook": "survey_validate_response", "error": "RuntimeError at test_plugin_authoring.py:" + faults[0]["error"].rsplit(":", 1)[1]}]
    assert "address book" not in (Path(app.instance_path) / "plugin-faults.log").read_text()  # never the message
    result = runner.invoke(args=["plugins", "--check"])
    assert result.exit_code == 1 and "survey_validate_response raised RuntimeError" in result.output


# --- personal data in comments --------------------------------------------------------------------
ID_NUMBER = "11010519491231002X"  # a valid check digit (GB 11643)


@pytest.mark.parametrize("comment", [
    "有事请打我电话13812345678", "电话 138 1234 5678", "手机：１３８－１２３４－５６７８", "+86 138.1234.5678",
    f"我是{ID_NUMBER}", "身份证 110105 19491231 002x"])
def test_a_comment_with_a_phone_or_id_number_is_refused(app, client, make_campaign, comment):
    make_campaign()
    form = _form(client.get("/s/GEN-001").get_data(as_text=True))
    form["comment"] = comment
    refused = client.post("/s/GEN-001", data=form)
    assert refused.status_code == 422
    assert "请删除意见中的手机号码或身份证号码" in refused.get_data(as_text=True)
    assert _responses(app) == 0


def test_numbers_that_are_not_phone_or_id_numbers_pass(app, client, make_campaign):
    make_campaign()
    form = _form(client.get("/s/GEN-001").get_data(as_text=True))
    form["comment"] = "2023年修了3条路，花了13812345678000元？编号110105194912310021不对"
    assert client.post("/s/GEN-001", data=form).status_code == 303


def test_a_campaign_may_mask_and_store_instead(app, client, make_campaign):
    make_campaign(personal_data="mask")
    form = _form(client.get("/s/GEN-001").get_data(as_text=True))
    form["comment"] = "路灯坏了，请联系 138 1234 5678"
    assert client.post("/s/GEN-001", data=form).status_code == 303
    with app.app_context():
        stored = db.session.scalar(select(Answer.text).where(Answer.text.is_not(None)))
    assert stored == "路灯坏了，请联系 *** **** ****"


# --- XLSForm -------------------------------------------------------------------------------------
def _xlsform_from_pyxform_check(data: bytes, tmp_path) -> str:
    """Convert with pyxform (the ODK tool): a workbook it converts is a valid XLSForm."""
    from pyxform.xls2xform import convert
    path = tmp_path / "form.xlsx"
    path.write_bytes(data)
    return convert(xlsform=str(path), validate=False).xform


def test_every_shipped_questionnaire_round_trips_through_xlsform(tmp_path):
    registry = build_registry()
    assert len(registry.questionnaires) >= 7
    for key, questionnaire in registry.questionnaires.items():
        scales = {k: registry.scales[k] for k in questionnaire.scales_used()}
        data = write_xlsform(questionnaire, scales)
        again, workbook_scales = read_xlsform(data, f"{key}.xlsx")
        assert again == questionnaire, key
        assert workbook_scales == scales, key
        xform = _xlsform_from_pyxform_check(data, tmp_path)
        assert f'id="{key}"' in xform and all(f"/{item.key}" in xform for item in questionnaire.items)


def workbook(survey_rows, choices_rows=None, settings=None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "survey"
    for row in survey_rows:
        sheet.append(row)
    choices = book.create_sheet("choices")
    for row in choices_rows or [
            ["list_name", "name", "label::Chinese (zh)", "label::English (en)", "weight", "positive"],
            ["satisfaction", "satisfied", "满意", "Satisfied", 100, "yes"],
            ["satisfaction", "basic", "基本满意", "Basic", 60, "yes"],
            ["satisfaction", "unsatisfied", "不满意", "Unsatisfied", 0, "no"]]:
        choices.append(row)
    s = book.create_sheet("settings")
    s.append(["form_id", "version", "form_title", "survey_title_en", "survey_sector", "survey_intro_zh", "survey_intro_en"])
    s.append(settings or ["clinic", "2026.1", "社区卫生服务中心满意度测评", "Community health centre survey", "clinic",
                          "本测评不记名，共3题，约需半分钟。", "Anonymous: 3 questions, about half a minute."])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


HEADER = ["type", "name", "label::Chinese (zh)", "label::English (en)", "required"]
COMMUNITY_ROWS = [HEADER,
                  ["begin group", "living", "居住环境", "Living environment", None],
                  ["select_one satisfaction", "cleanliness", "小区环境卫生干净", "The neighbourhood is kept clean", "yes"],
                  ["select_one satisfaction", "safety", "小区治安好，住得安心", "The neighbourhood is safe", "yes"],
                  ["end group", None, None, None, None],
                  ["select_one satisfaction", "disputes", "邻里纠纷有人调解", "Disputes between neighbours are mediated", "yes"],
                  ["text", "comment", "您的意见和建议（选填）", "Your comments (optional)", "no"]]


@pytest.mark.parametrize("row, message", [
    (["select_one satisfaction", "q", "问", "Q", "yes", "${cleanliness} = 'satisfied'"], "column relevant cannot be honoured"),
    (["begin repeat", "r", "重复", "Repeat", None, None], "type 'begin repeat' cannot be asked"),
    (["integer", "age", "年龄", "Age", None, None], "type 'integer' cannot be asked"),
    (["calculate", "c", "算", "Calc", None, None], "type 'calculate' cannot be asked"),
    (["select_one satisfation", "q", "问", "Q", "yes", None], "list 'satisfation' is not on the choices sheet"),
    (["select_one satisfaction", "q", "只有中文", None, "yes", None], "question 'q' needs label::Chinese (zh) and label::English (en)"),
])
def test_what_the_toolkit_cannot_honour_is_refused_with_the_row(row, message):
    rows = [HEADER + ["relevant"], *[r + [None] for r in COMMUNITY_ROWS[1:]], row]
    with pytest.raises(XLSFormError) as error:
        read_xlsform(workbook(rows), "clinic.xlsx")
    assert f"clinic.xlsx, sheet survey, row {len(rows)}: {message}" in str(error.value)


def test_a_list_named_like_a_toolkit_scale_must_match_it(tmp_path):
    choices = [["list_name", "name", "label::Chinese (zh)", "label::English (en)", "weight", "positive"],
               ["satisfaction", "good", "好", "Good", 100, "yes"], ["satisfaction", "bad", "差", "Bad", 0, "no"]]
    folder = plugin_folder(tmp_path, SECTOR_HOOKS.replace("clinic.toml", "clinic.xlsx"))
    (folder / "survey_clinic/clinic.xlsx").write_bytes(workbook(COMMUNITY_ROWS, choices))
    report = check(folder)
    assert any("list satisfaction: the toolkit's scale satisfaction has the choices satisfied (positive)" in e
               and "give your list another name" in e for e in report.errors), report.errors


def community_plugin(tmp_path) -> types.ModuleType:
    """A clinic plugin whose questionnaire is an XLSForm workbook, with its own scale."""
    from survey import hookimpl
    rows = [r[:] for r in COMMUNITY_ROWS]
    rows.insert(6, ["select_one service", "elderly", "为老服务（助餐、上门看望）到位", "Care for the elderly is good", "yes"])
    choices = [["list_name", "name", "label::Chinese (zh)", "label::English (en)", "weight", "positive", "scale_label_zh", "scale_label_en"],
               ["satisfaction", "satisfied", "满意", "Satisfied", 100, "yes", None, None],
               ["satisfaction", "basic", "基本满意", "Basic", 60, "yes", None, None],
               ["satisfaction", "unsatisfied", "不满意", "Unsatisfied", 0, "no", None, None],
               ["service", "good", "到位", "Good", 100, "yes", "服务评价", "Service"],
               ["service", "poor", "不到位", "Poor", 0, "no", None, None]]
    path = tmp_path / "clinic.xlsx"
    path.write_bytes(workbook(rows, choices))
    module = types.ModuleType("survey_clinic_xlsx")

    @hookimpl
    def survey_sectors():
        return [{"key": "clinic", "label": {"zh": "社区卫生服务中心", "en": "Community health centres"}}]

    @hookimpl
    def survey_questionnaires():
        return [path]
    module.survey_sectors, module.survey_questionnaires = survey_sectors, survey_questionnaires
    return module


COMMUNITY = community_plugin(Path(tempfile.mkdtemp(prefix="survey-xlsform-")))


@pytest.mark.extra_plugins([("clinic", COMMUNITY)])
def test_an_xlsform_questionnaire_is_answered_on_the_phone_and_on_paper(app, client, tmp_path):
    from survey import paper
    from survey.campaigns import transition
    from survey.models import Tally, Unit
    from survey.registry import current_registry
    with app.app_context():
        registry = current_registry()
        assert registry.failed() == [], [p.error for p in registry.failed()]
        assert registry.scales["service"].label.zh == "服务评价"
        campaign = Campaign(slug="clinic-2026", name="社区测评")
        db.session.add(campaign)
        db.session.add(Unit(campaign=campaign, code="CLI-001", name="东街社区", sector="clinic"))
        db.session.flush()
        transition(campaign, "open", registry, "test")
        db.session.commit()
    page = client.get("/s/CLI-001").get_data(as_text=True)
    assert "居住环境" in page and "为老服务（助餐、上门看望）到位" in page and "到位" in page
    form = {"category": "resident", "cleanliness": "satisfied", "safety": "basic", "disputes": "satisfied",
            "elderly": "good", "comment": "楼道灯已修好"}
    assert client.post("/s/CLI-001", data=form).status_code == 303
    with app.app_context(), force_locale("zh_CN"):
        campaign = db.session.scalar(select(Campaign).filter_by(slug="clinic-2026"))
        batch = paper.print_ballots(campaign, tmp_path / "ballots.pdf", 1, base_url="http://survey.test",
                                    category="resident")
        printed = subprocess.run(["pdftotext", str(tmp_path / "ballots.pdf"), "-"], capture_output=True, text=True).stdout
        assert "为老服务" in printed  # the item, listed above the grid; its choices head their boxes (stacked)
        boxes = paper.ballot_layout(batch)["pages"][0]["boxes"]
        assert {b["choice"] for b in boxes if b["item"] == "elderly"} == {"good", "poor"}
        unit_id = db.session.scalar(select(Unit.id).filter_by(code="CLI-001"))
        entry = {f"{unit_id}:cleanliness": "satisfied", f"{unit_id}:safety": "satisfied",
                 f"{unit_id}:disputes": "unsatisfied", f"{unit_id}:elderly": "poor"}
        assert paper.enter_ballot(campaign, 1, "clerk-a", entry) == "waiting"
        assert paper.enter_ballot(campaign, 1, "clerk-b", entry) == "counted"
        counts = dict(db.session.execute(select(Tally.channel, func.sum(Tally.count)).where(
            Tally.item == "elderly").group_by(Tally.channel)).all())
        assert counts == {"online": 1, "paper": 1}


def test_the_admin_exports_a_frozen_questionnaire_as_xlsform(app, admin_client, make_campaign, tmp_path):
    make_campaign(units=[("SCH-001", "城关小学", "school")])
    page = admin_client.get("/admin/campaigns/test-2025").get_data(as_text=True)
    assert "school.xlsx" in page
    response = admin_client.get("/admin/campaigns/test-2025/questionnaires/school.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    from survey.snapshot import frozen_for
    with app.app_context():
        frozen = frozen_for(db.session.scalar(select(Campaign.id)), "school")
    questionnaire, _scales = read_xlsform(response.data, "school.xlsx")
    assert questionnaire == frozen.questionnaire
    assert 'id="school"' in _xlsform_from_pyxform_check(response.data, tmp_path)
    assert admin_client.get("/admin/campaigns/test-2025/questionnaires/hospital-patients.xlsx").status_code == 404
