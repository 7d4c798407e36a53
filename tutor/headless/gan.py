"""`genai-tutor train gan`: the GAN lab's 2-D GAN, trained headless."""

from __future__ import annotations

import argparse

from tutor.headless import emit, progress_printer
from tutor.headless.args import int_range, seed_int
from tutor.headless.families import point_dataset

# ------------------------------------------------------------------ train gan


def train_gan(args: argparse.Namespace) -> int:
    from engine import gan

    if args.steps is not None or args.dataset not in gan.datasets.TOYS:
        from tutor.headless import families  # the families' GAN, saved for `generate`

        return families.train_family("gan", args)

    progress = progress_printer("training GAN", args.iterations, args.json)
    result = gan.train_headless(
        dataset=args.dataset,
        iterations=args.iterations,
        seed=args.seed,
        preset=args.preset,
        progress=progress,
    )
    emit(result, args.json)
    return 0


def register(models: argparse._SubParsersAction, commands: argparse._SubParsersAction) -> None:
    """Add `train gan` to the `train` models (`commands` is for top-level commands)."""
    p = models.add_parser("gan", help="the 2-D GAN of the GAN lab")
    p.add_argument(
        "--dataset",
        default="ring",
        type=point_dataset,
        help="ring, grid, moons, moons-bridge, spiral, line or csv:FILE",
    )
    p.add_argument(
        "--iterations", type=int_range(1, 1_000_000), default=4000, help="training rounds (1..1000000)"
    )
    p.add_argument(
        "--steps",
        type=int_range(1, 1_000_000),
        default=None,
        help="train the healthy preset this many rounds and save it under the user "
        "data folder for `generate` (csv:FILE datasets always do)",
    )
    p.add_argument("--out", default=None, help=argparse.SUPPRESS)
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument(
        "--preset", default="healthy", choices=["healthy", "mode collapse", "discriminator too strong"]
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=train_gan)
