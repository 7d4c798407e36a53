"""`genai-tutor train diffusion|image-gan` and `genai-tutor generate`: image families headless.

`generate` samples a grid from a shipped model (diffusion, VAE or the image GAN) on
sprites or digits, writes it as a PNG and, with --json, prints
{"samples", "seconds", "attribute_accuracy", "copies", "fid_lite"}.
"""

from __future__ import annotations

import argparse
import sys
import time

from tutor.headless import emit, progress_printer
from tutor.headless.args import float_range, int_range, output_file, prompt_text, saved_path, seed_int

DIFFUSION_SETS = ["sprites", "digits", "ring", "grid", "moons", "spiral", "line"]
IMAGE_SETS = ("sprites", "digits")
IMAGE_MODELS = ("diffusion", "vae", "gan")


def _dataset(value: str) -> str:
    """argparse type: an image set or a 2-D dataset (a toy or csv:FILE)."""
    if value in IMAGE_SETS:
        return value
    from tutor.headless.families import point_dataset

    return point_dataset(value)


def train_diffusion(args: argparse.Namespace) -> int:
    from engine import diffusion_recipes

    if args.dataset not in DIFFUSION_SETS:  # the learner's points or another 2-D toy
        from tutor.headless import families

        return families.train_family("diffusion", args)

    steps = args.steps if args.steps is not None else diffusion_recipes.recipe(args.dataset)["steps"]
    progress = progress_printer("training diffusion", steps, args.json)
    out = saved_path(args.out, diffusion_recipes.pretrained_path(args.dataset).name)
    result = diffusion_recipes.train_headless(
        args.dataset, steps=steps, seed=args.seed, out=out, progress=progress
    )
    result["saved"] = str(out)
    emit(result, args.json)
    return 0


def train_image_gan(args: argparse.Namespace) -> int:
    from engine import image_gan

    steps = args.steps if args.steps is not None else image_gan.RECIPES[args.dataset]["steps"]
    progress = progress_printer("training image GAN", steps, args.json)
    out = saved_path(args.out, image_gan.pretrained_path(args.dataset).name)
    result = image_gan.train_headless(args.dataset, steps=steps, seed=args.seed, out=out, progress=progress)
    result["saved"] = str(out)
    emit(result, args.json)
    return 0


def generate_samples(
    model: str, dataset: str, sampler: str = "ddim", steps: int = 50, n: int = 64, seed: int = 0
):
    """(images (n, h, w, c) in [0, 1], seconds) from a shipped model.

    Raises engine.weights.WeightsError when the model's weights file is missing.
    """
    import numpy as np

    if model == "diffusion":
        from engine import diffusion_recipes

        net = diffusion_recipes.pretrained(dataset)
        start = time.perf_counter()
        images, _ = net.sample(n, steps=steps, sampler=sampler, seed=seed)
    elif model == "vae":
        from engine import vae

        net = vae.pretrained(dataset)
        start = time.perf_counter()
        images = net.sample(n, seed=seed)
    else:
        from engine import image_gan

        net = image_gan.pretrained(dataset)
        start = time.perf_counter()
        images = net.sample(n, seed=seed)
    seconds = time.perf_counter() - start
    return np.clip(images, 0.0, 1.0), seconds


def generate(args: argparse.Namespace) -> int:
    import numpy as np

    from content.safe import visible

    if args.prompt is not None:  # text-to-image
        from tutor.headless.text_to_image import generate_from_prompt

        return generate_from_prompt(args)
    if args.latent or args.guidance is not None:
        print(
            "genai-tutor generate: error: --latent and --guidance go with --prompt (the text-to-image model)",
            file=sys.stderr,
        )
        return 2
    if args.dataset not in IMAGE_SETS:  # 2-D points: a CSV of samples
        from tutor.headless import families

        return families.generate_points(args)
    if args.model not in IMAGE_MODELS:
        print(
            f"genai-tutor generate: error: --model {args.model} draws 2-D points only "
            f"(use a 2-D --dataset); on images choose from {', '.join(IMAGE_MODELS)}",
            file=sys.stderr,
        )
        return 2

    from engine import diffusion_recipes, png, render
    from engine.weights import WeightsError

    if args.out is not None and str(args.out).lower().endswith(".csv"):
        print(
            "genai-tutor generate: error: images are written as PNG; give --out a .png name", file=sys.stderr
        )
        return 2

    if args.out is None:
        from content.paths import user_file

        args.out = user_file("samples", f"{args.model}_{args.dataset}_seed{args.seed}.png")
    try:  # everything that can fail runs before the PNG is written
        images, seconds = generate_samples(
            args.model, args.dataset, args.sampler, args.steps, args.n, args.seed
        )
        quality = diffusion_recipes.image_quality(
            images, diffusion_recipes.load_dataset(args.dataset), args.dataset
        )
        grid = render.image_grid(
            images[..., 0] if images.shape[-1] == 1 else images, cols=int(np.ceil(np.sqrt(len(images))))
        )
        png.write_png(args.out, grid, scale=args.scale)
    except (WeightsError, OSError) as exc:
        print(visible(f"genai-tutor generate: {exc}"), file=sys.stderr)
        return 1
    result = {
        "samples": int(len(images)),
        "seconds": round(seconds, 4),
        "attribute_accuracy": quality["attribute_accuracy"],
        "copies": quality["copies"],
        "fid_lite": quality["fid_lite"],
        "model": args.model,
        "dataset": args.dataset,
        "out": str(args.out or "samples.png"),
    }
    if args.model == "diffusion":
        result.update(sampler=args.sampler, steps=args.steps)
    emit(result, args.json)
    return 0


def register(models: argparse._SubParsersAction, commands: argparse._SubParsersAction) -> None:
    """Add `train diffusion`, `train image-gan` and the top-level `generate` command."""
    p = models.add_parser("diffusion", help="the diffusion denoiser (sprites, digits or a 2-D set)")
    p.add_argument(
        "--dataset",
        default="sprites",
        type=_dataset,
        help=f"{', '.join(DIFFUSION_SETS)}, moons-bridge or csv:FILE",
    )
    p.add_argument(
        "--steps", type=int_range(1, 1_000_000), default=None, help="training steps (default: the recipe's)"
    )
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument(
        "--out", type=output_file(".npz"), default=None, help="weights file (default: under your data folder)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=train_diffusion)

    p = models.add_parser("image-gan", help="the MLP image GAN on sprites or digits")
    p.add_argument("--dataset", default="sprites", choices=["sprites", "digits"])
    p.add_argument("--steps", type=int_range(1, 1_000_000), default=None)
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument(
        "--out", type=output_file(".npz"), default=None, help="weights file (default: under your data folder)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=train_image_gan)

    p = commands.add_parser("generate", help="sample a grid of images from a shipped model into a PNG")
    p.add_argument(
        "--model", default="diffusion", choices=["diffusion", "vae", "gan", "flow", "autoregressive"]
    )
    p.add_argument(
        "--dataset",
        default="sprites",
        type=_dataset,
        help="sprites, digits (a PNG grid) or a 2-D set: ring, moons, spiral, ..., "
        "csv:FILE (a CSV of samples, from the model `train MODEL --dataset D` saved)",
    )
    p.add_argument("--sampler", default="ddim", choices=["ddpm", "ddim"])
    p.add_argument("--steps", type=int_range(1, 1000), default=50, help="diffusion sampling steps (1..1000)")
    p.add_argument("--n", type=int_range(1, 1024), default=64, help="how many samples (1..1024)")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument(
        "--scale", type=int_range(1, 16), default=4, help="pixels per sample pixel in the PNG (1..16)"
    )
    p.add_argument(
        "--out",
        type=output_file(".png", ".csv"),
        default=None,
        help="the PNG grid, or a .csv of 2-D points (default: samples/ in your data folder)",
    )
    p.add_argument(
        "--prompt",
        type=prompt_text,
        default=None,
        help='draw sprites from a text prompt, e.g. "a big blue cross at the top" (the text-to-image model)',
    )
    p.add_argument(
        "--guidance",
        type=float_range(0.0, 15.0),
        default=None,
        help="classifier-free guidance scale for --prompt, 0..15 (default: the model's)",
    )
    p.add_argument(
        "--latent",
        action="store_true",
        help="with --prompt: diffuse in the autoencoder's 4x4x4 latent, not in pixels",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=generate)
