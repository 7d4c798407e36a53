"""`genai-tutor art`: paint a seeded picture (the L01 art lab's engine) into a PNG.

The recipe line it prints redraws exactly the same picture: `--recipe` reads it back,
and `--seed` (when given) replaces the recipe's seed, so the same style meets a new seed.
"""

from __future__ import annotations

import argparse
import sys
import time

from tutor.headless import emit
from tutor.headless.args import int_range, output_file, seed_int


def recipe_text(text: str):
    """argparse type: a recipe line, checked when it is parsed."""
    from engine import art

    try:
        return art.parse_recipe(text)
    except art.RecipeError as exc:
        raise argparse.ArgumentTypeError(f"bad recipe: {exc}") from None


def paint(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from engine import art, png

    recipe = args.recipe if args.recipe is not None else art.Recipe()
    if args.seed is not None:
        recipe = replace(recipe, seed=args.seed)
    start = time.perf_counter()
    pixels = art.render(recipe, args.size)
    seconds = time.perf_counter() - start
    out = args.out
    if out is None:
        from content.paths import user_file

        out = user_file("art", f"art_seed{recipe.seed}_{args.size}px_{art.fingerprint(pixels)}.png")
    png.write_png(out, pixels)
    emit(
        {
            "recipe": art.format_recipe(recipe),
            "seed": recipe.seed,
            "size": args.size,
            "seconds": round(seconds, 4),
            "fingerprint": art.fingerprint(pixels),
            "out": str(out),
        },
        args.json,
    )
    if not args.json:
        print(
            f"saved {out}; the recipe above redraws it: genai-tutor art --recipe {art.format_recipe(recipe)}",
            file=sys.stderr,
        )
    return 0


def register(models: argparse._SubParsersAction, commands: argparse._SubParsersAction) -> None:
    """Add the top-level `art` command (no model to train)."""
    p = commands.add_parser("art", help="paint seeded generative art into a PNG (same seed, same image)")
    p.add_argument(
        "--seed", type=seed_int, default=None, help="the seed (0..4294967295; default 42, or the recipe's)"
    )
    p.add_argument(
        "--recipe",
        type=recipe_text,
        default=None,
        help="a recipe line such as art1:seed=42,pal=ocean,sym=quad (missing settings: defaults)",
    )
    p.add_argument("--size", type=int_range(1, 4096), default=256, help="pixels a side (1..4096)")
    p.add_argument(
        "--out", type=output_file(".png"), default=None, help="the PNG (default: art/ in your data folder)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=paint)
