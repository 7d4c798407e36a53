"""Argument types for the command line: every value is checked when it is parsed.

Each function returns an ``argparse`` ``type=`` callable. A bad value raises
``argparse.ArgumentTypeError`` with a plain sentence; the parser turns it into one line
on stderr and exit code 2 (``tutor.cli``'s one error path). Nothing is checked later.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path


def int_range(low: int, high: int | None = None, what: str = "a whole number") -> Callable[[str], int]:
    """Whole numbers in [low, high] (high None: no upper bound)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip(), 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{value} is out of range: use {what} {span}")
        return value

    return parse


positive_int = int_range(1)
seed_int = int_range(0, 2**32 - 1, "a seed")


def float_range(low: float, high: float, inclusive_low: bool = True) -> Callable[[str], float]:
    """Finite floats in [low, high] (or (low, high] when ``inclusive_low`` is false)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if value > high or value < low or (value == low and not inclusive_low):
            left = "[" if inclusive_low else "("
            raise argparse.ArgumentTypeError(f"{value:g} is out of range {left}{low:g}, {high:g}]")
        return value

    return parse


def prompt_text(text: str) -> str:
    """A text-to-image prompt: at most 200 characters with at least one word the model
    knows (unknown words are allowed; the command reports them)."""
    from engine import captions

    if len(text) > 200:
        raise argparse.ArgumentTypeError(f"the prompt has {len(text)} characters; use at most 200")
    if not captions.tokenize(text):
        raise argparse.ArgumentTypeError(
            f"no word of {text!r} is in the model's vocabulary; it knows: {', '.join(captions.VOCAB)}"
        )
    return text


def duration(text: str) -> float:
    """Seconds as "20", "20s" or "2m"; between 1 s and 1 hour."""
    raw = text.strip().lower()
    scale = 60.0 if raw.endswith("m") else 1.0
    number = raw.rstrip("sm")
    try:
        value = float(number) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (e.g. 20s or 2m)") from None
    if not math.isfinite(value) or not 1 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range: use 1s to 60m")
    return value


def output_file(*extensions: str) -> Callable[[str], Path]:
    """A file to write: the right extension, an existing writable folder, not a folder
    itself, and never inside the installed package."""

    def parse(text: str) -> Path:
        from content.paths import is_inside_package

        path = Path(text).expanduser()
        if extensions and path.suffix.lower() not in extensions:
            raise argparse.ArgumentTypeError(f"{text!r} must end in {' or '.join(extensions)}")
        if path.is_dir():
            raise argparse.ArgumentTypeError(f"{text!r} is a folder; give a file name")
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            raise argparse.ArgumentTypeError(f"the folder {str(folder)!r} does not exist")
        if not os.access(folder, os.W_OK):
            raise argparse.ArgumentTypeError(f"the folder {str(folder)!r} is not writable")
        if is_inside_package(path):
            raise argparse.ArgumentTypeError(
                f"{text!r} is inside the installed package, which is never written to; "
                "leave --out out to save under your data folder"
            )
        return path

    return parse


def existing_file(text: str) -> Path:
    """A regular file that exists and can be read."""
    path = Path(text).expanduser()
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is not a readable file")
    return path


def saved_path(out: Path | None, name: str) -> Path:
    """Where a command saves weights: ``--out`` if given, else the learner's data folder."""
    if out is not None:
        return out
    from content.paths import user_weights

    return user_weights(name)
