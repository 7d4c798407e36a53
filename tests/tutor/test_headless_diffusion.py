"""`genai-tutor train diffusion` and `genai-tutor generate` (JSON and the PNG grid)."""

from __future__ import annotations

import json

import pytest

from engine import png
from tutor import cli


def run_json(capsys, argv) -> dict:
    assert cli.main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_train_diffusion_json(capsys, tmp_path):
    out = run_json(
        capsys,
        [
            "train",
            "diffusion",
            "--dataset",
            "ring",
            "--steps",
            "50",
            "--seed",
            "1",
            "--out",
            str(tmp_path / "r.npz"),
            "--json",
        ],
    )
    assert {"steps", "seconds", "loss", "fid_lite", "attribute_accuracy"} <= set(out)
    assert out["steps"] == 50 and out["fid_lite"] is None and out["attribute_accuracy"] is None
    assert (tmp_path / "r.npz").is_file()


def test_generate_writes_a_png_grid_and_reports_quality(capsys, tmp_path):
    target = tmp_path / "grid.png"
    out = run_json(
        capsys,
        [
            "generate",
            "--model",
            "diffusion",
            "--dataset",
            "sprites",
            "--sampler",
            "ddim",
            "--steps",
            "10",
            "--n",
            "9",
            "--seed",
            "0",
            "--scale",
            "1",
            "--out",
            str(target),
            "--json",
        ],
    )
    assert out["samples"] == 9 and out["copies"] == 0
    assert 0.0 <= out["attribute_accuracy"] <= 1.0 and out["fid_lite"] >= 0.0
    grid = png.read_png(target)
    assert grid.shape == (1 + 3 * 17, 1 + 3 * 17, 3)  # 3x3 tiles of 16 px, 1 px gaps
    assert grid.std() > 10  # not a blank picture


@pytest.mark.parametrize("model", ["vae", "gan"])
def test_generate_other_families_on_digits(capsys, tmp_path, model):
    from engine.weights import default_dir

    name = {"vae": "vae_digits.npz", "gan": "gan_digits.npz"}[model]
    if not (default_dir() / name).is_file():
        pytest.skip(f"{name} is not shipped")
    out = run_json(
        capsys,
        [
            "generate",
            "--model",
            model,
            "--dataset",
            "digits",
            "--n",
            "4",
            "--out",
            str(tmp_path / "g.png"),
            "--json",
        ],
    )
    assert out["samples"] == 4 and out["attribute_accuracy"] is None


def test_generate_rejects_unknown_choices(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["generate", "--model", "pixelcnn"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
