"""Headless lab commands: `genai-tutor train …`, `sample …`, `generate …`.

Each command trains or samples an engine model without the UI, shows a progress bar on
stderr, and prints either a short summary or, with --json, one JSON object on stdout.
This is how tests and benchmarks drive the labs. The engine is imported only when a
command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable


def _progress_printer(label: str, total: int, quiet: bool) -> Callable[[int, int], None]:
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


def _emit(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")


# ------------------------------------------------------------------ train gan


def train_gan(args: argparse.Namespace) -> int:
    from engine import gan

    progress = _progress_printer("training GAN", args.iterations, args.json)
    result = gan.train_headless(dataset=args.dataset, iterations=args.iterations, seed=args.seed,
                                preset=args.preset, progress=progress)
    _emit(result, args.json)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train a lab's model headless and print its metrics")
    models = train.add_subparsers(dest="model", metavar="MODEL", required=True, parser_class=type(train))

    p = models.add_parser("gan", help="the 2-D GAN of the GAN lab")
    p.add_argument("--dataset", default="ring", choices=["ring", "grid", "moons", "spiral", "line"])
    p.add_argument("--iterations", type=int, default=4000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--preset", default="healthy", choices=["healthy", "mode collapse", "discriminator too strong"])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=train_gan)
