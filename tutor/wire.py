"""What the app writes to the terminal, and how fast a lab may send frames.

Labs are built for SSH links, so the lab platform paces frames by what actually reaches
the terminal rather than by a fixed rate:

* ``WireMeter`` wraps the Textual driver's ``write`` and counts the bytes the app emits
  (and, where the driver has a writer thread, how many writes are still queued).
* ``FramePacer`` turns that count into the time before the next frame: a frame that
  changed little costs few bytes and the next one may follow at the frame-rate cap; a
  frame that repainted most of the screen waits until the byte budget allows it. A
  terminal that drains slowly (writes queued up) gets no new frame until it catches up.

* ``SgrFolder`` makes what the app writes cheaper without changing what the terminal
  shows: Textual ends every styled run with a reset (``ESC[0m``) and starts the next
  with its whole style, so a row of half-block pixels spends most of its bytes
  re-stating colours the terminal already has. The folder keeps the terminal's current
  attributes and sends only what changes, just before something is printed.

Low-bandwidth mode (``--low-bandwidth`` or ``GENAI_TUTOR_LOW_BANDWIDTH=1``) lowers both
the frame-rate cap and the byte budget; labs also quantise their colours more coarsely.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass

# frames/s cap, bytes/s while playing. The budget stays under the lab platform's 60 KB/s
# and leaves room for 8 frames/s of a GAN lab frame (about 5 KB after SgrFolder and the
# canvas's palette keys; benchmarks/bench_wire.py measures it).
DEFAULT_FPS, DEFAULT_BUDGET = 12.0, 56_000.0
LOW_FPS, LOW_BUDGET = 4.0, 14_000.0
SLOWEST_FRAME = 1.0  # keep the sense of motion: >= 1 frame/s
LOW_SLOWEST_FRAME = 2.0  # ... or every 2 s on a slow link
MAX_BACKLOG = 2  # queued writes before frames wait


def low_bandwidth_from_env() -> bool:
    return os.environ.get("GENAI_TUTOR_LOW_BANDWIDTH", "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class WireSettings:
    fps: float
    budget: float
    low_bandwidth: bool
    slowest: float = SLOWEST_FRAME

    @classmethod
    def choose(cls, low_bandwidth: bool) -> WireSettings:
        if low_bandwidth:
            return cls(LOW_FPS, LOW_BUDGET, True, LOW_SLOWEST_FRAME)
        return cls(DEFAULT_FPS, DEFAULT_BUDGET, False)


# ---------------------------------------------------------------- SGR folding
#
# A terminal's graphic state, as far as the folder tracks it: (foreground, background,
# flags). A colour is the tuple of its SGR parameters (("38", "5", "17"), ("31",)) or
# None for the default; flags is a bit set of the attributes below.

_FLAG_ON = {"1": 1, "2": 2, "3": 4, "4": 8, "5": 16, "7": 32, "8": 64, "9": 128, "53": 256}
_FLAG_OFF = {"23": 4, "24": 8, "25": 16, "27": 32, "28": 64, "29": 128, "55": 256}
_OFF_CODE = {4: "23", 8: "24", 16: "25", 32: "27", 64: "28", 128: "29", 256: "55"}
_ON_CODE = {bit: code for code, bit in _FLAG_ON.items()}
_BOLD_DIM = 1 | 2  # both are turned off by 22
_PLAIN: tuple = (None, None, 0)
_UNKNOWN = None  # the terminal's state after an SGR the folder does not understand

# CSI sequences that neither print nor depend on the colours (cursor moves, DEC private
# modes such as ?25l or ?2026h): an SGR may be moved past them. Everything else (text,
# newlines, erases, scrolls, OSC...) first gets the terminal into the wanted state.
_TOKEN = re.compile(r"\x1b\[([0-9;:]*)m|\x1b\[[0-9;]*[ABCDEFGHdf]|\x1b\[\?[0-9;]*[hl]")


def _resets(params: str) -> bool:
    """Whether ``ESC[params m`` starts by resetting every attribute."""
    return params.split(";", 1)[0] in ("", "0")


def _sgr_apply(state: tuple, params: str) -> tuple | None:
    """The state after ``ESC[params m`` from ``state``; None if a parameter is unknown."""
    fg, bg, flags = state
    codes = params.split(";") if params else ["0"]
    i = 0
    while i < len(codes):
        code = codes[i] or "0"
        if code == "0":
            fg, bg, flags = _PLAIN
        elif code in _FLAG_ON:
            flags |= _FLAG_ON[code]
        elif code == "22":
            flags &= ~_BOLD_DIM
        elif code in _FLAG_OFF:
            flags &= ~_FLAG_OFF[code]
        elif code in ("38", "48"):
            width = {"5": 3, "2": 5}.get(codes[i + 1] if i + 1 < len(codes) else "", 0)
            if not width or i + width > len(codes):
                return None
            colour = tuple(codes[i : i + width])
            fg, bg = (colour, bg) if code == "38" else (fg, colour)
            i += width
            continue
        elif code == "39":
            fg = None
        elif code == "49":
            bg = None
        elif code.isdigit() and (30 <= int(code) <= 37 or 90 <= int(code) <= 97):
            fg = (code,)
        elif code.isdigit() and (40 <= int(code) <= 47 or 100 <= int(code) <= 107):
            bg = (code,)
        else:
            return None
        i += 1
    return fg, bg, flags


def _sgr_full(state: tuple) -> list[str]:
    fg, bg, flags = state
    codes = [_ON_CODE[bit] for bit in sorted(_ON_CODE) if flags & bit]
    return codes + list(fg or ()) + list(bg or ())


def _sgr_delta(have: tuple | None, want: tuple) -> str:
    """The shortest SGR that takes the terminal from ``have`` to ``want`` ("" if none)."""
    if have == want:
        return ""
    reset = "\x1b[" + ";".join(["0", *_sgr_full(want)]) + "m" if want != _PLAIN else "\x1b[0m"
    if have is _UNKNOWN:
        return reset
    (hfg, hbg, hflags), (wfg, wbg, wflags) = have, want
    codes: list[str] = []
    gone = hflags & ~wflags
    if gone & _BOLD_DIM:
        codes.append("22")
        hflags &= ~_BOLD_DIM
    codes += [_OFF_CODE[bit] for bit in sorted(_OFF_CODE) if gone & bit]
    codes += [_ON_CODE[bit] for bit in sorted(_ON_CODE) if wflags & bit and not hflags & bit]
    if wfg != hfg:
        codes += list(wfg) if wfg else ["39"]
    if wbg != hbg:
        codes += list(wbg) if wbg else ["49"]
    delta = "\x1b[" + ";".join(codes) + "m"
    return delta if len(delta) < len(reset) else reset


class SgrFolder:
    """Rewrites a stream of terminal output so each change of colours or attributes is
    sent once, just before it matters, and only as the difference from what the
    terminal already has.

    Guarantee: at every printed character (and every newline, erase or other sequence
    that could depend on the colours) the terminal's attributes are exactly those the
    original stream would have set, and at the end of each ``fold`` call too (so a write
    that bypasses the folder finds the terminal as the app left it). Between those points
    only cursor moves and mode switches may be passed over. An SGR the folder does not
    understand is sent as it is, and so is any other escape sequence in the text; after
    one, the folder knows nothing until the app's next reset (Textual resets after every
    styled run), and the first change after it is sent in full.
    """

    def __init__(self) -> None:
        self.have: tuple | None = _PLAIN  # what the terminal has
        self._want: tuple | None = _PLAIN  # what the stream has asked for so far
        self._apply: dict[tuple, tuple | None] = {}
        self._delta: dict[tuple, str] = {}

    def fold(self, data: str) -> str:
        out: list[str] = []
        position = 0
        for match in _TOKEN.finditer(data):
            start = match.start()
            if start > position:  # text or a sequence that may use the colours
                self._text(out, data[position:start])
            position = match.end()
            params = match.group(1)
            if params is None:  # a cursor move or a mode switch: passes as it is
                out.append(match.group())
                continue
            want = self._want
            if want is _UNKNOWN:
                new = _sgr_apply(_PLAIN, params) if _resets(params) else None
            else:
                key = (want, params)
                if key not in self._apply:
                    self._apply[key] = _sgr_apply(want, params)
                new = self._apply[key]
            if new is None:  # not understood: send it verbatim, forget what we know
                self._flush(out)
                out.append(match.group())
                self.have = self._want = _UNKNOWN
            else:
                self._want = new
        if position < len(data):
            self._text(out, data[position:])
        self._flush(out)
        return "".join(out)

    def _text(self, out: list[str], text: str) -> None:
        self._flush(out)
        out.append(text)
        if "\x1b" in text:  # some other sequence (it might change the attributes)
            self.have = self._want = _UNKNOWN

    def _flush(self, out: list[str]) -> None:
        want = self._want
        if want is _UNKNOWN or want == self.have:
            return
        key = (self.have, want)
        delta = self._delta.get(key)
        if delta is None:
            if len(self._delta) > 4096:
                self._delta.clear()
                self._apply.clear()
            delta = self._delta[key] = _sgr_delta(self.have, want)
        out.append(delta)
        self.have = want


class WireMeter:
    """Counts the bytes an app writes to its terminal (thread-safe reads), after folding
    its colour changes (``SgrFolder``, on by default)."""

    def __init__(self, fold: bool = True) -> None:
        self.total = 0
        self._writer = None
        self._lock = threading.Lock()
        self.folder = SgrFolder() if fold else None

    def install(self, driver) -> None:
        """Wrap ``driver.write``; safe to call on any Textual driver (headless included)."""
        if driver is None or getattr(driver, "_genai_wire_meter", None) is self:
            return
        original = driver.write

        def write(data: str) -> None:
            with self._lock:
                if self.folder is not None:
                    data = self.folder.fold(data)
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
            return now - self._last_time >= self.settings.slowest * 2
        return True

    def wait(self, now: float | None = None) -> float:
        """Seconds until the frame-rate cap or the byte budget allows the next frame (a
        lower bound when the terminal is still draining: then `due` decides)."""
        now = time.monotonic() if now is None else now
        return max(0.0, self._last_time + self.interval - now)

    def sent(self, now: float | None = None) -> None:
        """A frame was just posted: size the gap before the next from the last frame's bytes."""
        now = time.monotonic() if now is None else now
        if self.meter is not None:
            total = self.meter.total
            spent, self._last_total = total - self._last_total, total
            wanted = spent / self.settings.budget
            self.interval = min(self.settings.slowest, max(1.0 / self.settings.fps, wanted))
        self._last_time = now


class SignalWaker:
    """Makes a signal wake the app's event loop, whichever thread the kernel gave it to.

    Textual installs its SIGWINCH (resize) handler with ``signal.signal``. CPython runs
    a Python handler on the main thread only, at that thread's next bytecode. The kernel
    may deliver a process-wide signal to any thread that does not block it (it prefers
    the main thread only while that one is running or has no signal pending), and the
    tutor has several (the terminal writer and reader, workers). When another thread
    gets it, an idle app's main thread sleeps on in its event loop and the resize is
    drawn only at the next key press or timer: over SSH, a learner who resizes an idle
    screen sees nothing change. ``signal.set_wakeup_fd`` makes CPython's C handler, on
    any thread, write a byte that wakes the loop; the reader here just drains it, and
    the pending Python handler runs as the main thread wakes.
    """

    def __init__(self) -> None:
        self._sockets: tuple | None = None
        self._loop = None

    def install(self, loop) -> bool:
        """Install on ``loop`` (from the main thread); False if another wakeup fd is set
        (e.g. asyncio's own, from ``loop.add_signal_handler``) or this is not the main thread."""
        import signal
        import socket

        if self._sockets is not None:
            return True
        reader, writer = socket.socketpair()
        reader.setblocking(False)
        writer.setblocking(False)
        try:
            previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        except ValueError:  # not the main thread
            reader.close()
            writer.close()
            return False
        if previous != -1:  # someone else's: leave it
            signal.set_wakeup_fd(previous)
            reader.close()
            writer.close()
            return False
        loop.add_reader(reader.fileno(), self._drain)
        self._sockets, self._loop = (reader, writer), loop
        return True

    def _drain(self) -> None:
        assert self._sockets is not None
        try:
            while self._sockets[0].recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def close(self) -> None:
        """Remove the wakeup fd (main thread) and close the sockets."""
        import signal

        if self._sockets is None:
            return
        reader, writer = self._sockets
        try:
            current = signal.set_wakeup_fd(-1)
            if current not in (-1, writer.fileno()):  # someone else's since: put it back
                signal.set_wakeup_fd(current)
        except ValueError:
            pass
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(reader.fileno())
        reader.close()
        writer.close()
        self._sockets = self._loop = None
