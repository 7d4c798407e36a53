"""Key-press latency of every lab while it plays (the "UI stays responsive" check).

    python benchmarks/bench_lab_latency.py --json [--presses 60] [--labs gan-2d,vae]

Each lab runs headless at 80x24 (Textual's ``run_test``) with its default settings.
Case "playing": the lab plays (its worker trains, animates or runs the film and posts
frames); case "paused": the same lab, paused, as a baseline. Each sample presses the
lab's real "]" key (select the next knob, a binding every lab has) the way Pilot does
(a Key event sent through the headless driver; with ``--pilot-press``, ``pilot.press``
itself, which afterwards waits up to seconds for an idle CPU) and measures from just
before the press to the moment the screen's ``action_knob`` handler starts, i.e. the
time the key waits for the UI thread (event loop, a frame being drawn, the GIL held by
the worker). Presses are spaced by a random 20-120 ms. Reported per lab: median, 95th
percentile and max in milliseconds, and the iterations per second during the
measurement. Goal (lab-platform issue): p95 <= 50 ms while playing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from textual import events  # noqa: E402
from textual.app import App  # noqa: E402

import tutor  # noqa: E402
from tutor import labs  # noqa: E402


def probe_class(lab_id: str) -> type:
    """The lab's screen class, recording when its knob-selection handler starts."""
    base = type(labs.create(lab_id))

    def action_knob(self, delta: int) -> None:
        self.handled.append(time.perf_counter())
        base.action_knob(self, delta)

    return type(f"Probe{base.__name__}", (base,), {"action_knob": action_knob})


def host(lab_id: str) -> App:
    probe = probe_class(lab_id)

    class Host(App):
        CSS_PATH = os.path.join(os.path.dirname(tutor.__file__), "tutor.tcss")

        def on_mount(self) -> None:
            screen = probe()
            screen.handled = []
            self.push_screen(screen)

    return Host()


async def measure(lab_id: str, presses: int, training: bool, seed: int, full_press: bool) -> dict:
    rng = random.Random(seed)
    app = host(lab_id)
    async with app.run_test(size=(80, 24)) as pilot:
        lab = app.screen
        await lab.wait_idle(120)  # warm-up and build
        lab.playing = training and lab.PLAY is not None
        await asyncio.sleep(1.0)  # reach steady state
        start_it, start = lab.iterations, time.perf_counter()
        latencies = []
        for _ in range(presses):
            await asyncio.sleep(rng.uniform(0.02, 0.12))
            before = len(lab.handled)
            t0 = time.perf_counter()
            if full_press:
                await pilot.press("right_square_bracket")
            else:  # what pilot.press does, minus its wait for an idle CPU afterwards
                app._driver.send_message(events.Key("right_square_bracket", "]"))
            while len(lab.handled) == before:
                await asyncio.sleep(0)
            latencies.append((lab.handled[-1] - t0) * 1000.0)
        elapsed = time.perf_counter() - start
        rounds = (lab.iterations - start_it) / elapsed
        still_playing = lab.playing
        lab.playing = False
        await lab.wait_idle()
    latencies.sort()
    return {
        "presses": presses,
        "median_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
        "max_ms": round(latencies[-1], 2),
        "iterations_per_s": round(rounds, 1),
        "trained_throughout": still_playing if training else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--presses", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--labs", default="", help="comma-separated lab ids (default: all)")
    parser.add_argument(
        "--pilot-press",
        action="store_true",
        help="use pilot.press() itself (slow: it waits for an idle CPU, "
        "which never comes while the lab trains)",
    )
    args = parser.parse_args()
    os.environ.setdefault("GENAI_TUTOR_HOME", __import__("tempfile").mkdtemp(prefix="bench-latency-"))
    chosen = [x for x in args.labs.split(",") if x] or sorted(labs.LABS)
    result = {
        lab_id: {
            "playing": asyncio.run(measure(lab_id, args.presses, True, args.seed, args.pilot_press)),
            "paused": asyncio.run(measure(lab_id, args.presses, False, args.seed, args.pilot_press)),
        }
        for lab_id in chosen
    }
    if args.json:
        print(json.dumps(result))
        return
    for lab_id, cases in result.items():
        for case in ("playing", "paused"):
            r = cases[case]
            print(
                f"{lab_id:<18} {case:8s} median {r['median_ms']:6.2f} ms  p95 {r['p95_ms']:6.2f} ms  "
                f"max {r['max_ms']:6.2f} ms  ({r['presses']} presses, "
                f"{r['iterations_per_s']:.0f} it/s)"
            )


if __name__ == "__main__":
    main()
