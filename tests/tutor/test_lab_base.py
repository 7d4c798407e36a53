"""The shared lab machinery, driven through a tiny lab whose "model" is a counter."""

from __future__ import annotations

import math

import pytest
from textual.app import App

from tutor.labs.base import CodePanel, Knob, LabScreen, TextPanel, source_of


class CounterLab(LabScreen):
    LAB_ID = "counter"
    LAB_TITLE = "Counter lab"
    HELP_MD = "A counter that adds the step size."
    CODE = ("tutor.labs.base:source_of",)
    WARM_UP = False

    def __init__(self):
        super().__init__()
        self.builds = 0
        self.drawn = []

    def knobs(self):
        return [
            Knob("size", "Step size", [1, 2, 5, 1e300], index=0, key="z"),
            Knob("start", "Start", [0, 100], key="t", resets=True),
        ]

    def build(self):
        self.builds += 1
        self.model = {"value": float(self.knob_value("start")) + self.seed}

    def advance(self):
        self.model["value"] *= 1.0 if self.knob_value("size") != 1e300 else 1e300
        self.model["value"] += self.knob_value("size")
        return {"value": self.model["value"]}

    def draw(self, metrics):
        self.drawn.append(dict(metrics))


class Host(App):
    def on_mount(self):
        self.push_screen(CounterLab())


@pytest.fixture(autouse=True)
def paused(monkeypatch):
    monkeypatch.setattr(LabScreen, "autoplay", False)


async def test_step_reset_seed_and_knobs():
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        lab = app.screen
        await lab.wait_idle()
        assert lab.builds == 1 and not lab.playing
        await pilot.press("s")
        await lab.wait_idle()
        assert lab.model["value"] == 1 and lab.iterations == 1
        await pilot.press("z")  # the knob's own key cycles it: step size 2
        await pilot.press("s")
        await lab.wait_idle()
        assert lab.model["value"] == 3 and lab.drawn[-1]["value"] == 3
        await pilot.press("t")  # a resetting knob rebuilds
        await lab.wait_idle()
        assert lab.builds == 2 and lab.model["value"] == 100 and lab.iterations == 0
        await pilot.press("e")  # new seed rebuilds with seed 1
        await lab.wait_idle()
        assert lab.seed == 1 and lab.model["value"] == 101
        await pilot.press("right_square_bracket", "right")  # the panel: select "Start", change it
        await lab.wait_idle()
        assert lab.knob_value("start") == 100


async def test_a_knob_letter_selects_its_knob_and_shift_steps_back():
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        lab = app.screen
        await lab.wait_idle()
        panel = lab.query_one("#knobs")
        await pilot.press("z", "z")  # size: 1 -> 2 -> 5, and "size" is selected
        assert lab.knob_value("size") == 5 and panel.highlighted == 0
        await pilot.press("Z")  # Shift+z steps back
        assert lab.knob_value("size") == 2
        await pilot.press("t")  # selects "Start" (and steps it)
        assert panel.highlighted == 1
        await pilot.press("left")  # ←/→ now change the knob just chosen
        await lab.wait_idle()
        assert lab.knob_value("start") == 0 and lab.knob_value("size") == 2


async def test_frames_are_replaceable_and_late_frames_after_leaving_are_ignored():
    frame = LabScreen.Frame({"a": 1})
    assert frame.can_replace(LabScreen.Frame({"a": 2}))
    assert not LabScreen.Done(lambda r: None, {}).can_replace(LabScreen.Done(lambda r: None, {}))
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        lab = app.screen
        await lab.wait_idle()
        await pilot.press("space")
        await pilot.pause(0.05)
        app.pop_screen()
        await pilot.pause(0.1)
        assert lab._finished.is_set() and lab.model is None  # joined and released
        assert not lab.post_message(LabScreen.Frame({"value": 1}))  # a closed screen takes none


async def test_play_trains_in_the_worker_and_pause_stops():
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        lab = app.screen
        await lab.wait_idle()
        await pilot.press("space")
        assert lab.playing
        for _ in range(50):
            await pilot.pause(0.02)
            if lab.iterations > 3:
                break
        await pilot.press("space")
        await lab.wait_idle()
        stopped_at = lab.iterations
        assert stopped_at > 3
        await pilot.pause(0.1)
        assert lab.iterations == stopped_at


async def test_divergence_pauses_with_a_message():
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        lab = app.screen
        await lab.wait_idle()
        lab.change_knob(lab.knob_list[0], 3)  # an absurd step size
        await pilot.press("space")
        for _ in range(100):
            await pilot.pause(0.02)
            if not lab.playing:
                break
        await lab.wait_idle()
        assert not lab.playing
        assert not math.isfinite(lab.model["value"])
        assert "diverged" in str(lab.query_one("#lab-status").render())


async def test_help_and_code_panels():
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.screen.wait_idle()
        await pilot.press("h")
        assert isinstance(app.screen, TextPanel)
        await pilot.press("escape", "v")
        assert isinstance(app.screen, CodePanel)
        await pilot.press("escape")
        assert isinstance(app.screen, CounterLab)


def test_source_of_reads_the_real_function():
    assert "def source_of" in source_of("tutor.labs.base:source_of")
