"""DDIM-50 of 64 guided sprites: sampling in shards against one batch, 1 and 2 threads,
interleaved in one process so that both see the same machine load.

    python benchmarks/bench_shards.py --json [--rounds 8]

"sharded": the engine's sampler (32-sample shards, each shard's whole chain on one
thread, engine/diffusion.py); "whole": the same sampler forced to one 64-sample batch
(products split in row blocks over the threads, the design before shards). Each round
times one sampling of every (design, threads) pair in turn; rows report median wall and
CPU seconds (all threads of the process) and ``speedup`` = 1-thread wall / 2-thread
wall per design. On a loaded machine CPU time shows the overhead of a design, wall time
only what the load left: run ``bench_scaling.py --cases ddim50x64`` on a quiet one for
the issue's figure.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds")
    args = parser.parse_args()
    from engine import diffusion, runtime
    from engine import diffusion_recipes as recipes

    model = recipes.new_model("sprites", seed=0)
    designs = {"sharded": diffusion.Diffusion._shards, "whole": lambda n: 1}
    load_before = [round(x, 2) for x in os.getloadavg()]
    times: dict[str, list[tuple[float, float]]] = {}
    for round_ in range(max(1, args.rounds)):
        for name, shards in designs.items():
            model._shards = shards  # type: ignore[method-assign]
            for threads in (1, 2):
                runtime.set_threads(threads)
                if round_ == 0:
                    model.sample(64, steps=50, sampler="ddim", seed=1)  # buffers, helper threads
                wall, cpu = time.perf_counter(), time.process_time()
                model.sample(64, steps=50, sampler="ddim", seed=1)
                key = f"{name}_{threads}"
                times.setdefault(key, []).append((time.perf_counter() - wall, time.process_time() - cpu))
    rows = {
        key: {
            "wall_s": round(statistics.median(w for w, _ in v), 3),
            "cpu_s": round(statistics.median(c for _, c in v), 3),
        }
        for key, v in times.items()
    }
    result = {
        "rows": rows,
        "speedup": {
            name: round(rows[f"{name}_1"]["wall_s"] / rows[f"{name}_2"]["wall_s"], 2) for name in designs
        },
        "rounds": args.rounds,
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
