"""L02 lab `families`: five families side by side; Pilot flows and an 80×24 snapshot.

The lab starts paused (autoplay off), so the snapshot shows the untrained start, which
is deterministic; training is budgeted in CPU time, so tests after training check
relations, not exact numbers. Regenerate the snapshot with --snapshot-update.
"""

from __future__ import annotations

import pytest
from textual.app import App

from tutor import labs
from tutor.app import TutorApp
from tutor.labs import families as fam_lab
from tutor.labs.base import LabScreen
from tutor.labs.families import FAMILIES, FamiliesLab, column_text

SIZE = (80, 24)


@pytest.fixture(autouse=True)
def paused(monkeypatch):
    monkeypatch.setattr(LabScreen, "autoplay", False)


def host(lab_cls=FamiliesLab):
    class Host(App):
        CSS_PATH = TutorApp.CSS_PATH

        def on_mount(self):
            self.push_screen(lab_cls())

    return Host()


def text(lab, selector) -> str:
    return str(lab.query_one(selector).render())


def test_registered_and_named_by_lesson_two():
    from content import load_course

    assert labs.available("families") and isinstance(labs.create("families"), FamiliesLab)
    lesson = next(l for l in load_course().lessons if l.id == "L02")
    assert "families" in lesson.labs


def test_column_text_fits_the_canvas_width():
    row = {
        "steps": 12345,
        "samples_per_s": 1.6e6,
        "precision": 0.9,
        "coverage": 0.45,
        "mmd": 0.03363,
        "modes_covered": 7,
        "modes_total": 8,
        "nll": -0.46,
        "diverged": False,
    }
    for block in (column_text(row), column_text(None)):
        assert len(block.splitlines()) == 7
        assert max(len(line) for line in block.splitlines()) <= 10
    assert "7/8" in column_text(row) and "1.6M" in column_text(row)


async def test_opens_untrained_then_trains_every_family_in_turn(monkeypatch):
    monkeypatch.setattr(fam_lab, "CHUNK_SECONDS", 0.01)
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        frame = lab.last_frame
        assert set(frame["rows"]) == set(FAMILIES)
        assert all(r["steps"] == 0 for r in frame["rows"].values())
        assert "Untrained" in text(lab, "#fam-notes")
        for _ in range(len(FAMILIES)):  # s: one chunk for the least-trained family
            await pilot.press("s")
            await lab.wait_idle()
        rows = lab.last_frame["rows"]
        assert all(r["steps"] > 0 for r in rows.values()), rows
        spent = lab.last_frame["spent"]
        assert max(spent.values()) - min(spent.values()) < 0.5
        assert "What to notice" in text(lab, "#fam-notes")
        assert rows["flow"]["nll"] is not None and rows["gan"]["nll"] is None


async def test_play_stops_at_the_budget(monkeypatch):
    monkeypatch.setattr(fam_lab, "BUDGETS", [0.05, 2])
    monkeypatch.setattr(fam_lab, "CHUNK_SECONDS", 0.02)
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        assert lab.knob_value("budget") == 2
        await pilot.press("B")  # budget back to 0.05 s per family
        await lab.wait_idle()
        await pilot.press("space")
        for _ in range(200):
            await pilot.pause(0.05)
            if not lab.playing:
                break
        await lab.wait_idle()
        assert not lab.playing
        assert all(s >= 0.05 for s in lab.last_frame["spent"].values())
        assert lab.last_frame["notes"], "every family trained: the panel has notes"


async def test_dataset_key_rebuilds_on_another_dataset():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        await pilot.press("t")
        await lab.wait_idle()
        assert lab.knob_value("dataset") == "moons"
        assert lab.last_frame["rows"]["gan"]["modes_total"] is None  # moons: no modes
        await pilot.press("escape")


async def test_the_learners_csv_points_train_every_family(tmp_path):
    from engine import data

    csv = tmp_path / "letter.csv"
    pts = data.toy("spiral", 400).points * 30 + 100  # far outside the square
    csv.write_text("x,y\n" + "\n".join(f"{x},{y}" for x, y in pts))
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\noops\n")
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        await pilot.press("l")
        await pilot.press(*str(bad), "enter")
        await lab.wait_idle()
        assert "bad.csv:3" in lab._message and lab.knob_value("dataset") == "ring"
        lab.query_one("#fam-csv").value = str(csv)
        await pilot.press("enter")
        await lab.wait_idle()
        await lab.wait_idle()
        assert lab.knob_value("dataset") == fam_lab.OWN
        assert "loaded 400 points" in lab._message
        rows = lab.last_frame["rows"]
        assert set(rows) == set(FAMILIES) and rows["gan"]["modes_total"] is None
        assert abs(lab.model.points).max() <= 1.61  # moved into the square to be drawn
        await pilot.press("s")
        await lab.wait_idle()
        assert sum(r["steps"] for r in lab.last_frame["rows"].values()) > 0


async def test_lesson_l02_try_it_card_opens_the_lab(make_app):
    from tutor.screens.lesson import LabCard

    app = make_app(start=("lesson", "L02"))
    async with app.run_test(size=SIZE) as pilot:
        card = next(c for c in app.screen.query(LabCard) if c.lab_id == "families")
        card.focus()
        await pilot.press("enter")
        for _ in range(400):  # opening imports the engine: wait for it
            if isinstance(app.screen, FamiliesLab):
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, FamiliesLab)
        await app.screen.wait_idle()
        assert app.screen.model is not None
        await pilot.press("escape")
        assert not isinstance(app.screen, FamiliesLab)


def test_snapshot_families_lab(snap_compare):
    """The untrained start in RGB (forced: otherwise the terminal's colours decide)."""

    async def settle(pilot):
        lab = pilot.app.screen
        await lab.wait_idle()
        for canvas in lab.query(".fam-canvas"):
            canvas.monochrome = False
        lab.submit()  # the next frame is drawn in colour
        await lab.wait_idle()
        lab.submit()
        await lab.wait_idle()

    assert snap_compare(host(), terminal_size=SIZE, run_before=settle)


async def test_points_drawn_in_the_gan_lab_train_the_families(tutor_home):
    """The GAN lab saves the learner's drawing; the families lab offers it as a dataset."""
    from tutor.labs.gan2d import GanLab
    from tutor.labs.imaging import drawn_points_path

    app = host(GanLab)
    async with app.run_test(size=SIZE) as pilot:
        gan = app.screen
        await gan.wait_idle()
        await pilot.press("o")  # draw mode
        for move in ("enter", "right", "enter", "up", "enter", "left", "enter"):
            await pilot.press(move)
        await gan.wait_idle()
    assert len(gan.points) == 4
    saved = drawn_points_path().read_text().splitlines()
    assert saved[0] == "x,y" and len(saved) == 5

    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        knob = lab.knob("dataset")
        lab.change_knob(knob, knob.values.index(fam_lab.DRAWN) - knob.index)
        await lab.wait_idle()
        assert lab.model is not None and len(lab.model.points) == 4


async def test_no_drawing_yet_is_a_plain_notice(tutor_home):
    app = host()
    async with app.run_test(size=SIZE):
        lab = app.screen
        await lab.wait_idle()
        knob = lab.knob("dataset")
        lab.change_knob(knob, knob.values.index(fam_lab.DRAWN) - knob.index)
        await lab.wait_idle()
        assert lab.model is None and "Draw some points in the GAN lab" in lab._message
