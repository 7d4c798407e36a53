"""Start-up: wall time from process start to the first painted Home screen, and peak memory.

    python benchmarks/bench_startup.py --json [--runs 7]

Each run is a fresh `python` process that opens the tutor headless (80×24) on a temporary
progress folder and exits as soon as Home has been painted. Reports the median and the
spread, plus the child's peak resident memory, and whether numpy/numba/engine were loaded
(they must not be: labs import them when opened).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import sys
from tutor.app import TutorApp

class FirstPaint(TutorApp):
    def on_mount(self):
        super().on_mount()
        self.call_after_refresh(self.after_paint)

    def after_paint(self):
        self.loaded = sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'numba', 'engine'})
        self.exit()

app = FirstPaint()
app.run(headless=True, size=(80, 24))
import resource
print("LOADED", ",".join(app.loaded))
print("MAXRSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def one_run(home: str) -> tuple[float, int, str]:
    env = dict(os.environ, GENAI_TUTOR_HOME=home)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    lines = dict(line.split(" ", 1) if " " in line else (line, "") for line in out.stdout.splitlines())
    return seconds, int(lines["MAXRSS_KB"]), lines.get("LOADED", "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        one_run(home)  # warm the OS file cache and the progress database
        runs = [one_run(home) for _ in range(args.runs)]
    times = [r[0] for r in runs]
    result = {
        "benchmark": "startup_to_first_home_paint",
        "runs": args.runs,
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
        "peak_rss_mb": round(statistics.median(r[1] for r in runs) / 1024, 1),
        "heavy_modules_loaded": runs[-1][2],
    }
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
