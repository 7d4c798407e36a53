"""Render time of the seeded-art CPPN (engine/art.py), the L01 lab's painter.

    python benchmarks/bench_art.py --json

Median wall time of ``art.render`` (weights drawn, every pixel painted, colours
looked up, rounded to uint8) for the default recipe at 256x256 (the issue's budget:
0.2 s), for the heaviest complexity the lab offers (depth 8, width 32), for the lab's
52x32 canvas (one drift frame), and for a 1024x1024 export. ``load`` is the 1-minute
load average while it ran: the machine is shared, so compare medians, not single runs.
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

from engine import art  # noqa: E402

CASES = {
    "default_256": (art.Recipe(), 256, 256),
    "heavy_256": (art.Recipe(depth=8, width=32), 256, 256),
    "radial_rgb_256": (art.Recipe(symmetry="radial-8", palette="rgb"), 256, 256),
    "lab_frame_52x32": (art.Recipe(), 32, 52),
    "export_1024": (art.Recipe(), 1024, 1024),
}


def median_s(recipe: art.Recipe, height: int, width: int, repeats: int) -> tuple[float, float]:
    art.render(recipe, height, width)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        art.render(recipe, height, width)
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    result: dict = {"load_before": round(os.getloadavg()[0], 2), "budget_256_s": 0.2}
    for name, (recipe, h, w) in CASES.items():
        repeats = max(3, args.repeats // 5) if h * w > 300_000 else args.repeats
        med, best = median_s(recipe, h, w, repeats)
        result[name] = {"median_s": round(med, 4), "min_s": round(best, 4), "repeats": repeats}
    result["default_256_within_budget"] = result["default_256"]["median_s"] <= 0.2
    result["load_after"] = round(os.getloadavg()[0], 2)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
