"""`genai-tutor train lm` and `genai-tutor sample "TEXT"`: the temperature lab's language model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tutor.headless import emit, progress_printer

CONTENT = Path(__file__).resolve().parents[2] / "content"
CORPUS = CONTENT / "corpus"
WEIGHTS = CONTENT / "weights" / "lm.npz"
DEFAULT_STEPS = 4000


def train_lm(args: argparse.Namespace) -> int:
    from engine import lm

    if args.steps < 1:
        print("genai-tutor: error: --steps must be at least 1", file=sys.stderr)
        return 2
    progress = progress_printer("training LM", args.steps, args.json)
    out = None if args.no_save else Path(args.out)
    result = lm.train_headless(CORPUS, steps=args.steps, seed=args.seed, out=out, progress=progress)
    emit(result, args.json)
    if out is not None and not args.json:
        from content.safe import visible

        print(visible(f"saved: {out}"))
    return 0


def sample_text(args: argparse.Namespace) -> int:
    from content.safe import visible
    from engine import lm, sampling
    from engine.weights import WeightsError

    if not 0.0 <= args.temperature <= sampling.MAX_TEMPERATURE:
        print(f"genai-tutor: error: --temperature must be between 0 and {sampling.MAX_TEMPERATURE:g} "
              "(0 = greedy)", file=sys.stderr)
        return 2
    if not 0.0 < args.top_p <= 1.0 or args.top_k < 0 or args.tokens < 0:
        print("genai-tutor: error: --top-p must be in (0, 1], --top-k and --tokens at least 0",
              file=sys.stderr)
        return 2
    try:
        model, _ = lm.LanguageModel.load(args.weights)
    except WeightsError as exc:
        print(visible(f"genai-tutor: {exc}; run 'genai-tutor train lm' to make it"), file=sys.stderr)
        return 1
    result = sample_result(model, args.text, args.temperature, args.top_k, args.top_p,
                           args.seed, args.tokens)
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


def sample_result(model, text: str, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
                  seed: int = 0, tokens: int = 10) -> dict:
    """The `sample` command's JSON record (also used by tests)."""
    import numpy as np

    from engine import sampling

    ids, unknown = model.tok.encode(text)
    probs = sampling.warp(model.next_logits(ids), temperature, top_k, top_p)
    order = np.argsort(-probs, kind="stable")[:10]
    new = model.generate(ids, tokens, np.random.default_rng(seed), temperature, top_k, top_p)
    return {
        "prompt_tokens": [model.tok.vocab[i] for i in ids],
        "next": [{"token": model.tok.vocab[i], "prob": round(float(probs[i]), 6)}
                 for i in order if probs[i] > 0],
        "entropy": round(sampling.entropy_bits(probs), 6),
        "continuation": model.tok.decode(new).rstrip("\n"),
        "unknown": unknown,
    }


def register(models: argparse._SubParsersAction, commands: argparse._SubParsersAction) -> None:
    """Add `train lm` and the top-level `sample` command."""
    p = models.add_parser("lm", help="the word-level language model of the temperature lab")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(WEIGHTS), help=f"where to save (default {WEIGHTS})")
    p.add_argument("--no-save", action="store_true", help="train and report, keep no weights")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=train_lm)

    s = commands.add_parser("sample", help="next-token probabilities and a continuation from the language model")
    s.add_argument("text", help="the prompt, e.g. \"The capital of France is\"")
    s.add_argument("--temperature", type=float, default=1.0, help="0 = greedy; up to 10")
    s.add_argument("--top-k", type=int, default=0, help="keep the k most likely tokens (0 = off)")
    s.add_argument("--top-p", type=float, default=1.0, help="keep the smallest set reaching p (1 = off)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--tokens", type=int, default=10, help="how many tokens to generate")
    s.add_argument("--weights", default=str(WEIGHTS), help=argparse.SUPPRESS)
    s.add_argument("--json", action="store_true", help="print one JSON object (entropy in bits)")
    s.set_defaults(handler=sample_text)
