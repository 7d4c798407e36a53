"""Key-press latency of the GAN lab while it trains (the "UI stays responsive" check).

    python benchmarks/bench_lab_latency.py --json [--presses 60]

The GAN lab runs headless at 80x24 (Textual's ``run_test``) with its default settings.
Case "training": the lab plays (the worker thread trains chunks of rounds and hands
frames to the UI thread at up to 12 per second); case "paused": the same lab, paused, as
a baseline. Each sample presses the lab's real "a" key (toggle gradient arrows) the way
Pilot does (a Key event sent through the headless driver, as ``pilot.press`` does; with
``--pilot-press``, ``pilot.press`` itself, which afterwards waits up to seconds for an
idle CPU) and measures from just before the press to the moment the screen's
``action_toggle_arrows`` handler starts running, i.e. the time the key waits for the UI
thread (event loop, any frame being drawn, the GIL held by the trainer). Presses are
spaced by a random 20-120 ms so they land at different points of the worker's cycle.
Reported: median, 95th percentile and max in milliseconds, and the rounds per second
the lab trained during the measurement (0 when paused). Pilot injects key events
directly, so terminal input parsing (well under a millisecond) is not included.
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
from tutor.labs.gan2d import GanLab  # noqa: E402


class ProbeLab(GanLab):
    """The GAN lab, recording when its arrows handler starts."""

    def __init__(self) -> None:
        super().__init__()
        self.handled: list[float] = []

    def action_toggle_arrows(self) -> None:
        self.handled.append(time.perf_counter())
        super().action_toggle_arrows()


class Host(App):
    CSS_PATH = os.path.join(os.path.dirname(tutor.__file__), "tutor.tcss")

    def on_mount(self) -> None:
        self.push_screen(ProbeLab())


async def measure(presses: int, training: bool, seed: int, full_press: bool) -> dict:
    rng = random.Random(seed)
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        lab: ProbeLab = app.screen
        while lab._commands.unfinished_tasks or lab.model is None:  # warm-up and build
            await asyncio.sleep(0.05)
        lab.playing = training
        await asyncio.sleep(1.0)  # reach steady state
        start_it, start = lab.iterations, time.perf_counter()
        latencies = []
        for _ in range(presses):
            await asyncio.sleep(rng.uniform(0.02, 0.12))
            before = len(lab.handled)
            t0 = time.perf_counter()
            if full_press:
                await pilot.press("a")
            else:  # what pilot.press does, minus its wait for an idle CPU afterwards
                app._driver.send_message(events.Key("a", "a"))
            while len(lab.handled) == before:
                await asyncio.sleep(0)
            latencies.append((lab.handled[-1] - t0) * 1000.0)
        elapsed = time.perf_counter() - start
        rounds = (lab.iterations - start_it) / elapsed
        still_playing = lab.playing
        lab.playing = False
        await lab.wait_idle()
    latencies.sort()
    return {"presses": presses, "median_ms": round(statistics.median(latencies), 2),
            "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
            "max_ms": round(latencies[-1], 2), "rounds_per_s": round(rounds, 1),
            "trained_throughout": still_playing if training else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--presses", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pilot-press", action="store_true",
                        help="use pilot.press() itself (slow: it waits for an idle CPU, "
                             "which never comes while the lab trains)")
    args = parser.parse_args()
    result = {"lab": "gan-2d",
              "training": asyncio.run(measure(args.presses, True, args.seed, args.pilot_press)),
              "paused": asyncio.run(measure(args.presses, False, args.seed, args.pilot_press))}
    if args.json:
        print(json.dumps(result))
        return
    for case in ("training", "paused"):
        r = result[case]
        print(f"{case:9s} median {r['median_ms']:6.2f} ms  p95 {r['p95_ms']:6.2f} ms  "
              f"max {r['max_ms']:6.2f} ms  ({r['presses']} presses, "
              f"{r['rounds_per_s']:.0f} rounds/s)")


if __name__ == "__main__":
    main()
