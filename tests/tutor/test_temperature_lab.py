"""The temperature lab (L03), driven with Pilot on the shipped language model, and its
`sample` / `train lm` commands. Regenerate the snapshot after an intended change with
pytest tests/tutor/test_temperature_lab.py --snapshot-update
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from textual.app import App

from tutor import labs
from tutor.app import TutorApp
from tutor.labs.base import CodePanel, LabScreen, TextPanel
from tutor.labs.temperature import MANY, TemperatureLab

SIZE = (80, 24)


@pytest.fixture(autouse=True)
def paused(monkeypatch):
    monkeypatch.setattr(LabScreen, "autoplay", False)


def host() -> App:
    class Host(App):
        CSS_PATH = TutorApp.CSS_PATH

        def on_mount(self):
            self.push_screen(TemperatureLab())

    return Host()


def bars(lab, selector="#temp-bars") -> list[str]:
    return lab.query_one(selector).lines_text(52)


def info(lab) -> str:
    return str(lab.query_one("#temp-info").render())


def test_the_lesson_block_opens_this_lab():
    assert labs.available("temperature")
    assert isinstance(labs.create("temperature"), TemperatureLab)


async def test_lesson_l03_try_it_opens_the_lab(make_app):
    app = make_app(start=("lesson", "L03"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TemperatureLab)
        await app.screen.wait_idle()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, TemperatureLab)


async def test_bars_show_paris_and_temperature_reshapes_them():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        await lab.wait_idle()
        assert bars(lab)[0].split()[0] == "Paris"
        paris = lab.model.tok.index["Paris"]
        expected = lab.base.copy()  # T 1, no filter: <unk> masked only
        expected[lab.mask()] = 0.0
        assert lab.mask() and lab.probs[lab.mask()].sum() == 0
        assert lab.probs[paris] > 0.5 and np.allclose(lab.probs, expected / expected.sum(), rtol=1e-12)
        before, base_before, rows_before = lab.probs.copy(), lab.base.copy(), bars(lab)
        await pilot.press("t")  # T 1.0 -> 1.2
        await lab.wait_idle()
        assert lab.knob_value("temperature") == 1.2
        assert lab.probs[paris] < before[paris] and bars(lab) != rows_before
        np.testing.assert_allclose(lab.base, base_before)  # the faint reference stays put
        for _ in range(5):  # ... 1.5, 2, 3, 5, 10: near uniform
            await pilot.press("t")
        await lab.wait_idle()
        assert lab.knob_value("temperature") == 10.0
        assert lab.probs.max() < 0.01
        await pilot.press("t")  # wraps to 0.01: greedy
        await lab.wait_idle()
        assert lab.probs[paris] > 0.999 and np.all(np.isfinite(lab.probs))
        assert "entropy 0.00 bits" in info(lab)


async def test_presets_and_filters_are_knobs_on_the_keyboard():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        await pilot.press("o")  # coding preset
        await lab.wait_idle()
        assert lab.knob_value("temperature") == 0.2
        await pilot.press("o", "o", "o")  # creative
        await lab.wait_idle()
        assert lab.knob_value("temperature") == 1.5
        await pilot.press("k", "k", "k")  # top-k = 3
        await lab.wait_idle()
        assert np.count_nonzero(lab.probs) == 3 and "kept 3/" in info(lab)
        await pilot.press(*"kkkkk")  # wraps back to off
        await lab.wait_idle()
        assert lab.knob_value("top_k") == 0
        await pilot.press("p", "p", "p")  # top-p = 0.8
        await lab.wait_idle()
        from engine import sampling

        tempered = np.sort(sampling.softmax(lab.model.next_logits(lab.prompt_ids), 1.5))[::-1]
        n = np.count_nonzero(lab.probs)  # the minimal nucleus reaching 0.8
        assert tempered[:n].sum() >= 0.8 > tempered[: n - 1].sum()
        assert abs(lab.probs.sum() - 1) < 1e-9


async def test_sample_one_appends_and_shows_the_next_position():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        first = lab.probs.copy()
        await pilot.press("1")
        await lab.wait_idle()
        assert len(lab.generated) == 1
        word = lab.model.tok.vocab[lab.generated[0]]
        assert str(lab.query_one("#temp-text").render()).endswith(word)
        assert not np.allclose(first, lab.probs)  # the distribution for the next token
        await pilot.press("c")
        await lab.wait_idle()
        assert lab.generated == [] and np.allclose(first, lab.probs)


async def test_same_seed_same_text_and_generate_n():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        await pilot.press("t", "t", "t", "t")  # T = 2: varied text
        await pilot.press("w")  # "The weather today is"
        await lab.wait_idle()
        assert lab.prompt == "The weather today is"
        await pilot.press("g")
        await lab.wait_idle()
        first = list(lab.generated)
        assert 1 <= len(first) <= 10
        await pilot.press("r")  # reset: same seed again
        await lab.wait_idle()
        await pilot.press("g")
        await lab.wait_idle()
        assert lab.generated == first
        await pilot.press("e")  # a new seed
        await lab.wait_idle()
        await pilot.press("g")
        await lab.wait_idle()
        assert lab.seed == 1 and lab.generated != first


async def test_unknown_words_are_reported():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        await pilot.press("i")
        lab.query_one("#prompt").value = ""
        await pilot.press(*"The capital of Atlantis is")
        await pilot.press("enter")
        await lab.wait_idle()
        assert lab.prompt == "The capital of Atlantis is"
        assert lab.unknown == ["Atlantis"]
        assert "never seen: Atlantis" in info(lab)
        assert "<unk>" in str(lab.query_one("#temp-text").render())


async def test_sample_1000_histogram_matches_the_bars():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        await pilot.press("w", "t", "t")  # weather, T = 1.5: a broad distribution
        await pilot.press("m")
        await lab.wait_idle()
        assert lab.counts.sum() == MANY and lab.query_one("#temp-hist").display
        freq = lab.counts / MANY
        assert np.abs(freq - lab.probs).max() < 0.05  # 1000 draws: within ~3 sigma
        assert np.all(lab.counts[lab.probs == 0] == 0)
        rows = bars(lab, "#temp-hist")
        assert len(rows) == 6 and "sampled frequency" in rows[-1]
        await pilot.press("t")  # a knob change clears the stale histogram
        await lab.wait_idle()
        assert lab.counts is None and not lab.query_one("#temp-hist").display


async def test_untrained_model_trains_with_step():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        await pilot.press("f", "f")  # weights: untrained (rebuilds)
        await lab.wait_idle()
        await lab.wait_idle()
        assert lab.knob_value("weights") == "scratch" and "Untrained" in info(lab)
        assert lab.probs.max() < 0.2
        await pilot.press("s")
        await lab.wait_idle()
        await lab.wait_idle()
        assert lab.iterations == 8 and "training: step 8," in info(lab)


async def test_missing_weights_fall_back_to_an_untrained_model(monkeypatch, tmp_path):
    from content import paths

    monkeypatch.setattr(
        paths, "weights_for", lambda name, prefer="yours": (tmp_path / "nowhere.npz", "shipped")
    )
    app = host()
    async with app.run_test(size=SIZE):
        lab = app.screen
        await lab.wait_idle()
        await lab.wait_idle()
        assert lab.model is not None and "weights: untrained" in str(lab.query_one("#lab-status").render())
        assert "Space trains it" in info(lab)
        assert any("no weights file" in str(n.message) for n in app._notifications)


async def test_help_and_code_panels():
    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        await pilot.press("h")
        assert isinstance(app.screen, TextPanel)
        await pilot.press("escape", "v")
        assert isinstance(app.screen, CodePanel)
        shown = str(app.screen.query("Static").nodes[0].render())
        names = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert "engine.sampling.warp" in names and "engine.sampling.top_k_top_p" in names
        assert "not available" not in names and shown
        await pilot.press("escape")
        assert app.screen is lab


def test_snapshot(snap_compare):
    async def settle(pilot):
        await pilot.app.screen.wait_idle()
        await pilot.press("w", "t", "t", "1", "m")  # weather, T = 1.5, one token, 1000 draws
        await pilot.app.screen.wait_idle()

    assert snap_compare(host(), terminal_size=SIZE, run_before=settle)


# ------------------------------------------------------------------ the commands


def test_sample_json_for_the_paris_prompt(capsys):
    from tutor.cli import main

    assert main(["sample", "The capital of France is", "--temperature", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["prompt_tokens", "next", "entropy", "continuation", "unknown"]
    assert out["prompt_tokens"] == ["The", "capital", "of", "France", "is"]
    assert out["next"][0]["token"] == "Paris" and out["next"][0]["prob"] > 0.5
    assert len(out["next"]) == 10 and out["unknown"] == []


def test_train_lm_command_json(capsys, tmp_path):
    from tutor.cli import main

    assert main(["train", "lm", "--steps", "20", "--out", str(tmp_path / "lm.npz"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"steps", "seconds", "train_loss", "val_perplexity", "vocab_size", "saved"}
    assert out["saved"] == str(tmp_path / "lm.npz")
    assert out["steps"] == 20 and out["val_perplexity"] < out["vocab_size"]
    assert (tmp_path / "lm.npz").is_file()


# ------------------------------------------------------------------ the transformer (x)


async def test_x_switches_to_the_transformer_and_shows_its_attention():
    from engine import sampling
    from tutor.labs.temperature import TransformerLM

    app = host()
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        assert lab.knob_value("model") == "word MLP" and not isinstance(lab.model, TransformerLM)
        await pilot.press("x")
        await lab.wait_idle()
        model = lab.model
        assert isinstance(model, TransformerLM) and lab.knob_value("model") == "transformer"
        ids = model.tok.bpe.encode("The capital of France is")
        assert lab.prompt_ids == ids
        # the bars are the transformer's own next-token distribution, labelled by sub-word piece
        logits, _ = model.model.start(ids)
        np.testing.assert_allclose(lab.base, sampling.softmax(logits.astype(np.float64)), rtol=1e-6)
        assert bars(lab)[0].split()[0] == model.tok.label(int(np.argmax(lab.base)))
        assert model.tok.label(ids[1]) == "␣capital"
        # attention of the position predicting the next token: last layer, mean of the heads
        model.model.hidden(np.asarray([ids], np.int32))
        expected = model.model.attention()[-1][0, :, -1, :].mean(0)
        np.testing.assert_allclose(model.attention, expected, rtol=1e-6)
        assert abs(model.attention.sum() - 1) < 1e-5 and len(model.attention) == len(ids)
        top = model.tok.label(ids[int(np.argmax(expected))])
        assert f"attention: {top}" in info(lab)
        assert str(lab.query_one("#temp-text").render()) == "The capital of France is"
        await pilot.press("g")  # generate N with its own loop
        await lab.wait_idle()
        assert 1 <= len(lab.generated) <= 10 and len(model.attention) == len(ids) + len(lab.generated)
        assert str(lab.query_one("#temp-text").render()).startswith("The capital of France is")
        await pilot.press("space")  # training is the word model's only
        await lab.wait_idle()
        assert not lab.playing and "train transformer" in lab._message
        await pilot.press("x")  # back to the word model
        await lab.wait_idle()
        assert not isinstance(lab.model, TransformerLM) and bars(lab)[0].split()[0] == "Paris"


def test_snapshot_transformer(snap_compare):
    async def settle(pilot):
        await pilot.app.screen.wait_idle()
        await pilot.press("x")
        await pilot.app.screen.wait_idle()
        await pilot.press("1")
        await pilot.app.screen.wait_idle()

    assert snap_compare(host(), terminal_size=SIZE, run_before=settle)
