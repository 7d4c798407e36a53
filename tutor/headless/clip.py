"""`genai-tutor train clip` and `genai-tutor clip search|zero-shot`: the tiny CLIP headless.

`train clip` trains from scratch and saves into the learner's data folder
(``content.paths``; never into the package); `--out` picks another file. `clip search` and
`clip zero-shot` use the
shipped weights (content/weights/clip_sprites.npz) unless `--weights` names another file.
"""

from __future__ import annotations

import argparse
import sys

from tutor.headless import emit, progress_printer
from tutor.headless.args import (
    existing_file,
    int_range,
    output_file,
    saved_path,
    seed_int,
)

WEIGHTS_NAME = "clip_sprites.npz"
ATTRIBUTES = ("colour", "shape", "position", "size")


def _error(command: str, message: str, code: int = 2) -> int:
    print(f"genai-tutor {command}: error: {message}", file=sys.stderr)
    return code


def train_clip(args: argparse.Namespace) -> int:
    from engine import clip

    steps = clip.RECIPE_STEPS if args.steps is None else args.steps
    out = saved_path(args.out, WEIGHTS_NAME)
    progress = progress_printer("training CLIP", steps, args.json)
    result = clip.train_headless(out, steps=steps, seed=args.seed, progress=progress)
    result["saved"] = str(out)
    emit(result, args.json)
    return 0


def _load(command: str, path: str | None):
    """(model, None) or (None, exit code) with the message printed."""
    from engine import clip
    from engine.weights import WeightsError

    try:
        return (clip.pretrained() if path is None else clip.CLIP.load(path)), None
    except WeightsError as exc:
        return None, _error(command, f"{exc} (train one with 'genai-tutor train clip')", 1)


def search(args: argparse.Namespace) -> int:
    from engine import captions, clip, images, png, render

    if not captions.tokenize(args.text):
        return _error(
            "clip search",
            f"no word of {args.text!r} is in the model's vocabulary (it knows: {', '.join(captions.VOCAB)})",
        )
    model, code = _load("clip search", args.weights)
    if model is None:
        return code
    pool = images.sprites(args.pool, args.seed)
    top, cos = model.search(args.text, pool.images, n=min(args.n, args.pool))
    attrs = clip.sprite_attributes(pool)
    results = [
        {
            "rank": r + 1,
            "index": int(i),
            "cosine": round(float(c), 4),
            "shape": images.SHAPES[attrs[i, 0]],
            "colour": images.COLOURS[attrs[i, 1]],
            "position": images.POSITIONS[attrs[i, 2]],
            "size": images.SIZES[attrs[i, 3]],
            "caption": pool.captions[i],
        }
        for r, (i, c) in enumerate(zip(top, cos))
    ]
    result = {
        "query": args.text,
        "unknown_words": captions.unknown_words(args.text),
        "pool": args.pool,
        "seed": args.seed,
        "results": results,
    }
    if args.out:
        strip = render.image_grid(pool.images[top], cols=len(top))
        result["out"] = str(png.write_png(args.out, strip, scale=args.scale))
    if args.json:
        emit(result, True)
    else:
        if result["unknown_words"]:
            print(f"ignored (unknown words): {', '.join(result['unknown_words'])}")
        for row in results:
            print(f"{row['rank']}. cosine {row['cosine']:+.3f}  {row['caption']}")
        if args.out:
            print(f"strip: {result['out']}")
    return 0


def _parse_templates(items: list[str]) -> dict[str, list[str]]:
    """'colour=a photo of a {colour} thing' -> {"colour": [...]}; ValueError if malformed."""
    out: dict[str, list[str]] = {}
    for item in items:
        name, sep, template = item.partition("=")
        name = name.strip()
        if not sep or name not in ATTRIBUTES:
            raise ValueError(
                f"--template needs ATTRIBUTE=TEXT with ATTRIBUTE one of {', '.join(ATTRIBUTES)}; got {item!r}"
            )
        slot = "{where}" if name == "position" else "{" + name + "}"
        if slot not in template:
            raise ValueError(f"the {name} template {template!r} needs the slot {slot}")
        out.setdefault(name, []).append(template.strip())
    return out


def zero_shot(args: argparse.Namespace) -> int:
    import numpy as np

    from engine import clip, image_metrics, images
    from engine.weights import WeightsError

    try:
        extra = _parse_templates(args.template or [])
    except ValueError as exc:
        return _error("clip zero-shot", str(exc))
    model, code = _load("clip zero-shot", args.weights)
    if model is None:
        return code
    templates = {
        name: tuple(clip.ZERO_SHOT_TEMPLATES[name]) + tuple(extra.get(name, ())) for name in ATTRIBUTES
    }
    sprites = images.sprites(args.n, args.seed)
    try:
        zs = model.zero_shot(sprites.images, clip.sprite_attributes(sprites), templates)
    except ValueError as exc:
        return _error("clip zero-shot", str(exc))
    result: dict = {
        "sprites": args.n,
        "seed": args.seed,
        "accuracy": {name: zs[name]["accuracy"] for name in ATTRIBUTES},
        "per_template": {name: zs[name]["per_template"] for name in ATTRIBUTES},
    }
    try:  # the supervised classifier, trained with labels, for comparison
        s, _, c, _ = image_metrics.shipped_classifier().predict(sprites.images)
        result["supervised_classifier"] = {
            "shape": float(np.mean(s == sprites.shape)),
            "colour": float(np.mean(c == sprites.colour)),
        }
    except WeightsError:
        pass
    if args.json:
        emit(result, True)
    else:
        for name in ATTRIBUTES:
            for template, acc in result["per_template"][name].items():
                print(f"{name:9s} {acc:6.1%}  {template!r}")
        if "supervised_classifier" in result:
            sup = result["supervised_classifier"]
            print(f"supervised classifier: shape {sup['shape']:.1%}, colour {sup['colour']:.1%}")
    return 0


def register(models: argparse._SubParsersAction, commands: argparse._SubParsersAction) -> None:
    """Add `train clip` and the top-level `clip search` / `clip zero-shot` commands."""
    p = models.add_parser("clip", help="the tiny CLIP of the CLIP lab (saves to your data folder)")
    p.add_argument(
        "--steps", type=int_range(1, 1_000_000), default=None, help="training steps (default: the recipe's)"
    )
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument(
        "--out",
        type=output_file(".npz"),
        default=None,
        help=f"weights file (default: {WEIGHTS_NAME} in your data folder)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=train_clip)

    top = commands.add_parser("clip", help="search sprites by caption, or classify them zero-shot")
    sub = top.add_subparsers(dest="clip_command", metavar="ACTION", required=True, parser_class=type(top))
    s = sub.add_parser("search", help="the sprites most similar to a caption")
    s.add_argument("text", help='a caption, e.g. "a big blue cross"')
    s.add_argument("--n", type=int_range(1, 100), default=5, help="how many sprites to return")
    s.add_argument(
        "--pool", type=int_range(1, 100_000), default=1000, help="how many fresh sprites to search"
    )
    s.add_argument("--seed", type=seed_int, default=0, help="seed of the fresh sprites")
    s.add_argument(
        "--out", type=output_file(".png"), default=None, help="write the found sprites as a PNG strip"
    )
    s.add_argument("--scale", type=int_range(1, 32), default=4, help="pixels per sprite pixel in the PNG")
    s.add_argument(
        "--weights", type=existing_file, default=None, help="a weights file (default: the shipped one)"
    )
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(handler=search)

    z = sub.add_parser("zero-shot", help="classify fresh sprites by captions alone")
    z.add_argument("--n", type=int_range(1, 100_000), default=1000, help="how many fresh sprites")
    z.add_argument("--seed", type=seed_int, default=2026, help="seed of the fresh sprites")
    z.add_argument(
        "--template",
        action="append",
        metavar="ATTRIBUTE=TEXT",
        help='another prompt, e.g. "colour=a photo of a {colour} thing" (repeatable)',
    )
    z.add_argument(
        "--weights", type=existing_file, default=None, help="a weights file (default: the shipped one)"
    )
    z.add_argument("--json", action="store_true", help="print one JSON object")
    z.set_defaults(handler=zero_shot)
