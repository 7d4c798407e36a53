"""`genai-tutor evaluate`: the metrics lab's (L11) table, headless.

For every family that draws sprites (GAN, VAE, diffusion with DDPM and with DDIM) and
for fresh real sprites: FID-lite, precision, recall, attribute accuracy, CLIPScore-lite
where a prompt exists, and the memorisation check; then the language model's perplexity
on held-out text, shuffled words and another domain. The numbers come from
``engine.evaluation``, the same code the lab calls, so they match the lab's.
"""

from __future__ import annotations

import argparse
import sys

from tutor.headless import emit, progress_printer
from tutor.headless.args import int_range, seed_int

MAX_N = 2048


def _figure(value, fmt: str) -> str:
    width = int(fmt.split(".")[0])
    return f"{'—':>{width}}" if value is None else format(value, fmt)


def print_table(rows: list[dict], text: dict) -> None:
    from content.safe import visible

    print(
        f"{'family':<15} {'FID-lite':>8} {'prec':>5} {'recall':>6} {'attr':>5} "
        f"{'CLIP':>5} {'near':>6} {'copies':>6}"
    )
    for r in rows:
        print(
            visible(
                f"{r['name']:<15} {r['fid_lite']:8.4f} {r['precision']:5.2f} {r['recall']:6.2f} "
                f"{r['attribute_accuracy']:5.2f} {_figure(r['clipscore'], '5.1f')} "
                f"{r['nearest_train_median']:6.3f} {r['copies']:6d}"
            )
        )
    print(f"n = {rows[0]['n']} samples each; near = median RMS distance to the nearest training sprite")
    for name, t in text.items():
        print(
            f"perplexity {name:<13} {t['perplexity']:9.1f}   ({t['words']} words, {t['unknown']:.0%} unknown)"
        )


def evaluate(args: argparse.Namespace) -> int:
    from content.safe import visible
    from engine import evaluation
    from engine.weights import WeightsError

    total = -(-args.n // evaluation.CHUNK) * len(evaluation.ROWS)
    bar = progress_printer(f"sampling {args.n} per family", total, quiet=False)
    try:
        if sys.stderr.isatty():
            print("loading the training sprites and the shipped models...", file=sys.stderr)
        ev = evaluation.Evaluator()
        rows = ev.table(args.n, args.seed, progress=lambda done, _t, _f: bar(done, total))
        bar(total, total)
        text = ev.text_table()
    except (WeightsError, OSError) as exc:
        print(visible(f"genai-tutor evaluate: {exc}"), file=sys.stderr)
        return 1
    if args.json:
        emit({"n": args.n, "seed": args.seed, "families": rows, "text": text}, True)
    else:
        print_table(rows, text)
    return 0


def register(models: argparse._SubParsersAction, commands: argparse._SubParsersAction) -> None:
    """Add the top-level `evaluate` command (no model to train)."""
    p = commands.add_parser(
        "evaluate", help="measure every sprite family and the language model (the metrics lab's table)"
    )
    p.add_argument(
        "--n",
        type=int_range(8, MAX_N, "a sample count"),
        default=256,
        help=f"samples per family (8..{MAX_N}; FID-lite needs 256 or more to be fair)",
    )
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=evaluate)
