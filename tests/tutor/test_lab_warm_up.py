"""Warming a lesson's labs up while the learner reads (issue 18, item 4): the lesson
screen starts ONE low-priority thread that runs the lab's declared warm-ups, a lab that
opens mid-compile waits for that compile instead of starting a second one, and leaving
the app while it runs is clean. Warm-ups here are fakes that record where they ran: no
real kernel compiles in the default tests."""

from __future__ import annotations

import os
import threading

import pytest

from engine import runtime
from tutor import labs
from tutor.screens.lesson import LessonScreen

FAKE_KERNELS = ("fake_first", "fake_second")


class FakeLab:
    WARM_UP = True
    KERNELS = FAKE_KERNELS


@pytest.fixture
def fake_warm_ups(monkeypatch):
    """Two fake engine warm-ups (the first waits for ``gate``), a fresh Warmer, and every
    lab id resolving to a class that declares the fakes as its KERNELS."""
    gate, started = threading.Event(), threading.Event()
    ran: list[tuple[str, str, int | None]] = []

    def record(name: str) -> None:
        nice = (
            os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) if hasattr(os, "getpriority") else None
        )
        ran.append((name, threading.current_thread().name, nice))
        if name == "fake_first":
            started.set()
            assert gate.wait(30), "the test never opened the gate"

    monkeypatch.setattr(runtime, "_DONE", set())
    monkeypatch.setattr(runtime, "_import_engine_modules", lambda names=None: None)
    for name in FAKE_KERNELS:
        monkeypatch.setitem(runtime._WARMUPS, name, lambda n=name: record(n))
        monkeypatch.setitem(runtime._NEEDS, name, ())
    monkeypatch.setattr(labs, "lab_class", lambda lab_id: FakeLab)
    monkeypatch.setattr(labs, "warmer", labs.Warmer(nice=5))
    monkeypatch.setattr(labs, "WARM_WHILE_READING", True)
    yield ran, gate, started
    gate.set()
    labs.warmer.join(30)


async def test_the_lesson_screen_warms_its_lab_up_in_one_low_priority_thread(make_app, fake_warm_ups):
    ran, gate, _ = fake_warm_ups
    gate.set()
    base = os.getpriority(os.PRIO_PROCESS, 0) if hasattr(os, "getpriority") else None
    app = make_app(start=("lesson", "L04"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LessonScreen)
        assert labs.warmer.join(30)
        lesson_labs = [block.lab_id for block in app.screen.lesson.lab_blocks]
    assert lesson_labs and labs.warmer.ready == lesson_labs
    assert [r[0] for r in ran] == list(FAKE_KERNELS)  # each once, in order
    assert {r[1] for r in ran} == {"lab-warm-up"}
    if base is not None and base + 5 <= 19:
        assert {r[2] for r in ran} == {base + 5}
    assert set(FAKE_KERNELS) <= runtime._DONE


async def test_no_warm_up_without_the_switch(make_app, fake_warm_ups, monkeypatch):
    ran, gate, _ = fake_warm_ups
    gate.set()
    monkeypatch.setattr(labs, "WARM_WHILE_READING", False)
    app = make_app(start=("lesson", "L04"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not labs.warmer.busy()
    assert ran == []


def test_a_lab_opening_mid_compile_waits_for_it_and_compiles_nothing_twice(fake_warm_ups):
    """The lab's own warm-up (what LabScreen._warm_up does) while the reading-time thread
    is inside the first warm-up: the lab reports that warm-up as in progress, waits for
    it, then runs the second itself; each warm-up runs exactly once."""
    ran, gate, started = fake_warm_ups
    assert labs.warmer.start(["gan-2d"])
    assert started.wait(30)
    seen: list[tuple[int, int, str]] = []

    def open_lab() -> None:
        labs.warmer.hurry()
        runtime.warm_up(lambda d, t, n: seen.append((d, t, n)), modules=FAKE_KERNELS)

    lab = threading.Thread(target=open_lab, name="lab-worker")
    lab.start()
    lab.join(0.3)
    assert lab.is_alive(), "the lab must wait for the compile in progress"
    assert seen == [(0, 2, "fake_first")]  # its progress bar names what it waits for
    gate.set()
    lab.join(30)
    assert labs.warmer.join(30)
    assert ran == [("fake_first", "lab-warm-up", ran[0][2]), ("fake_second", "lab-worker", ran[1][2])]
    assert seen[-1] == (2, 2, "done")
    assert labs.warmer.ready == []  # stopped part-way: not counted as ready
    runtime.warm_up(modules=FAKE_KERNELS)  # a second lab of the same kernels
    assert [r[0] for r in ran] == list(FAKE_KERNELS)


async def test_leaving_the_app_mid_warm_up_is_clean(make_app, fake_warm_ups):
    """Quit while the first warm-up is running: the app exits at once without waiting
    for it, and nothing further starts when it ends."""
    ran, gate, started = fake_warm_ups
    app = make_app(start=("lesson", "L04"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert started.wait(30)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code in (0, None)
    assert labs.warmer.busy()  # the compile in progress was not waited for
    gate.set()
    assert labs.warmer.join(30)
    assert [r[0] for r in ran] == ["fake_first"]
    assert not labs.warmer.start(["vae"])  # a closed warmer starts nothing
