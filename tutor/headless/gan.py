"""`genai-tutor train gan`: the GAN lab's 2-D GAN, trained headless."""

from __future__ import annotations

import argparse

from tutor.headless import emit, progress_printer
from tutor.headless.args import int_range, seed_int

# ------------------------------------------------------------------ train gan


def train_gan(args: argparse.Namespace) -> int:
    from engine import gan

    progress = progress_printer("training GAN", args.iterations, args.json)
    result = gan.train_headless(dataset=args.dataset, iterations=args.iterations, seed=args.seed,
                                preset=args.preset, progress=progress)
    emit(result, args.json)
    return 0


def register(models: argparse._SubParsersAction, commands: argparse._SubParsersAction) -> None:
    """Add `train gan` to the `train` models (`commands` is for top-level commands)."""
    p = models.add_parser("gan", help="the 2-D GAN of the GAN lab")
    p.add_argument("--dataset", default="ring", choices=["ring", "grid", "moons", "spiral", "line"])
    p.add_argument("--iterations", type=int_range(1, 1_000_000), default=4000,
                   help="training rounds (1..1000000)")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--preset", default="healthy",
                   choices=["healthy", "mode collapse", "discriminator too strong"])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=train_gan)
