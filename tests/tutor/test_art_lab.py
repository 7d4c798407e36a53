"""The art lab (L01 `art`) and `genai-tutor art`: knobs, seeds, the "same seed again"
check, drift, saving; an 80×24 snapshot. Regenerate the snapshot after an intended
change with --snapshot-update and look at the SVG."""

from __future__ import annotations

import json

import numpy as np
import pytest
from textual.app import App

from engine import art, png
from tutor import cli, labs
from tutor.app import TutorApp
from tutor.labs.art import PIXELS_H, PIXELS_W, ArtLab, recipe_lines
from tutor.labs.base import LabScreen

SIZE = (80, 24)


@pytest.fixture(autouse=True)
def paused(monkeypatch):
    monkeypatch.setattr(LabScreen, "autoplay", False)


def host():
    class Host(App):
        CSS_PATH = TutorApp.CSS_PATH

        def on_mount(self):
            self.push_screen(ArtLab())

    return Host()


def text_of(lab, selector: str) -> str:
    return str(lab.query_one(selector).render())


def test_registered():
    assert labs.available("art")
    assert isinstance(labs.create("art"), ArtLab)


def test_recipe_lines_break_after_commas():
    text = art.format_recipe(art.Recipe())
    lines = recipe_lines(text, 52)
    assert "".join(lines) == text and all(len(line) <= 52 for line in lines)
    assert lines[0].endswith(",") and len(lines) == 2


async def test_opens_on_the_recipe_and_the_same_seed_check_says_identical():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        frame = lab.last_frame
        assert frame["recipe"] == art.format_recipe(art.Recipe(seed=42))
        np.testing.assert_array_equal(frame["pixels"], art.render(art.Recipe(seed=42), PIXELS_H, PIXELS_W))
        assert "seed 42 · t 0 · fingerprint" in text_of(lab, "#art-check")
        assert "art1:seed=42,pal=ember" in text_of(lab, "#art-recipe")
        await pilot.press("c")
        await lab.wait_idle()
        assert lab.check["same"] and lab.check["differing"] == 0
        assert lab.check["bytes"] == PIXELS_H * PIXELS_W * 3 and lab.check["other_seed"] == 43
        assert lab.check["other_differs"] > 0.5
        shown = text_of(lab, "#art-check")
        assert f"identical, all {PIXELS_H * PIXELS_W * 3:,} bytes match" in shown
        assert "seed 43 differs in" in shown


async def test_a_mismatch_is_reported(monkeypatch):
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        lab.shown = lab.shown.copy()
        lab.shown[0, :5] ^= 1  # pretend the screen shows other bytes
        await pilot.press("c")
        await lab.wait_idle()
        assert not lab.check["same"] and lab.check["differing"] == 5
        assert any("differs in 5 pixels" in n.message for n in app._notifications)


async def test_seeds_forward_and_back_give_the_same_picture_again():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        first = lab.last_frame["fingerprint"]
        await pilot.press("e")
        await lab.wait_idle()
        assert lab.seed == 43 and lab.model.key[0] == 43
        assert lab.last_frame["fingerprint"] != first
        assert "seed=43" in lab.last_frame["recipe"]
        await pilot.press("E")
        await lab.wait_idle()
        assert lab.seed == 42 and lab.last_frame["fingerprint"] == first


async def test_every_knob_key_changes_the_recipe():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        for key, expect in (
            ("p", "pal=ocean"),
            ("m", "sym=mirror"),
            ("z", "zoom=1.5"),
            ("d", "depth=5"),
            ("w", "width=24"),
            ("a", "act=sin"),
        ):
            before = lab.last_frame["fingerprint"]
            await pilot.press(key)
            await lab.wait_idle()
            assert expect in lab.last_frame["recipe"], key
            assert lab.last_frame["fingerprint"] != before, key
        assert lab.model.key == (42, 5, 24)
        await pilot.press("D")  # Shift steps back
        await lab.wait_idle()
        assert "depth=4" in lab.last_frame["recipe"] and lab.model.key == (42, 4, 24)
        expected = art.render(art.parse_recipe(lab.last_frame["recipe"]), PIXELS_H, PIXELS_W)
        np.testing.assert_array_equal(lab.last_frame["pixels"], expected)


async def test_step_and_drift_move_the_latent_and_reset_goes_back():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        await pilot.press("t", "t")  # drift speed 4
        await pilot.press("s")
        await lab.wait_idle()
        assert lab.t == 4 and lab.last_frame["recipe"].endswith("t=4")
        await pilot.press("space")
        await pilot.pause(0.6)
        assert lab.playing
        await pilot.press("space")
        await lab.wait_idle()
        assert not lab.playing and lab.t > 4 and lab.t % 4 == 0
        await pilot.press("r")
        await lab.wait_idle()
        assert lab.t == 0 and lab.last_frame["recipe"].endswith("t=0")


async def test_x_saves_a_png_in_the_data_folder(tutor_home):
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        await pilot.press("x")
        await lab.wait_idle()
        saved = list((tutor_home / "art").glob("*.png"))
        assert len(saved) == 1 and "art_seed42_512px_" in saved[0].name
        np.testing.assert_array_equal(png.read_png(saved[0]), art.render(art.Recipe(seed=42), 512))
        assert "saved" in text_of(lab, "#lab-status")


async def test_lesson_card_opens_the_lab(make_app):
    app = make_app(start=("lesson", "L01"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        card = str(app.screen.query_one(".lab-card").render())
        assert "Try it: Seeds and determinism" in card and "coming soon" not in card
        await pilot.press("t")  # the lesson's "Try it" key
        await pilot.pause()
        assert isinstance(app.screen, ArtLab)
        await app.screen.wait_idle()


def test_snapshot_art_lab(snap_compare):
    async def settle(pilot):
        await pilot.app.screen.wait_idle()
        await pilot.press("c")
        await pilot.app.screen.wait_idle()

    assert snap_compare(host(), terminal_size=SIZE, run_before=settle)


# ---------------------------------------------------------------------- genai-tutor art


def run_json(capsys, argv) -> dict:
    assert cli.main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_art_command_defaults_to_the_data_folder(capsys, tutor_home):
    out = run_json(capsys, ["art", "--seed", "42", "--size", "40", "--json"])
    assert out["recipe"] == art.format_recipe(art.Recipe(seed=42)) and out["size"] == 40
    saved = tutor_home / "art" / f"art_seed42_40px_{out['fingerprint']}.png"
    assert out["out"] == str(saved)
    np.testing.assert_array_equal(png.read_png(saved), art.render(art.Recipe(seed=42), 40))


def test_art_command_seed_replaces_the_recipes_seed(capsys, tmp_path):
    target = tmp_path / "x.png"
    out = run_json(
        capsys,
        [
            "art",
            "--recipe",
            "seed=1,pal=ocean",
            "--seed",
            "9",
            "--size",
            "16",
            "--out",
            str(target),
            "--json",
        ],
    )
    assert out["recipe"].startswith("art1:seed=9,pal=ocean") and out["out"] == str(target)
    assert cli.main(["art", "--recipe", out["recipe"], "--size", "16", "--out", str(tmp_path / "y.png")]) == 0
    printed = capsys.readouterr()
    assert f"recipe: {out['recipe']}" in printed.out and "saved" in printed.err
    assert target.read_bytes() == (tmp_path / "y.png").read_bytes()


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--recipe", "pal=pink"], "bad recipe: palette 'pink' is not one of"),
        (["--recipe", "depth=9"], "bad recipe: depth must be a whole number from 1 to 8"),
        (["--size", "0"], "out of range"),
        (["--seed", "-3"], "out of range"),
        (["--out", "art.jpg"], "must end in .png"),
    ],
)
def test_art_command_bad_values_exit_2(capsys, argv, says):
    with pytest.raises(SystemExit) as exc:
        cli.main(["art", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
