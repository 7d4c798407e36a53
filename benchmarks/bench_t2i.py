"""Text-to-image on sprites: time per sample, pixel vs latent, and the issue's figures.

    python benchmarks/bench_t2i.py --json [--steps 50] [--repeats 5] [--no-figures]

* ``seconds_per_sample``: for each shipped model (content/weights/text_to_image_*.npz),
  the median over ``--repeats`` runs of (wall clock of one DDIM batch of 16 samples of
  the same prompt) / 16, at ``--steps`` steps, after a warm-up run; the latent time
  includes decoding. Also this process's CPU seconds per sample (the honest figure on
  a shared machine) and ``latent_speedup`` = pixel / latent (wall clock and CPU).
* ``figures`` (engine.text_to_image.evaluate): at the model's default guidance, the share
  of 100 prompts in held-out phrasings (fresh seeds) whose picture has every requested
  attribute right (classifier + geometry, engine.text_to_image.read_attributes); the
  same on the 40 held-out colour-shape combinations; copies of training images among
  those pictures; and the guidance sweep 0, 1, 3, 7.5 with mean CLIPScore-lite and
  accuracy on the 100 prompts. One BLAS thread (engine.runtime's default).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from engine import runtime  # noqa: E402 - after the sys.path insert
from engine import text_to_image as t2i  # noqa: E402


def timing(model: t2i.TextToImage, steps: int, repeats: int, n: int = 16) -> dict:
    model.generate(t2i.EXAMPLE_PROMPTS[0], n=n, steps=steps)  # warm-up
    wall, cpu = [], []
    for r in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        model.generate(t2i.EXAMPLE_PROMPTS[0], n=n, steps=steps, seed=r)
        wall.append((time.perf_counter() - w) / n)
        cpu.append((time.process_time() - c) / n)
    return {
        "seconds_per_sample": round(statistics.median(wall), 5),
        "cpu_seconds_per_sample": round(statistics.median(cpu), 5),
    }


def _rounded(figures: dict) -> dict:
    out: dict = {}
    for k, v in figures.items():
        out[k] = _rounded(v) if isinstance(v, dict) else round(v, 4) if isinstance(v, float) else v
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--steps", type=int, default=50, help="DDIM steps per sample")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-figures", action="store_true", help="time only")
    ap.add_argument("--kinds", default="pixel,latent", help="which shipped models (comma-separated)")
    args = ap.parse_args()
    runtime.warm_up()
    result: dict = {
        "blas_threads": runtime.blas_threads(),
        "steps": args.steps,
        "load_average": round(os.getloadavg()[0], 2),
    }
    kinds = [k for k in args.kinds.split(",") if k]
    for kind in kinds:
        model = t2i.pretrained(kind)
        result[kind] = {
            "latent_numbers" if kind == "latent" else "pixel_numbers": model.diffusion.config.dim,
            **timing(model, args.steps, args.repeats),
        }
        if not args.no_figures:
            result[kind]["figures"] = _rounded(t2i.evaluate(model, steps=args.steps))
    if "pixel" in result and "latent" in result:
        p, q = result["pixel"], result["latent"]
        result["latent_speedup"] = round(p["seconds_per_sample"] / q["seconds_per_sample"], 2)
        result["latent_speedup_cpu"] = round(p["cpu_seconds_per_sample"] / q["cpu_seconds_per_sample"], 2)
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
