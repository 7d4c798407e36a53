"""`train families|flow|autoregressive`, 2-D `train gan|vae|diffusion` and `generate` to CSV."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine import data
from tutor import cli


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_TUTOR_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def run_json(capsys, argv) -> dict:
    assert cli.main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_train_families_prints_the_table(capsys, home):
    out = run_json(
        capsys,
        [
            "train",
            "families",
            "--dataset",
            "ring",
            "--budget",
            "0.5s",
            "--only",
            "autoregressive,flow",
            "--n",
            "256",
            "--json",
        ],
    )
    assert out["budget_per_family_s"] == 0.5 and out["dataset"] == "ring"
    rows = {r["family"]: r for r in out["families"]}
    assert set(rows) == {"autoregressive", "flow"}
    for r in rows.values():
        assert r["train_seconds"] >= 0.5 and r["modes_total"] == 8 and r["nll"] is not None


@pytest.mark.parametrize("family", ["flow", "autoregressive", "gan", "vae", "diffusion"])
def test_train_one_family_saves_under_the_user_folder_and_generates(capsys, home, tmp_path, family):
    csv = tmp_path / "letter.csv"
    pts = data.toy("spiral", 300).points * 7 + 20
    csv.write_text("x,y\n" + "\n".join(f"{x},{y}" for x, y in pts))
    out = run_json(
        capsys, ["train", family, "--dataset", f"csv:{csv}", "--steps", "20", "--seed", "1", "--json"]
    )
    saved = home / "weights" / f"{family}_csv-letter.npz"
    assert out["out"] == str(saved) and saved.is_file()
    assert out["steps"] == 20 and out["modes_total"] is None
    target = tmp_path / "samples.csv"
    gen = run_json(
        capsys,
        [
            "generate",
            "--model",
            family,
            "--dataset",
            f"csv:{csv}",
            "--n",
            "40",
            "--out",
            str(target),
            "--json",
        ],
    )
    assert gen["samples"] == 40 and 0 <= gen["precision"] <= 1
    back = data.load_csv(target).points
    assert back.shape == (40, 2) and np.isfinite(back).all()
    assert abs(back.mean() - pts.mean()) < 60  # in the data's own coordinates


def test_generate_without_a_trained_model_says_how(capsys, home):
    assert cli.main(["generate", "--model", "flow", "--dataset", "moons", "--out", "x.csv"]) == 1
    assert "train it first: genai-tutor train flow --dataset moons" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv,words",
    [
        (["train", "flow", "--dataset", "swissroll"], "unknown dataset 'swissroll'"),
        (["train", "families", "--budget", "soon"], "not a time budget"),
        (["train", "families", "--budget", "0s"], "between 0.5 s and 1 hour"),
        (["generate", "--model", "autoregressive", "--dataset", "digits"], "2-D points only"),
    ],
)
def test_bad_arguments_are_one_line_usage_errors(capsys, home, argv, words):
    with pytest.raises(SystemExit) as exc:
        code = cli.main(argv)
        raise SystemExit(code)
    assert exc.value.code == 2
    assert words in capsys.readouterr().err


def test_a_bad_csv_is_reported_with_its_line(capsys, home, tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("x,y\n0,0\n1e300,2\n")
    assert cli.main(["train", "autoregressive", "--dataset", f"csv:{csv}", "--json"]) == 1
    err = capsys.readouterr().err
    assert "bad.csv:3:" in err and "too large" in err


def test_nothing_is_written_into_the_package(capsys, home):
    from engine import paths

    inside = paths.content_dir() / "weights" / "flow_ring.npz"
    assert cli.main(["train", "flow", "--dataset", "ring", "--steps", "2", "--out", str(inside)]) == 2
    assert "inside the installed package" in capsys.readouterr().err
    assert not inside.exists()


def test_generate_defaults_to_the_user_samples_folder(capsys, home):
    run_json(capsys, ["train", "autoregressive", "--dataset", "ring", "--steps", "5", "--json"])
    out = run_json(
        capsys, ["generate", "--model", "autoregressive", "--dataset", "ring", "--n", "7", "--json"]
    )
    assert out["out"] == str(home / "samples" / "autoregressive_ring.csv")
    assert len(data.load_csv(out["out"]).points) == 7
