"""`genai-tutor train clip`, `clip search`, `clip zero-shot` (tiny runs, JSON output)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os

import numpy as np
import pytest

from engine import clip, png
from tutor import cli


def run_json(capsys, argv) -> dict:
    assert cli.main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def small_training(monkeypatch):
    """Train on a small set and measure on 200 sprites: the CLI path, not the recipe."""

    @dataclasses.dataclass(frozen=True)
    class small(clip.ClipConfig):  # stands in for the class it replaces
        train_n: int = 500
        captions: int = 4

    full = clip.evaluation_set
    monkeypatch.setattr(clip, "ClipConfig", small)
    monkeypatch.setattr(clip, "evaluation_set", lambda: full(200, 5))


def test_train_clip_writes_to_the_data_folder_not_the_package(capsys, small_training):
    out = run_json(capsys, ["train", "clip", "--steps", "20", "--seed", "3", "--json"])
    path = os.path.join(os.environ["GENAI_TUTOR_HOME"], "weights", "clip_sprites.npz")
    assert out["out"] == path == out["saved"] and os.path.isfile(path)
    assert out["steps"] == 20 and {
        "colour",
        "shape",
        "position",
        "size",
        "retrieval_held_out_phrasings",
        "meets_bars",
    } <= set(out)
    model = clip.CLIP.load(path)
    assert model.config.seed == 3 and model.steps == 20 and model.config.train_n == 500


def test_train_clip_out_option(capsys, tmp_path, small_training):
    target = tmp_path / "mine.npz"
    out = run_json(capsys, ["train", "clip", "--steps", "5", "--out", str(target), "--json"])
    assert out["out"] == str(target) and target.is_file()


def test_search_json_and_strip(capsys, tmp_path):
    strip = tmp_path / "strip.png"
    out = run_json(capsys, ["clip", "search", "a big blue cross", "--n", "5", "--json", "--out", str(strip)])
    rows = out["results"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert all(a["cosine"] >= b["cosine"] for a, b in itertools.pairwise(rows))
    assert all((r["shape"], r["colour"], r["size"]) == ("cross", "blue", "large") for r in rows)
    image = png.read_png(strip)
    assert image.shape[1] > 4 * image.shape[0]  # five sprites side by side
    assert out["unknown_words"] == []


def test_search_reports_unknown_words_and_rejects_empty_queries(capsys):
    out = run_json(capsys, ["clip", "search", "a photo of a red heart", "--n", "1", "--json"])
    assert out["unknown_words"] == ["photo", "of"]
    assert out["results"][0]["shape"] == "heart" and out["results"][0]["colour"] == "red"
    assert cli.main(["clip", "search", "zebra", "--json"]) == 2
    assert "vocabulary" in capsys.readouterr().err


def test_zero_shot_json_with_an_extra_template(capsys):
    out = run_json(
        capsys,
        ["clip", "zero-shot", "--n", "300", "--json", "--template", "colour=a photo of a {colour} thing"],
    )
    assert set(out["accuracy"]) == {"colour", "shape", "position", "size"}
    assert "a photo of a {colour} thing" in out["per_template"]["colour"]
    assert out["accuracy"]["colour"] >= 0.9
    assert 0 <= out["supervised_classifier"]["shape"] <= 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["clip", "zero-shot", "--template", "colour=a red thing"], "needs the slot {colour}"),
        (["clip", "zero-shot", "--template", "texture={texture}"], "ATTRIBUTE=TEXT"),
    ],
)
def test_bad_templates_exit_2_with_a_message(capsys, argv, message):
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["clip", "search", "a red heart", "--n", "0"], "out of range"),
        (["train", "clip", "--steps", "0"], "out of range"),
        (["clip", "search", "a red heart", "--out", "strip.txt"], ".png"),
    ],
)
def test_bad_values_exit_2_at_parse_time(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_unusable_weights_exit_1(capsys, tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a weights file")
    assert cli.main(["clip", "search", "a red heart", "--weights", str(bad)]) == 1
    assert "train clip" in capsys.readouterr().err


def test_search_text_output(capsys):
    assert cli.main(["clip", "search", "a small red heart on the left", "--n", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("1. cosine")
    assert np.isfinite(float(lines[0].split()[2]))
