"""The grounding transformer: training and generation throughput, and its reading figures.

    python benchmarks/bench_transformer.py --json [--quality]

* ``train_tokens_per_s``: tokens read per second by training steps of the shipped recipe
  (batch 32 rows of reading episodes, open- and closed-book course facts and corpus text; forward,
  backward, Adam), counting every position of every row; ``train_steps_per_s`` alike.
* ``generate_tokens_per_s``: greedy generation of 32 tokens after a 64-token prompt with
  the KV cache; ``generate_no_cache_tokens_per_s`` re-reads the whole context for every
  token (what the cache saves).
* ``--quality`` adds the figures of issue 17 on 200 held-out episodes with the shipped
  weights: grounded and closed-book accuracy, attention on the answer (four readings, see
  engine.grounding.evaluate; the bar is held on the head mean), and retrieval
  recall@3 and end-to-end accuracy (the top 3 in the prompt, and the top 1 alone) over a
  store of course facts, lesson text and the episodes' documents.

Medians of several timed runs; the thread set-up is printed alongside. The machine is
shared: treat the figures as a floor.
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

from engine import bpe, episodes, grounding, lm, retrieval, runtime  # noqa: E402 - after the sys.path insert
from engine.transformer import Transformer, TransformerConfig, make_optimizer  # noqa: E402

CORPUS = os.path.join(ROOT, "content", "corpus")
WEIGHTS = os.path.join(ROOT, "content", "weights", "transformer.npz")


def rate(fn, seconds: float, repeats: int) -> float:
    """Median units/s over ``repeats`` runs of about ``seconds`` each; fn returns its units."""
    fn()
    results = []
    for _ in range(repeats):
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            count += fn()
        results.append(count / (time.perf_counter() - start))
    return statistics.median(results)


def store_for(episode_list: list, paragraphs: list[str]) -> retrieval.Store:
    """Course facts + lesson chunks + every document of the episodes."""
    store = retrieval.Store()
    store.add([f[2] for f in episodes.corpus_facts(paragraphs)], "course fact")
    with open(os.path.join(CORPUS, "lessons.txt"), encoding="utf-8") as handle:
        for line in handle.read().splitlines():
            store.add(retrieval.chunk(line), "lesson text")
    for ep in episode_list:
        store.add(ep.documents, "episode")
    return store


def quality(model: Transformer, tok: bpe.BPE, paragraphs: list[str], n: int = 200) -> dict:
    test = grounding.test_episodes(tok, n)
    result = grounding.evaluate(model, tok, test)
    store = store_for(test, paragraphs)
    result.update(grounding.evaluate_retrieval(model, tok, test, store))
    top1 = grounding.evaluate_retrieval(model, tok, test, store, k=1)
    result["recall_at_1"] = top1["recall_at_1"]
    result["end_to_end_accuracy_reading_top1"] = top1["end_to_end_accuracy"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seconds", type=float, default=2.0, help="per timed run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quality", action="store_true", help="also measure the reading figures")
    parser.add_argument("--weights", default=WEIGHTS, help="weights to measure (default: the shipped ones)")
    args = parser.parse_args()

    runtime.warm_up(import_all=False)
    tok = bpe.shipped()
    paragraphs = lm.read_corpus(CORPUS)
    model = Transformer(TransformerConfig(vocab=len(tok)))
    opt = make_optimizer(model, 4e-3)
    data = grounding.Curriculum(tok, paragraphs, 0, model.config.context)
    batches = [data.batch(32) for _ in range(8)]
    turn = [0]

    def train_step() -> int:
        X, Y = batches[turn[0] % len(batches)]
        turn[0] += 1
        model.loss_and_grad(X, Y)
        opt.step()
        return X.size

    tokens_per_s = rate(train_step, args.seconds, args.repeats)
    mean_tokens = float(np.mean([X.size for X, _ in batches]))

    shipped, meta = Transformer.load(args.weights)
    prompt = tok.encode(" ".join(paragraphs[:3]))[:64]
    cached = rate(lambda: len(shipped.generate(prompt, 32)[0]), args.seconds, args.repeats)

    def no_cache() -> int:
        ids = list(prompt)
        for _ in range(32):
            ids.append(int(np.argmax(shipped.logits(np.asarray([ids], np.int32))[0, -1])))
        return 32

    uncached = rate(no_cache, args.seconds, args.repeats)
    result = {
        "params": int(shipped.params.size),
        "config": meta["config"],
        "train_tokens_per_s": round(tokens_per_s),
        "train_steps_per_s": round(tokens_per_s / mean_tokens, 2),
        "generate_tokens_per_s": round(cached, 1),
        "generate_no_cache_tokens_per_s": round(uncached, 1),
        "shipped_training": {
            k: meta.get(k) for k in ("steps", "seconds", "cpu_seconds", "tokens", "final_loss")
        },
        "runtime": runtime.configured(),
    }
    if args.quality:
        result["quality"] = quality(shipped, tok, paragraphs)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
