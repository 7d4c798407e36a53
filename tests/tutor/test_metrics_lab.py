"""The metrics lab (L11 `metrics`) and `genai-tutor evaluate`: the table, the n knob,
copies (plant one, see it caught), perplexity, the rating flow; an 80×24 snapshot.
Regenerate the snapshot after an intended change with --snapshot-update and look at
the SVG. One Evaluator (training sprites, models, samples) serves the whole module."""

from __future__ import annotations

import asyncio
import json
import time

import numpy as np
import pytest
from textual.app import App

from engine import evaluation as E
from engine import image_metrics as M
from tutor import cli, labs
from tutor.app import TutorApp
from tutor.labs.base import LabScreen
from tutor.labs.metrics import RATINGS, MetricsLab

SIZE = (80, 24)
N = 32
FRESH_EVALUATOR = E.Evaluator


@pytest.fixture(scope="module")
def shared():
    return E.Evaluator()


@pytest.fixture(autouse=True)
def paused(monkeypatch, shared):
    monkeypatch.setattr(LabScreen, "autoplay", False)
    monkeypatch.setattr(E, "Evaluator", lambda files=None: shared)  # samples drawn once per module


def small_lab() -> MetricsLab:
    lab = MetricsLab()
    lab.knob("n").select(N)
    return lab


def host(lab: MetricsLab | None = None):
    class Host(App):
        CSS_PATH = TutorApp.CSS_PATH

        def on_mount(self):
            self.push_screen(lab or small_lab())

    return Host()


async def measure(pilot, lab: MetricsLab, timeout: float = 240.0) -> None:
    """Space, then wait until the lab has measured everything and paused itself."""
    await lab.wait_idle(240)
    await pilot.press("space")
    deadline = time.monotonic() + timeout
    while lab.playing and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not lab.playing, "measuring did not finish"
    await lab.wait_idle(240)


def text_of(lab, selector: str) -> str:
    return str(lab.query_one(selector).render())


def test_registered():
    assert labs.available("metrics")
    assert isinstance(labs.create("metrics"), MetricsLab)


async def test_table_matches_the_engine_and_the_n_knob_shows_the_bias(shared):
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle(240)
        assert "space measures" in text_of(lab, "#metrics-text")
        await measure(pilot, lab)
        rows = lab.last_frame["rows"]
        assert rows == [shared.row(f, N, 0) for f in E.ROWS]  # the command's numbers
        shown = text_of(lab, "#metrics-text")
        assert "DDIM" in shown and f"{rows[0]['fid_lite']:8.4f}" in shown
        assert f"n = {N} each" in shown
        await pilot.press("n")  # 32 -> 64: not measured yet
        await lab.wait_idle(240)
        assert lab.knob_value("n") == 2 * N and "rows" not in lab.last_frame
        await measure(pilot, lab)
        curve = dict(lab.last_frame["curve"])
        assert set(curve) == {N, 2 * N} and curve[2 * N] < curve[N]  # real sprites: bias shrinks
        assert "real  32:" in text_of(lab, "#metrics-text")


@pytest.mark.parametrize("choice", ["yours", "shipped"])
async def test_weights_knob_measures_your_own_models_where_you_have_them(
    choice, monkeypatch, shared, tutor_home
):
    """Your own GAN (from `genai-tutor train`) replaces the shipped one when Weights is
    "yours"; the VAE and diffusion model you never trained stay shipped, and the status says so."""
    import shutil

    from content import paths
    from engine import image_gan

    own = paths.user_weights(E.OWN_WEIGHTS["gan"])
    shutil.copyfile(image_gan.pretrained_path("sprites"), own)
    given = []
    monkeypatch.setattr(E, "Evaluator", lambda files=None: given.append(files) or shared)
    lab = small_lab()
    lab.knob("weights").select(choice)
    app = host(lab)
    async with app.run_test(size=SIZE) as pilot:
        await lab.wait_idle(240)
        await pilot.pause()
        if choice == "yours":
            assert given[-1] == {"gan": own}
            assert lab.weights_label == "weights: yours (gan), the rest shipped"
        else:
            assert given[-1] == {}
            assert lab.weights_label == "weights: shipped"
        assert lab.weights_label in text_of(lab, "#lab-status")


async def test_plant_a_copy_and_see_it_caught():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await measure(pilot, lab)
        await pilot.press("m")  # table -> copies
        await lab.wait_idle(240)
        frame = lab.last_frame
        assert frame["view"] == "copies" and frame["copies"] == 0 and frame["planted"] == 0
        assert "c: plant" in text_of(lab, "#metrics-text")
        for k in (1, 2):
            await pilot.press("c")
            await lab.wait_idle(240)
            frame = lab.last_frame
            assert frame["planted"] == k and frame["caught"] == k and frame["copies"] == k
        top = frame["pairs"][0]
        assert top[3] and top[2] == pytest.approx(0.0, abs=1e-6)  # the closest one is a copy
        np.testing.assert_array_equal(top[0], top[1])
        assert "COPY" in text_of(lab, "#metrics-text") and "caught 2" in text_of(lab, "#metrics-text")
        assert lab.query_one("#metrics-pics").display


async def test_perplexity_panel(shared):
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await measure(pilot, lab)
        await pilot.press("m", "m")  # -> text
        await lab.wait_idle(240)
        shown = text_of(lab, "#metrics-text")
        for name in ("held-out text", "words shuffled", "another domain"):
            assert name in shown
        assert f"{shared.text('held_out')['perplexity']:8.1f}" in shown
        assert f"{shared.vocab_size():,}" in shown
        assert "worse than knowing nothing" in shown  # 3,702 against a vocabulary of 1,233


async def test_rating_flow_gives_a_rank_correlation_per_metric(shared):
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await measure(pilot, lab)
        await pilot.press("1")  # first press: go to the rate view
        await lab.wait_idle(240)
        assert lab.knob_value("view") == "rate" and lab.ratings == []
        assert "sample 1 of 12" in text_of(lab, "#metrics-text")
        images, families, scores = lab._results["rating"]
        # rate exactly as the classifier's confidence orders them (1..5 by quintile)
        conf = scores["classifier"]
        wanted = [1 + int(4 * r / (RATINGS - 1)) for r in np.argsort(np.argsort(conf, kind="stable"))]
        for k, r in enumerate(wanted):
            await pilot.press(str(r))
            if k == 3:  # take one back and redo it
                await pilot.press("backspace", str(r))
        await lab.wait_idle(240)
        assert lab.ratings == wanted
        agree = lab.last_frame["agreement"]
        assert agree == E.agreement(wanted, scores)
        assert agree["classifier"] > 0.9
        shown = text_of(lab, "#metrics-text")
        assert "Spearman" in shown and "classifier confidence" in shown
        await pilot.press("5")  # a 13th rating is ignored
        await lab.wait_idle(240)
        assert len(lab.ratings) == RATINGS


async def test_leave_while_measuring(shared):
    shared.sets.pop(("ddpm", 7), None)
    lab = small_lab()
    lab.seed = 7  # nothing drawn for this seed yet
    app = host(lab)
    async with app.run_test(size=SIZE) as pilot:
        await lab.wait_idle(240)
        await pilot.press("space")
        await pilot.pause(0.3)
        await pilot.press("escape")
        await pilot.pause(0.5)
        assert lab.model is None
    assert app.return_code in (None, 0)


async def test_lesson_card_opens_the_lab(make_app):
    app = make_app(start=("lesson", "L11"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        card = str(app.screen.query_one(".lab-card").render())
        assert "Try it: Measuring generated samples" in card and "coming soon" not in card
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, MetricsLab)
        await app.screen.wait_idle(240)


def test_snapshot_metrics_lab(snap_compare, monkeypatch):
    monkeypatch.setattr(E, "Evaluator", FRESH_EVALUATOR)  # the same steps whatever ran before

    async def settle(pilot):
        await measure(pilot, pilot.app.screen)

    assert snap_compare(host(), terminal_size=SIZE, run_before=settle)


# ---------------------------------------------------------------------- genai-tutor evaluate


def test_evaluate_command_prints_the_labs_numbers(capsys, shared):
    assert cli.main(["evaluate", "--n", str(N), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == N and out["seed"] == 0
    assert out["families"] == [shared.row(f, N, 0) for f in E.ROWS]
    assert out["text"] == shared.text_table()
    assert [r["family"] for r in out["families"]] == list(E.ROWS)
    assert all(r["copies"] == 0 and r["nearest_train_median"] > M.COPY_RMS for r in out["families"])


def test_evaluate_command_text_table(capsys):
    assert cli.main(["evaluate", "--n", str(N)]) == 0
    shown = capsys.readouterr().out
    assert "diffusion DDIM" in shown and "perplexity held_out" in shown


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--n", "4"], "out of range: use a sample count from 8 to 2048"),
        (["--n", "lots"], "'lots' is not a sample count"),
        (["--seed", "-3"], "out of range: use a seed"),
    ],
)
def test_evaluate_bad_arguments_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        cli.main(["evaluate", *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_evaluate_command_from_nothing_reproduces_the_numbers(capsys, monkeypatch, shared):
    monkeypatch.setattr(E, "Evaluator", FRESH_EVALUATOR)  # draws every sample again
    assert cli.main(["evaluate", "--n", str(N), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["families"] == [shared.row(f, N, 0) for f in E.ROWS]
