"""Bytes per second each lab writes to a real terminal while it plays, and while paused.

Each lab runs as `python -m tutor lab ID` in its own pseudo-terminal (80×24,
TERM=xterm-256color, no COLORTERM, so 256 colours as over a typical SSH login). After
the lab has loaded, the bench reads everything the app writes for `--seconds` while it
plays, then presses Space and reads for `--paused` seconds more. Default settings and
low-bandwidth mode (GENAI_TUTOR_LOW_BANDWIDTH=1) are measured separately.

    python benchmarks/bench_wire.py --json [--seconds 20] [--labs gan-2d,vae]

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
import select
import signal
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Labs that open paused get Space once to start playing (the others play on open).
STARTS_PAUSED = {"temperature", "diffusion-forward"}
LOAD_SECONDS = 12.0


def _read_for(fd: int, seconds: float) -> int:
    total, end = 0, time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], min(left, 0.2))
        if ready:
            try:
                total += len(os.read(fd, 65536))
            except OSError:
                break
    return total


def measure(lab_id: str, seconds: float, paused: float, low_bandwidth: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("COLORTERM", "NO_COLOR")}
    env.update(TERM="xterm-256color", COLUMNS="80", LINES="24",
               GENAI_TUTOR_HOME=tempfile.mkdtemp(prefix="bench-wire-"),
               PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
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
        loading = _read_for(fd, LOAD_SECONDS)            # start-up, kernels, first frames
        if lab_id in STARTS_PAUSED:
            os.write(fd, b" ")
            _read_for(fd, 1.0)
        playing = _read_for(fd, seconds)
        os.write(fd, b" ")                               # pause
        _read_for(fd, 1.0)                               # the pause itself repaints a little
        idle = _read_for(fd, paused)
    finally:
        os.kill(pid, signal.SIGTERM)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        os.close(fd)
    return {"lab": lab_id, "low_bandwidth": low_bandwidth, "load_bytes": loading,
            "playing_bytes_per_s": round(playing / seconds), "paused_bytes_per_s": round(idle / paused)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--paused", type=float, default=5.0)
    parser.add_argument("--labs", default="", help="comma-separated lab ids (default: all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tutor.labs import LABS

    labs = [x for x in args.labs.split(",") if x] or sorted(LABS)
    rows = [measure(lab, args.seconds, args.paused, low) for lab in labs for low in (False, True)]
    if args.json:
        print(json.dumps({"seconds": args.seconds, "size": "80x24", "term": "xterm-256color",
                          "rows": rows}))
    else:
        for r in rows:
            mode = "low-bandwidth" if r["low_bandwidth"] else "default"
            print(f"{r['lab']:<18} {mode:<14} playing {r['playing_bytes_per_s'] / 1000:6.1f} KB/s"
                  f"   paused {r['paused_bytes_per_s']} B/s")


if __name__ == "__main__":
    main()
