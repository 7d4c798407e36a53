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

Two ways of pressing ``t`` are measured, each with an empty and a filled cache:

* ``cold`` / ``warm``: ``t`` pressed the moment the lesson opens, so the lab compiles
  (or loads) its kernels itself before the first frame;
* ``read_cold`` / ``read_warm``: the learner reads first. The process starts the
  reading-time warm-up exactly as the lesson screen does (``tutor.labs.warmer.start``:
  a child process at nice +10 compiles, then a thread loads), waits until it has
  finished (``read_*_s``: the reading time N the warm-up needs for this lab; its CPU
  seconds count this process only, not the child's), then opens the lab:
  ``after_read_*_s`` is the first frame after that;
* ``started_cold`` / ``started_warm``: the app has been open STARTED seconds (Home,
  then a lesson, then ``t`` at once): it has run what the app runs after its first
  paint (``tutor.labs.warmer.prepare`` after ``tutor.app.PREPARE_AFTER``: the engine's
  import and numba's one-time costs), but no warm-up of this lab;
* ``lesson_cold`` / ``lesson_warm``: the same, with the lesson shown GLANCE seconds
  before ``t``: its reading-time warm-up of this lab has started (as the lesson screen
  does), and gives way when the lab opens.

With an empty cache a lab does not wait for its compile: kernels not yet compiled run
their twins while a child process compiles them (engine.runtime's deferred compiles);
``*_full_speed_s`` is when the last of them was compiled and loaded.
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

GOALS = {"cold": 5.0, "warm": 1.0}


STARTED = 2.0
GLANCE = 0.3
"""lesson_*: seconds between the lesson's appearing and ``t``."""


def child(
    lab_id: str, timeout: float, read: bool = False, started: bool = False, lesson: bool = False
) -> dict:
    """In this process: open ``lab_id`` once and return seconds to its first frame
    (``read``: after the reading-time warm-up has finished, also timed; ``started``:
    the app open STARTED s; ``lesson``: that, and the lesson shown GLANCE s before)."""
    import asyncio

    from textual.app import App

    import tutor
    from tutor import labs

    marks: dict[str, float] = {}

    class Host(App):
        CSS_PATH = os.path.join(os.path.dirname(tutor.__file__), "tutor.tcss")

        def on_mount(self) -> None:
            if started or lesson:  # what the app does after its first paint, then t pressed later
                from tutor.app import PREPARE_AFTER

                self.set_timer(PREPARE_AFTER, labs.warmer.prepare)
                if lesson:  # the lesson screen starts its labs' warm-up as it appears
                    self.set_timer(STARTED - GLANCE, lambda: labs.warmer.start([lab_id]))
                self.set_timer(STARTED, self.open_lab)
            elif read:  # what the lesson screen does when it shows a lesson with this lab
                marks["lesson"], marks["lesson_cpu"] = time.perf_counter(), time.process_time()
                labs.warmer.start([lab_id])
                self._poll = self.set_interval(0.02, self._read_done)
            else:
                self.open_lab()

        def _read_done(self) -> None:
            if labs.warmer.busy():
                return
            self._poll.stop()
            marks["read"], marks["read_cpu"] = time.perf_counter(), time.process_time()
            self.open_lab()

        def open_lab(self) -> None:
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
            # the compile behind a deferred first frame: until the lab runs compiled
            # kernels only (and the cache is full for the "warm" run after this one); a
            # lab that missed no kernel started no compile, and stays deferring while open
            runtime = sys.modules.get("engine.runtime")
            while (
                runtime is not None
                and runtime.deferring()
                and labs.warmer.busy()
                and time.perf_counter() < deadline
            ):
                await asyncio.sleep(0.02)
            marks["compiled"] = time.perf_counter()
            app.screen.playing = False

    asyncio.run(run())
    if "frame" not in marks:
        return {"error": f"no frame within {timeout:.0f} s"}
    result = {
        "seconds": round(marks["frame"] - marks["open"], 3),
        "cpu_seconds": round(marks["frame_cpu"] - marks["open_cpu"], 3),
        "compiled_seconds": round(marks["compiled"] - marks["open"], 3),
    }
    if read:
        result["read_seconds"] = round(marks["read"] - marks["lesson"], 3)
        result["read_cpu_seconds"] = round(marks["read_cpu"] - marks["lesson_cpu"], 3)
        result["warm_up_errors"] = labs.warmer.errors
    return result


PACKAGES = ("tutor", "engine", "content", "quizzes")


def byte_compile() -> None:
    """Compile the project's modules to bytecode first, as ``pip install`` does: a
    learner's first frame never includes compiling Python source (measured: 0.1-0.2 s
    of a lab's import when the cached bytecode is stale or missing)."""
    import compileall

    for package in PACKAGES:
        compileall.compile_dir(os.path.join(ROOT, package), quiet=1)


def _run_child(
    lab_id: str, cache: str, timeout: float, read: bool = False, started: bool = False, lesson: bool = False
) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, GENAI_TUTOR_HOME=tempfile.mkdtemp(prefix="genai-ff-home-"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # read the bytecode byte_compile wrote
    command = [sys.executable, os.path.abspath(__file__), "--child", lab_id, "--timeout", str(timeout)]
    try:
        out = subprocess.run(
            command
            + (["--read"] if read else [])
            + (["--started"] if started else [])
            + (["--lesson"] if lesson else []),
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


CASES = (
    "cold",
    "warm",
    "read_cold",
    "read_warm",
    "started_cold",
    "started_warm",
    "lesson_cold",
    "lesson_warm",
)
PAIRS = (CASES[0:2], CASES[2:4], CASES[4:6], CASES[6:8])  # each pair shares one cache, empty at first


def measure(lab_id: str, repeat: int, timeout: float, cases: tuple[str, ...] = CASES) -> dict:
    """Per repeat: one new cache for cold then warm, another for read_cold then read_warm
    (``cases``: only these)."""
    runs: dict[str, list[float]] = {case: [] for case in CASES}
    cpu: dict[str, list[float]] = {case: [] for case in CASES}
    compiled: dict[str, list[float]] = {case: [] for case in CASES}
    reading: dict[str, list[float]] = {case: [] for case in CASES[2:4]}
    reading_cpu: dict[str, list[float]] = {case: [] for case in CASES[2:4]}
    errors = []
    for _ in range(repeat):
        for pair in PAIRS:
            pair = tuple(case for case in pair if case in cases)
            if not pair:
                continue
            cache = tempfile.mkdtemp(prefix="genai-ff-numba-")
            try:
                for case in pair:
                    read, started, lesson = (case.startswith(k) for k in ("read", "started", "lesson"))
                    result = _run_child(lab_id, cache, timeout, read=read, started=started, lesson=lesson)
                    if "error" in result:
                        errors.append(f"{case}: {result['error']}")
                        continue
                    runs[case].append(result["seconds"])
                    compiled[case].append(result["compiled_seconds"])
                    cpu[case].append(result["cpu_seconds"])
                    if case in reading:
                        reading[case].append(result["read_seconds"])
                        reading_cpu[case].append(result["read_cpu_seconds"])
                        errors.extend(f"{case} warm-up: {e}" for e in result["warm_up_errors"].values())
            finally:
                shutil.rmtree(cache, ignore_errors=True)

    def median(values: list[float]) -> float | None:
        return round(statistics.median(values), 2) if values else None

    row: dict = {"lab": lab_id}
    for case in cases:
        name = f"after_{case}" if case.startswith("read") else case
        row[f"{name}_s"] = median(runs[case])
        row[f"{name}_ok"] = bool(runs[case]) and statistics.median(runs[case]) <= GOALS[case.split("_")[-1]]
        row[f"{name}_cpu_s"] = median(cpu[case])
        row[f"{name}_full_speed_s"] = median(compiled[case])
        if case in reading:
            row[f"{case}_s"] = median(reading[case])
            row[f"{case}_cpu_s"] = median(reading_cpu[case])
    if errors:
        row["errors"] = errors
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--labs", default="", help="comma-separated lab ids (default: all)")
    parser.add_argument("--repeat", type=int, default=1, help="cold/warm pairs per lab")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for a first frame")
    parser.add_argument(
        "--cases", default=",".join(CASES), help=f"comma-separated, from {','.join(CASES)} (default: all)"
    )
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    parser.add_argument("--read", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--started", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--lesson", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.timeout, args.read, args.started, args.lesson)))
        return
    from tutor import labs

    chosen = [lab for lab in args.labs.split(",") if lab] or sorted(labs.LABS)
    unknown = [lab for lab in chosen if lab not in labs.LABS]
    if unknown:
        parser.error(f"unknown lab(s): {', '.join(unknown)}; choose from {', '.join(sorted(labs.LABS))}")
    cases = tuple(case for case in CASES if case in args.cases.split(","))
    if not cases or any(case not in CASES for case in args.cases.split(",")):
        parser.error(f"--cases: choose from {', '.join(CASES)}")
    byte_compile()
    rows = []
    load_before = [round(x, 2) for x in os.getloadavg()]
    for lab_id in chosen:
        rows.append(measure(lab_id, max(1, args.repeat), args.timeout, cases))
        if not args.json:
            print(rows[-1], flush=True)
    result = {
        "rows": rows,
        "load_average_before": load_before,
        "goals_s": GOALS,
        "cpu_count": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if args.json:
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
