"""Headless lab commands: `genai-tutor train MODEL …`, `sample …`, `generate …`.

Each command trains or samples an engine model without the UI, shows a progress bar on
stderr, and prints either a short summary or, with --json, one JSON object on stdout.
This is how tests and benchmarks drive the labs. Each model family has one module here
with a `register(models, commands)` function; the engine is imported only when a
command runs.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable

# One module per model family; each adds its `train` model and any top-level commands.
MODULES = [
    "tutor.headless.gan",
    "tutor.headless.lm",
    "tutor.headless.diffusion",
    "tutor.headless.vae",
    "tutor.headless.transformer",
    "tutor.headless.clip",
    "tutor.headless.families",
    "tutor.headless.art",
    "tutor.headless.evaluate",
    "tutor.headless.text_to_image",
]


def progress_printer(label: str, total: int, quiet: bool) -> Callable[[int, int], None]:
    """A plain one-line progress bar on stderr (stays quiet when stderr is not a terminal)."""
    show = not quiet and sys.stderr.isatty()
    last = [0.0]

    def progress(done: int, total_: int = total) -> None:
        if not show:
            return
        now = time.monotonic()
        if done < total_ and now - last[0] < 0.1:
            return
        last[0] = now
        width = 30
        filled = int(width * done / max(total_, 1))
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total_}")
        if done >= total_:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return progress


def emit(result: dict, as_json: bool) -> None:
    """Print a result: JSON (which escapes control characters) or key: value lines, each
    through the sanitising gate (values can hold file names and model words)."""
    from content.safe import visible

    if as_json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(visible(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}"))


def add_commands(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train a lab's model headless and print its metrics")
    models = train.add_subparsers(dest="model", metavar="MODEL", required=True, parser_class=type(train))
    for name in MODULES:
        importlib.import_module(name).register(models, sub)
