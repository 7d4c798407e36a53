"""Where the engine finds shipped data (data sets, trained weights): read-only files
inside the installed ``content`` package, located through ``importlib`` without
importing it, so the engine still imports nothing above itself.

The learner's own files (progress, trained weights, samples) are resolved by
``content.paths``; nothing in genai-tutor writes into the package.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def content_dir() -> Path:
    """The installed ``content`` package folder (shipped, read-only)."""
    spec = importlib.util.find_spec("content")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the genai-tutor course package ('content') is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def shipped(*parts: str) -> Path:
    """A shipped file or folder, e.g. ``shipped("weights", "lm.npz")``."""
    return content_dir().joinpath(*parts)
