"""Memory of the labs: peak RSS while each lab plays, and RSS back on Home after it.

One process runs the tutor headless (Textual's test driver at 80×24), opens every lab in
turn, lets it play for `--seconds`, returns Home, and reads /proc/self/status: VmHWM
(the peak, reset before each lab through /proc/self/clear_refs) and VmRSS.

    python benchmarks/bench_memory.py --json [--seconds 5]

Goals (lab-platform issue): peak <= 250 MiB per lab; <= 150 MiB on Home after every lab.
Linux only (it reads /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _status(field: str) -> float:
    """A /proc/self/status field in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    raise KeyError(field)


def _reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


async def run(seconds: float) -> dict:
    from tutor.app import TutorApp
    from tutor.labs import LABS
    from tutor.labs.base import LabScreen

    app = TutorApp()
    rows = []
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.5)
        home_start = _status("VmRSS")
        for lab_id in sorted(LABS):
            _reset_peak()
            app.open_lab(lab_id)
            await pilot.pause()
            lab = app.screen
            assert isinstance(lab, LabScreen)
            await lab.wait_idle(120)
            if lab.PLAY and not lab.playing:
                await pilot.press("space")
            await pilot.pause(seconds)
            peak = _status("VmHWM")
            await pilot.press("escape")
            await pilot.pause(1.0)
            rows.append({"lab": lab_id, "peak_mib": round(peak, 1),
                         "home_after_mib": round(_status("VmRSS"), 1)})
    return {"home_before_labs_mib": round(home_start, 1), "rows": rows,
            "home_after_all_mib": rows[-1]["home_after_mib"] if rows else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("GENAI_TUTOR_HOME", tempfile.mkdtemp(prefix="bench-memory-"))
    sys.path.insert(0, str(ROOT))
    result = asyncio.run(run(args.seconds))
    if args.json:
        print(json.dumps(result))
    else:
        print(f"Home before any lab: {result['home_before_labs_mib']} MiB")
        for r in result["rows"]:
            print(f"{r['lab']:<18} peak {r['peak_mib']:7.1f} MiB   Home after {r['home_after_mib']:7.1f} MiB")


if __name__ == "__main__":
    main()
