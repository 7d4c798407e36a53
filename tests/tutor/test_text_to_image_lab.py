"""The L10 lab `text-to-image`: Pilot flows and an 80×24 snapshot (on the shipped weights)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from textual.app import App

from tutor import labs
from tutor.app import TutorApp
from tutor.labs import text_to_image as lab_mod
from tutor.labs.base import LabScreen
from tutor.labs.text_to_image import TextToImageLab

SIZE = (80, 24)


@pytest.fixture(autouse=True)
def paused_with_a_fixed_clock(monkeypatch):
    """Labs start paused; every clock read advances exactly 1 ms (stable timings)."""
    monkeypatch.setattr(LabScreen, "autoplay", False)
    ticks = itertools.count()
    monkeypatch.setattr(lab_mod, "_clock", lambda: next(ticks) * 1e-3)


def host():
    class Host(App):
        CSS_PATH = TutorApp.CSS_PATH

        def on_mount(self):
            self.push_screen(TextToImageLab())

    return Host()


def text(lab, selector) -> str:
    return str(lab.query_one(selector).render())


def test_the_lab_is_registered():
    assert labs.available("text-to-image")
    assert isinstance(labs.create("text-to-image"), TextToImageLab)


async def test_four_seeds_their_readings_and_the_scrubbable_film():
    from engine import text_to_image as t2i

    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle(300)
        assert lab.model is not None, "the shipped pixel model should load"
        run = lab.run
        assert run["images"].shape == (4, 16, 16, 3) and len(run["film"]) == 51
        # the readings are the engine's on the same pictures
        assert np.array_equal(run["read"], t2i.read_attributes(run["images"]))
        np.testing.assert_allclose(run["film"][-1][1], run["images"], atol=1e-5)
        assert "asks for: large blue cross top" in text(lab, "#t2i-asks")
        side = text(lab, "#t2i-side")
        assert side.count("CS") == 4
        assert "50/50 t=0" in text(lab, "#t2i-stats")
        for _ in range(len(lab_mod.SCRUB)):  # t wraps round to 0 %: pure noise
            await pilot.press("t")
            if lab.knob_value("scrub") == 0:
                break
        await lab.wait_idle()
        assert "0/50 t=1000" in text(lab, "#t2i-stats")
        await pilot.press("space")  # play: the film moves on by itself
        seen = set()
        for _ in range(1000):
            await pilot.pause(0.02)
            seen.add(lab.frame)
            if len(seen) > 3:
                break
        await pilot.press("space")
        assert len(seen) > 3


async def test_typed_prompts_report_unknown_words_and_refuse_unknown_ones():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle(300)
        await pilot.press("slash")
        box = lab.query_one("#t2i-prompt")
        box.value = "a tiny red zebra heart on the left"
        await pilot.press("enter")
        await lab.wait_idle(300)
        assert lab.prompt == "a tiny red zebra heart on the left"
        assert "ignored: zebra" in lab._message
        assert "ignored: zebra" in text(lab, "#t2i-asks")
        assert "asks for: small red heart left" in text(lab, "#t2i-asks")
        await pilot.press("slash")
        box.value = "quantum llama"
        await pilot.press("enter")
        await lab.wait_idle()
        assert lab.prompt == "a tiny red zebra heart on the left" and box.value == lab.prompt
        assert "no word of 'quantum llama'" in lab._message


async def test_guidance_sweep_and_latent_toggle():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle(300)
        await pilot.press("o")  # the sweep view
        await lab.wait_idle(300)
        assert list(lab.sweep) == [0.0, 1.0, 3.0, 7.5]
        rows = text(lab, "#t2i-side").splitlines()
        assert rows[0].split() == ["s", "ok", "CS", "div"] and len(rows) >= 5
        await pilot.press("g")  # guidance 3 -> 5: the film samples again
        await lab.wait_idle(300)
        assert lab.run is lab.results[lab._key()] and lab._key()[1] == 5.0
        await pilot.press("o", "l")  # back to the film, then latent diffusion
        await lab.wait_idle(300)
        assert lab.kind == "latent"
        assert lab.model is None or "latent" in text(lab, "#t2i-stats")


def _spans(changed: np.ndarray) -> int:
    """Cells re-sent: per row of cells (two pixel rows), first to last changed column."""
    h, w = changed.shape
    rows = np.concatenate([changed, np.zeros((h % 2, w), bool)]).reshape(-1, 2, w).any(axis=1)
    return sum(int(np.flatnonzero(r)[-1] - np.flatnonzero(r)[0] + 1) for r in rows if r.any())


def test_film_update_sends_moved_pixels_of_the_rows_that_moved_most_within_the_budget():
    rng = np.random.default_rng(0)
    old = rng.integers(0, 256, (33, 34, 3)).astype(np.uint8)
    new = np.clip(old.astype(int) + rng.integers(-60, 61, old.shape), 0, 255).astype(np.uint8)
    out = lab_mod.film_update(old, new, 40, 200)
    moved = np.abs(new.astype(int) - old.astype(int)).max(axis=-1) > 40
    took = np.all(out == new, axis=-1)
    kept = np.all(out == old, axis=-1)
    assert np.all(took | kept)  # every pixel is either what was shown or the new one
    assert np.all(kept[~moved])  # a pixel that moved by <= 40 levels stays as shown
    assert 0 < _spans(~np.all(out == old, axis=-1)) <= 200
    # the row of cells that moved most (summed over its moved pixels) is among those sent
    weight = [
        (np.abs(new.astype(int) - old.astype(int)).max(-1) * moved)[2 * r : 2 * r + 2].sum()
        for r in range(17)
    ]
    best = int(np.argmax(weight))
    assert np.array_equal(
        out[2 * best : 2 * best + 2][moved[2 * best : 2 * best + 2]],
        new[2 * best : 2 * best + 2][moved[2 * best : 2 * best + 2]],
    )
    # no threshold and no budget: the new picture exactly
    assert np.array_equal(lab_mod.film_update(old, new, 0, 10**6), new)
    # nothing moved enough: nothing is sent
    assert np.array_equal(lab_mod.film_update(old, new, 255, 10**6), old)


def test_the_lab_and_the_engine_agree_on_the_default_guidance():
    from engine import text_to_image as t2i

    assert lab_mod.GUIDANCE == t2i.GUIDANCE


async def test_a_paused_film_frame_is_exact_and_the_weights_knob_finds_yours():
    import shutil

    from content import paths
    from engine import text_to_image as t2i

    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle(300)
        assert lab.weights_label == "pixel weights: shipped (you have none)"
        await pilot.press("space")  # play a few frames, then pause
        for _ in range(1000):
            await pilot.pause(0.02)
            if lab.frame is not None and lab.frame > 5:
                break
        await pilot.press("space")
        await lab.wait_idle()
        await pilot.pause()
        k = lab._frame_index()
        exact = lab._grid(lab.run["film"][k][1])
        assert np.array_equal(lab.query_one("#t2i-canvas")._pixels[: exact.shape[0]], exact)
        # your own weights (as `genai-tutor train text-to-image` leaves them) are picked up
        shutil.copy(t2i.pretrained_path("pixel"), paths.user_weights("text_to_image_pixel.npz"))
        await pilot.press("w")  # yours -> shipped
        await lab.wait_idle(300)
        assert lab.knob_value("weights") == "shipped" and lab.weights_label == "pixel weights: shipped"
        await pilot.press("w")  # -> yours
        await lab.wait_idle(300)
        assert lab.knob_value("weights") == "yours" and lab.weights_label == "pixel weights: yours"
        assert lab.model is not None and lab.run is not None


def test_snapshot_text_to_image_lab(snap_compare):
    async def settle(pilot):
        await pilot.app.screen.wait_idle(300)

    assert snap_compare(host(), terminal_size=SIZE, run_before=settle)


async def test_l10_try_it_card_opens_the_lab(make_app):
    from tutor.screens.lesson import LabCard

    app = make_app(start=("lesson", "L10"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        cards = list(app.screen.query(LabCard))
        assert cards and "coming soon" not in str(cards[0].label)
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TextToImageLab)
        await app.screen.wait_idle(300)
