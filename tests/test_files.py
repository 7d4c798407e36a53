"""Nothing is ever written into the installed package: every `train` command saves under
the learner's data folder (GENAI_TUTOR_HOME here) and the shipped files stay as they were.

The package folders are made read-only for the test (root ignores file modes, so the
hashes and the file listing are the real check)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from content.paths import SOURCE_ROOT, is_inside_package, user_weights, weights_for
from tutor import cli

PACKAGES = [SOURCE_ROOT / name for name in ("content", "engine", "quizzes", "tutor")]
TRAIN = [
    (["train", "lm", "--steps", "2"], "lm.npz"),
    (["train", "vae", "--dataset", "digits", "--steps", "2"], "vae_digits.npz"),
    (["train", "diffusion", "--dataset", "ring", "--steps", "2"], "diffusion_2d_ring.npz"),
    (["train", "image-gan", "--dataset", "digits", "--steps", "2"], "gan_digits.npz"),
    (["train", "classifier", "--steps", "2"], "sprite_classifier.npz"),
]


def snapshot() -> dict[str, str]:
    """Hash of every file in the packages (compiled caches aside)."""
    out = {}
    for root in PACKAGES:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".nbi", ".nbc"):
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture
def read_only_package():
    folders = [p for root in PACKAGES for p in [root, *root.rglob("*")]
               if p.is_dir() and "__pycache__" not in p.parts]
    modes = {p: p.stat().st_mode for p in folders}
    for p in folders:
        p.chmod(modes[p] & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        yield
    finally:
        for p, mode in modes.items():
            p.chmod(mode)


@pytest.mark.parametrize("argv,name", TRAIN, ids=[a[1] for a, _ in TRAIN])
def test_train_saves_under_the_data_folder_never_the_package(argv, name, tutor_home, capsys,
                                                             read_only_package):
    before = snapshot()
    assert cli.main([*argv, "--seed", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    saved = Path(result["saved"])
    assert saved == user_weights(name) and saved.is_file()
    assert saved.is_relative_to(tutor_home) and not is_inside_package(saved)
    assert snapshot() == before
    # the learner's weights are now the ones a lab picks first; shipped stays one key away
    assert weights_for(name) == (saved, "yours")
    assert weights_for(name, prefer="shipped")[1] == "shipped"


def test_out_inside_the_package_is_refused(capsys):
    shipped = weights_for("lm.npz", prefer="shipped")[0]
    with pytest.raises(SystemExit) as stop:
        cli.main(["train", "lm", "--steps", "1", "--out", str(shipped)])
    assert stop.value.code == 2
    assert "inside the installed package" in capsys.readouterr().err


def test_data_folder_is_private(tutor_home):
    folder = user_weights("x.npz").parent
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
