"""Posters, ballots and tally sheets, read back with independent tools (poppler, zbar):
every page renders, every QR code decodes, every ballot token works exactly once, the Chinese
unit names are text, every font is embedded."""
import os
import shutil
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from survey.db import db
from survey.models import BallotBatch, BallotToken
from survey.testing import GENERAL_ITEMS

UNITS = [("GEN-001", "城关镇党委", "general"), ("GEN-002", "东街社区党支部", "general"),
         ("GEN-003", "西关村党支部委员会", "general")]
COMMITMENTS = ["每月公开一次收支情况", "群众来电三日内答复"]
ITEMS = GENERAL_ITEMS  # the five-goods (assembly) form's satisfaction items

pytestmark = pytest.mark.skipif(not all(shutil.which(t) for t in ("pdftoppm", "zbarimg", "pdftotext", "pdffonts")),
                                reason="poppler-utils and zbar-tools are needed")


def render(pdf, tmp_path, name):
    """Render every page at 150 dpi (the least a scanner is set to); return the PNG paths (one per page)."""
    prefix = tmp_path / name
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(pdf), str(prefix)], check=True)
    return sorted(tmp_path.glob(f"{name}-*.png"))


def qr_codes(images):
    """Every QR code zbarimg finds, per image."""
    out = {}
    for image in images:
        run = subprocess.run(["zbarimg", "-q", "--raw", str(image)], capture_output=True, text=True)
        out[image.name] = run.stdout.split()
    return out


def text_of(pdf):
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def all_fonts_embedded(pdf):
    """True if pdffonts lists fonts and every one is embedded (its "emb" column says yes)."""
    lines = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert lines, "no fonts at all"
    return all(line.split()[-5] == "yes" for line in lines)


def ballot_answer(unit_ids, commitments_unit=None):
    data = {}
    for unit_id in unit_ids:
        data.update({f"u{unit_id}-{key}": "satisfied" for key in ITEMS})
        if unit_id == commitments_unit:
            data.update({f"u{unit_id}-commitments.1": "fulfilled", f"u{unit_id}-commitments.2": "partly"})
    return data


def units_of(app):
    from survey.models import Unit
    with app.app_context():
        return {u.code: u.id for u in db.session.scalars(select(Unit))}


@pytest.fixture
def campaign(app, make_campaign):
    """An open campaign of three units; the first has two public commitments."""
    cid = make_campaign(units=UNITS)
    from survey.models import Unit
    with app.app_context():
        db.session.scalar(select(Unit).filter_by(code="GEN-001")).commitments = COMMITMENTS
        db.session.commit()
    return cid


def test_ballots_pages_qr_tokens_and_text(app, client, runner, campaign, tmp_path):
    out = tmp_path / "ballots.pdf"
    result = runner.invoke(args=["ballots", "test-2025", "--count", "3", "--category", "resident", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "No. 1 to 3" in result.output
    images = render(out, tmp_path, "ballot")
    codes = qr_codes(images)
    tokens = [c.rsplit("/b/", 1)[1] for found in codes.values() for c in found if "/b/" in c]
    pages = [c.split(":K:")[0] for found in codes.values() for c in found if c.startswith("B:")]
    assert len(tokens) == 3 and len(set(tokens)) == 3
    per_ballot = len(images) // 3
    assert per_ballot == 1 and len(images) == 3  # three units in one grid, the commitments on lines below it
    with app.app_context():
        from survey.paper import ballot_layout
        boxes = ballot_layout(db.session.scalar(select(BallotBatch)))["pages"][0]["boxes"]
    assert {b["item"] for b in boxes if b["unit"] == "GEN-001"} >= {"commitments.1", "commitments.2"}
    assert not any(b["item"].startswith("commitments") for b in boxes if b["unit"] != "GEN-001")
    assert sorted(pages) == sorted(f"B:{s}:P:{p}/{per_ballot}" for s in (1, 2, 3) for p in range(1, per_ballot + 1))
    assert all(len(found) >= 1 for found in codes.values())  # every page has its code
    assert not any(t in result.output for t in tokens)
    text = text_of(out)
    for _code, name, _sector in UNITS:
        assert name in text
    assert "每月公开一次收支情况" in text and "000003" in text
    assert all_fonts_embedded(out)
    ids = units_of(app)
    for token in tokens:
        answer = ballot_answer(ids.values(), commitments_unit=ids["GEN-001"])
        assert client.post(f"/b/{token}", data=answer).status_code == 303
        assert client.post(f"/b/{token}", data=answer).status_code == 410
    with app.app_context():
        batch = db.session.scalar(select(BallotBatch))
        assert (batch.serial_from, batch.serial_to, batch.count, batch.category) == (1, 3, 3, "resident")
        assert db.session.scalar(select(func.count()).select_from(BallotToken).where(BallotToken.redeemed)) == 3


def test_serials_continue_and_units_subset(app, runner, campaign, tmp_path):
    first = runner.invoke(args=["ballots", "test-2025", "--count", "2", "--out", str(tmp_path / "a.pdf")])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["ballots", "test-2025", "--count", "2", "--category", "service_recipient",
                                 "--units", "GEN-002", "--lang", "en", "--out", str(tmp_path / "b.pdf")])
    assert second.exit_code == 0, second.output
    assert "No. 3 to 4" in second.output
    codes = qr_codes(render(tmp_path / "b.pdf", tmp_path, "b"))
    assert sorted(c.split(":K:")[0] for found in codes.values() for c in found if c.startswith("B:")) == ["B:3:P:1/1", "B:4:P:1/1"]
    text = text_of(tmp_path / "b.pdf")
    assert "东街社区党支部" in text and "城关镇党委" not in text and "Please print at 100%" in text


def test_refusals_record_nothing(app, runner, make_campaign, campaign, tmp_path):
    bad_category = runner.invoke(args=["ballots", "test-2025", "--count", "2", "--category", "nobody",
                                       "--out", str(tmp_path / "x.pdf")])
    assert bad_category.exit_code != 0 and "resident" in bad_category.output
    unwritable = runner.invoke(args=["ballots", "test-2025", "--count", "2", "--out", str(tmp_path / "no" / "x.pdf")])
    assert unwritable.exit_code != 0
    make_campaign(slug="draft-one", units=[("GEN-009", "草稿单位", "general")], state="draft")
    draft = runner.invoke(args=["ballots", "draft-one", "--count", "2", "--out", str(tmp_path / "d.pdf")])
    assert draft.exit_code != 0 and "open" in draft.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BallotBatch)) == 0
        assert db.session.scalar(select(func.count()).select_from(BallotToken)) == 0
    assert not list(tmp_path.rglob("*.tmp"))


def test_posters_a4_and_a5(runner, campaign, tmp_path):
    for name, extra in (("a4", []), ("a5", ["--a5", "--lang", "en"])):
        out = tmp_path / f"{name}.pdf"
        result = runner.invoke(args=["posters", "test-2025", "--out", str(out), *extra])
        assert result.exit_code == 0, result.output
        images = render(out, tmp_path, name)
        assert len(images) == (3 if name == "a4" else 2)
        found = sorted(c for codes in qr_codes(images).values() for c in codes)
        assert found == [f"http://survey.test/s/{code}" for code, _n, _s in UNITS]
        text = text_of(out)
        assert all(n in text for _c, n, _s in UNITS) and "survey.test/s/GEN-002" in text
        assert all_fonts_embedded(out)


def test_tally_sheet(runner, campaign, tmp_path):
    out = tmp_path / "tally.pdf"
    result = runner.invoke(args=["tally-sheet", "test-2025", "--category", "resident", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert render(out, tmp_path, "tally")
    text = text_of(out)
    assert all(n in text for _c, n, _s in UNITS) and "普通群众代表" in text
    assert "每月公开一次收支情况" in text
    assert all_fonts_embedded(out)


def test_missing_font_is_a_clear_error(app, campaign, tmp_path):
    """A fresh process with no CJK font fails with the fix, and writes no PDF of empty boxes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    env.update(SURVEY_PDF_FONT=str(tmp_path / "none.ttf"), SURVEY_INSTANCE=str(tmp_path / "instance"),
               SURVEY_DATABASE_URL=app.config["SURVEY_DATABASE_URL"], SURVEY_BASE_URL="https://survey.example.org")
    result = subprocess.run([sys.executable, "-m", "survey.cli", "posters", "test-2025", "--out", str(tmp_path / "p.pdf")],
                            env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "SURVEY_PDF_FONT" in result.stderr and "fonts-wqy-microhei" in result.stderr
    assert not (tmp_path / "p.pdf").exists()
