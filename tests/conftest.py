"""The core's fixtures come from survey.testing (installed as a pytest11 plugin)."""
import importlib.util
import shutil
import sys
import threading
from pathlib import Path

import pytest

from survey.testing import GENERAL_ITEMS, VISIT_ITEMS, visit_answer  # noqa: F401 (used by tests)


@pytest.fixture
def full_answer():
    """A complete, valid answer to the built-in five-goods questionnaire and to its
    point-of-service pair (a form ignores the other one's fields): every satisfaction item
    满意, 是 on yes/no, 没有 on incidence items."""
    data = {"category": "resident", "comment": "服务态度好"}
    data.update({key: "satisfied" for key in GENERAL_ITEMS})
    data.update(visit_answer())
    return data


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (the Debian package) for the test session, driven by Playwright."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def live_server(app):
    """The test's app served on a free loopback port (threaded); yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)  # the kernel's free port: no race for it
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def bench_load():
    """bench/load.py as a module (bench/ holds scripts, not a package): the load and fault
    tests drive the same load generator the benchmark runs."""
    spec = importlib.util.spec_from_file_location("bench_load", Path(__file__).resolve().parents[1] / "bench/load.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_load"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def shared_dir():
    """../shared beside the repository (the floors and the domain texts)."""
    return Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def make_tokens(app):
    """Issue n one-time ballot tokens for a campaign; returns the plain tokens."""
    def make(campaign_id, n=1, category=None, unit_codes=None):
        from sqlalchemy import func, select

        from survey.db import db
        from survey.models import BallotBatch, BallotToken
        from survey.tokens import new_token, token_hash
        with app.app_context():
            start = (db.session.scalar(select(func.max(BallotToken.serial)).filter_by(campaign_id=campaign_id)) or 0) + 1
            batch = BallotBatch(campaign_id=campaign_id, category=category, unit_codes=unit_codes,
                                count=n, serial_from=start, serial_to=start + n - 1)
            db.session.add(batch)
            db.session.flush()
            plain = [new_token() for _ in range(n)]
            for offset, token in enumerate(plain):
                db.session.add(BallotToken(token_hash=token_hash(token), campaign_id=campaign_id,
                                           batch_id=batch.id, serial=start + offset))
            db.session.commit()
        return plain
    return make
