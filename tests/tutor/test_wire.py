"""The frame pacer: frames wait for the byte budget, never past the slowest frame gap."""

from __future__ import annotations

from tutor.wire import FramePacer, WireMeter, WireSettings


class FakeDriver:
    def __init__(self) -> None:
        self.written: list[str] = []

    def write(self, data: str) -> None:
        self.written.append(data)


def test_meter_counts_bytes_written_through_the_driver():
    driver, meter = FakeDriver(), WireMeter()
    meter.install(driver)
    meter.install(driver)  # installing twice counts once
    driver.write("abc")
    driver.write("é")  # two bytes in UTF-8
    assert meter.total == 5 and driver.written == ["abc", "é"]


def test_pacer_spaces_frames_by_what_they_cost():
    driver, meter = FakeDriver(), WireMeter()
    meter.install(driver)
    settings = WireSettings.choose(False)
    pacer = FramePacer(settings, meter)
    assert pacer.due(now=0.0)
    pacer.sent(now=0.0)
    driver.write("x" * 100)  # a cheap frame: the next may follow at the fps cap
    pacer.sent(now=0.1)
    assert abs(pacer.interval - 1 / settings.fps) < 1e-9
    driver.write("x" * int(settings.budget / 2))  # half a second's budget: wait half a second
    pacer.sent(now=0.2)
    assert abs(pacer.interval - 0.5) < 0.01
    assert not pacer.due(now=0.5) and pacer.due(now=0.71)
    assert abs(pacer.wait(now=0.5) - 0.2) < 0.01 and pacer.wait(now=0.71) == 0.0  # when due
    driver.write("x" * int(settings.budget * 10))  # a huge frame: never slower than the slowest gap
    pacer.sent(now=1.0)
    assert pacer.interval == settings.slowest


def test_low_bandwidth_is_slower_and_leaner():
    low, normal = WireSettings.choose(True), WireSettings.choose(False)
    assert low.low_bandwidth and low.fps < normal.fps and low.budget < normal.budget
    assert low.slowest >= normal.slowest


WAKE_SCRIPT = """
import asyncio, signal, sys, threading, time
from tutor.wire import SignalWaker

async def handled_before_timer(use_waker, timer_s):
    loop = asyncio.get_running_loop()
    ran, ran_at = asyncio.Event(), []
    signal.signal(signal.SIGUSR1, lambda *_: (ran_at.append(loop.time()), ran.set()))
    waker = SignalWaker()
    if use_waker:
        assert waker.install(loop) and not SignalWaker().install(loop)

    def signal_this_thread_later():
        time.sleep(0.3)  # by then the main thread sleeps in the event loop
        signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)

    threading.Thread(target=signal_this_thread_later, daemon=True).start()
    deadline = loop.time() + timer_s
    loop.call_at(deadline, lambda: None)  # the loop's only timer: it wakes the loop then
    await ran.wait()
    waker.close()
    assert signal.set_wakeup_fd(-1) == -1
    return deadline - ran_at[0] > 1.0  # handled well before the timer, not when it woke

print(asyncio.run(handled_before_timer(False, 3)), asyncio.run(handled_before_timer(True, 30)))
"""


def test_a_signal_on_another_thread_wakes_an_idle_loop():
    """What SignalWaker is for: a handler installed with signal.signal (as Textual's
    SIGWINCH handler is) runs on the main thread only when that thread executes Python
    again. A signal the kernel gives to another thread while the loop sleeps waits for
    the loop's next timer; with the waker it runs at once. (In a fresh interpreter: the
    test runner's own loop may be woken by other things.)"""
    import subprocess
    import sys
    from pathlib import Path

    out = subprocess.run(
        [sys.executable, "-c", WAKE_SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True"]  # without: after the timer; with: before
