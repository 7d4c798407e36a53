"""Reading speed: time from a key press to the lesson painted, at 80×24.

    python benchmarks/bench_reading.py --json [--rounds 3] [--pause 1.0]

The real app runs headless (Textual's ``run_test``) on a temporary progress folder.
Every frame the app produces is timed where Textual hands it to the terminal
(``App._display``), and the hook also encodes it into the escape sequences a terminal
would receive, so that cost is counted. A key is sent the way Pilot does (a Key event
through the headless driver, without Pilot's wait for an idle CPU afterwards).

"Painted" is the last frame of the new lesson screen before the app goes quiet for
250 ms: everything the open causes (layout, the saved scroll position restored) is in.
"First frame" is the first frame of the new screen.

Cases, each a median over lessons and rounds:
- first open: Enter on Home on a lesson never rendered before (every cache emptied);
- repeat open: Enter on Home on a lesson opened before;
- n through the course: L01, then `n` to L13, with `--pause` seconds of "reading"
  between presses (the next lesson is prefetched meanwhile);
- n rapid: the same with 0.1 s between presses (little time to prefetch).
Goals (issue 20, quiet machine): repeat <= 100 ms, first <= 300 ms.

Every lesson with a lab starts the reading-time kernel warm-up, as in the app (one
thread at nice +10, tutor/labs: Warmer). ``--lab-warm-up off`` turns it off to compare;
``--empty-kernel-cache`` points NUMBA_CACHE_DIR at a new empty folder, so the keys are
timed while kernels really compile (issue 18: the warm-up must never stall the UI).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

QUIET = 0.25  # seconds without a new frame that count as "settled"


def _clear_caches() -> None:
    """Forget rendered lessons, as on a fresh start of the tutor."""
    from tutor.screens import lesson

    if hasattr(lesson, "lesson_parts"):
        lesson.lesson_parts.cache_clear()
    try:
        from tutor.widgets.document import clear_cache
    except ImportError:  # a version without the line cache
        return
    clear_cache()


class Frames:
    """Records (time, screen) for every frame the app produces."""

    def __init__(self, app) -> None:
        self.app = app
        self.log: list[tuple[float, object]] = []
        original = app._display

        def display(screen, renderable) -> None:
            if renderable is not None and hasattr(renderable, "render_segments"):
                renderable.render_segments(app.console)  # what a real terminal would be sent
            self.log.append((time.perf_counter(), screen))
            original(screen, renderable)

        app._display = display

    async def settle(self, t0: float, is_target, limit: float = 15.0) -> tuple[float, float]:
        """Wait until a frame of the target screen exists and no frame came for QUIET s.
        Returns (first frame, last frame) in ms after t0."""
        while True:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            mine = [t for t, screen in self.log if t >= t0 and is_target(screen)]
            last_any = max((t for t, _ in self.log if t >= t0), default=t0)
            if mine and now - last_any >= QUIET:
                return (mine[0] - t0) * 1000, (mine[-1] - t0) * 1000
            if now - t0 > limit:
                raise TimeoutError("the lesson was not painted")


def _is_lesson(lesson_id: str):
    return lambda screen: getattr(screen, "lesson_id", None) == lesson_id


async def _press(app, frames: Frames, key: str, lesson_id: str) -> tuple[float, float]:
    from textual import events

    await asyncio.sleep(QUIET)
    t0 = time.perf_counter()
    app._driver.send_message(events.Key(key, key if len(key) == 1 else None))
    return await frames.settle(t0, _is_lesson(lesson_id))


async def _open_from_home(app, frames: Frames, lesson_id: str, cold: bool) -> tuple[float, float]:
    from textual.widgets import OptionList

    lessons = app.screen.query_one("#lessons", OptionList)
    lessons.focus()
    lessons.highlighted = lessons.get_option_index(lesson_id)
    if cold:
        _clear_caches()
    result = await _press(app, frames, "enter", lesson_id)
    app.pop_screen()
    return result


async def measure(rounds: int, pause: float, warm_up: bool = True) -> dict:
    from quizzes.store import Store
    from tutor import labs
    from tutor.app import TutorApp

    labs.WARM_WHILE_READING = warm_up

    cases: dict[str, list[tuple[float, float]]] = {
        "first_open": [],
        "repeat_open": [],
        "n_through_course": [],
        "n_rapid": [],
    }
    with tempfile.TemporaryDirectory() as home:
        os.environ["GENAI_TUTOR_HOME"] = home
        app = TutorApp(store=Store.open())
        async with app.run_test(size=(80, 24)):
            frames = Frames(app)
            await asyncio.sleep(0.5)
            ids = [lesson.id for lesson in app.course.lessons]
            for _ in range(rounds):
                for lesson_id in ids:
                    cases["first_open"].append(await _open_from_home(app, frames, lesson_id, cold=True))
                    cases["repeat_open"].append(await _open_from_home(app, frames, lesson_id, cold=False))
            for case, gap in (("n_through_course", pause), ("n_rapid", 0.1)):
                for _ in range(rounds):
                    _clear_caches()
                    app.open_lesson(ids[0])
                    await frames.settle(time.perf_counter(), _is_lesson(ids[0]))
                    for lesson_id in ids[1:]:
                        await asyncio.sleep(max(0.0, gap - QUIET))
                        cases[case].append(await _press(app, frames, "n", lesson_id))
                    app.pop_screen()
    result: dict = {"lab_warm_up": warm_up, "labs_warmed": list(labs.warmer.ready)}
    for case, samples in cases.items():
        painted = sorted(s[1] for s in samples)
        result[case] = {
            "samples": len(samples),
            "median_ms": round(statistics.median(painted), 1),
            "p90_ms": round(painted[int(0.9 * (len(painted) - 1))], 1),
            "max_ms": round(painted[-1], 1),
            "first_frame_median_ms": round(statistics.median(s[0] for s in samples), 1),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the course per case")
    parser.add_argument("--pause", type=float, default=1.0, help="seconds of reading between n presses")
    parser.add_argument("--lab-warm-up", choices=("on", "off"), default="on", help="the reading-time warm-up")
    parser.add_argument("--empty-kernel-cache", action="store_true", help="compile every kernel afresh")
    args = parser.parse_args()
    os.environ["TEXTUAL_ANIMATIONS"] = "none"
    cache = None
    if args.empty_kernel_cache:
        cache = tempfile.mkdtemp(prefix="genai-reading-numba-")
        os.environ["NUMBA_CACHE_DIR"] = cache
    load = os.getloadavg()[0]
    try:
        measured = asyncio.run(measure(args.rounds, args.pause, args.lab_warm_up == "on"))
    finally:
        if cache is not None:
            shutil.rmtree(cache, ignore_errors=True)
    result = {
        "size": "80x24",
        "load_1min": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "empty_kernel_cache": args.empty_kernel_cache,
        **measured,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"load average {load:.2f}")
    for case, r in result.items():
        if isinstance(r, dict):
            print(
                f"{case:17s} median {r['median_ms']:7.1f} ms  p90 {r['p90_ms']:7.1f} ms  "
                f"max {r['max_ms']:7.1f} ms  (first frame {r['first_frame_median_ms']:.1f} ms, "
                f"{r['samples']} samples)"
            )


if __name__ == "__main__":
    main()
