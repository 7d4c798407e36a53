"""Warming a lesson's labs up while the learner reads (issue 18, item 4).

The lesson screen hands its labs to ``tutor.labs.warmer``: a child process compiles at
low priority (here a fake child, a few lines of Python that print progress and can wait
for a gate file), then the warmer's thread loads the kernels in-process (here fake
engine warm-ups that record where they ran). No real kernel compiles in the default
tests; the one real compile is marked slow."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from engine import runtime
from tutor import labs
from tutor.screens.lesson import LessonScreen

FAKE_KERNELS = ("fake_first", "fake_second")

FAKE_CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    lab_id, nice, record, gate = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    os.nice(nice)
    with open(record, "a") as f:
        f.write(json.dumps([lab_id, os.getpriority(os.PRIO_PROCESS, 0), os.getpid()]) + "\\n")
    print("progress 0 2 fake_first", flush=True)
    while not os.path.exists(gate):
        time.sleep(0.01)
    print("progress 1 2 fake_second", flush=True)
    open(gate + ".cached", "w").close()  # the fake kernels are in the "disk cache" now
    print("progress 2 2 done", flush=True)
    """
)


class FakeLab:
    WARM_UP = True
    KERNELS = FAKE_KERNELS


class Fakes:
    def __init__(self, tmp_path):
        self.record, self.gate = tmp_path / "children.jsonl", tmp_path / "gate"
        self.ran: list[tuple[str, str]] = []
        self.loading = threading.Event()  # set to hold the in-process load of fake_first
        self.release = threading.Event()

    def command(self, lab_id: str, nice: int) -> list[str]:
        return [sys.executable, "-c", FAKE_CHILD, lab_id, str(nice), str(self.record), str(self.gate)]

    def children(self) -> list[list]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines()]

    def open_gate(self) -> None:
        self.gate.touch()

    def cached(self) -> bool:
        return (self.gate.parent / (self.gate.name + ".cached")).exists()

    def load(self, name: str) -> None:
        if (runtime.deferring() or getattr(runtime._deferred_calls, "here", False)) and not self.cached():
            runtime._deferred_calls.n = runtime.deferred_calls() + 1  # what a twin's run counts
            runtime.note_miss()  # what a kernel's dispatcher does at a miss
            return
        self.ran.append((name, threading.current_thread().name))
        if name == "fake_first" and self.loading.is_set():
            assert self.release.wait(30), "the test never released the load"


@pytest.fixture
def fakes(tmp_path, monkeypatch):
    f = Fakes(tmp_path)
    monkeypatch.setattr(runtime, "_DONE", set())
    monkeypatch.setattr(runtime, "_import_engine_modules", lambda names=None: None)
    for name in FAKE_KERNELS:
        monkeypatch.setitem(runtime._WARMUPS, name, lambda n=name: f.load(n))
        monkeypatch.setitem(runtime._NEEDS, name, ())
    monkeypatch.setattr(labs, "lab_class", lambda lab_id: FakeLab)
    monkeypatch.setattr(labs, "warmer", labs.Warmer(nice=5, command=f.command))
    monkeypatch.setattr(labs, "WARM_WHILE_READING", True)
    yield f
    f.open_gate()
    f.release.set()
    labs.warmer.close()
    labs.warmer.join(30)


async def test_the_lesson_screen_compiles_its_labs_in_a_low_priority_child(make_app, fakes):
    fakes.open_gate()
    base = os.getpriority(os.PRIO_PROCESS, 0)
    app = make_app(start=("lesson", "L04"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LessonScreen)
        assert labs.warmer.join(30)
        lesson_labs = [block.lab_id for block in app.screen.lesson.lab_blocks]
    assert lesson_labs and labs.warmer.ready == lesson_labs
    children = fakes.children()
    assert [c[0] for c in children] == lesson_labs and children[0][2] != os.getpid()
    assert {c[1] for c in children} == {min(19, base + 5)}  # the child runs niced
    # then each warm-up loads once, in the warmer's thread, in order
    assert fakes.ran == [(name, "lab-warm-up") for name in FAKE_KERNELS]


async def test_no_warm_up_without_the_switch(make_app, fakes, monkeypatch):
    monkeypatch.setattr(labs, "WARM_WHILE_READING", False)
    app = make_app(start=("lesson", "L04"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not labs.warmer.busy()
    assert fakes.children() == [] and fakes.ran == []


def _wait_for(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _open_lab(lab_id: str, seen: list) -> threading.Thread:
    """What LabScreen._warm_up does, in a thread like the lab's worker."""

    def run() -> None:
        progress = lambda d, t, n: seen.append((d, t, n))  # noqa: E731
        labs.warmer.hurry(lab_id, progress)
        runtime.warm_up(progress, modules=FAKE_KERNELS)

    thread = threading.Thread(target=run, name="lab-worker")
    thread.start()
    return thread


def test_a_lab_opening_mid_compile_waits_for_that_compile_with_its_progress(fakes):
    assert labs.warmer.start(["gan-2d"])
    _wait_for(lambda: fakes.children())
    seen: list = []
    lab = _open_lab("gan-2d", seen)
    lab.join(0.5)
    assert lab.is_alive(), "the lab must wait for the compile of its kernels"
    fakes.open_gate()
    lab.join(30)
    assert not lab.is_alive() and labs.warmer.join(30)
    assert (1, 2, "fake_second") in seen  # the child's progress, shown by the lab
    assert seen[-1] == (2, 2, "done")
    assert len(fakes.children()) == 1  # one compile
    assert fakes.ran == [(name, "lab-worker") for name in FAKE_KERNELS]  # one load each
    assert labs.warmer.ready == []  # stopped before its own load: not counted


def test_a_lab_opening_mid_load_waits_for_that_load_and_loads_nothing_twice(fakes):
    fakes.open_gate()
    fakes.loading.set()
    assert labs.warmer.start(["gan-2d"])
    _wait_for(lambda: fakes.ran)
    seen: list = []
    lab = _open_lab("gan-2d", seen)
    lab.join(0.3)
    assert lab.is_alive(), "the lab must wait for the load in progress"
    assert seen == [(0, 2, "fake_first")]  # its progress bar names what it waits for
    fakes.release.set()
    lab.join(30)
    assert labs.warmer.join(30)
    assert fakes.ran == [("fake_first", "lab-warm-up"), ("fake_second", "lab-worker")]
    runtime.warm_up(modules=FAKE_KERNELS)  # a second lab of the same kernels
    assert [r[0] for r in fakes.ran] == list(FAKE_KERNELS)


def test_another_lab_opening_stops_the_child_at_once(fakes):
    assert labs.warmer.start(["gan-2d"])
    _wait_for(lambda: fakes.children())
    start = time.monotonic()
    lab = _open_lab("vae", [])
    lab.join(10)
    assert not lab.is_alive() and time.monotonic() - start < 10
    assert labs.warmer.join(10)
    assert "gan-2d" not in labs.warmer.errors  # stopped, not failed
    assert fakes.ran == [(name, "lab-worker") for name in FAKE_KERNELS]


def test_a_failing_child_is_one_line_for_the_lab(fakes, monkeypatch):
    monkeypatch.setattr(
        labs.warmer,
        "command",
        lambda lab_id, nice: [sys.executable, "-c", "print('error Boom: no'); exit(1)"],
    )
    assert labs.warmer.start(["gan-2d"])
    assert labs.warmer.join(30)
    assert labs.warmer.errors == {"gan-2d": "Boom: no"} and fakes.ran == []


async def test_leaving_the_app_mid_compile_is_clean(make_app, fakes):
    """Quit while the child compiles: the app exits at once, the child is stopped,
    nothing further starts."""
    app = make_app(start=("lesson", "L04"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        _wait_for(lambda: fakes.children())
        start = time.monotonic()
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert time.monotonic() - start < 10
    assert app.return_code in (0, None)
    assert labs.warmer.join(30)
    assert fakes.ran == [] and labs.warmer.ready == []
    assert not labs.warmer.start(["vae"])  # a closed warmer starts nothing


@pytest.mark.slow
def test_the_child_fills_the_cache_the_app_then_loads_without_compiling(tmp_path):
    """Real kernels: the child compiles the temperature lab's kernels into an empty
    cache; a fresh process then warms the same lab up with no cache miss."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run(
        labs.child_command("temperature", 0), env=env, cwd=root, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.splitlines()[-1].startswith("progress") and "done" in out.stdout
    code = textwrap.dedent(
        """
        import json, gc
        from numba.core.registry import CPUDispatcher
        from tutor import labs
        labs._warm_lab("temperature")
        stats = [(sum(d.stats.cache_hits.values()), sum(d.stats.cache_misses.values()))
                 for d in gc.get_objects() if isinstance(d, CPUDispatcher) and d.signatures
                 and d.py_func.__module__.startswith("engine")]
        print(json.dumps(stats))
        """
    )
    again = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    stats = json.loads(again.stdout.splitlines()[-1])
    assert stats and all(hits >= 1 and misses == 0 for hits, misses in stats)


# ------------------------------------------------------- deferred compiles (the app's way)


@pytest.fixture
def deferring(fakes, monkeypatch):
    monkeypatch.setattr(labs, "DEFER_COMPILES", True)
    monkeypatch.setattr(runtime, "_deferring", False)
    yield fakes
    runtime.set_deferring(False)


def _open_deferred(lab_id: str, seen: list, tokens: list | None = None) -> threading.Thread:
    """What a lab's worker does in the app, in a thread like it: LabScreen._warm_up,
    then its first frame, which calls each of its kernels once (``tokens``: gets the
    token for stop_deferring)."""

    def run() -> None:
        token = labs.get_kernels_ready(lab_id, FAKE_KERNELS, lambda d, t, n: seen.append((d, t, n)))
        for name in FAKE_KERNELS:
            runtime._WARMUPS[name]()  # the fake kernel's call: loads it, or runs its twin
        if tokens is not None:
            tokens.append(token)

    thread = threading.Thread(target=run, name="lab-worker")
    thread.start()
    return thread


def test_a_lab_opening_cold_never_waits_and_a_child_compiles_at_the_apps_priority(deferring):
    seen: list = []
    lab = _open_deferred("gan-2d", seen)
    lab.join(10)
    assert not lab.is_alive(), "the lab must not wait for a compile"
    assert runtime.deferring()  # its kernels run their twins meanwhile
    _wait_for(lambda: deferring.children())
    assert deferring.children()[0][1] == os.getpriority(os.PRIO_PROCESS, 0)  # not niced
    deferring.open_gate()
    assert labs.warmer.join(30)
    assert not runtime.deferring()  # compiled and loaded: full speed
    assert (1, 2, "fake_second") in seen and seen[-1] == (1, 1, "")
    assert deferring.ran == [(name, "lab-warm-up") for name in FAKE_KERNELS]
    assert labs.warmer.ready == ["gan-2d"]


def test_a_lab_opening_mid_reading_keeps_that_child_and_raises_its_priority(deferring):
    assert labs.warmer.start(["gan-2d"])
    _wait_for(lambda: deferring.children())
    pid = deferring.children()[0][2]
    assert os.getpriority(os.PRIO_PROCESS, pid) > os.getpriority(os.PRIO_PROCESS, 0)
    seen: list = []
    lab = _open_deferred("gan-2d", seen)
    lab.join(10)
    assert not lab.is_alive() and runtime.deferring()
    with contextlib.suppress(PermissionError):  # some systems never raise a priority back
        assert os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(os.PRIO_PROCESS, 0)
    deferring.open_gate()
    assert labs.warmer.join(30) and not runtime.deferring()
    assert len(deferring.children()) == 1  # one compile, not two
    assert (1, 2, "fake_second") in seen


def test_a_lab_opening_stops_another_labs_child(deferring):
    assert labs.warmer.start(["vae"])
    _wait_for(lambda: deferring.children())
    lab = _open_deferred("gan-2d", [])
    lab.join(10)
    assert not lab.is_alive()
    _wait_for(lambda: len(deferring.children()) == 2)
    assert [c[0] for c in deferring.children()] == ["vae", "gan-2d"]
    deferring.open_gate()
    assert labs.warmer.join(30) and not runtime.deferring()
    assert labs.warmer.ready == ["gan-2d"] and "vae" not in labs.warmer.errors


def test_with_everything_cached_a_lab_loads_at_once_and_starts_no_child(deferring):
    (deferring.gate.parent / (deferring.gate.name + ".cached")).touch()
    tokens: list = []
    lab = _open_deferred("gan-2d", [], tokens)
    lab.join(10)
    assert not lab.is_alive()
    assert deferring.children() == [] and not labs.warmer.busy()
    assert deferring.ran == [(name, "lab-worker") for name in FAKE_KERNELS]  # each at its first call
    assert runtime.deferring()  # while the lab is open: a kernel it calls later may be missing
    labs.warmer.stop_deferring("gan-2d", tokens[0])  # what its worker does when it ends
    assert not runtime.deferring()


def test_a_lab_closing_late_does_not_end_the_deferral_of_the_lab_opened_after_it(deferring):
    (deferring.gate.parent / (deferring.gate.name + ".cached")).touch()
    first: list = []
    _open_deferred("gan-2d", [], first).join(10)
    second: list = []
    _open_deferred("gan-2d", [], second).join(10)  # the learner left and came back at once
    labs.warmer.stop_deferring("gan-2d", first[0])  # the first worker's end, arriving late
    assert runtime.deferring()
    labs.warmer.stop_deferring("gan-2d", second[0])
    assert not runtime.deferring()


def test_a_miss_while_the_lab_is_open_starts_the_compile_then(deferring):
    """No kernel missing at first, one later (a knob reaching other code): that miss
    starts the child; nothing before it."""
    cached = deferring.gate.parent / (deferring.gate.name + ".cached")
    cached.touch()
    lab = _open_deferred("gan-2d", [])
    lab.join(10)
    assert deferring.children() == []
    cached.unlink()
    runtime._WARMUPS["fake_second"]()  # a later call finds its kernel missing
    _wait_for(lambda: deferring.children())
    assert deferring.children()[0][0] == "gan-2d"
    deferring.open_gate()
    assert labs.warmer.join(30) and not runtime.deferring()
    assert labs.warmer.ready == ["gan-2d"]


def test_reading_with_everything_cached_loads_without_a_child(deferring):
    (deferring.gate.parent / (deferring.gate.name + ".cached")).touch()
    assert labs.warmer.start(["gan-2d"])
    assert labs.warmer.join(30)
    assert deferring.children() == [] and labs.warmer.ready == ["gan-2d"]
    assert deferring.ran == [(name, "lab-warm-up") for name in FAKE_KERNELS]


def test_a_failed_compile_ends_deferring(deferring, monkeypatch):
    failing = [sys.executable, "-c", "print('error Boom: no'); exit(1)"]
    monkeypatch.setattr(labs.warmer, "command", lambda lab_id, nice: failing)
    lab = _open_deferred("gan-2d", [])
    lab.join(10)
    assert labs.warmer.join(30)
    assert not runtime.deferring()  # a missing kernel now compiles in the app, as before
    assert labs.warmer.errors == {"gan-2d": "Boom: no"}


def test_reading_time_loading_gives_way_to_the_open_lab(deferring):
    """The lab is open (it loads what it uses at its first calls): a reading-time
    warm-up of the same lab neither loads beside it nor ends its deferral."""
    (deferring.gate.parent / (deferring.gate.name + ".cached")).touch()
    tokens: list = []
    _open_deferred("gan-2d", [], tokens).join(10)
    assert labs.warmer.start(["gan-2d"])  # e.g. the lesson behind it queues the lab
    assert labs.warmer.join(30)
    assert runtime.deferring() and deferring.children() == []
    assert deferring.ran == [(name, "lab-worker") for name in FAKE_KERNELS]  # nothing loaded twice
    assert labs.warmer.ready == [] and labs.warmer.errors == {}


def test_a_miss_while_reading_time_loading_runs_makes_it_compile(deferring):
    """The lab opens while the warmer's thread loads the same lab's kernels and misses
    one: the thread, not finding them all, compiles (at the app's priority) instead of
    giving way."""
    cached = deferring.gate.parent / (deferring.gate.name + ".cached")
    cached.touch()
    deferring.loading.set()  # the thread's load of fake_first waits for release
    assert labs.warmer.start(["gan-2d"])
    _wait_for(lambda: deferring.ran)
    labs.get_kernels_ready("gan-2d", FAKE_KERNELS)  # the lab opens (this thread is its worker)
    cached.unlink()
    runtime._WARMUPS["fake_second"]()  # its first call misses
    assert deferring.children() == []  # the thread is still loading: it will compile
    deferring.release.set()
    _wait_for(lambda: deferring.children())
    assert deferring.children()[0][:2] == ["gan-2d", os.getpriority(os.PRIO_PROCESS, 0)]
    deferring.open_gate()
    assert labs.warmer.join(30) and not runtime.deferring()
    assert labs.warmer.ready == ["gan-2d"]


async def test_a_real_lab_in_the_app_defers_while_open_and_stops_when_left(make_app, monkeypatch, tmp_path):
    """The app's way end to end, with the GAN lab's real kernels: its first frame comes
    (from compiled, cached or twin kernels, whichever the cache allows), deferring is on
    while it is open and ends when the learner leaves. A miss would start a compile; the
    child here is a stand-in that reports done at once, so nothing compiles in a child."""
    from tutor.labs.base import LabScreen

    child = [sys.executable, "-c", "print('progress 1 1 done', flush=True)"]
    monkeypatch.setattr(labs, "warmer", labs.Warmer(command=lambda lab_id, nice: child))
    monkeypatch.setattr(labs, "DEFER_COMPILES", True)
    monkeypatch.setattr(labs, "WARM_WHILE_READING", False)
    monkeypatch.setattr(runtime, "_deferring", False)
    app = make_app()
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            app.open_lab("gan-2d")
            await pilot.pause()
            lab = app.screen
            assert isinstance(lab, LabScreen)
            await lab.wait_idle()
            for _ in range(600):
                if lab.last_frame is not None:
                    break
                await pilot.pause(0.05)
            assert lab.last_frame is not None and "error" not in lab.last_frame.get("_metrics", {})
            assert runtime.deferring() or labs.warmer.errors == {}  # ended only by a finished compile
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, LabScreen)
            for _ in range(1200):  # the worker ends (or, with an empty cache, the warmer's compile)
                if not runtime.deferring():
                    break
                await pilot.pause(0.05)
            assert not runtime.deferring()
    finally:
        labs.warmer.close()
        runtime.set_deferring(False)


def test_a_lab_left_while_reading_time_loading_runs_still_ends_its_deferral(deferring):
    """The learner opens the lab and leaves again while the warmer's thread loads the
    same lab: the thread does not give way to a lab that is gone, and deferring ends."""
    cached = deferring.gate.parent / (deferring.gate.name + ".cached")
    cached.touch()
    deferring.loading.set()  # the thread's load of fake_first waits for release
    assert labs.warmer.start(["gan-2d"])
    _wait_for(lambda: deferring.ran)
    token = labs.get_kernels_ready("gan-2d", FAKE_KERNELS)  # opened ...
    labs.warmer.stop_deferring("gan-2d", token)  # ... and left: the thread is still at work
    assert runtime.deferring()
    deferring.release.set()
    assert labs.warmer.join(30)
    assert not runtime.deferring()
