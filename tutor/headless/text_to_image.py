"""`genai-tutor train text-to-image` and `genai-tutor generate --prompt ...`: words to sprites.

`train text-to-image --kind pixel|latent` trains the text-conditioned diffusion model of
``engine.text_to_image`` (the latent kind trains its autoencoder first) and saves it into
the learner's data folder (``--out`` picks another file; the latent kind's autoencoder goes
beside it as ``*_autoencoder.npz``). The shipped copies are content/weights/text_to_image_*.

`generate --prompt TEXT` is the `generate` command (tutor.headless.diffusion) with a
prompt: it samples ``--n`` sprites (sample i from seed S + i) from the shipped model,
writes them as a PNG grid and prints, per sample, the attributes the classifier reads
back, whether every attribute the prompt states was drawn, CLIPScore-lite against the
prompt and the seconds that sample took. Words the model does not know are reported
(and ignored); a prompt with no known word is refused.
"""

from __future__ import annotations

import argparse
import sys
import time

from tutor.headless import emit, progress_printer
from tutor.headless.args import existing_file, int_range, output_file, saved_path, seed_int


def train_text_to_image(args: argparse.Namespace) -> int:
    from engine import text_to_image as t2i

    steps = t2i.RECIPES[args.kind]["steps"] if args.steps is None else args.steps
    out = saved_path(args.out, t2i.pretrained_path(args.kind).name)
    if args.autoencoder is not None and args.kind != "latent":
        print(
            "genai-tutor train text-to-image: error: --autoencoder goes with --kind latent", file=sys.stderr
        )
        return 2
    total = steps
    if args.kind == "latent" and args.autoencoder is None:  # its steps come first, same bar
        recipe = t2i.RECIPES["latent"]
        total = steps + max(1, steps * recipe["autoencoder_steps"] // recipe["steps"])
    bar = progress_printer(f"training text-to-image ({args.kind})", total, args.json)
    offset = [0, 0]

    def progress(done: int, of: int) -> None:
        if done < offset[1]:  # a new phase restarted its count
            offset[0] += offset[1]
        offset[1] = done
        bar(offset[0] + done, total)

    result = t2i.train_headless(
        args.kind, out, steps=steps, seed=args.seed, progress=progress, autoencoder=args.autoencoder
    )
    result["saved"] = str(out)
    emit(result, args.json)
    return 0


def generate_from_prompt(args: argparse.Namespace) -> int:
    """The `generate` command when --prompt is given (its options are checked by then)."""
    import numpy as np

    from content.safe import visible
    from engine import png, render
    from engine import text_to_image as t2i
    from engine.weights import WeightsError

    def fail(message: str, code: int = 2) -> int:
        print(visible(f"genai-tutor generate: error: {message}"), file=sys.stderr)
        return code

    if args.model != "diffusion" or args.dataset != "sprites":
        return fail(
            "--prompt draws sprites with the text-to-image diffusion model; "
            "leave --model and --dataset at their defaults"
        )
    if args.out is not None and str(args.out).lower().endswith(".csv"):
        return fail("images are written as PNG; give --out a .png name")
    unknown = t2i.TextToImage.unknown_words(args.prompt)
    if unknown and not args.json:
        print(
            visible(f"genai-tutor generate: not in the model's vocabulary, ignored: {', '.join(unknown)}"),
            file=sys.stderr,
        )
    kind = "latent" if args.latent else "pixel"
    if args.out is None:
        from content.paths import user_file

        args.out = user_file("samples", f"text_to_image_{kind}_seed{args.seed}.png")
    try:
        model = t2i.pretrained(kind)
        guidance = model.diffusion.config.guidance if args.guidance is None else args.guidance
        model.generate(args.prompt, n=1, steps=1)  # compile/load the kernels before timing
        pictures, seconds = [], []
        for i in range(args.n):
            start = time.perf_counter()
            image, _ = model.generate(
                args.prompt,
                n=1,
                seed=args.seed + i,
                guidance=guidance,
                steps=args.steps,
                sampler=args.sampler,
            )
            seconds.append(time.perf_counter() - start)
            pictures.append(image[0])
        images = np.stack(pictures)
        read = t2i.read_attributes(images)
        scores = model.text_encoder.clip_score(images, [args.prompt] * len(images))
        grid = render.image_grid(images, cols=int(np.ceil(np.sqrt(len(images)))))
        png.write_png(args.out, grid, scale=args.scale)
    except (WeightsError, OSError) as exc:
        return fail(f"{exc}", 1)
    wanted = t2i.prompt_slots(args.prompt)
    right = t2i.requested_right(read, np.tile(wanted, (len(read), 1)))
    samples = [
        {
            "seed": args.seed + i,
            "attributes": t2i.attribute_names(read[i]),
            "requested_right": bool(right[i]),
            "clip_score": round(float(scores[i]), 2),
            "seconds": round(seconds[i], 4),
        }
        for i in range(len(images))
    ]
    requested = {k: v for k, v in t2i.attribute_names(wanted).items() if v != "?"}
    if args.json:
        emit(
            {
                "prompt": args.prompt,
                "unknown_words": unknown,
                "requested": requested,
                "kind": kind,
                "guidance": guidance,
                "sampler": args.sampler,
                "steps": args.steps,
                "samples": samples,
                "requested_right": float(right.mean()),
                "clip_score": round(float(scores.mean()), 2),
                "out": str(args.out),
            },
            True,
        )
        return 0
    print(
        visible(
            f"prompt: {args.prompt}  ({kind}, guidance {guidance:g}, {args.sampler.upper()}-{args.steps})"
        )
    )
    print(visible("asked for: " + (", ".join(f"{k} {v}" for k, v in requested.items()) or "nothing")))
    for s in samples:
        a = s["attributes"]
        print(
            visible(
                f"seed {s['seed']}: {a['size']} {a['colour']} {a['shape']} {a['position']}"
                f"  {'right' if s['requested_right'] else 'WRONG'}"
                f"  CLIPScore-lite {s['clip_score']:.1f}  {s['seconds']:.3f} s"
            )
        )
    print(visible(f"out: {args.out}"))
    return 0


def register(models: argparse._SubParsersAction, commands: argparse._SubParsersAction) -> None:
    """Add `train text-to-image` (the prompt options of `generate` live with that command)."""
    p = models.add_parser("text-to-image", help="the text-conditioned sprite diffusion model")
    p.add_argument(
        "--kind",
        default="pixel",
        choices=["pixel", "latent"],
        help="diffuse the 16x16x3 pixels or the autoencoder's 4x4x4 latent",
    )
    p.add_argument(
        "--steps",
        type=int_range(1, 1_000_000),
        default=None,
        help="diffusion training steps (default: the recipe's)",
    )
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument(
        "--out", type=output_file(".npz"), default=None, help="weights file (default: under your data folder)"
    )
    p.add_argument(
        "--autoencoder",
        type=existing_file,
        default=None,
        help="--kind latent: reuse this trained autoencoder (*_autoencoder.npz) instead of training one",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=train_text_to_image)
