"""The CLIP lab (L09 `clip`) and the image-token lab (L08 `image-tokens`): Pilot tests and
80×24 snapshots. The shipped CLIP weights are content/weights/clip_sprites.npz.
Regenerate the snapshots after an intended change with --snapshot-update.
"""

from __future__ import annotations

import numpy as np
import pytest
from textual.app import App

from tutor import labs
from tutor.app import TutorApp
from tutor.labs import image_tokens as T
from tutor.labs.base import LabScreen
from tutor.labs.clip import ClipLab
from tutor.labs.image_tokens import ImageTokensLab

SIZE = (80, 24)


@pytest.fixture(autouse=True)
def paused(monkeypatch):
    monkeypatch.setattr(LabScreen, "autoplay", False)


def host(cls):
    class Host(App):
        CSS_PATH = TutorApp.CSS_PATH

        def on_mount(self):
            self.push_screen(cls())

    return Host()


async def press(pilot, *keys):
    for key in keys:
        await pilot.press(key)
        await pilot.app.screen.wait_idle()


def test_registered():
    assert isinstance(labs.create("clip"), ClipLab)
    assert isinstance(labs.create("image-tokens"), ImageTokensLab)


# ------------------------------------------------------------------ the CLIP lab


async def test_clip_lab_trains_from_scratch_and_knobs_apply_live():
    app = host(ClipLab)
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        assert lab.weights_label == "weights: untrained" and lab.model.steps == 0
        assert lab.last_frame["sim"].shape == (6, 6)
        before = lab.model.params.copy()
        await press(pilot, "s")
        assert lab.iterations == 4 and lab.model.steps == 4
        assert not np.array_equal(before, lab.model.params)
        assert np.isfinite(lab.query_one("#clip-loss").data[-1])
        await press(pilot, "t")  # learned -> 0.01, held fixed
        assert lab.knob_value("temperature") == 0.01
        await press(pilot, "s")
        assert lab.model.temperature == pytest.approx(0.01, rel=1e-5)
        await press(pilot, "b")  # 128 -> 256
        assert lab.model.batch == 256


async def test_clip_lab_shipped_weights_diagonal_search_zero_shot_and_gap():
    app = host(ClipLab)
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        await press(pilot, "f")  # scratch -> yours (falls back to shipped)
        assert lab.weights_label.startswith("weights: shipped")
        sim = lab.last_frame["sim"]
        assert (np.argmax(sim, axis=1) == np.arange(6)).all()
        await press(pilot, "m")  # search
        await press(pilot, "slash")
        lab.query_one("#clip-query").value = ""
        await pilot.press(*"a small red heart")
        await press(pilot, "enter")
        assert lab.last_frame["query"] == "a small red heart"
        assert lab.last_frame["found"][0].startswith("a small red heart")
        await press(pilot, "p")
        assert lab.picked == 1 and lab.last_frame["ranked"][0][1] >= lab.last_frame["ranked"][1][1]
        await press(pilot, "m")  # zero-shot, with a template of mine
        await press(pilot, "slash")
        await pilot.press(*"a photo of a {colour} thing")
        await press(pilot, "enter")
        per = lab.last_frame["zero_shot"]["colour"]
        assert "a photo of a {colour} thing" in per and per["a {colour} shape"] >= 0.97
        await press(pilot, "slash")
        await pilot.press(*"no slot here")
        await press(pilot, "enter")
        assert "exactly one slot" in lab._message
        await press(pilot, "m")  # gap
        gap = lab.last_frame["gap"]
        assert gap["matching"] > gap["mismatched"] + 0.2
        assert lab.last_frame["cloud_images"].shape == (300, 2)


@pytest.mark.parametrize(
    "cls, keys",
    [
        (ClipLab, ("/", "m", "M", "t", "T", "b", "B", "p", "Space", "s")),
        (ImageTokensLab, ("/", "k", "K", "n", "N", "f", "F", "Space", "s")),
    ],
)
async def test_f1_lists_the_lab_keys(cls, keys):
    from tutor.screens.help import HelpScreen, key_sections, sections_markdown

    app = host(cls)
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        text = sections_markdown(key_sections(lab))
        for key in keys:
            assert f"`{key}`" in text, key
        app.push_screen(HelpScreen(lab))
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


def test_snapshot_clip_lab(snap_compare):
    async def settle(pilot):
        await pilot.app.screen.wait_idle()
        await pilot.press("f")  # the shipped weights
        await pilot.app.screen.wait_idle()

    assert snap_compare(host(ClipLab), terminal_size=SIZE, run_before=settle)


# ------------------------------------------------------------------ the image-token lab


def test_picture_helpers():
    img = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32)
    for k in (2, 4, 8):
        g = 16 // k
        pic = T.grid_picture(img, k, g * g - 1)
        assert pic.shape == (g * (k + 1) + 1, g * (k + 1) + 1, 3)
        assert (pic[-1, -1] == T.HIGHLIGHT).all()  # the last patch is framed
        np.testing.assert_array_equal(pic[1 : 1 + k, 1 : 1 + k], (img[:k, :k] * 255).astype(np.uint8))
        seq = T.sequence_strip(np.zeros((g * g, 3)), 0)
        assert seq.shape[1] == min(g * g, T.SEQ_ROW) and (seq[0, 0] == T.HIGHLIGHT).all()
    assert T.pixel_strip(img[:4, :4]).shape == (2, 16, 3)
    assert "196" in T.arithmetic_text(4) and "256" in T.arithmetic_text(4)


async def test_image_tokens_walk_patch_size_words_and_fetch():
    app = host(ImageTokensLab)
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        f = lab.last_frame
        assert f["patch"] == 4 and f["means"].shape == (16, 3) and len(f["words"]) == 3
        await press(pilot, "s", "s")
        assert lab.last_frame["highlight"] == 2
        await press(pilot, "k")  # patch 8: four tokens, no CLIP words
        f = lab.last_frame
        assert f["patch"] == 8 and f["means"].shape == (4, 3) and "words" not in f
        assert "[4 image tokens]" in str(lab.query_one("#tok-text").render())
        await press(pilot, "K", "K")  # back to 4, then 2: 64 tokens
        assert lab.last_frame["means"].shape == (64, 3)
        await press(pilot, "slash")
        await pilot.press(*"a big blue cross")
        await press(pilot, "enter")
        assert "large blue cross" in lab.last_frame["caption"]
        await press(pilot, "slash")
        await pilot.press(*"zebra")
        await press(pilot, "enter")
        assert "no known word" in lab._message


def test_snapshot_image_tokens_lab(snap_compare):
    async def settle(pilot):
        await pilot.app.screen.wait_idle()
        await pilot.press("s", "s", "s", "s", "s")
        await pilot.app.screen.wait_idle()

    assert snap_compare(host(ImageTokensLab), terminal_size=SIZE, run_before=settle)


@pytest.mark.parametrize("lesson, cls", [("L08", ImageTokensLab), ("L09", ClipLab)])
async def test_lesson_try_it_card_opens_the_lab(make_app, lesson, cls):
    from tutor.screens.lesson import LabCard

    app = make_app(start=("lesson", lesson))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        cards = list(app.screen.query(LabCard))
        assert cards and "coming soon" not in str(cards[0].label)
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, cls)
        await app.screen.wait_idle()
