"""Memory of the labs: peak RSS while each lab plays, and RSS back on Home after it.

One process runs the tutor headless (Textual's test driver at 80×24), opens every lab in
turn, lets it play for `--seconds`, returns Home, and reads /proc/self/status: VmHWM
(the peak, reset before each lab through /proc/self/clear_refs) and VmRSS, the headline
figures. Beside them, RssAnon (heap, arrays, Python objects) and RssFile (pages of
shared libraries and other files, which the kernel can drop and read back) say what kind
of memory a lab used and what was given back.

    python benchmarks/bench_memory.py --json [--seconds 5] [--labs art,vae] [--alone]

``--alone`` runs each lab in a fresh process of its own, so that its peak does not
depend on the labs before it.

Goals (lab-platform issue): peak <= 250 MiB per lab; <= 150 MiB on Home after every lab.
Measure in an environment made as a learner's is (``python -m venv v && v/bin/pip install
.``): a development environment with extra packages (scipy, which numba imports when
present) reads higher.
Linux only (it reads /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FINISHING = {"metrics"}
"""Labs whose play ends by itself (the metrics lab measures, then pauses): measured to the end."""


def _status(field: str) -> float:
    """A /proc/self/status field in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    raise KeyError(field)


def _kinds() -> dict:
    """RssAnon and RssFile now, in MiB."""
    return {f"{f[3:].lower()}_mib": round(_status(f), 1) for f in ("RssAnon", "RssFile")}


def _reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


async def _released(pilot, lab, timeout: float = 30.0) -> None:
    """Wait until the lab has left and released its model (on a loaded machine the
    worker's last chunk can take seconds to end), then one more second."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (lab.is_attached or getattr(lab, "model", None) is not None):
        await pilot.pause(0.1)
    await pilot.pause(1.0)


async def run(seconds: float, labs: list[str] | None = None) -> dict:
    from tutor.app import TutorApp
    from tutor.labs import LABS
    from tutor.labs.base import LabScreen

    app = TutorApp()
    rows = []
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.5)
        home_start = _status("VmRSS")
        home_start_kinds = _kinds()
        for lab_id in labs or sorted(LABS):
            _reset_peak()
            app.open_lab(lab_id)
            await pilot.pause()
            lab = app.screen
            assert isinstance(lab, LabScreen)
            await lab.wait_idle(120)
            if lab.PLAY and not lab.playing:
                await pilot.press("space")
            await pilot.pause(seconds)
            if lab_id in FINISHING:  # its peak comes with its last figures: let it finish
                deadline = time.monotonic() + 300
                while lab.playing and time.monotonic() < deadline:
                    await pilot.pause(0.5)
            peak = _status("VmHWM")
            playing = _kinds()
            still_working = bool(lab.playing)  # a lab that stops by itself (metrics) is done
            await pilot.press("escape")
            await _released(pilot, lab)
            rows.append(
                {
                    "lab": lab_id,
                    "peak_mib": round(peak, 1),
                    "playing": playing,
                    "still_playing_at_the_end": still_working,
                    "home_after_mib": round(_status("VmRSS"), 1),
                    "home_after": _kinds(),
                }
            )
        # Is any of Home's figure garbage waiting for a collection (a cancelled Textual
        # worker keeps its CancelledError, whose traceback points back at the worker and
        # its screen)? A full collection and release on top answers it.
        gc.collect()
        from tutor import memory

        memory.release()
        collected = round(_status("VmRSS"), 1)
    return {
        "python": sys.executable,
        # numba imports scipy when it is installed (not one of our dependencies): about
        # 15 MiB more everywhere. A learner's fresh install has no scipy.
        "scipy_imported": "scipy" in sys.modules,
        "home_before_labs_mib": round(home_start, 1),
        "home_before_labs": home_start_kinds,
        "rows": rows,
        "home_after_all_mib": rows[-1]["home_after_mib"] if rows else None,
        "home_after_all": rows[-1]["home_after"] if rows else None,
        "home_after_all_and_a_full_gc_mib": collected,
    }


def run_alone(seconds: float, labs: list[str] | None) -> dict:
    """Each lab in a fresh process: its own peak, with no lab before it."""
    from tutor.labs import LABS

    rows = []
    for lab_id in labs or sorted(LABS):
        out = subprocess.run(
            [sys.executable, __file__, "--json", "--seconds", str(seconds), "--labs", lab_id],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(out.stdout)
        row = result["rows"][0]
        row["home_before_mib"] = result["home_before_labs_mib"]
        rows.append(row)
    return {"alone": True, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--labs", default="", help="comma-separated lab ids (default: every lab)")
    parser.add_argument("--alone", action="store_true", help="each lab in a fresh process")
    args = parser.parse_args()
    os.environ.setdefault("GENAI_TUTOR_HOME", tempfile.mkdtemp(prefix="bench-memory-"))
    sys.path.insert(0, str(ROOT))
    labs = [lab for lab in args.labs.split(",") if lab] or None
    result = run_alone(args.seconds, labs) if args.alone else asyncio.run(run(args.seconds, labs))
    if args.json:
        print(json.dumps(result))
        return
    if "home_before_labs_mib" in result:
        kinds = result["home_before_labs"]
        print(
            f"Home before any lab: {result['home_before_labs_mib']} MiB "
            f"(anon {kinds['anon_mib']}, file {kinds['file_mib']})"
        )
    for r in result["rows"]:
        after = r["home_after"]
        print(
            f"{r['lab']:<18} peak {r['peak_mib']:6.1f} MiB   Home after {r['home_after_mib']:6.1f} MiB "
            f"(anon {after['anon_mib']:6.1f}, file {after['file_mib']:5.1f})"
        )
    if "home_after_all_and_a_full_gc_mib" in result:
        print(f"Home after every lab, then a full gc: {result['home_after_all_and_a_full_gc_mib']} MiB")


if __name__ == "__main__":
    main()
