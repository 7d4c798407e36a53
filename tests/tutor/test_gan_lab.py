"""The GAN lab (tutor.labs.gan2d) driven through Pilot at 80×24, paused and seeded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from textual.app import App

import tutor
from engine.gan import GANConfig
from tutor.labs.base import CodePanel, KnobPanel, LabScreen, TextPanel
from tutor.labs.gan2d import OWN, GanLab

SIZE = (80, 24)


class Host(App):
    CSS_PATH = Path(tutor.__file__).with_name("tutor.tcss")

    def on_mount(self) -> None:
        self.push_screen(GanLab())


@pytest.fixture(autouse=True)
def paused(monkeypatch):
    monkeypatch.setattr(LabScreen, "autoplay", False)


def knob(lab: GanLab, name: str):
    return next(k for k in lab.knob_list if k.name == name)


def status(lab: GanLab) -> str:
    return str(lab.query_one("#lab-status").render())


async def test_step_d_only_g_only_and_both_change_the_right_network():
    async with Host().run_test(size=SIZE) as pilot:
        lab = pilot.app.screen
        await lab.wait_idle()
        gan = lab.model
        d0, g0 = gan.D.params.copy(), gan.G.params.copy()
        await pilot.press("d")
        await lab.wait_idle()
        assert not np.array_equal(gan.D.params, d0) and np.array_equal(gan.G.params, g0)
        d1 = gan.D.params.copy()
        await pilot.press("g")
        await lab.wait_idle()
        assert not np.array_equal(gan.G.params, g0) and np.array_equal(gan.D.params, d1)
        assert lab.iterations == 0  # half-rounds are not iterations
        d2, g2 = gan.D.params.copy(), gan.G.params.copy()
        await pilot.press("s")
        await lab.wait_idle()
        assert not np.array_equal(gan.D.params, d2) and not np.array_equal(gan.G.params, g2)
        assert lab.iterations == 1 and gan.iteration == 1 and lab.model is gan
        assert lab.query_one("#gan-chart").last("D loss") is not None


async def test_live_edit_learning_rate_loss_and_k_reach_the_running_model():
    async with Host().run_test(size=SIZE) as pilot:
        lab = pilot.app.screen
        await lab.wait_idle()
        gan = lab.model
        await pilot.press("s", "s")
        await lab.wait_idle()
        panel = lab.query_one("#knobs", KnobPanel)
        panel.focus()
        panel.highlighted = lab.knob_list.index(knob(lab, "g_lr"))
        await pilot.press("right")
        await lab.wait_idle()
        assert knob(lab, "g_lr").value == 2e-3
        assert lab.model is gan and gan.iteration == 2  # live: no reset
        assert gan.opt_g.lr == 2e-3 and gan.config.g_lr == 2e-3 and gan.opt_d.lr == 1e-3
        await pilot.press("f")  # the loss knob's own key
        panel.highlighted = lab.knob_list.index(knob(lab, "d_optimizer"))
        await pilot.press("right")
        await lab.wait_idle()
        assert gan.config.loss == "minimax" and type(gan.opt_d).__name__ == "SGD"
        await pilot.press("s")
        await lab.wait_idle()
        assert lab.model is gan and gan.iteration == 3


async def test_switching_dataset_resets():
    async with Host().run_test(size=SIZE) as pilot:
        lab = pilot.app.screen
        await lab.wait_idle()
        ring = lab.model
        await pilot.press("s", "s", "s")
        await lab.wait_idle()
        assert lab.iterations == 3
        await pilot.press("t")  # ring -> grid
        await lab.wait_idle()
        assert lab.model is not ring and lab.iterations == 0 and lab.model.iteration == 0
        assert lab.model.config.dataset == "grid" and len(lab.model.toy.modes) == 25
        assert not np.array_equal(lab.model.real, ring.real)
        assert lab.query_one("#gan-chart").last("D loss") is None  # fresh charts


async def test_presets_set_the_knobs_and_rebuild():
    async with Host().run_test(size=SIZE) as pilot:
        lab = pilot.app.screen
        await lab.wait_idle()
        for name in ("mode collapse", "discriminator too strong", "healthy"):
            await pilot.press("p")
            await lab.wait_idle()
            assert knob(lab, "preset").value == name and lab.iterations == 0
            expected = GANConfig.preset(name)
            for field, value in vars(expected).items():
                if field not in ("dataset", "seed"):
                    assert getattr(lab.model.config, field) == value, (name, field)


async def test_absurd_learning_rate_diverges_and_pauses():
    async with Host().run_test(size=SIZE) as pilot:
        lab = pilot.app.screen
        await lab.wait_idle()
        for name in ("g_optimizer", "d_optimizer"):
            lab.change_knob(knob(lab, name), 1)  # plain SGD: nothing damps the steps
        for name in ("g_lr", "d_lr"):
            lab.change_knob(knob(lab, name), 99)  # the largest, 10
        await pilot.press("space")
        for _ in range(200):
            await pilot.pause(0.02)
            if not lab.playing:
                break
        await lab.wait_idle()
        assert not lab.playing and lab.model.diverged
        assert "diverged" in status(lab)
        assert isinstance(pilot.app.screen, GanLab)
        await pilot.press("r")  # reset recovers
        await lab.wait_idle()
        assert not lab.model.diverged and lab.iterations == 0


async def test_draw_your_own_points_then_train_on_them():
    async with Host().run_test(size=SIZE) as pilot:
        lab = pilot.app.screen
        await lab.wait_idle()
        await pilot.press("o")
        await lab.wait_idle()
        assert knob(lab, "dataset").value == OWN and lab.model is None
        assert pilot.app.focused is lab.query_one("#gan-canvas")
        await pilot.press("enter", *["right"] * 9, "enter", *["up"] * 9, "enter")
        await lab.wait_idle()
        assert len(lab.points) == 3
        x0, y0 = lab.points[0]
        assert lab.points[1] == pytest.approx((x0 + 1.0, y0))
        assert lab.points[2] == pytest.approx((x0 + 1.0, y0 + 1.0))
        assert lab.model.real.shape == (3, 2) and lab.model.toy.modes is None
        await pilot.press("backspace")
        await lab.wait_idle()
        assert len(lab.points) == 2 and lab.model.real.shape == (2, 2)
        await pilot.press("s")
        await lab.wait_idle()
        assert lab.iterations == 1
        await pilot.press("t")  # back to the ring: the canvas gives up the focus
        await lab.wait_idle()
        assert lab.model.config.dataset == "ring" and pilot.app.focused is lab.query_one("#knobs")


async def test_csv_bad_file_shows_the_error_good_file_loads(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n0.5,0.5\nhello,1\n")
    good = tmp_path / "mine.csv"
    good.write_text("x,y\n" + "\n".join(f"{0.1 * i:.1f},{-0.1 * i:.1f}" for i in range(10)))
    async with Host().run_test(size=SIZE) as pilot:
        lab = pilot.app.screen
        await lab.wait_idle()
        await pilot.press("s")
        await lab.wait_idle()
        gan = lab.model
        await pilot.press("l")
        box = lab.query_one("#gan-csv")
        assert box.display and pilot.app.focused is box
        await pilot.press("s", "r")  # typing goes into the box, not to the lab's keys
        await lab.wait_idle()
        assert box.value == "sr" and lab.iterations == 1
        box.value = str(bad)
        await pilot.press("enter")
        await lab.wait_idle()
        assert "bad.csv:3" in status(lab) and "not two numbers" in status(lab)
        assert lab.model is gan and lab.iterations == 1 and lab.points == []
        await pilot.press("escape")  # closes the box, stays in the lab
        assert not box.display and pilot.app.screen is lab
        await pilot.press("l")
        box.value = str(good)
        await pilot.press("enter")
        await lab.wait_idle()
        assert not box.display and knob(lab, "dataset").value == OWN
        assert lab.model.real.shape == (10, 2) and "loaded 10 points" in status(lab)


async def test_arrows_help_and_code_panels():
    async with Host().run_test(size=SIZE) as pilot:
        lab = pilot.app.screen
        await lab.wait_idle()
        await pilot.press("s")
        await lab.wait_idle()
        before = lab._base_frame.copy()
        assert lab.last_frame["glyphs"] == {}
        await pilot.press("a")
        await lab.wait_idle()
        # the arrows are glyphs over the same pixels (tests/tutor/test_lab_visuals.py)
        assert lab.arrows and lab.last_frame["glyphs"] and np.array_equal(before, lab._base_frame)
        assert lab.iterations == 1  # toggling arrows redraws without training
        await pilot.press("h")
        assert isinstance(pilot.app.screen, TextPanel)
        await pilot.press("escape", "v")
        assert isinstance(pilot.app.screen, CodePanel)
        shown = " ".join(str(w.render()) for w in pilot.app.screen.query("Static"))
        assert "engine.gan.GAN.step_d" in shown and "engine.gan.GAN.step_g" in shown
        await pilot.press("escape")
        assert pilot.app.screen is lab


async def test_lesson_l04_try_it_card_opens_the_lab(make_app):
    from tutor.screens.lesson import LabCard

    app = make_app(start=("lesson", "L04"))
    async with app.run_test(size=SIZE) as pilot:
        card = next(c for c in app.screen.query(LabCard) if c.lab_id == "gan-2d")
        card.focus()
        await pilot.press("enter")
        assert isinstance(app.screen, GanLab)
        await app.screen.wait_idle()
        assert app.screen.model is not None
        await pilot.press("escape")
        assert not isinstance(app.screen, GanLab)


async def _fast_forward(pilot) -> None:
    """Seed 0, 800 rounds in the model, then 5 visible steps and the arrows on.

    The canvas is forced to RGB: otherwise the terminal's detected colours decide."""
    lab = pilot.app.screen
    lab.query_one("#gan-canvas").monochrome = False
    await lab.wait_idle()
    with lab.model_lock:
        lab.model.train(800)
        lab.iterations += 800
    await pilot.press("s", "s", "s", "s", "s", "a")
    await lab.wait_idle()


def test_snapshot_after_deterministic_steps(snap_compare):
    assert snap_compare(Host(), terminal_size=SIZE, run_before=_fast_forward)


def test_monochrome_frame_tells_real_from_fake_by_glyph():
    from tutor.labs import gan2d_view as view
    from tutor.widgets.pixels import shade_levels

    d = np.linspace(0, 1, view.SIDE * view.SIDE, dtype=np.float32).reshape(view.SIDE, -1)
    background = shade_levels(view.frame(d, np.zeros((0, 2), np.float32), None, mono=True))
    assert background.min() >= 1 and background.max() <= 3  # ░ ▒ ▓ only
    real, fake = np.array([[-1.0, 1.0]], np.float32), np.array([[1.0, -1.0]], np.float32)
    levels = shade_levels(view.frame(d, real, fake, mono=True))
    row_of = lambda y: int((2 - y) / 4 * view.SIDE) // 2  # noqa: E731
    col_of = lambda x: int((x + 2) / 4 * view.SIDE)  # noqa: E731
    assert levels[row_of(1.0), col_of(-1.0)] == 4  # █: real
    assert levels[row_of(-1.0), col_of(1.0)] == 0  # blank: fake


async def test_monochrome_canvas_switches_the_legend():
    async with Host().run_test(size=SIZE) as pilot:
        lab = pilot.app.screen
        lab.query_one("#gan-canvas").monochrome = True
        await lab.wait_idle()
        await pilot.press("s")
        await lab.wait_idle()
        assert lab.mono and "█=real" in str(lab.query_one("#gan-stats").render())
