"""The VAE lab (L05 `vae`): cursor decode, views, β knob, live training; 80×24 snapshot.

It runs on the shipped digits weights (content/weights/vae_digits.npz).
Regenerate the snapshot after an intended change with --snapshot-update.
"""

from __future__ import annotations

import numpy as np
import pytest
from textual.app import App

from tutor import labs
from tutor.app import TutorApp
from tutor.labs.base import LabScreen
from tutor.labs.vae import VaeLab
from tutor.widgets.pixels import PixelCanvas

SIZE = (80, 24)


@pytest.fixture(autouse=True)
def paused(monkeypatch):
    monkeypatch.setattr(LabScreen, "autoplay", False)


def host():
    class Host(App):
        CSS_PATH = TutorApp.CSS_PATH

        def on_mount(self):
            self.push_screen(VaeLab())

    return Host()


def test_registered():
    assert labs.available("vae")
    assert isinstance(labs.create("vae"), VaeLab)


async def test_cursor_moves_decode_a_different_image():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        assert lab.model is not None and lab.note == "" and lab.model.steps > 0  # the shipped weights loaded
        first = lab.last_frame["at"].copy()
        await pilot.press("l", "l", "l", "l", "i", "i")
        await lab.wait_idle()
        np.testing.assert_allclose(lab.cursor, [1.0, 0.5])
        assert not np.allclose(first, lab.last_frame["at"])
        np.testing.assert_allclose(lab.last_frame["at"], lab.model.decode(lab.cursor[None])[0])
        assert "+1.00" in str(lab.query_one("#vae-info").render())
        for _ in range(20):  # clamped at the edge
            await pilot.press("j")
        np.testing.assert_allclose(lab.cursor, [-3.0, 0.5])


async def test_views_and_beta_knob():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        assert lab.last_frame["view"] == "map" and lab.last_frame["tiles"].shape == (25, 8, 8, 1)
        for expected in ("reconstruct", "interpolate", "prior", "map"):
            await pilot.press("m")
            await lab.wait_idle()
            assert lab.last_frame["view"] == expected
        assert lab.model.beta == 1.0
        await pilot.press("b")
        await lab.wait_idle()
        assert lab.knob_value("beta") == 2.0 and lab.model.beta == 2.0
        before = lab.model.params.copy()
        await pilot.press("s")  # one training chunk at β = 2
        await lab.wait_idle()
        assert lab.iterations == 10
        assert not np.array_equal(before, lab.model.params)
        assert len(lab.query_one("#vae-kl").data) == 2


async def test_from_scratch_and_sprites():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        await pilot.press("f", "f")  # weights: scratch, a new model
        await lab.wait_idle()
        assert lab.model.steps == 0
        await pilot.press("d")  # sprites
        await lab.wait_idle()
        assert lab.model.config.dataset == "sprites"
        assert lab.last_frame["tiles"].shape == (25, 16, 16, 3)
        assert lab.last_frame["at"].shape == (16, 16, 3)


async def _settle_in_rgb(pilot):
    """RGB pixels (the snapshot terminal would otherwise pick shade glyphs), cursor moved."""
    lab = pilot.app.screen
    for canvas in lab.query(PixelCanvas):
        canvas.monochrome = False
    await lab.wait_idle()
    await pilot.press("l", "l", "i")
    await lab.wait_idle()


def test_snapshot_vae_lab(snap_compare):
    """The map with a one-pixel gutter between its 25 tiles."""
    assert snap_compare(host(), terminal_size=SIZE, run_before=_settle_in_rgb)


def test_snapshot_vae_lab_light_theme(snap_compare):
    """textual-light: the pictures' background, gutters and texts follow the theme."""
    app = host()
    app.theme = "textual-light"
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle_in_rgb)


async def test_compact_strip_keeps_recon_and_kl_at_60x20():
    async with host().run_test(size=(60, 20)) as pilot:
        lab = pilot.app.screen
        await lab.wait_idle()
        await pilot.press("l")
        await lab.wait_idle()
        await pilot.pause()
        strip = str(lab.query_one("#lab-strip").render())
        assert lab.has_class("-compact") and "recon" in strip and "KL" in strip
        assert "z=(+0.25,+0.00)" in strip


async def test_map_has_gutters_in_the_theme_background():
    """Every tile of the map is framed by the theme's background, a pixel wide."""
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        await _settle_in_rgb(pilot)
        lab = pilot.app.screen
        buf = lab.query_one("#vae-view", PixelCanvas)._pixels
        assert buf.shape[:2] == (44, 44)  # 5 tiles of 8 + 4 gutters
        bg = np.array(lab.canvas_bg, np.uint8)
        for k in range(1, 5):  # the gutter rows and columns
            gutter = 8 * k + (k - 1)
            assert (buf[gutter, :, :] == bg).all(axis=-1).mean() > 0.9  # the cursor may cross
            assert (buf[:, gutter, :] == bg).all(axis=-1).mean() > 0.9
        dark = app.get_css_variables()["surface"]
        app.theme = "textual-light"
        await pilot.pause()
        await lab.wait_idle()
        light_bg = lab.canvas_bg
        assert light_bg != tuple(bg) and sum(light_bg) > sum(bg.tolist())
        assert app.get_css_variables()["surface"] != dark
        buf = lab.query_one("#vae-view", PixelCanvas)._pixels
        assert (buf[8, :, :] == np.array(light_bg, np.uint8)).all(axis=-1).mean() > 0.9


async def test_missing_weights_are_reported_and_training_starts_from_scratch(monkeypatch, tmp_path):
    from content import paths

    monkeypatch.setattr(
        paths, "weights_for", lambda name, prefer="yours": (tmp_path / "missing.npz", "shipped")
    )
    app = host()
    async with app.run_test(size=SIZE):
        lab = app.screen
        await lab.wait_idle()
        assert lab.model.steps == 0
        assert "no usable weights" in str(lab.query_one("#vae-info").render())
        assert any("no weights file" in n.message for n in app._notifications)


async def test_help_and_code_panels():
    from tutor.labs.base import CodePanel, TextPanel

    app = host()
    async with app.run_test(size=SIZE) as pilot:
        await app.screen.wait_idle()
        await pilot.press("h")
        assert isinstance(app.screen, TextPanel)
        await pilot.press("escape", "v")
        assert isinstance(app.screen, CodePanel)
        await pilot.press("escape")
        assert isinstance(app.screen, VaeLab)
