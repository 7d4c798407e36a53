"""Bytes per second each lab writes to a real terminal while it plays, and while paused.

Each lab runs as `python -m tutor lab ID` in its own pseudo-terminal (80×24,
TERM=xterm-256color, no COLORTERM, so 256 colours as over a typical SSH login). After
the lab has loaded and its kernels are warm, the bench reads everything the app writes
for `--seconds` while it plays (and counts frames: bursts of output), then presses Space
and reads for `--paused` seconds more. Default settings and low-bandwidth mode
(GENAI_TUTOR_LOW_BANDWIDTH=1) are measured separately.

    python benchmarks/bench_wire.py --json [--seconds 20] [--labs gan-2d,vae]
    python benchmarks/bench_wire.py --json --canvas    # GAN frames' canvas bytes, no pty

``--canvas`` is exact and needs no timing: the GAN lab's pictures (seed 0, 240 rounds
between frames) go through a real Textual app on a 256-colour console whose driver
records what it would write; it reports the bytes per frame as Textual writes them and
after ``tutor.wire.SgrFolder``.

For the film labs (denoising, text-to-image) ``film_fps`` is the film frames shown (changes
of the "picture k/50" counter) per second, from the first change to the last in the
window: the rests at the end of each run are included, the time before play starts not.

Goals (lab-platform issue): <= 60 KB/s playing at default settings, <= 20 KB/s in
low-bandwidth mode, 0 while paused.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOAD_LIMIT = 900.0  # seconds: start-up and the kernels' warm-up on a very busy machine


GAP = 0.020  # seconds of silence between two frames' output


def _read_for(
    fd: int, seconds: float, bursts: list[int] | None = None, sink: list[bytes] | None = None
) -> int:
    """Bytes read in ``seconds``; ``bursts`` (if given) gets the number of frames: bursts
    of output separated by at least GAP of silence; ``sink`` (if given) the bytes."""
    total, end, last, frames = 0, time.monotonic() + seconds, 0.0, 0
    while (left := end - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], min(left, 0.2))
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            total += len(data)
            if sink is not None:
                sink.append((time.monotonic(), data))
            now = time.monotonic()
            frames += now - last > GAP
            last = now
    if bursts is not None:
        bursts.append(frames)
    return total


FILM_COUNTER = re.compile(rb"picture\s+(?:step )?(\d+)/(\d+)")


def film_fps(output: list[tuple[float, bytes]]) -> float | None:
    """Film frames shown per second, from the film labs' counter ("picture k/50") in
    ``output`` ((time read, bytes) chunks): its changes, over the time from the first
    change to the last (so a lab still building when the window opens is not charged
    for it; the rest at the end of each run is included). None if the lab shows no
    counter. A burst count can split one frame in two when its rows reach the terminal
    in separate writes; the counter cannot."""
    data, ends = b"", []
    for t, chunk in output:
        data += chunk
        ends.append((len(data), t))
    changes, last, at = [], None, 0
    for m in FILM_COUNTER.finditer(data):
        while ends[at][0] < m.end():
            at += 1
        if last is not None and m.group(1) != last:
            changes.append(ends[at][1])
        last = m.group(1)
    if last is None:
        return None
    if len(changes) < 2 or changes[-1] <= changes[0]:
        return 0.0
    return (len(changes) - 1) / (changes[-1] - changes[0])


def _until_warm(fd: int, autoplay: bool) -> int:
    """Read until the lab has loaded and its kernels are warm: an autoplay lab shows "▶"
    once it trains; another lab shows its keys and then 3 s without "compiling"."""
    total, seen, end = 0, b"", time.monotonic() + LOAD_LIMIT
    quiet_since = time.monotonic()
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.5)
        chunk = os.read(fd, 65536) if ready else b""
        total += len(chunk)
        seen = (seen + chunk)[-4096:]
        if autoplay and "▶".encode() in seen:
            return total
        if b"compiling" in chunk or b"%" in chunk or not total:
            quiet_since = time.monotonic()
        if not autoplay and time.monotonic() - quiet_since >= 3.0:
            return total
    raise RuntimeError(f"the lab did not finish loading in {LOAD_LIMIT:.0f} s")


def _plays_on_open(lab_id: str) -> bool:
    from tutor import labs

    cls = type(labs.create(lab_id))
    return bool(cls.autoplay and cls.PLAY)


def measure(lab_id: str, seconds: float, paused: float, low_bandwidth: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("COLORTERM", "NO_COLOR")}
    env.update(
        TERM="xterm-256color",
        COLUMNS="80",
        LINES="24",
        GENAI_TUTOR_HOME=tempfile.mkdtemp(prefix="bench-wire-"),
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    if low_bandwidth:
        env["GENAI_TUTOR_LOW_BANDWIDTH"] = "1"
    else:
        env.pop("GENAI_TUTOR_LOW_BANDWIDTH", None)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the tutor in the pty
        os.chdir(ROOT)
        os.execvpe(sys.executable, [sys.executable, "-m", "tutor", "lab", lab_id], env)
    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        autoplay = _plays_on_open(lab_id)
        loading = _until_warm(fd, autoplay)  # start-up, kernels, first frames
        if not autoplay:  # a lab that opens paused gets Space once
            os.write(fd, b" ")
            _read_for(fd, 1.0)
        frames: list[int] = []
        output: list[tuple[float, bytes]] = []
        playing = _read_for(fd, seconds, frames, output)
        os.write(fd, b" ")  # pause
        _read_for(fd, 1.0)  # the pause itself repaints a little
        idle = _read_for(fd, paused)
    finally:
        os.kill(pid, signal.SIGTERM)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        os.close(fd)
    return {
        "lab": lab_id,
        "low_bandwidth": low_bandwidth,
        "load_bytes": loading,
        "playing_bytes_per_s": round(playing / seconds),
        "playing_fps": round(frames[0] / seconds, 1),
        "film_fps": None if (film := film_fps(output)) is None else round(film, 1),
        "paused_bytes_per_s": round(idle / paused),
    }


def canvas_bytes(frames: int = 40, rounds: int = 240) -> dict:
    """Bytes per GAN-lab canvas frame, as written and after folding (median of frames)."""
    import asyncio
    import statistics

    os.environ.pop("COLORTERM", None)
    os.environ["TEXTUAL_COLOR_SYSTEM"] = "256"
    import textual.constants
    from textual.app import App
    from textual.drivers.headless_driver import HeadlessDriver

    from engine.gan import GAN, GANConfig
    from tutor.labs import gan2d_view as view
    from tutor.widgets.pixels import PixelCanvas
    from tutor.wire import SgrFolder

    textual.constants.COLOR_SYSTEM = "256"
    gan = GAN(GANConfig.preset("healthy", seed=0))
    pictures = []
    for _ in range(frames):
        gan.train(rounds)
        grid = gan.discriminator_grid(view.SIDE)
        pictures.append(view.frame(grid, gan.real[: view.N_REAL], gan.sample(view.N_FAKE)))

    class Recording(HeadlessDriver):
        @property
        def is_headless(self) -> bool:  # so the app renders and writes as on a terminal
            return False

        def write(self, data: str) -> None:
            written.append(data)

    class CanvasApp(App):
        def compose(self):
            yield PixelCanvas(pictures[0])

    written: list[str] = []
    raw, folded, folder = [], [], SgrFolder()

    async def run() -> None:
        app = CanvasApp()
        async with app.run_test(size=(80, 24)) as pilot:
            app._driver.__class__ = Recording
            canvas = app.query_one(PixelCanvas)
            for picture in pictures[1:]:
                written.clear()
                canvas.update_pixels(picture)
                await pilot.pause()
                await pilot.pause()
                raw.append(sum(len(w.encode()) for w in written))
                folded.append(sum(len(folder.fold(w).encode()) for w in written))

    asyncio.run(run())
    return {
        "frames": len(raw),
        "rounds_between_frames": rounds,
        "bytes_per_frame_written": statistics.median(raw),
        "bytes_per_frame_folded": statistics.median(folded),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--paused", type=float, default=5.0)
    parser.add_argument("--labs", default="", help="comma-separated lab ids (default: all)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--canvas", action="store_true", help="GAN canvas bytes per frame (no pty)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.canvas:
        print(json.dumps(canvas_bytes()))
        return
    from tutor.labs import LABS

    labs = [x for x in args.labs.split(",") if x] or sorted(LABS)
    rows = [measure(lab, args.seconds, args.paused, low) for lab in labs for low in (False, True)]
    if args.json:
        print(json.dumps({"seconds": args.seconds, "size": "80x24", "term": "xterm-256color", "rows": rows}))
    else:
        for r in rows:
            mode = "low-bandwidth" if r["low_bandwidth"] else "default"
            print(
                f"{r['lab']:<18} {mode:<14} playing {r['playing_bytes_per_s'] / 1000:6.1f} KB/s"
                f" at {r['playing_fps']:4.1f} fps"
                f"   paused {r['paused_bytes_per_s']} B/s"
            )


if __name__ == "__main__":
    main()
