"""A new campaign office runs a campaign in headless Chromium with no shell: creates a campaign,
imports its units from an XLSX filled in Chinese, opens it, prints posters and 200 numbered
ballots (watching the progress bar), two clerks enter a paper ballot, and it downloads the
summary XLSX and the result report. The files are read back with independent tools.
Screenshots of every step are left in the test's folder (and in SURVEY_SHOTS if set)."""
import io
import os
import shutil
import subprocess
import threading

import pytest
from openpyxl import Workbook, load_workbook
from werkzeug.serving import make_server

from survey.auth import create_user
from survey.jobs import start_in_thread

PUBLIC = "https://pingyi.example.gov.cn"

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not all(shutil.which(t) for t in ("pdftotext", "pdftoppm", "zbarimg")),
                                 reason="poppler-utils and zbar-tools are needed")]


@pytest.fixture
def app_config():
    return {"SURVEY_BASE_URL": PUBLIC}


@pytest.fixture
def office(app):
    """The app served on a free port with its background worker running in a thread."""
    # bound to a port the kernel picks: a port chosen earlier may be taken since by another
    # worker's server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    worker = start_in_thread(app)
    yield f"http://127.0.0.1:{server.server_port}"
    worker.stop(graceful=True)
    server.shutdown()


def units_xlsx(path):
    book = Workbook()
    sheet = book.active
    for row in [["单位编码", "单位名称", "类别", "上级单位", "问卷", "公开承诺"],
                ["SCH-01", "城关第一小学", "学校", "县教育局", None, "每周公开食堂账目"],
                ["HOS-01", "县人民医院", "医院", "县卫健委", "医院窗口服务满意度测评", None],
                ["VIL-01", "红星村", "村", "城关镇", None, None]]:
        sheet.append(row)
    book.save(path)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the embedded default a new office has
def test_an_office_runs_a_campaign_in_the_browser(app, office, tmp_path, browser):
    shots = tmp_path / "shots"
    shots.mkdir()
    extra = os.environ.get("SURVEY_SHOTS")

    def shot(page, name):
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        if extra:
            os.makedirs(extra, exist_ok=True)
            shutil.copy(shots / f"{name}.png", extra)

    with app.app_context():
        for name in ("office", "clerk1", "clerk2"):
            create_user(name, f"{name}-correct-horse")
    units_xlsx(tmp_path / "单位名单.xlsx")

    # the session's one Chromium (tests/conftest.py): a second Playwright in one process fails
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()

    def sign_in(page, name):
        page.goto(f"{office}/admin/login")
        page.fill("#username", name)
        page.fill("#password", f"{name}-correct-horse")
        page.click("button[type=submit]")

    def download(page, selector, name):
        with page.expect_download() as info:
            page.click(selector)
        path = tmp_path / name
        info.value.save_as(path)
        return path

    def wait_done(page, name):
        """Stay on the job page (it reloads itself) until the file is offered."""
        page.wait_for_selector("#job-download", timeout=180_000)
        shot(page, name)
        return page

    sign_in(page, "office")
    page.goto(f"{office}/admin/campaigns/new")
    page.fill("#slug", "county-2025")
    page.fill("#name", "2025年度全县群众满意度测评")
    shot(page, "01-new-campaign")
    page.click("form button[type=submit]")
    assert "2025年度全县群众满意度测评" in page.locator("h1").inner_text()

    template = download(page, "#units-template", "template.xlsx")
    assert load_workbook(template).worksheets[0]["A1"].value == "单位编码"
    page.set_input_files("input[type=file]", str(tmp_path / "单位名单.xlsx"))
    page.click("form[enctype='multipart/form-data'] button[type=submit]")
    assert "县人民医院" in page.content() and "红星村" in page.content()
    shot(page, "02-units-imported")
    page.click("form[action$='/open'] button")
    assert "进行中" in page.content() or "open" in page.url
    shot(page, "03-opened")

    page.click("text=打印和下载")
    assert PUBLIC in page.locator("#qr-address").inner_text()  # the address the codes carry
    shot(page, "04-print-and-download")
    page.select_option("#size-posters", "a4")
    page.click("#form-posters button[type=submit]")
    posters = download(wait_done(page, "05-posters-done"), "#job-download", "posters.pdf")

    page.goto(f"{office}/admin/campaigns/county-2025/jobs/")
    page.fill("#count-ballots", "200")
    page.click("#form-ballots button[type=submit]")
    page.wait_for_selector("#job-progress, #job-download")
    seen_progress = False
    for _ in range(300):  # the page reloads itself every two seconds; catch it half way
        page.wait_for_load_state()
        bar = page.locator("#job-progress")
        if page.locator("#job-download").count():
            break
        if bar.count() and (bar.get_attribute("value") or "0") not in ("", "0"):
            seen_progress = True
            shot(page, "06-ballots-progress")
            break
        page.wait_for_timeout(200)
    assert seen_progress or page.locator("#job-download").count()
    ballots = download(wait_done(page, "07-ballots-done"), "#job-download", "ballots.pdf")

    # two clerks enter ballot No. 1 the same way: it counts
    for clerk in ("clerk1", "clerk2"):
        clerk_context = browser.new_context(locale="zh-CN", viewport={"width": 1000, "height": 900})
        cp = clerk_context.new_page()
        sign_in(cp, clerk)
        cp.goto(f"{office}/admin/campaigns/county-2025/paper/entry?serial=1")
        cp.locator("input[name=category]").first.check()
        groups = cp.eval_on_selector_all("input[type=radio]:not([name=category])",
                                         "els => [...new Set(els.map(e => e.name))]")
        assert groups  # every item of every unit on the ballot, one group each
        for name in groups:  # the first box of each item, clicked
            cp.locator(f'input[type=radio][name="{name}"]').first.check()
        shot(cp, f"08-entry-{clerk}")
        cp.click("form[method=post] button.primary")
        flash = cp.locator("p.flash").first.inner_text()
        assert "第1号测评票" in flash and ("两次录入一致" in flash) == (clerk == "clerk2"), flash
        shot(cp, f"09-entered-{clerk}")
        clerk_context.close()

    page.goto(f"{office}/admin/campaigns/county-2025/jobs/")
    page.select_option("#format-export", "xlsx")
    page.click("#form-export button[type=submit]")
    summary = download(wait_done(page, "10-export-done"), "#job-download", "summary.xlsx")
    page.goto(f"{office}/admin/campaigns/county-2025/jobs/")
    page.click("#form-report button[type=submit]")
    report = download(wait_done(page, "11-report-done"), "#job-download", "report.pdf")
    page.goto(f"{office}/admin/campaigns/county-2025/jobs/")
    shot(page, "12-recent-jobs")

    # a loopback address: the admin says so, names the setting, and offers no printing
    app.config["SURVEY_BASE_URL"] = office
    page.reload()
    refusal = page.locator("#qr-address").inner_text()
    assert "SURVEY_BASE_URL" in refusal and "instance/config.py" in refusal
    assert page.locator("#form-posters button[type=submit]").is_disabled()
    shot(page, "13-loopback-refused")
    app.config["SURVEY_BASE_URL"] = PUBLIC
    context.close()

    # the files, read back
    text = subprocess.run(["pdftotext", str(posters), "-"], capture_output=True, text=True).stdout
    assert all(name in text for name in ("城关第一小学", "县人民医院", "红星村"))
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", str(ballots), str(tmp_path / "b")], check=True)
    codes = subprocess.run(["zbarimg", "-q", "--raw", str(next(tmp_path.glob("b-*.png")))],
                           capture_output=True, text=True).stdout.split()
    answer = [c for c in codes if not c.startswith("B:")]  # besides the page's own code (no token)
    assert len(answer) == 1 and answer[0].startswith(f"{PUBLIC}/b/"), codes
    ballot_text = subprocess.run(["pdftotext", str(ballots), "-"], capture_output=True, text=True).stdout
    assert "200" in ballot_text
    book = load_workbook(io.BytesIO(summary.read_bytes()))
    rows = list(book["汇总"].iter_rows(min_row=2, values_only=True))
    assert {r[1] for r in rows} == {"SCH-01", "HOS-01", "VIL-01"} and all(r[5] == 1 for r in rows)  # the ballot rated every unit
    report_text = subprocess.run(["pdftotext", str(report), "-"], capture_output=True, text=True).stdout
    assert "测评结果报告" in report_text and "县人民医院" in report_text
