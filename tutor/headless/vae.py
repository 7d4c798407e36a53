"""`genai-tutor train vae` and `genai-tutor train classifier`: the VAE lab's model and the
sprite attribute classifier used by the image metrics, trained headless."""

from __future__ import annotations

import argparse

from tutor.headless import emit, progress_printer
from tutor.headless.args import float_range, int_range, output_file, saved_path, seed_int


def train_vae(args: argparse.Namespace) -> int:
    from engine import vae

    if args.dataset not in vae.DATASETS:  # 2-D points: the families' PointVAE
        from tutor.headless import families

        return families.train_family("vae", args)

    steps = args.steps if args.steps is not None else vae.RECIPES[args.dataset]["steps"]
    progress = progress_printer(f"training VAE on {args.dataset}", steps, args.json)
    out = saved_path(args.out, f"vae_{args.dataset}.npz")
    result = vae.train_headless(
        dataset=args.dataset,
        steps=steps,
        seed=args.seed,
        latent=args.latent,
        beta=args.beta,
        out=out,
        progress=progress,
    )
    result["saved"] = str(out)
    emit(result, args.json)
    return 0


def train_classifier(args: argparse.Namespace) -> int:
    from engine import image_metrics

    progress = progress_printer("training sprite classifier", args.steps, args.json)
    out = saved_path(args.out, "sprite_classifier.npz")
    result = image_metrics.train_classifier(steps=args.steps, seed=args.seed, out=out, progress=progress)
    result["saved"] = str(out)
    emit(result, args.json)
    return 0


def _dataset(value: str) -> str:
    """argparse type: an image set or a 2-D dataset (a toy or csv:FILE)."""
    if value in ("digits", "sprites"):
        return value
    from tutor.headless.families import is_points

    if is_points(value):
        return value
    from engine.data import dataset_names

    raise argparse.ArgumentTypeError(
        f"invalid choice: '{value}' (choose from 'digits', 'sprites', or 2-D points: {dataset_names()})"
    )


def register(models: argparse._SubParsersAction, commands: argparse._SubParsersAction) -> None:
    """Add `train vae` and `train classifier` (`commands` is for top-level commands)."""
    p = models.add_parser(
        "vae", help="the VAE of the VAE lab, or a VAE on 2-D points (saved under your data folder)"
    )
    p.add_argument(
        "--dataset",
        default="digits",
        type=_dataset,
        help="digits, sprites, or 2-D points: ring, moons, spiral, ..., csv:FILE",
    )
    p.add_argument(
        "--steps",
        type=int_range(1, 1_000_000),
        default=None,
        help="training steps (default: the shipped recipe)",
    )
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument(
        "--latent", type=int_range(1, 64), default=2, help="latent size 1..64 (2 draws the latent map)"
    )
    p.add_argument("--beta", type=float_range(0.0, 100.0), default=1.0, help="weight of the KL term (0..100)")
    p.add_argument(
        "--out",
        type=output_file(".npz"),
        default=None,
        help="weights file (default: vae_DATASET.npz in your data folder)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=train_vae)

    c = models.add_parser("classifier", help="the sprite attribute classifier of the image metrics")
    c.add_argument("--steps", type=int_range(1, 1_000_000), default=12000)
    c.add_argument("--seed", type=seed_int, default=0)
    c.add_argument(
        "--out",
        type=output_file(".npz"),
        default=None,
        help="weights file (default: sprite_classifier.npz in your data folder)",
    )
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.set_defaults(handler=train_classifier)
