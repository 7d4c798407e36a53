"""Where files live: the one place that says so for the app, the commands and the store.

* **Shipped** (read-only, inside this package): the course, corpus, data sets and
  trained weights. ``shipped(...)``; the engine finds the same folder through
  ``engine.paths`` (it may not import this package).
* **The learner's** (read-write): ``$GENAI_TUTOR_HOME`` if set, else
  ``platformdirs.user_data_path("genai-tutor")``, created private (0700). Progress, the
  weights that ``genai-tutor train`` writes, samples, settings, crash reports.

Nothing in genai-tutor writes into the package; ``tests/test_files.py`` trains against a
read-only copy and checks the shipped weights' hashes.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "GENAI_TUTOR_HOME"
APP_NAME = "genai-tutor"
PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_ROOT = PACKAGE_DIR.parent


def shipped(*parts: str) -> Path:
    """A shipped file or folder, e.g. ``shipped("weights", "lm.npz")``."""
    return PACKAGE_DIR.joinpath(*parts)


def user_home(create: bool = True) -> Path:
    """The learner's data folder (created 0700 on first use)."""
    env = os.environ.get(ENV_HOME)
    if env:
        home = Path(env).expanduser()
    else:
        import platformdirs

        home = platformdirs.user_data_path(APP_NAME)
    if create:
        private_dir(home)
    return home


def user_file(*parts: str, create: bool = True) -> Path:
    """A path under the learner's data folder; its parent folders are created 0700."""
    path = user_home(create).joinpath(*parts)
    if create:
        private_dir(path.parent)
    return path


def user_weights(name: str, create: bool = True) -> Path:
    """Where the learner's own copy of weights file ``name`` lives."""
    return user_file("weights", name, create=create)


def weights_for(name: str, prefer: str = "yours") -> tuple[Path, str]:
    """The weights a lab shows: the learner's own if they exist (and are preferred), else
    the shipped ones. Returns (path, "yours" | "shipped")."""
    own = user_weights(name, create=False)
    if prefer == "yours" and own.is_file():
        return own, "yours"
    return shipped("weights", name), "shipped"


def is_inside_package(path: str | Path) -> bool:
    """Whether ``path`` lies inside one of genai-tutor's installed packages."""
    target = Path(path).expanduser().resolve()
    return any(target.is_relative_to(SOURCE_ROOT / pkg) for pkg in ("content", "engine", "quizzes", "tutor"))


def private_dir(path: Path) -> None:
    """Create ``path`` (and parents) readable by the owner only."""
    old = os.umask(0o077)
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    finally:
        os.umask(old)
