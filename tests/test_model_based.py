"""A model-based test (issue 9, Build 7): hypothesis interleaves every write path — answers by
QR code and by ballot (repeated submissions included), paper double entry, tally sheets,
comment moderation, units imported while open, close (which scrubs), reopen, publish — and
after every step checks what must always hold:

- the running tally equals a full recount, and each unit's raters are what the model expects;
- nothing is public before publication (page and API 404 to the public);
- the settings and unit fields locked when the campaign opened are unchanged, and so are the
  frozen questionnaires;
- a hidden comment stays hidden (its moderation row survives, the report never shows it).

On SQLite and PostgreSQL; each run is a fresh campaign in the test's database. Kept small
(max_examples) so both backends take well under a minute.
"""
import itertools
import re

import pytest
from flask_babel import force_locale
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from survey import nonces
from survey.campaigns import transition
from survey.db import db
from survey.models import (
    UNIT_FIELDS_FIXED_AT_OPENING,
    Answer,
    Campaign,
    CommentModeration,
    QuestionnaireSnapshot,
    Tally,
    Unit,
)
from survey.registry import current_registry
from survey.results import recount, tally_counts, visible_comments
from survey.testing import GENERAL_ITEMS, VISIT_ITEMS, VISIT_OTHER

ITEMS = GENERAL_ITEMS  # the five-goods (assembly) form on ballots; the QR code answers general-visit
CHOICES = ["satisfied", "basic", "unsatisfied"]
LOCKED_CAMPAIGN = ("satisfaction_line", "composition_minimum", "minimum_sample", "minimum_cell", "access")
LOCKED_UNIT = UNIT_FIELDS_FIXED_AT_OPENING
runs = itertools.count(1)


def machine_for(app, admin_client, make_tokens):
    """The state machine class, bound to the test's app and clients."""

    class Evaluation(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            run = next(runs)
            self.prefix = f"R{run}"
            self.slug = f"model-{run}"
            self.public = app.test_client()
            self.resident = app.test_client()
            with app.app_context():
                campaign = Campaign(slug=self.slug, name=f"测评 {run}", allow_repeat=True, show_comments=True,
                                    minimum_sample=1, minimum_cell=3)
                db.session.add(campaign)
                for n in (1, 2):
                    db.session.add(Unit(campaign=campaign, code=f"{self.prefix}-{n}", name=f"单位{n}", sector="general"))
                db.session.flush()
                transition(campaign, "open", current_registry(), "model")
                db.session.commit()
                self.campaign_id = campaign.id
                self.locked = self._locked_now()
            self.tokens = make_tokens(self.campaign_id, n=6, category="resident")
            self.serials = {token: n for n, token in enumerate(self.tokens, start=1)}
            self.used = set()  # ballots answered by phone or on paper
            self.expected = {f"{self.prefix}-1": 0, f"{self.prefix}-2": 0}
            self.comments = itertools.count(1)
            self.hidden = set()  # texts of hidden comments
            self.state = "open"
            self.imported = 0

        # --- helpers -------------------------------------------------------------------------
        def _campaign(self):
            return db.session.get(Campaign, self.campaign_id)

        def _locked_now(self):
            campaign = self._campaign()
            units = {u.code: tuple(getattr(u, f) for f in LOCKED_UNIT) for u in campaign.units}
            frozen = dict(db.session.execute(select(QuestionnaireSnapshot.key, QuestionnaireSnapshot.definition)
                                             .filter_by(campaign_id=self.campaign_id)).all())
            return {"campaign": tuple(getattr(campaign, f) for f in LOCKED_CAMPAIGN), "units": units, "frozen": frozen}

        def _unit_ids(self):
            with app.app_context():
                return dict(db.session.execute(select(Unit.code, Unit.id).filter_by(campaign_id=self.campaign_id)).all())

        @initialize(data=st.data())
        def a_hidden_comment_to_begin_with(self, data):
            """Every run starts with two comments, one of them hidden, so that every close,
            scrub, reopen and publish after it is checked against moderation."""
            self.answer_by_qr(1, "satisfied", 1)
            self.answer_by_qr(2, "unsatisfied", 1)
            self.hide_a_comment(data)

        # --- answering ------------------------------------------------------------------------
        @precondition(lambda self: self.state == "open")
        @rule(unit=st.sampled_from([1, 2]), choice=st.sampled_from(CHOICES), taps=st.integers(1, 3))
        def answer_by_qr(self, unit, choice, taps):
            """A resident answers a unit's QR form, tapping submit one to three times."""
            code = f"{self.prefix}-{unit}"
            html = self.resident.get(f"/s/{code}").get_data(as_text=True)
            form_id = re.search(rf'name="{nonces.FIELD}" value="([^"]+)"', html).group(1)
            text = f"意见{self.prefix}-{next(self.comments)}"
            data = {"category": "resident", "comment": text, nonces.FIELD: form_id,
                    **{k: choice for k in VISIT_ITEMS}, **VISIT_OTHER}
            for _ in range(taps):
                assert self.resident.post(f"/s/{code}", data=data).status_code == 303
            self.expected[code] += 1

        @precondition(lambda self: self.state == "open")
        @rule(data=st.data(), choice=st.sampled_from(CHOICES))
        def answer_ballot_by_phone(self, data, choice):
            """A ballot holder answers every unit on it by phone (a used ballot is refused)."""
            token = data.draw(st.sampled_from(self.tokens))
            ids = self._unit_ids()
            page = self.resident.get(f"/b/{token}")
            if token in self.used:
                assert page.status_code == 410
                return
            form_id = re.search(rf'name="{nonces.FIELD}" value="([^"]+)"', page.get_data(as_text=True)).group(1)
            body = {nonces.FIELD: form_id}
            for code, uid in ids.items():
                body.update({f"u{uid}-{k}": choice for k in ITEMS})
            response = self.resident.post(f"/b/{token}", data=body)
            assert response.status_code == 303, response.get_data(as_text=True)[:500]
            self.used.add(token)
            for code in ids:
                self.expected[code] += 1

        @precondition(lambda self: self.state in ("open", "closed"))
        @rule(data=st.data(), choice=st.sampled_from(CHOICES))
        def enter_paper_ballot_twice(self, data, choice):
            """Two clerks type in the same paper ballot; it counts once, unless used by phone."""
            from survey import paper
            token = data.draw(st.sampled_from(self.tokens))
            serial = self.serials[token]
            with app.app_context(), force_locale("en"):
                campaign = self._campaign()
                form = paper.ballot_form(campaign, serial, "en")
                values = {paper.field_name(b.unit_id, q.key): choice if choice in dict(q.choices) else q.choices[0][0]
                          for b in form.blocks for q in b.questions}
                units = [b.unit_id for b in form.blocks]
                try:
                    first = paper.enter_ballot(campaign, serial, "clerk-a", values)
                    second = paper.enter_ballot(self._campaign(), serial, "clerk-b", values)
                except paper.PaperError:
                    assert token in self.used  # counted already, or answered by phone
                    return
                codes = dict(db.session.execute(select(Unit.id, Unit.code).where(Unit.id.in_(units))).all())
            assert token not in self.used and (first, second) == ("waiting", "counted")
            self.used.add(token)
            for uid in units:
                self.expected[codes[uid]] += 1

        @precondition(lambda self: self.state in ("open", "closed"))
        @rule(unit=st.sampled_from([1, 2]), first=st.integers(1, 6), size=st.integers(1, 3),
              choice=st.sampled_from(CHOICES))
        def enter_tally_sheet(self, unit, first, size, choice):
            """A hand-counted tally sheet for one unit of the ballots first … first+size-1, every
            item on one choice, entered by two clerks: it counts once both agree, spending those
            ballots; refused whole when one of them was answered by phone or counted already."""
            from survey import paper
            code = f"{self.prefix}-{unit}"
            serials = list(range(first, min(first + size, len(self.tokens) + 1)))
            n = len(serials)
            box = f"Box {next(self.comments)}"
            with app.app_context(), force_locale("en"):
                campaign = self._campaign()
                uid = self._unit_ids()[code]
                block = next(b for b in paper.unit_blocks(campaign.id, paper.ballot_units(campaign.id), "en")
                             if b.unit_id == uid)
                counts = {(uid, q.key, choice if choice in dict(q.choices) else q.choices[0][0]): n
                          for q in block.questions}
                sheet = paper.TallyCounts(category="resident", issued=n, returned=n, valid=n, invalid=0,
                                          counts=counts, box=box, ranges=[(serials[0], serials[-1])])
                try:
                    outcomes = [paper.enter_tally_sheet(self._campaign(), sheet, clerk)
                                for clerk in ("clerk-a", "clerk-b")]
                except paper.PaperError as refused:
                    used = sorted(s for t, s in self.serials.items() if t in self.used and s in serials)
                    assert used and str(used[0]) in str(refused), (serials, used, refused)
                    return
            assert outcomes == ["waiting", "counted"]
            assert not {t for t, s in self.serials.items() if s in serials} & self.used
            self.used.update(t for t, s in self.serials.items() if s in serials)
            self.expected[code] += n

        # --- the office -----------------------------------------------------------------------
        @rule(data=st.data())
        def hide_a_comment(self, data):
            """An admin hides one of the comments, giving a reason."""
            with app.app_context():
                rows = db.session.execute(
                    select(Answer.response_id, Answer.item, Answer.text).where(Answer.text.like(f"意见{self.prefix}-%")).order_by(Answer.text)).all()
            if not rows:
                return
            response_id, item, text = data.draw(st.sampled_from(rows))
            url = f"/admin/campaigns/{self.slug}/comments"
            result = admin_client.post(f"{url}/hide", data={"csrf_token": admin_client.csrf(url), "response_id": response_id,
                                                            "item": item, "reason": "写了姓名"})
            assert result.status_code in (302, 303)
            self.hidden.add(text)

        @precondition(lambda self: self.state == "open")
        @rule(change_locked=st.booleans())
        def import_units_while_open(self, change_locked):
            """The office uploads units while answering runs: a new unit and a renamed one
            (and, hostile, a changed commitment list for a unit that is already answered)."""
            from survey.units_import import UnitImportError, import_units
            self.imported += 1
            new = f"{self.prefix}-N{self.imported}"
            rows = [f"{self.prefix}-1,改名单位{self.imported},general,{'新承诺' if change_locked else ''}",
                    f"{new},新单位,general,"]
            content = ("code,name,sector,commitments\n" + "\n".join(rows) + "\n").encode()
            with app.app_context(), force_locale("en"):
                try:
                    import_units(self._campaign(), "units.csv", content, current_registry(), "model")
                except UnitImportError as exc:
                    assert change_locked, exc.problems
                    assert any("commitments" in p for p in exc.problems), exc.problems
                    return
                self.locked["units"][new] = tuple(getattr(db.session.scalar(select(Unit).filter_by(
                    campaign_id=self.campaign_id, code=new)), f) for f in LOCKED_UNIT)
                self.locked["frozen"] = {**self.locked["frozen"], **self._locked_now()["frozen"]}
            self.expected[new] = 0

        def _transition(self, action, target):
            with app.app_context():
                transition(self._campaign(), action, current_registry(), "model")
                db.session.commit()
            self.state = target

        @precondition(lambda self: self.state == "open")
        @rule()
        def close(self):
            self._transition("close", "closed")

        @precondition(lambda self: self.state == "closed")
        @rule()
        def reopen(self):
            self._transition("open", "open")

        @precondition(lambda self: self.state == "closed")
        @rule()
        def publish(self):
            """Publishing ends counting: refused while a tally sheet waits for its second entry
            (one refused on acceptance leaves its first entry), then published without it."""
            from survey.campaigns import PaperNotCounted
            from survey.models import PaperTallyEntry
            with app.app_context():
                waiting = db.session.scalar(select(func.count()).select_from(PaperTallyEntry).filter_by(
                    campaign_id=self.campaign_id))
                try:
                    transition(self._campaign(), "publish", current_registry(), "model")
                except PaperNotCounted as refused:
                    db.session.rollback()
                    assert waiting and "Box" in str(refused)
                    transition(self._campaign(), "publish", current_registry(), "model", leave_uncounted=True)
                else:
                    assert not waiting
                db.session.commit()
            self.state = "published"

        # --- what must always hold ------------------------------------------------------------
        @invariant()
        def tally_equals_a_full_recount(self):
            with app.app_context():
                assert tally_counts(self.campaign_id) == recount(self.campaign_id)
                raters = dict(db.session.execute(
                    select(Unit.code, func.coalesce(func.sum(Tally.count), 0))
                    .join(Tally, (Tally.unit_id == Unit.id) & (Tally.item == ""), isouter=True)
                    .where(Unit.campaign_id == self.campaign_id).group_by(Unit.code)).all())
            assert raters == self.expected

        @invariant()
        def nothing_is_public_before_publication(self):
            page = self.public.get(f"/results/{self.slug}").status_code
            api = self.public.get(f"/api/campaigns/{self.slug}/results").status_code
            assert (page, api) == ((200, 200) if self.state == "published" else (404, 404))

        @invariant()
        def locked_fields_are_unchanged(self):
            with app.app_context():
                now = self._locked_now()
            assert now["campaign"] == self.locked["campaign"]
            assert now["units"] == self.locked["units"]
            assert now["frozen"] == self.locked["frozen"]

        @invariant()
        def a_hidden_comment_stays_hidden(self):
            if not self.hidden:
                return
            with app.app_context():
                hidden = set(db.session.scalars(
                    select(Answer.text).join(CommentModeration, (CommentModeration.response_id == Answer.response_id)
                                             & (CommentModeration.item == Answer.item))
                    .where(Answer.text.like(f"意见{self.prefix}-%"))))
                shown = {text for texts in visible_comments(self._campaign()).values() for text in texts}
            assert hidden == self.hidden
            assert not shown & self.hidden

    return Evaluation


def test_every_write_path_interleaved_keeps_every_promise(app, admin_client, make_tokens):
    machine = machine_for(app, admin_client, make_tokens)
    run_state_machine_as_test(machine, settings=settings(
        max_examples=10, stateful_step_count=12, deadline=None, derandomize=True,
        suppress_health_check=list(HealthCheck)))


# --- regressions the model found ----------------------------------------------------------------
def test_units_import_while_open_cannot_change_what_answers_follow(app, make_campaign):
    """Found by the model: re-importing a unit of an open campaign with other commitments
    changed the items residents were answering. Now the row is refused, naming the field, and
    a rename in the same file still works when nothing locked changes."""
    from survey.units_import import UnitImportError, import_units
    cid = make_campaign(units=[("GEN-001", "城关镇党委", "general")], commitments=["修路"])
    with app.app_context(), force_locale("en"):
        campaign = db.session.get(Campaign, cid)
        with pytest.raises(UnitImportError) as refused:
            import_units(campaign, "u.csv", "code,name,sector,commitments\nGEN-001,改名,general,新承诺\n".encode(),
                         current_registry(), "office")
        assert refused.value.problems == [
            "row 2: field commitments: the commitments of unit GEN-001 are numbered on its ballots and answers "
            "since the campaign opened; they cannot change"]
        unit = db.session.scalar(select(Unit).filter_by(campaign_id=cid))
        assert unit.name == "城关镇党委" and unit.commitments == ["修路"]
        import_units(db.session.get(Campaign, cid), "u.csv", "code,name,sector,commitments\nGEN-001,改名,general,修路\n".encode(),
                     current_registry(), "office")
        unit = db.session.scalar(select(Unit).filter_by(campaign_id=cid))
        assert unit.name == "改名" and unit.commitments == ["修路"]
