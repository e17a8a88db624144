"""The resident's minute on a slow phone: first paint and submit-to-thank-you under Slow 3G.

Drives headless Chromium at 360×740 with the DevTools network throttled to Slow 3G (2,000 ms
latency, 50 KB/s down and up) against `survey serve` on loopback, and prints, as the median
of --rounds rounds, each in a fresh browser context (empty cache):

- first paint (first contentful paint) of a first unit's form;
- first paint of a second unit's form in the same context (what the cache saves);
- from the tap on "submit" to the first paint of the thank-you page;

each beside its floor measured in the same run: one round trip (a HEAD request timed under
the same throttling) plus the transfer time, at 50 KB/s, of the bytes actually sent (the
Navigation Timing transfer size of the page; for a submission the form's body up and the
thank-you page down). Goals: 2.5 s, 2.5 s and 4.5 s. A submission needs two round trips
(post/redirect/get), so its ratio is about 2 at best.

    python bench/resident.py [--rounds 3] [--base-url http://host:port]

--base-url measures a server already running (it must have open units HOS-001 and HOS-002 on
the hospital patients' questionnaire, answerable by QR); without it the script sets one up.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import free_port, start, stop, wait_for_port

LATENCY_MS = 2000
THROUGHPUT = 50 * 1024  # bytes per second, each way
GOALS_MS = {"first": 2500, "second": 2500, "submit": 4500}
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

SETUP = """
from survey import create_app
from survey.campaigns import transition
from survey.db import db
from survey.migrate import upgrade
from survey.models import Campaign, Unit
from survey.registry import current_registry
app = create_app()
with app.app_context():
    upgrade()
    c = Campaign(slug="slow-3g", name="2025年度基层站所群众满意度测评")
    for n in (1, 2, 3):
        db.session.add(Unit(campaign=c, code=f"HOS-00{n}", name=f"县第{n}人民医院", sector="hospital"))
    db.session.flush()
    transition(c, "open", current_registry(), "bench")
    db.session.commit()
"""

# first contentful paint, as milliseconds since the epoch, and the page's transfer size
PAINT = """() => new Promise(resolve => {
  const done = () => {
    const paint = performance.getEntriesByName('first-contentful-paint')[0];
    if (!paint) return false;
    const nav = performance.getEntriesByType('navigation')[0];
    resolve({fcp: paint.startTime, at: performance.timeOrigin + paint.startTime,
             bytes: nav ? nav.transferSize : 0, encoded: nav ? nav.encodedBodySize : 0});
    return true;
  };
  if (!done()) new PerformanceObserver(() => done()).observe({type: 'paint', buffered: true});
})"""

# from a blank page (the app's CSP rightly forbids fetch() on its own pages): a HEAD request
# carries no body, so it takes one round trip and a few hundred bytes of headers
ROUND_TRIP = """async (url) => {
  const t = performance.now();
  await fetch(url, {method: 'HEAD', mode: 'no-cors', cache: 'no-store'});
  return performance.now() - t;
}"""

ANSWER_ALL = """() => {
  const names = new Set([...document.querySelectorAll('input[type=radio]')].map(r => r.name));
  for (const name of names) document.querySelector(`input[type=radio][name="${name}"]`).checked = true;
  return names.size;
}"""

TAP_SUBMIT = """() => { const t = Date.now(); document.querySelector('button[type=submit]').click(); return t; }"""


def throttle(context, page):
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": LATENCY_MS, "downloadThroughput": THROUGHPUT,
        "uploadThroughput": THROUGHPUT})
    return cdp


def one_round(browser, base: str) -> dict:
    """One fresh phone: a first unit, a second unit, then a submission on the second."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN",
                                  user_agent="Mozilla/5.0 (Linux; Android 10) MicroMessenger/8.0")
    page = context.new_page()
    throttle(context, page)
    sent = []
    page.on("request", lambda r: sent.append(len(r.post_data_buffer or b"")) if r.method == "POST" else None)
    try:
        page.goto(f"{base}/s/HOS-001", wait_until="commit", timeout=60_000)
        first = page.evaluate(PAINT)
        page.wait_for_load_state("load", timeout=60_000)
        page.goto(f"{base}/s/HOS-002", wait_until="commit", timeout=60_000)
        second = page.evaluate(PAINT)
        page.wait_for_load_state("load", timeout=60_000)
        page.evaluate(ANSWER_ALL)
        tapped = page.evaluate(TAP_SUBMIT)
        page.wait_for_url("**/thanks", timeout=60_000)
        thanks = page.evaluate(PAINT)
        if "谢谢" not in page.content():
            raise SystemExit("the submission did not reach the thank-you page")
        blank = context.new_page()
        throttle(context, blank)
        rtt = blank.evaluate(ROUND_TRIP, f"{base}/")
    finally:
        context.close()
    floor = lambda up, down: rtt + (up + down) / THROUGHPUT * 1000  # noqa: E731
    return {
        "rtt": rtt,
        "first": (first["fcp"], floor(0, first["bytes"]), first["bytes"]),
        "second": (second["fcp"], floor(0, second["bytes"]), second["bytes"]),
        "submit": (thanks["at"] - tapped, floor(sum(sent), thanks["bytes"]), sum(sent) + thanks["bytes"]),
    }


def measure(base: str, rounds: int) -> dict:
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            results = [one_round(browser, base) for _ in range(rounds)]
            version = browser.version
        finally:
            browser.close()
    median = {"rtt": statistics.median(r["rtt"] for r in results), "chromium": version, "rounds": rounds}
    for key in GOALS_MS:
        median[key] = tuple(statistics.median(r[key][i] for r in results) for i in range(3))
    return median


def report(m: dict) -> str:
    lines = [f"Slow 3G: {LATENCY_MS} ms latency, {THROUGHPUT // 1024} KB/s down and up; 360x740; "
             f"Chromium {m['chromium']}; median of {m['rounds']} rounds",
             f"round trip (HEAD, measured): {m['rtt']:.0f} ms"]
    names = {"first": "first unit, first paint", "second": "second unit, first paint",
             "submit": "submit -> thank-you, first paint"}
    for key, name in names.items():
        ours, floor, size = m[key]
        verdict = "within goal" if ours <= GOALS_MS[key] else "OVER GOAL"
        lines.append(f"{name}: {ours:.0f} ms | floor {floor:.0f} ms (1 round trip + {size / 1024:.1f} KB) | "
                     f"ratio {ours / floor:.2f} | goal <= {GOALS_MS[key]} ms: {verdict}")
    lines.append("(a submission takes two round trips by design: the POST, then the redirect to the thank-you "
                 "page, so reloading it never sends the answer again)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--base-url")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    if args.base_url:
        figures = measure(args.base_url.rstrip("/"), args.rounds)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            env = {"SURVEY_INSTANCE": str(Path(tmp) / "instance"), "SURVEY_RATELIMIT_ENABLED": "0"}
            subprocess.run([sys.executable, "-c", SETUP], env={**os.environ, **env}, check=True)
            port = free_port()
            server = start([sys.executable, "-m", "survey.cli", "serve", "--bind", f"127.0.0.1:{port}",
                            "--workers", "2", "--allow-local-base-url"], env=env)
            try:
                try:
                    wait_for_port(port)
                except TimeoutError:
                    stop(server)
                    raise SystemExit("survey serve did not start:\n" + server.stderr.read().decode(errors="replace"))
                figures = measure(f"http://127.0.0.1:{port}", args.rounds)
            finally:
                stop(server)
    print(report(figures))
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
