"""Where files live: what ships with the package, and what the learner makes.

* **Shipped** data (the course, the corpus, data sets, trained weights) sits inside the
  installed ``content`` package and is only ever read. It is found through
  ``importlib`` (the package's spec), so this works from a wheel, an editable install or
  a clone, and the engine still imports nothing above itself.
* **The learner's** files (progress, weights a ``train`` command or a lab produces,
  crash reports) go to the user data folder: ``$GENAI_TUTOR_HOME`` if set, else
  ``platformdirs.user_data_path("genai-tutor")``. Folders are created private (0700).

Nothing in genai-tutor writes into the package; ``tests/test_files.py`` runs every
``train`` command against a read-only copy and checks the shipped hashes.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

ENV_HOME = "GENAI_TUTOR_HOME"
APP_NAME = "genai-tutor"


def content_dir() -> Path:
    """The installed ``content`` package folder (shipped, read-only)."""
    spec = importlib.util.find_spec("content")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the genai-tutor course package ('content') is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def shipped(*parts: str) -> Path:
    """A shipped file or folder, e.g. ``shipped("weights", "lm.npz")``."""
    return content_dir().joinpath(*parts)


def shipped_weights(name: str) -> Path:
    return shipped("weights", name)


def user_home(create: bool = True) -> Path:
    """The learner's data folder (created 0700 on first use)."""
    env = os.environ.get(ENV_HOME)
    if env:
        home = Path(env).expanduser()
    else:
        import platformdirs

        home = platformdirs.user_data_path(APP_NAME)
    if create:
        _private_dir(home)
    return home


def user_weights(name: str, create: bool = True) -> Path:
    """Where the learner's own copy of weights file ``name`` lives."""
    folder = user_home(create) / "weights"
    if create:
        _private_dir(folder)
    return folder / name


def weights_for(name: str, prefer: str = "yours") -> tuple[Path, str]:
    """The weights a lab should show: the learner's own if they exist (and are preferred),
    else the shipped ones. Returns (path, "yours" | "shipped")."""
    own = user_weights(name, create=False)
    if prefer == "yours" and own.is_file():
        return own, "yours"
    return shipped_weights(name), "shipped"


def is_inside_package(path: Path) -> bool:
    """Whether ``path`` is inside the installed package (where nothing may be written)."""
    root = content_dir().resolve().parent
    target = Path(path).resolve()
    return any(target.is_relative_to(root / pkg) for pkg in ("content", "engine", "quizzes", "tutor"))


def _private_dir(path: Path) -> None:
    old = os.umask(0o077)
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    finally:
        os.umask(old)
