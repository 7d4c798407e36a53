"""The temperature lab's language model: training and sampling throughput.

    python benchmarks/bench_lm.py --json

* ``train_steps_per_s``: Adam steps (batch 128, the shipped config) on the real corpus:
  gather, MLP forward, softmax cross-entropy, backward, scatter-add, Adam.
* ``sample_tokens_per_s``: the generation loop with the shipped weights (one forward pass
  of one context, temperature, top-k, top-p, one seeded draw per token).
* ``warp_per_s``: temperature + top-k + top-p over the whole vocabulary alone.
* ``draws_per_s``: the "sample 1000 times" path (one cumulative sum, 1000 binary searches).

Each figure is the median of several timed runs; the machine's thread set-up is printed
alongside (see engine/runtime.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from engine import lm, runtime, sampling  # noqa: E402

CORPUS = os.path.join(ROOT, "content", "corpus")
WEIGHTS = os.path.join(ROOT, "content", "weights", "lm.npz")


def rate(fn, units: int, seconds: float, repeats: int) -> float:
    """Median units/s over ``repeats`` runs of about ``seconds`` each."""
    fn()
    results = []
    for _ in range(repeats):
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            fn()
            count += units
        results.append(count / (time.perf_counter() - start))
    return statistics.median(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seconds", type=float, default=1.0, help="per timed run")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    start = time.perf_counter()
    runtime.warm_up(import_all=False)
    warm = time.perf_counter() - start

    model = lm.build(lm.read_corpus(CORPUS), lm.LMConfig())
    train = rate(lambda: model.train(10), 10, args.seconds, args.repeats)

    shipped, _ = lm.LanguageModel.load(WEIGHTS)
    ids, _ = shipped.tok.encode("The weather today is")
    rng = np.random.default_rng(0)
    tokens = rate(
        lambda: shipped.generate(ids, 20, rng, 0.8, 40, 0.95, stop_at_end=False),
        20,
        args.seconds,
        args.repeats,
    )
    logits = shipped.next_logits(ids)
    warp = rate(lambda: sampling.warp(logits, 0.8, 40, 0.95), 1, args.seconds, args.repeats)
    probs = sampling.warp(logits, 1.5)
    draws = rate(lambda: sampling.sample_many(probs, 1000, rng), 1000, args.seconds, args.repeats)

    result = {
        "vocab_size": len(shipped.tok),
        "params": int(shipped.params.size),
        "batch": model.config.batch,
        "train_steps_per_s": round(train, 1),
        "sample_tokens_per_s": round(tokens, 1),
        "warp_per_s": round(warp, 1),
        "draws_per_s": round(draws, 1),
        "warm_up_s": round(warm, 2),
        "runtime": runtime.configured(),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
