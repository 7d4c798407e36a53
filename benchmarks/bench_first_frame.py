"""Seconds from opening each lab to its first frame, with an empty and a filled kernel cache.

    python benchmarks/bench_first_frame.py --json [--labs gan-2d,vae] [--repeat 1]

For each lab, a fresh process (the app's "app" thread context, 80x24, headless through
Textual's ``run_test``) opens the lab the way pressing ``t`` does (``labs.create``, which
imports the lab module and the engine modules it needs, then ``push_screen``) and times
until the lab's first frame reaches the UI thread's ``on_lab_screen_frame``. "cold": the
process's NUMBA_CACHE_DIR is a new empty folder, so every kernel the lab needs compiles;
"warm": a second process with the folder the cold run filled, so kernels load from disk.
``cpu_s``: the process's CPU time over the same span (all its threads), which a loaded
machine inflates far less than wall time. Each lab gets its own folder, so a lab is
never warmed by another one's compiles.
``--repeat N`` runs N cold/warm pairs per lab and reports medians. Goals (issue 18), on 2
cores: cold <= 5 s, warm <= 1 s.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

LABS = (
    "art",
    "clip",
    "denoising",
    "diffusion-forward",
    "families",
    "gan-2d",
    "image-tokens",
    "temperature",
    "vae",
)
GOALS = {"cold": 5.0, "warm": 1.0}


def child(lab_id: str, timeout: float) -> dict:
    """In this process: open ``lab_id`` once and return seconds to its first frame."""
    import asyncio

    from textual.app import App

    import tutor
    from tutor import labs

    marks: dict[str, float] = {}

    class Host(App):
        CSS_PATH = os.path.join(os.path.dirname(tutor.__file__), "tutor.tcss")

        def on_mount(self) -> None:
            marks["open"], marks["open_cpu"] = time.perf_counter(), time.process_time()
            module_name, _, class_name = labs.LABS[lab_id].partition(":")
            # what labs.create does: import the lab module (and its engine modules)
            base = getattr(importlib.import_module(module_name), class_name)

            def on_lab_screen_frame(self, message) -> None:  # Textual looks handlers up by class
                base.on_lab_screen_frame(self, message)
                if "frame" not in marks:
                    marks["frame"], marks["frame_cpu"] = time.perf_counter(), time.process_time()

            probe = type(f"FirstFrame{base.__name__}", (base,), {"on_lab_screen_frame": on_lab_screen_frame})
            self.push_screen(probe())

    async def run() -> None:
        app = Host()
        async with app.run_test(size=(80, 24)):
            deadline = time.perf_counter() + timeout
            while "frame" not in marks and time.perf_counter() < deadline:
                await asyncio.sleep(0.01)
            app.screen.playing = False

    asyncio.run(run())
    if "frame" not in marks:
        return {"error": f"no frame within {timeout:.0f} s"}
    return {
        "seconds": round(marks["frame"] - marks["open"], 3),
        "cpu_seconds": round(marks["frame_cpu"] - marks["open_cpu"], 3),
    }


def _run_child(lab_id: str, cache: str, timeout: float) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, GENAI_TUTOR_HOME=tempfile.mkdtemp(prefix="genai-ff-home-"))
    try:
        out = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--child", lab_id, "--timeout", str(timeout)],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout + 60,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return {"error": "child process timed out"}
    finally:
        shutil.rmtree(env["GENAI_TUTOR_HOME"], ignore_errors=True)
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        return {"error": (out.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(lines[-1])


def measure(lab_id: str, repeat: int, timeout: float) -> dict:
    runs: dict[str, list[float]] = {"cold": [], "warm": []}
    cpu: dict[str, list[float]] = {"cold": [], "warm": []}
    errors = []
    for _ in range(repeat):
        cache = tempfile.mkdtemp(prefix="genai-ff-numba-")
        try:
            for case in ("cold", "warm"):
                result = _run_child(lab_id, cache, timeout)
                if "error" in result:
                    errors.append(f"{case}: {result['error']}")
                else:
                    runs[case].append(result["seconds"])
                    cpu[case].append(result["cpu_seconds"])
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    row: dict = {"lab": lab_id}
    for case, values in runs.items():
        row[f"{case}_s"] = round(statistics.median(values), 2) if values else None
        row[f"{case}_ok"] = bool(values) and statistics.median(values) <= GOALS[case]
        row[f"{case}_cpu_s"] = round(statistics.median(cpu[case]), 2) if cpu[case] else None
    if errors:
        row["errors"] = errors
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--labs", default="", help="comma-separated lab ids (default: all)")
    parser.add_argument("--repeat", type=int, default=1, help="cold/warm pairs per lab")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for a first frame")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.timeout)))
        return
    chosen = [lab for lab in args.labs.split(",") if lab] or list(LABS)
    rows = []
    for lab_id in chosen:
        rows.append(measure(lab_id, max(1, args.repeat), args.timeout))
        if not args.json:
            print(rows[-1], flush=True)
    result = {
        "rows": rows,
        "goals_s": GOALS,
        "cpu_count": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if args.json:
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
