"""`genai-tutor generate --prompt ...` and `genai-tutor train text-to-image`."""

from __future__ import annotations

import json

import pytest

from engine import png
from engine import text_to_image as t2i
from tutor import cli


def run_json(capsys, argv) -> dict:
    assert cli.main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("latent", [False, True])
def test_generate_from_a_prompt_reports_each_sample(capsys, tmp_path, latent):
    target = tmp_path / "grid.png"
    argv = [
        "generate",
        "--prompt",
        "a big blue zebra cross at the top",
        "--guidance",
        "3",
        "--n",
        "4",
        "--seed",
        "5",
        "--steps",
        "20",
        "--scale",
        "1",
        "--out",
        str(target),
        "--json",
    ]
    out = run_json(capsys, argv + (["--latent"] if latent else []))
    assert out["kind"] == ("latent" if latent else "pixel")
    assert out["unknown_words"] == ["zebra"]
    assert out["requested"] == {"shape": "cross", "colour": "blue", "position": "top", "size": "large"}
    assert [s["seed"] for s in out["samples"]] == [5, 6, 7, 8]
    for s in out["samples"]:
        assert set(s["attributes"]) == {"shape", "colour", "position", "size"}
        assert 0 <= s["clip_score"] <= 100 and s["seconds"] > 0
    # the figures are the engine's on the same pictures
    model = t2i.pretrained(out["kind"])
    images, _ = model.generate("a big blue zebra cross at the top", n=1, seed=6, guidance=3.0, steps=20)
    assert t2i.attribute_names(t2i.read_attributes(images)[0]) == out["samples"][1]["attributes"]
    score = model.text_encoder.clip_score(images, ["a big blue zebra cross at the top"])[0]
    assert out["samples"][1]["clip_score"] == pytest.approx(float(score), abs=0.01)
    assert png.read_png(target).shape == (1 + 2 * 17, 1 + 2 * 17, 3)


def test_generate_from_a_prompt_plain_text_names_unknown_words(capsys, tmp_path):
    assert (
        cli.main(
            [
                "generate",
                "--prompt",
                "a red hart",
                "--n",
                "1",
                "--steps",
                "5",
                "--out",
                str(tmp_path / "g.png"),
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "ignored: hart" in captured.err
    assert "asked for: colour red" in captured.out and "CLIPScore-lite" in captured.out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--prompt", "zebra"], "no word of 'zebra'"),
        (["--prompt", "a red heart", "--guidance", "16"], "out of range"),
        (["--prompt", "a red heart", "--guidance", "nan"], "not a finite number"),
        (["--prompt", "a " * 120], "at most 200"),
        (["--latent"], "go with --prompt"),
        (["--guidance", "2"], "go with --prompt"),
        (["--prompt", "a red heart", "--model", "vae"], "leave --model"),
        (["--prompt", "a red heart", "--dataset", "digits"], "leave --model"),
    ],
)
def test_generate_prompt_options_are_checked(capsys, argv, message):
    try:  # argparse's type checks exit; the command's own checks return the code
        code = cli.main(["generate", *argv])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    assert message in capsys.readouterr().err


def test_train_text_to_image_saves_into_the_given_file(capsys, tmp_path, monkeypatch):
    from dataclasses import replace

    small = {k: dict(v) for k, v in t2i.RECIPES.items()}
    small["pixel"]["config"] = replace(small["pixel"]["config"], hidden=16, batch=8)
    monkeypatch.setattr(t2i, "RECIPES", small)
    out = run_json(
        capsys, ["train", "text-to-image", "--steps", "3", "--out", str(tmp_path / "m.npz"), "--json"]
    )
    assert out["kind"] == "pixel" and out["steps"] == 3 and out["saved"] == str(tmp_path / "m.npz")
    assert {"held_out_phrasings", "held_out_combinations", "copies", "clip_score"} <= set(out)
    assert t2i.TextToImage.load(tmp_path / "m.npz").kind == "pixel"


def test_train_text_to_image_autoencoder_goes_with_latent(capsys, tmp_path):
    ae = tmp_path / "ae.npz"
    ae.write_bytes(b"x")
    assert cli.main(["train", "text-to-image", "--kind", "pixel", "--autoencoder", str(ae)]) == 2
    assert "--autoencoder goes with --kind latent" in capsys.readouterr().err
