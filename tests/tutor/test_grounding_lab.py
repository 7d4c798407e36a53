"""The grounding lab (L12), driven with Pilot on the shipped transformer: the three
teaching cases, the defences, the question box, leaving while busy, and the L12 "Try it"
card. Regenerate the snapshots after an intended change with
pytest tests/tutor/test_grounding_lab.py --snapshot-update
"""

from __future__ import annotations

import numpy as np
import pytest
from textual.app import App

from tutor import labs
from tutor.app import TutorApp
from tutor.labs.base import LabScreen
from tutor.labs.grounding import CASES, POISON, GroundingLab

SIZE = (80, 24)


@pytest.fixture(autouse=True)
def paused(monkeypatch):
    monkeypatch.setattr(LabScreen, "autoplay", False)


def host() -> App:
    class Host(App):
        CSS_PATH = TutorApp.CSS_PATH

        def on_mount(self):
            self.push_screen(GroundingLab())

    return Host()


def text(lab, selector) -> str:
    return str(lab.query_one(selector).render())


def most_read(lab) -> tuple[str, int]:
    """The most-attended prompt token of the frame, and the index of its prompt line."""
    frame = lab.last_frame
    top = int(np.argmax(frame["weights"]))
    return frame["pieces"][top], "".join(frame["pieces"][:top]).count("\n")


def test_the_lesson_block_opens_this_lab():
    assert labs.available("grounding")
    assert isinstance(labs.create("grounding"), GroundingLab)


async def test_lesson_l12_try_it_opens_the_lab(make_app):
    app = make_app(start=("lesson", "L12"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, GroundingLab)
        await app.screen.wait_idle()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, GroundingLab)


async def test_grounded_case_reads_the_document():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        await pilot.pause()
        r = lab.result
        assert r["question"] == CASES[1].question
        assert r["documents"][0]["text"].startswith("The capital of Oriost is Mizel.")
        assert r["documents"][0]["source"] == "atlas" and r["documents"][0]["fate"] == "used"
        assert r["rag"]["answer"] == "Mizel" and r["closed"]["answer"] != "Mizel"
        # the position writing ' M' reads the document line holding the answer: its most-read
        # token is there, and so is most of its weight (measured: split between ' M' and ' T'
        # of "Tavnav", the line's other name of Oriost; ' M' is written at 62 %)
        piece, line = most_read(lab)
        lines = r["rag"]["prompt"].split("\n")
        assert piece in (" M", " T") and "Oriost is Mizel" in lines[line]
        pieces, weights = lab.last_frame["pieces"], lab.last_frame["weights"]
        on_line = [w for i, w in enumerate(weights) if "".join(pieces[:i]).count("\n") == line]
        assert sum(on_line) > 0.8
        assert weights[pieces.index(" M")] > 0.3
        assert "Mizel" in text(lab, "#rag-answers") and "0.88" in text(lab, "#rag-docs")
        assert "reads" in text(lab, "#rag-reads") and "Case 2, grounded" in text(lab, "#rag-note")
        # knobs that only change the view: another head, the second answer token
        await pilot.press("j")
        await lab.wait_idle()
        assert lab.last_frame["head"] == 1
        assert lab.last_frame["weights"] == pytest.approx(r["rag"]["attention"][1, 0, 0].tolist())
        await pilot.press("a")
        await lab.wait_idle()
        assert lab.last_frame["token"] == 2 and lab.last_frame["written"] == r["rag"]["tokens"][1]["token"]


async def test_hallucination_case_answers_fluently_and_wrongly():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        await pilot.press("1")
        await lab.wait_idle()
        r = lab.result
        assert r["question"] == CASES[0].question
        assert not any("Drosmia" in d["text"] for d in r["documents"])  # nothing relevant exists
        assert r["rag"]["answer"] and r["closed"]["answer"]  # it answers anyway
        used = [d["text"] for d in r["documents"] if d["fate"] == "used"]
        assert used and all("The leader of" in t for t in used)  # nearest: other places' leaders
        answer = r["rag"]["answer"]
        assert answer.isalpha() and answer[0].isupper()  # fluent: a name, and a wrong one
        await pilot.press("m", "m", "m", "m")  # min cosine 0.8
        await lab.wait_idle()
        assert lab.knob_value("min_score") == 0.8
        assert {d["fate"] for d in lab.result["documents"]} == {"below threshold"}
        assert lab.result["rag"]["prompt"] == lab.result["closed"]["prompt"]
        assert "No retrieved document was passed on" in lab._message


async def test_injection_case_and_the_defences():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        await pilot.press("3")
        await lab.wait_idle()
        r = lab.result
        fates = {d["text"]: d["fate"] for d in r["documents"]}
        assert fates[POISON] == "used"  # the poison is retrieved
        assert r["rag"]["answer"] != "Morbri" and r["rag"]["first"][0]["token"] == " B"  # steered
        await pilot.press("d")  # filter orders
        await lab.wait_idle()
        r = lab.result
        assert {d["text"]: d["fate"] for d in r["documents"]}[POISON] == "filtered: gives orders"
        assert r["rag"]["answer"] == "Morbri"  # the filter works here
        assert "✗" in text(lab, "#rag-docs")
        await pilot.press("d")  # quote as data
        await lab.wait_idle()
        r = lab.result
        assert r["defence"] == "quote as data" and r["rag"]["prompt"].startswith("The documents below")
        # measured, not assumed: with the shipped weights quoting does not undo the steer here
        # (the model never saw the quoted format; earlier weights were un-steered by it)
        assert r["rag"]["first"][0]["token"] == " B" and r["rag"]["answer"] != "Morbri"


async def test_question_box_and_bad_input():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        await pilot.press("i")
        box = lab.query_one("#question")
        assert lab.focused is box
        box.value = ""
        await pilot.press("enter")
        await lab.wait_idle()
        assert "Type a question first" in lab._message and lab.result["question"] == CASES[1].question
        await pilot.press("i")
        box.value = "Where was Ticimmor born?"
        await pilot.press("enter")
        await lab.wait_idle()
        r = lab.result
        assert r["question"] == "Where was Ticimmor born?" and lab.last_frame["case"] is None
        # the typed question is asked with its retrieved documents, and the answer is a name
        # copied from one of them (measured: "Sapel", from "Ticimmor lives in Sapel. Ticimmor
        # was born in Evost." -- the right subject, the wrong relation; a reading mistake)
        used = " ".join(d["text"] for d in r["documents"] if d["fate"] == "used")
        assert "Ticimmor" in used and f" {r['rag']['answer']}." in used
        await pilot.press("i")
        box.value = "word " * 60
        await pilot.press("enter")
        await lab.wait_idle()
        assert "keep it under 240" in lab._message
        await pilot.press("i")
        box.value = "Why " * 55
        await pilot.press("enter")
        await lab.wait_idle()
        assert "tokens; this model reads 128" in lab._message
        assert lab.result["question"] == "Where was Ticimmor born?"


async def test_leaving_while_busy():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "d", "1")  # queued while the store is still being built
        await pilot.press("escape")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, GroundingLab)
    assert app.return_code in (None, 0)


@pytest.mark.parametrize("keys", [[], ["3"]], ids=["grounded", "injection"])
def test_snapshot(snap_compare, keys):
    async def settle(pilot):
        await pilot.app.screen.wait_idle()
        if keys:
            await pilot.press(*keys)
            await pilot.app.screen.wait_idle()

    assert snap_compare(host(), terminal_size=SIZE, run_before=settle)
