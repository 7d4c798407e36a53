"""`genai-tutor train vae` and `genai-tutor train classifier` (tiny runs, JSON output)."""

from __future__ import annotations

import json

import pytest

from engine import vae
from tutor import cli


def run_json(capsys, argv) -> dict:
    assert cli.main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_train_vae_json_and_weights(capsys, tmp_path):
    target = tmp_path / "v.npz"
    out = run_json(
        capsys,
        [
            "train",
            "vae",
            "--dataset",
            "digits",
            "--steps",
            "30",
            "--seed",
            "2",
            "--out",
            str(target),
            "--json",
        ],
    )
    assert {"dataset", "steps", "seconds", "recon", "kl", "mse"} <= set(out)
    assert out["steps"] == 30 and out["recon"] > 0 and out["kl"] >= 0
    model = vae.VAE.load(target)
    assert model.config.seed == 2 and model.config.latent == 2 and model.steps == 30


def test_train_classifier_json(capsys, tmp_path):
    out = run_json(
        capsys, ["train", "classifier", "--steps", "20", "--out", str(tmp_path / "c.npz"), "--json"]
    )
    assert {"attribute_accuracy", "shape_accuracy", "colour_accuracy"} <= set(out)


def test_unknown_dataset_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "vae", "--dataset", "cats"])
    assert exc.value.code == 2
    assert "choose from 'digits', 'sprites'" in capsys.readouterr().err
