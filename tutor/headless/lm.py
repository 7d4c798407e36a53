"""`genai-tutor train lm` and `genai-tutor sample "TEXT"`: the temperature lab's language model."""

from __future__ import annotations

import argparse
import sys

from content.paths import shipped
from tutor.headless import emit, progress_printer
from tutor.headless.args import existing_file, float_range, int_range, output_file, saved_path, seed_int

CORPUS = shipped("corpus")
WEIGHTS = shipped("weights", "lm.npz")
DEFAULT_STEPS = 4000


def train_lm(args: argparse.Namespace) -> int:
    from engine import lm

    progress = progress_printer("training LM", args.steps, args.json)
    out = None if args.no_save else saved_path(args.out, "lm.npz")
    result = lm.train_headless(CORPUS, steps=args.steps, seed=args.seed, out=out, progress=progress)
    if out is not None:
        result["saved"] = str(out)
    emit(result, args.json)
    return 0


def sample_text(args: argparse.Namespace) -> int:
    from content.paths import weights_for
    from content.safe import visible
    from engine import lm
    from engine.weights import WeightsError

    path = args.weights if args.weights is not None else weights_for("lm.npz")[0]
    try:
        model, _ = lm.LanguageModel.load(path)
    except WeightsError as exc:
        print(visible(f"genai-tutor: {exc}; run 'genai-tutor train lm' to make it"), file=sys.stderr)
        return 1
    result = sample_result(model, args.text, args.temperature, args.top_k, args.top_p, args.seed, args.tokens)
    if args.json:
        emit(result, True)  # json.dumps escapes control characters
    else:
        # The prompt is the user's own text and the words come from a weights file: both
        # pass the gate before reaching the terminal.
        print(visible("tokens: " + " | ".join(result["prompt_tokens"])))
        if result["unknown"]:
            print(visible("never seen: " + ", ".join(result["unknown"])))
        for row in result["next"]:
            print(visible(f"  {row['token']:<14} {row['prob'] * 100:6.2f}%"))
        print(f"entropy: {result['entropy']:.3f} bits")
        print(visible(f"continuation: {result['continuation']}"))
    return 0


def sample_result(
    model,
    text: str,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    seed: int = 0,
    tokens: int = 10,
) -> dict:
    """The `sample` command's JSON record (also used by tests)."""
    import numpy as np

    from engine import sampling

    ids, unknown = model.tok.encode(text)
    probs = sampling.warp(model.next_logits(ids), temperature, top_k, top_p)
    order = np.argsort(-probs, kind="stable")[:10]
    new = model.generate(ids, tokens, np.random.default_rng(seed), temperature, top_k, top_p)
    return {
        "prompt_tokens": [model.tok.vocab[i] for i in ids],
        "next": [
            {"token": model.tok.vocab[i], "prob": round(float(probs[i]), 6)} for i in order if probs[i] > 0
        ],
        "entropy": round(sampling.entropy_bits(probs), 6),
        "continuation": model.tok.decode(new).rstrip("\n"),
        "unknown": unknown,
    }


def register(models: argparse._SubParsersAction, commands: argparse._SubParsersAction) -> None:
    """Add `train lm` and the top-level `sample` command."""
    p = models.add_parser("lm", help="the word-level language model of the temperature lab")
    p.add_argument("--steps", type=int_range(1, 1_000_000), default=DEFAULT_STEPS)
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument(
        "--out",
        type=output_file(".npz"),
        default=None,
        help="where to save (default: lm.npz in your data folder)",
    )
    p.add_argument("--no-save", action="store_true", help="train and report, keep no weights")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=train_lm)

    s = commands.add_parser(
        "sample", help="next-token probabilities and a continuation from the language model"
    )
    s.add_argument("text", help='the prompt, e.g. "The capital of France is"')
    s.add_argument("--temperature", type=float_range(0.0, 10.0), default=1.0, help="0 = greedy; up to 10")
    s.add_argument("--top-k", type=int_range(0), default=0, help="keep the k most likely tokens (0 = off)")
    s.add_argument(
        "--top-p",
        type=float_range(0.0, 1.0, inclusive_low=False),
        default=1.0,
        help="keep the smallest set reaching p (1 = off)",
    )
    s.add_argument("--seed", type=seed_int, default=0)
    s.add_argument(
        "--tokens", type=int_range(1, 1000), default=10, help="how many tokens to generate (1..1000)"
    )
    s.add_argument(
        "--weights",
        type=existing_file,
        default=None,
        help="a weights file (default: yours from 'train lm' if any, else the shipped one)",
    )
    s.add_argument("--json", action="store_true", help="print one JSON object (entropy in bits)")
    s.set_defaults(handler=sample_text)
