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
    driver.write("x" * int(settings.budget * 10))  # a huge frame: never slower than the slowest gap
    pacer.sent(now=1.0)
    assert pacer.interval == settings.slowest


def test_low_bandwidth_is_slower_and_leaner():
    low, normal = WireSettings.choose(True), WireSettings.choose(False)
    assert low.low_bandwidth and low.fps < normal.fps and low.budget < normal.budget
    assert low.slowest >= normal.slowest
