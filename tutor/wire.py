"""What the app writes to the terminal, and how fast a lab may send frames.

Labs are built for SSH links, so the lab platform paces frames by what actually reaches
the terminal rather than by a fixed rate:

* ``WireMeter`` wraps the Textual driver's ``write`` and counts the bytes the app emits
  (and, where the driver has a writer thread, how many writes are still queued).
* ``FramePacer`` turns that count into the time before the next frame: a frame that
  changed little costs few bytes and the next one may follow at the frame-rate cap; a
  frame that repainted most of the screen waits until the byte budget allows it. A
  terminal that drains slowly (writes queued up) gets no new frame until it catches up.

Low-bandwidth mode (``--low-bandwidth`` or ``GENAI_TUTOR_LOW_BANDWIDTH=1``) lowers both
the frame-rate cap and the byte budget; labs also quantise their colours more coarsely.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

DEFAULT_FPS, DEFAULT_BUDGET = 12.0, 44_000.0       # frames/s cap, bytes/s while playing
LOW_FPS, LOW_BUDGET = 4.0, 14_000.0
SLOWEST_FRAME = 1.0                                 # keep the sense of motion: >= 1 frame/s
MAX_BACKLOG = 2                                     # queued writes before frames wait


def low_bandwidth_from_env() -> bool:
    return os.environ.get("GENAI_TUTOR_LOW_BANDWIDTH", "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class WireSettings:
    fps: float
    budget: float
    low_bandwidth: bool

    @classmethod
    def choose(cls, low_bandwidth: bool) -> "WireSettings":
        if low_bandwidth:
            return cls(LOW_FPS, LOW_BUDGET, True)
        return cls(DEFAULT_FPS, DEFAULT_BUDGET, False)


class WireMeter:
    """Counts the bytes an app writes to its terminal (thread-safe reads)."""

    def __init__(self) -> None:
        self.total = 0
        self._writer = None
        self._lock = threading.Lock()

    def install(self, driver) -> None:
        """Wrap ``driver.write``; safe to call on any Textual driver (headless included)."""
        if driver is None or getattr(driver, "_genai_wire_meter", None) is self:
            return
        original = driver.write

        def write(data: str) -> None:
            with self._lock:
                self.total += len(data.encode("utf-8", "replace"))
            original(data)

        driver.write = write
        driver._genai_wire_meter = self
        self._writer = getattr(driver, "_writer_thread", None)

    def backlog(self) -> int:
        """Writes queued for the terminal but not yet written (0 if unknown)."""
        queue = getattr(self._writer, "_queue", None)
        try:
            return int(queue.qsize()) if queue is not None else 0
        except (AttributeError, NotImplementedError):
            return 0


class FramePacer:
    """When the next frame of a playing lab may be sent (worker thread only)."""

    def __init__(self, settings: WireSettings, meter: WireMeter | None) -> None:
        self.settings = settings
        self.meter = meter
        self.interval = 1.0 / settings.fps
        self._last_time = -1e9
        self._last_total = meter.total if meter else 0

    def due(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if now - self._last_time < self.interval:
            return False
        if self.meter is not None and self.meter.backlog() > MAX_BACKLOG:
            return now - self._last_time >= SLOWEST_FRAME * 2
        return True

    def sent(self, now: float | None = None) -> None:
        """A frame was just posted: size the gap before the next from the last frame's bytes."""
        now = time.monotonic() if now is None else now
        if self.meter is not None:
            total = self.meter.total
            spent, self._last_total = total - self._last_total, total
            wanted = spent / self.settings.budget
            self.interval = min(SLOWEST_FRAME, max(1.0 / self.settings.fps, wanted))
        self._last_time = now
