"""Hostile input: whatever a stranger sends, the app answers with a clear page and the right
status, writes nothing it should not, and shows everything it echoes as text.

- property-based tests (hypothesis) of the questionnaire loader and of the answering form;
- schemathesis against docs/openapi.yaml (the results API), in process;
- oversized bodies, malformed tokens and unit codes;
- HTML and script in names, comments and commitments, on every page and in every PDF;
- formula injection in every export format;
- CSRF on every admin POST route; security headers and no inline script/style on every page;
- cookie flags (Secure behind https, HttpOnly and SameSite always).

docs/security.md maps each threat to the test here (or elsewhere) that proves the defence.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import subprocess
import tomllib
import traceback
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from survey.db import db
from survey.models import Response, Unit
from survey.questionnaire import Questionnaire, QuestionnaireError, load_questionnaire, parse_questionnaire
from survey.testing import GENERAL_ITEMS, csrf_from, visit_answer

FIVE_GOODS = Path(__file__).resolve().parents[1] / "survey" / "builtin" / "five_goods.toml"
ITEMS = GENERAL_ITEMS  # the five-goods (assembly) form's satisfaction items
FUZZ = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
FUZZ_PG = settings(FUZZ, max_examples=15)

SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
HOSTILE_NAME = f"{SCRIPT}<b>粗</b> & Co"


def stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Response))


def dump_database(app) -> list[tuple]:
    """Every row of every table, for 'nothing was written' checks."""
    with app.app_context():
        rows = []
        for table in db.metadata.sorted_tables:
            rows += [(table.name, *map(str, r)) for r in db.session.execute(select(table))]
        return sorted(rows)


# --- the questionnaire loader -------------------------------------------------------------------
JSON_LEAVES = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
               | st.dates() | st.datetimes() | st.sampled_from(["", "choice", "comment", "commitments",
                                                               "yesno", "satisfaction", "a" * 41]))
JSON_VALUES = st.recursive(JSON_LEAVES, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=12), children, max_size=5), max_leaves=20)


def base_questionnaire() -> dict:
    return tomllib.loads(FIVE_GOODS.read_text(encoding="utf-8"))


@st.composite
def mutated_questionnaires(draw):
    """The built-in questionnaire with a few fields replaced, deleted or added at random."""
    data = base_questionnaire()
    for _ in range(draw(st.integers(1, 4))):
        node, path = data, []
        while isinstance(node, (dict, list)) and node and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
            path.append((node, key))
            node = node[key]
        if not path:
            data[draw(st.sampled_from(["key", "items", "title", "extra", "version"]))] = draw(JSON_VALUES)
            continue
        parent, key = path[-1]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[key] = draw(JSON_VALUES)
        elif action == "delete":
            del parent[key]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(JSON_VALUES)
        else:
            parent.append(draw(JSON_VALUES))
    return data


def assert_says_where(exc: QuestionnaireError, source: str) -> None:
    message = str(exc)
    assert message.strip(), "an error without a message"
    for line in message.splitlines():
        assert line.startswith(f"{source}: ") or re.match(re.escape(source) + r":\d+: ", line), line
        where = re.sub(r"^:\d+", "", line[len(source):])[2:]
        assert re.match(r"(top level|item \d+|field |not valid TOML|cannot be read|not UTF-8)", where), line


@FUZZ
@given(data=JSON_VALUES)
@example(data=[])
@example(data={"items": [1, {"key": None}]})
@example(data={"items": [{"key": ["a"], "kind": "choice"}] * 2})
def test_any_data_loads_or_fails_saying_where(data):
    try:
        result = parse_questionnaire(data)
    except QuestionnaireError as exc:
        assert_says_where(exc, "<questionnaire>")
    else:
        assert isinstance(result, Questionnaire)


@FUZZ
@given(data=mutated_questionnaires())
def test_a_damaged_questionnaire_loads_or_fails_saying_where(data):
    try:
        result = parse_questionnaire(data, "q.toml")
    except QuestionnaireError as exc:
        assert_says_where(exc, "q.toml")
    else:
        assert isinstance(result, Questionnaire)


@st.composite
def damaged_toml(draw):
    """The built-in questionnaire file as bytes, cut, spliced with random bytes or text."""
    raw = FIVE_GOODS.read_bytes()
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, len(raw)))
        end = draw(st.integers(start, min(len(raw), start + 200)))
        insert = draw(st.binary(max_size=20) | st.text(max_size=20).map(
            lambda t: t.encode("utf-8", "surrogatepass")))
        raw = raw[:start] + insert + raw[end:]
    return raw


@FUZZ
@given(raw=damaged_toml() | st.binary(max_size=200))
@example(raw=b"\xff\xfe key = 1")
@example(raw=b'key = "five-goods"\nitems = 3\n')
def test_any_file_loads_or_fails_saying_where(raw, tmp_path_factory):
    path = tmp_path_factory.mktemp("q") / "q.toml"
    path.write_bytes(raw)
    try:
        result = load_questionnaire(path)
    except QuestionnaireError as exc:
        assert_says_where(exc, str(path))
    else:
        assert isinstance(result, Questionnaire)


# --- the answering form -----------------------------------------------------------------------
ANSWER_STATUSES = {303, 422, 409, 413, 429}
FIELD_NAMES = ["category", "comment", "commitments.1", "commitments.2", "csrf_token", *ITEMS]
CHOICES = ["satisfied", "basic", "unsatisfied", "fulfilled", "partly", "not_fulfilled", "resident",
           "service_recipient", "deputy", "", " "]
HOSTILE_TEXT = st.sampled_from([
    SCRIPT, "' OR 1=1 --", "'; DROP TABLE response; --", "=HYPERLINK(\"http://evil\")", "\x00",
    "a\x00b", "\ud7ff\ue000\U0010ffff", "../../etc/passwd", "%00%2e%2e", "${jndi:ldap://x}",
    "\u202eevil", "😀" * 100, "\r\n\t"])
VALUES = (st.sampled_from(CHOICES) | st.text(max_size=40) | HOSTILE_TEXT
          | st.builds(lambda c, n: c * n, st.sampled_from(["长", "x", "<"]), st.integers(400, 120_000)))
KEYS = st.sampled_from(FIELD_NAMES) | st.text(max_size=20) | st.sampled_from(["u1-leadership", "", "\x00"])


@st.composite
def form_posts(draw):
    """A plausible answer with random changes: missing, extra, repeated, hostile or huge fields."""
    pairs = []
    if draw(st.booleans()):
        pairs += [("category", "resident"), ("comment", "好")] + [(k, "satisfied") for k in ITEMS]
        pairs += [("commitments.1", "fulfilled"), ("commitments.2", "partly")]
        drop = draw(st.sets(st.integers(0, len(pairs) - 1), max_size=3))
        pairs = [p for n, p in enumerate(pairs) if n not in drop]
    pairs += draw(st.lists(st.tuples(KEYS, VALUES), max_size=6))
    if pairs and draw(st.booleans()):
        pairs.append(draw(st.sampled_from(pairs)))  # a repeated key
    return pairs


@pytest.fixture
def open_unit(app, make_campaign):
    return make_campaign(units=[("GEN-001", "城关镇党委", "general")], allow_repeat=True,
                         commitments=["修好村道", "公开账目"])


def check_answer_post(app, client, url, pairs, allowed=ANSWER_STATUSES):
    before = stored(app)
    response = client.post(url, data=MultiDict(pairs))
    after = stored(app)
    assert response.status_code in allowed, (response.status_code, pairs)
    if response.status_code == 303:
        assert after - before >= 1
    else:
        assert after == before, f"{response.status_code} but something was written"
    return response


def test_fuzzed_answers_never_fail_and_write_only_on_success(app, backend, open_unit):
    client = app.test_client()

    @(FUZZ if backend == "sqlite" else FUZZ_PG)
    @given(pairs=form_posts())
    @example(pairs=[("category", "resident"), ("comment", "a\x00b")] + [(k, "satisfied") for k in ITEMS]
             + [("commitments.1", "fulfilled"), ("commitments.2", "fulfilled")])
    @example(pairs=[("category", "resident"), ("category", "deputy")] + [(k, "satisfied") for k in ITEMS])
    def run(pairs):
        check_answer_post(app, client, "/s/GEN-001", pairs)

    run()


@st.composite
def raw_bodies(draw):
    content_type = draw(st.sampled_from([
        "application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz", "multipart/form-data",
        "application/json", "text/plain; charset=gb18030", "application/x-www-form-urlencoded; charset=latin1"]))
    body = draw(st.binary(max_size=300) | st.sampled_from([
        b"category=resident&comment=%ff%fe%00", b"--xyz\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\nx",
        b"a=" + b"%" * 500, b"&&&==&=", b'{"category": "resident"}']))
    return content_type, body


def test_fuzzed_raw_bodies_never_fail(app, backend, open_unit):
    client = app.test_client()

    @(FUZZ if backend == "sqlite" else FUZZ_PG)
    @given(raw=raw_bodies())
    def run(raw):
        content_type, body = raw
        before = stored(app)
        response = client.post("/s/GEN-001", data=body, content_type=content_type)
        assert response.status_code in {400, 413, 422}, (response.status_code, raw)
        assert stored(app) == before

    run()


def test_fuzzed_ballot_answers_never_fail(app, backend, make_campaign, make_tokens):
    cid = make_campaign(units=[("GEN-001", "城关镇党委", "general")], allow_repeat=True)
    tokens = iter(make_tokens(cid, n=80))
    with app.app_context():
        uid = db.session.scalar(select(Unit.id))
    state = {"token": next(tokens)}

    @(FUZZ if backend == "sqlite" else FUZZ_PG)
    @given(pairs=form_posts())
    @example(pairs=[("category", "resident"), ("comment", "\x00")] + [(k, "satisfied") for k in ITEMS])
    def run(pairs):
        pairs = [(k if k in ("category", "csrf_token") else f"u{uid}-{k}", v) for k, v in pairs]
        response = check_answer_post(app, app.test_client(), f"/b/{state['token']}", pairs)
        if response.status_code == 303:
            state["token"] = next(tokens)

    run()


# --- the results API against its OpenAPI description (schemathesis) ---------------------------
OPENAPI = Path(__file__).resolve().parents[1] / "docs" / "openapi.yaml"


def rate_published(app, make_campaign, slug="pub-2025"):
    """A published campaign with answers, so the API has figures (and nulls) to describe."""
    from survey.responses import Sheet, store
    cid = make_campaign(slug=slug, units=[("P-1", "城关镇党委", "general"), ("P-2", "东街社区", "general"),
                                          ("P-3", "未评单位", "general")], state="open",
                        commitments=["修好村道"])
    with app.app_context():
        units = {u.code: u.id for u in db.session.scalars(select(Unit).filter_by(campaign_id=cid))}
        sheets = []
        for n in range(12):
            choice = "satisfied" if n % 3 else "unsatisfied"
            answers = {k: (choice, None, "satisfaction") for k in ITEMS}
            answers["commitments.1"] = ("partly", None, "commitment")
            answers["comment"] = (None, f"意见 {n}", None)
            sheets.append(Sheet(cid, units["P-1" if n % 2 else "P-2"], "five-goods",
                                "resident" if n % 4 else "deputy", answers))
        store(sheets[:6])
        store(sheets[6:], channel="paper")
    publish(app, cid)
    return cid


def publish(app, cid):
    from survey.campaigns import transition
    from survey.models import Campaign
    from survey.registry import current_registry
    with app.app_context():
        campaign = db.session.get(Campaign, cid)
        for action in ("close", "publish"):
            transition(campaign, action, current_registry(), "test")
        db.session.commit()


def test_results_api_conforms_to_its_openapi_description(app, backend, make_campaign):
    import schemathesis
    rate_published(app, make_campaign)
    make_campaign(slug="draft-2025", state="draft")
    schema = schemathesis.openapi.from_path(str(OPENAPI))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the description has no operations"
    client = app.test_client()
    plain = {"Accept-Encoding": "identity"}  # schemathesis's WSGI calls do not undo gzip
    for operation in operations:
        # the published campaign, a draft (404 to the public) and no such campaign
        for slug in ("pub-2025", "draft-2025", "no-such"):
            case = operation.Case(path_parameters={"slug": slug})
            response = case.call(app=app, headers=plain)
            case.validate_response(response)
            assert response.status_code == (200 if slug == "pub-2025" else 404)

        @settings(FUZZ, max_examples=40 if backend == "sqlite" else 10)
        @given(case=operation.as_strategy())
        def fuzz(case):
            response = case.call(app=app, headers=plain)
            assert response.status_code < 500
            case.validate_response(response)

        fuzz()
    document = client.get("/api/campaigns/pub-2025/results").get_json()
    assert {u["code"] for u in document["units"]} == {"P-1", "P-2", "P-3"}
    # the check has teeth: a description demanding a field the API lacks fails validation
    import yaml
    raw = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    raw["components"]["schemas"]["Results"]["required"].append("bogus")
    strict = schemathesis.openapi.from_dict(raw)
    operation = next(iter(strict.get_all_operations())).ok()
    case = operation.Case(path_parameters={"slug": "pub-2025"})
    with pytest.raises(BaseException) as failure:  # a FailureGroup of the checks that failed
        case.validate_response(case.call(app=app, headers=plain))
    assert "bogus" in "".join(traceback.format_exception(failure.value))


# --- oversized bodies and malformed addresses -------------------------------------------------
def test_oversized_bodies_are_refused_with_413(app, admin_client, make_campaign, make_tokens, full_answer):
    cid = make_campaign(state="draft")
    limit = app.config["MAX_CONTENT_LENGTH"]
    before = dump_database(app)
    csrf = admin_client.csrf("/admin/campaigns/test-2025")
    big_csv = b"code,name,sector\n" + b"".join(b"U-%06d,%s,general\n" % (n, "单位".encode() * 20)
                                               for n in range(limit // 40))
    assert len(big_csv) > limit
    upload = admin_client.post("/admin/campaigns/test-2025/units/import", content_type="multipart/form-data",
                               data={"csrf_token": csrf, "file": (io.BytesIO(big_csv), "units.csv")})
    assert upload.status_code == 413
    assert dump_database(app) == before
    from survey.campaigns import transition
    from survey.models import Campaign
    from survey.registry import current_registry
    with app.app_context():
        transition(db.session.get(Campaign, cid), "open", current_registry(), "test")
        db.session.commit()
    token, = make_tokens(cid)
    for url, data in (("/s/GEN-001", {**full_answer, "comment": "长" * limit}),
                      ("/b/" + token, {"u1-comment": "x" * (limit + 1)}),
                      ("/s/GEN-001", {f"k{n}": "v" * 100 for n in range(limit // 100)})):
        response = app.test_client().post(url, data=data)
        assert response.status_code == 413, url
        assert "提交内容过大" in response.get_data(as_text=True)
    assert stored(app) == 0
    assert app.test_client().get("/b/" + token).status_code == 200  # the ballot is still unused


MALFORMED = ["x" * 5000, "A" * 41, "单位", "%E5%8D%95", "..", "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e",
             "' OR '1'='1", "1;DROP TABLE unit", "GEN-001'--", "%00", "GEN-001%00", "%0d%0aSet-Cookie:x=1",
             "<script>alert(1)<%2Fscript>", "%3Cscript%3E", "AAAAAAAAAAAAAAAAAAAAA%C3%A9", "\u202e001-NEG",
             "a" * 22 + "%20", "-" * 22, "😀" * 11, "GEN-001.", "../GEN-001"]


@pytest.mark.parametrize("value", MALFORMED)
def test_malformed_tokens_and_unit_codes_get_404_pages(app, admin_client, make_campaign, value):
    make_campaign(units=[("GEN-001", "城关镇党委", "general")], state="published")
    anonymous = app.test_client()
    for method, url in (("GET", f"/s/{value}"), ("POST", f"/s/{value}"), ("GET", f"/b/{value}"),
                        ("POST", f"/b/{value}"), ("GET", f"/results/{value}"),
                        ("GET", f"/api/campaigns/{value}/results")):
        response = anonymous.open(url, method=method, data={"category": "resident"})
        assert response.status_code == 404, (method, url, response.status_code)
        body = response.get_data(as_text=True)
        assert "<script>" not in body and "Traceback" not in body
    thanks = anonymous.get(f"/s/{value}/thanks")
    assert thanks.status_code in (200, 404) and "<script>" not in thanks.get_data(as_text=True)
    for url in (f"/admin/campaigns/{value}", f"/admin/campaigns/test-2025/units/{value}",
                f"/admin/campaigns/{value}/comments", f"/admin/campaigns/test-2025/units/{value}/qr.png"):
        response = admin_client.get(url)
        assert response.status_code == 404, (url, response.status_code)
    assert stored(app) == 0


# --- HTML and script in names, comments and commitments ---------------------------------------
@pytest.fixture
def hostile(app, make_campaign, make_tokens):
    """An open campaign whose name, unit name, parent and commitments carry markup, with a
    comment carrying script; returns (campaign id, a ballot token)."""
    from survey.models import Campaign
    cid = make_campaign(slug="xss-2025", units=[("X-1", HOSTILE_NAME, "general")], allow_repeat=True,
                        show_comments=True, commitments=[f"承诺{SCRIPT}", "修路 <i>&amp;</i> 架桥"])
    with app.app_context():
        db.session.get(Campaign, cid).name = HOSTILE_NAME
        unit = db.session.scalar(select(Unit).filter_by(code="X-1"))
        unit.parent = HOSTILE_NAME
        db.session.commit()
    token, = make_tokens(cid, category="resident")
    answer = {"category": "resident", "comment": f"评论{SCRIPT}", "commitments.1": "fulfilled",
              "commitments.2": "partly", **{k: "satisfied" for k in ITEMS}, **visit_answer()}
    for _ in range(3):
        assert app.test_client().post("/s/X-1", data=answer).status_code == 303
    return cid, token


def assert_escaped(page: str, where: str) -> None:
    assert not re.search(r'<script(?! src="/assets/[0-9a-f]{12}/answer\.js")', page, re.I), where  # only the app's own
    assert "<b>粗</b>" not in page and "<i>&amp;</i>" not in page, where
    assert ESCAPED_SCRIPT in page or "&lt;script&gt;" in page, where


def test_markup_is_escaped_on_every_page_that_shows_it(app, admin_client, hostile):
    cid, token = hostile
    public = app.test_client()
    pages = {
        "answer form": public.get("/s/X-1"),
        "answer form with errors": public.post("/s/X-1", data={"comment": SCRIPT}),
        "thank-you": public.get("/s/X-1/thanks"),
        "ballot": public.get(f"/b/{token}"),
        "admin campaigns": admin_client.get("/admin/"),
        "admin campaign": admin_client.get("/admin/campaigns/xss-2025"),
        "admin unit": admin_client.get("/admin/campaigns/xss-2025/units/X-1"),
        "admin unit form": admin_client.get("/admin/campaigns/xss-2025/units/X-1/edit"),
        "admin campaign form": admin_client.get("/admin/campaigns/xss-2025/edit"),
        "admin comments": admin_client.get("/admin/campaigns/xss-2025/comments"),
        "admin results preview": admin_client.get("/results/xss-2025"),
        "unknown unit notice": public.get("/s/%3Cscript%3E"),
    }
    for where, response in pages.items():
        assert response.status_code in (200, 404, 422), (where, response.status_code)
        assert_escaped(response.get_data(as_text=True), where)
    assert ESCAPED_SCRIPT in pages["admin comments"].get_data(as_text=True)
    assert "&lt;b&gt;粗&lt;/b&gt; &amp; Co" in pages["answer form"].get_data(as_text=True)
    assert "&lt;i&gt;&amp;amp;&lt;/i&gt;" in pages["ballot"].get_data(as_text=True)  # 评诺: on the assembly form
    publish(app, cid)
    for where, response in {"public results": public.get("/results/xss-2025"),
                            "public API": public.get("/api/campaigns/xss-2025/results")}.items():
        assert response.status_code == 200, where
        if where == "public API":
            assert response.mimetype == "application/json"
            assert response.get_json()["units"][0]["name"] == HOSTILE_NAME
        else:
            assert_escaped(response.get_data(as_text=True), where)


def pdf_text(path) -> str:
    out = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return re.sub(r"\s+", "", out)


def test_markup_is_plain_text_in_every_pdf(app, runner, hostile, tmp_path):
    cid, _token = hostile
    name = re.sub(r"\s+", "", HOSTILE_NAME)
    printed = {}
    for kind, args in (("ballots", ["ballots", "xss-2025", "--count", "2", "--category", "resident"]),
                       ("posters", ["posters", "xss-2025"]), ("tally sheet", ["tally-sheet", "xss-2025"])):
        out = tmp_path / f"{kind}.pdf"
        result = runner.invoke(args=[*args, "--out", str(out)])
        assert result.exit_code == 0, (kind, result.output, result.exception)
        printed[kind] = pdf_text(out)
    publish(app, cid)
    for lang in ("zh_CN", "en"):
        out = tmp_path / f"report-{lang}.pdf"
        result = runner.invoke(args=["report", "xss-2025", "--out", str(out), "--lang", lang])
        assert result.exit_code == 0, (result.output, result.exception)
        printed[f"report {lang}"] = pdf_text(out)
    for kind, content in printed.items():
        assert name in content, f"{kind}: the unit name is not shown literally"
    assert re.sub(r"\s+", "", f"评论{SCRIPT}") in printed["report zh_CN"]  # the comment appendix
    assert re.sub(r"\s+", "", "修路 <i>&amp;</i> 架桥") in printed["ballots"]


# --- formula injection in exports -------------------------------------------------------------
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMULAS = ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1", "\x01=1+1", "=HYPERLINK(\"http://x\")"]


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def assert_no_formula(value, where):
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        assert is_number(value), f"{where}: {value!r} would run as a formula"


def test_formula_injection_is_neutralised_in_every_export(app, runner, make_campaign, tmp_path):
    from openpyxl import load_workbook

    from survey.models import Campaign
    from survey.responses import Sheet, store
    units = [(f"F-{n}", f"{formula}单位", "general") for n, formula in enumerate(FORMULAS)]
    cid = make_campaign(slug="csv-2025", units=units)
    with app.app_context():
        db.session.get(Campaign, cid).name = "=cmd|' /C calc'!A0"
        ids = dict(db.session.execute(select(Unit.code, Unit.id)).all())
        sheets = [Sheet(cid, ids[code], "five-goods", "resident",
                        {**{k: ("satisfied", None, "satisfaction") for k in ITEMS},
                         "comment": (None, formula, None)})
                  for (code, _n, _s), formula in zip(units, FORMULAS)]
        store(sheets)
        db.session.commit()
    publish(app, cid)
    seen = 0
    for raw in ([], ["--raw"]):
        for fmt in ("csv", "xlsx", "json"):
            out = tmp_path / f"{'raw' if raw else 'results'}.{fmt}"
            result = runner.invoke(args=["export", "csv-2025", "--format", fmt, "--out", str(out), *raw])
            assert result.exit_code == 0, (result.output, result.exception)
            where = f"{fmt}{' raw' if raw else ''}"
            if fmt == "csv":
                with open(out, encoding="utf-8-sig", newline="") as f:
                    cells = [c for row in csv.reader(f) for c in row]
            elif fmt == "xlsx":
                book = load_workbook(out)
                cells = []
                for sheet in book.worksheets:
                    for row in sheet.iter_rows():
                        for cell in row:
                            assert cell.data_type != "f", f"{where}: formula cell {cell.coordinate} {cell.value!r}"
                            cells.append(cell.value)
            else:
                def walk(value):
                    if isinstance(value, dict):
                        return [s for k, v in value.items() for s in walk(k) + walk(v)]
                    if isinstance(value, list):
                        return [s for v in value for s in walk(v)]
                    return [value]
                cells = walk(json.loads(out.read_text(encoding="utf-8")))
            for cell in cells:
                assert_no_formula(cell, where)
            texts = [c for c in cells if isinstance(c, str)]
            assert any(c.startswith("'=1+1") for c in texts), f"{where}: the neutralised text is kept"
            seen += 1
    assert seen == 6


# --- CSRF on every admin POST route -----------------------------------------------------------
def admin_post_rules(app):
    return sorted((rule for rule in app.url_map.iter_rules()
                   if rule.rule.startswith("/admin") and "POST" in rule.methods), key=lambda r: r.rule)


def test_every_admin_post_refuses_a_missing_or_wrong_csrf_token(app, admin_client, make_campaign):
    from survey.testing import ADMIN_PASSWORD, ADMIN_USER
    make_campaign(slug="csrf-2025", units=[("C-1", "城关镇党委", "general")], state="draft")
    other = app.test_client()  # a token valid for another session is still wrong here
    foreign = csrf_from(other.get("/admin/login").get_data(as_text=True))
    values = {"slug": "csrf-2025", "code": "C-1", "serial": 1, "action": "open", "user_id": 1, "job_id": "0" * 32,
              "remedy_id": 1, "sheet_id": 1, "box": "Box 1", "day": "2027-02-08"}
    plausible = {"slug": "other-2025", "name": "新活动", "satisfaction_line": "70", "composition_minimum": "30",
                 "minimum_sample": "30", "minimum_cell": "5", "access": "both", "code": "C-9", "sector": "general",
                 "username": ADMIN_USER, "password": ADMIN_PASSWORD, "serial": "1", "reason": "r",
                 "response_id": "0" * 32, "item": "comment", "clerk": "office", "category": "resident",
                 "issued": "1", "returned": "1", "valid": "1", "invalid": "0"}
    rules = admin_post_rules(app)
    assert len(rules) >= 10, [r.rule for r in rules]
    before = dump_database(app)
    for rule in rules:
        own = {"action": "disable"} if rule.endpoint == "admin.user_active" else {}
        given = {**values, **own}
        url = rule.build({k: given[k] if k in given else sorted(rule._converters[k].items)[0]
                          for k in rule.arguments}, append_unknown=False)[1]
        for token in (None, "", "not-a-token", foreign):
            data = dict(plausible)
            if token is not None:
                data["csrf_token"] = token
            if rule.endpoint == "admin.units_import":
                data["file"] = (io.BytesIO(b"code,name,sector\nC-9,x,general\n"), "units.csv")
            response = admin_client.post(url, data=data)
            assert response.status_code == 400, (rule.rule, token, response.status_code)
        assert dump_database(app) == before, f"{rule.rule} wrote without a CSRF token"
    assert admin_client.get("/admin/").status_code == 200  # the logout was refused too


# --- security headers; no inline script, handler or style -------------------------------------
class InlineFinder(HTMLParser):
    """Collects what a strict CSP would block or what would run script in a page: any inline
    script, a script from elsewhere, a handler or style attribute, and each inline <style>
    block's text (allowed only when the CSP lists its hash)."""

    def __init__(self):
        super().__init__()
        self.problems = []
        self.styles = []
        self._in = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and not (attributes.get("src") or "").startswith("/assets/"):
            self.problems.append(f"<script> not from /assets/: {attributes}")
        if tag in ("script", "style"):
            self._in = tag
            if tag == "style":
                self.styles.append("")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.problems.append(f"{tag} {name}=")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                    ("javascript:", "data:text")):
                self.problems.append(f"{tag} {name}={value}")

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "style":
            self.styles[-1] += data
        elif self._in == "script" and data.strip():
            self.problems.append("inline script text")


def check_headers_and_markup(response, where):
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives.get("default-src") == ["'none'"], (where, csp)
    assert directives.get("script-src") == ["'self'"], (where, csp)
    assert directives.get("style-src", [""])[0] == "'self'", (where, csp)
    assert all(source.startswith("'sha256-") for source in directives["style-src"][1:]), (where, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, (where, csp)
    assert directives.get("frame-ancestors") == ["'none'"], (where, csp)
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.headers.get("X-Frame-Options") == "DENY", where
    if response.mimetype == "text/html":
        finder = InlineFinder()
        finder.feed(response.get_data(as_text=True))
        assert not finder.problems, (where, finder.problems)
        for text in finder.styles:  # the browser would refuse a block whose hash is not listed
            digest = "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"
            assert digest in directives["style-src"], (where, text[:60])


def test_security_headers_and_no_inline_script_on_every_page(app, admin_client, make_campaign, make_tokens,
                                                             full_answer):
    cid = make_campaign(slug="pages-2025", units=[("GEN-001", "城关镇党委", "general")], commitments=["修路"])
    token, = make_tokens(cid, category="resident")
    from survey import paper
    with app.app_context():
        from survey.models import Campaign
        paper.print_ballots(db.session.get(Campaign, cid), str(app.instance_path) + "/b.pdf", 1,
                            base_url="http://survey.test", category="resident")
    public = app.test_client()
    visited = 0
    for method, url, data in (("GET", "/", None), ("GET", "/s/GEN-001", None), ("POST", "/s/GEN-001", {}),
                              ("POST", "/s/GEN-001", full_answer), ("GET", "/s/GEN-001", None),
                              ("GET", "/s/GEN-001/thanks", None), ("GET", f"/b/{token}", None),
                              ("POST", f"/b/{token}", {}), ("GET", "/b/done", None), ("GET", "/b/nope", None),
                              ("GET", "/s/NOPE", None), ("GET", "/results/pages-2025", None),
                              ("GET", "/api/campaigns/pages-2025/results", None), ("GET", "/admin/login", None),
                              ("GET", "/admin/", None), ("POST", "/admin/login", {"username": "x"}),
                              ("GET", "/static/resident.css", None), ("GET", "/no/such/page", None),
                              ("POST", "/s/GEN-001", {"comment": "x" * 300_000})):
        response = public.open(url, method=method, data=data)
        check_headers_and_markup(response, f"{method} {url} -> {response.status_code}")
        visited += 1
    values = {"slug": "pages-2025", "code": "GEN-001", "serial": 1}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint == "static" or set(rule.arguments) - set(values):
            continue
        url = rule.build({k: values[k] if k in values else sorted(rule._converters[k].items)[0]
                          for k in rule.arguments}, append_unknown=False)[1]
        response = admin_client.get(url)
        assert response.status_code < 500, url
        check_headers_and_markup(response, f"admin GET {url} -> {response.status_code}")
        visited += 1
    for url in ("/admin/campaigns/pages-2025/paper/entry?serial=1", "/results/pages-2025"):
        check_headers_and_markup(admin_client.get(url), url)
    assert visited > 30


# --- cookie flags -----------------------------------------------------------------------------
def cookie_flags(response, name) -> dict:
    for header in response.headers.getlist("Set-Cookie"):
        if header.split("=", 1)[0] == name:
            parts = [p.strip() for p in header.split(";")[1:]]
            return {p.split("=", 1)[0].lower(): (p.split("=", 1) + [True])[1] for p in parts}
    raise AssertionError(f"no {name} cookie set: {response.headers.getlist('Set-Cookie')}")


@pytest.mark.parametrize("app_config,secure", [({"SURVEY_BASE_URL": "https://survey.example"}, True),
                                               ({"SURVEY_BASE_URL": "http://survey.test"}, False)])
def test_cookies_are_http_only_same_site_and_secure_behind_https(app, make_campaign, full_answer, secure):
    from survey.auth import create_user
    from survey.testing import ADMIN_PASSWORD, ADMIN_USER
    cid = make_campaign()
    with app.app_context():
        create_user(ADMIN_USER, ADMIN_PASSWORD)
    base = "https://localhost" if secure else "http://localhost"
    client = app.test_client()
    page = client.get("/admin/login", base_url=base)
    login = client.post("/admin/login", base_url=base, headers={"Referer": f"{base}/admin/login"}, data={
        "username": ADMIN_USER, "password": ADMIN_PASSWORD, "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert login.status_code == 302
    answered = app.test_client().post("/s/GEN-001", data=full_answer, base_url=base)
    assert answered.status_code == 303
    for response, name in ((page, "session"), (login, "session"), (answered, f"answered_{cid}")):
        flags = cookie_flags(response, name)
        assert "httponly" in flags, (name, flags)
        assert flags.get("samesite") == "Lax", (name, flags)
        assert ("secure" in flags) is secure, (name, flags)
    if secure:
        assert login.headers.get("Strict-Transport-Security", "").startswith("max-age=")
