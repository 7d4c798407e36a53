"""A learner's trial of every lab in a real terminal: open, play, leave, N times each.

The tutor runs in tmux at 80x24 with TERM=xterm-256color and no COLORTERM, as over SSH.
For each lab: `genai-tutor lab ID` starts the tutor in it; then, N times, Space plays it,
a pause lets frames fly, Escape leaves it while it plays, and the command palette
(Ctrl+P, the lab's title, Enter) opens it again. After every step the pane is checked:
the tutor must still be running (a crash ends it and leaves its traceback on the pane).
Textual draws on stderr, so stderr stays the terminal.

    python benchmarks/trial_lab_cycles.py --json [--cycles 10] [--labs gan-2d,vae]

Prints per lab the cycles run and the tracebacks seen (the lab-platform issue asks for
none in 10 cycles per lab).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def pane(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def alive(session: str) -> bool:
    return subprocess.run(["tmux", "has-session", "-t", session], capture_output=True).returncode == 0


def wait_for(session: str, text: str, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if text in pane(session):
            return True
        time.sleep(0.2)
    return False


def crashed(session: str) -> bool:
    screen = pane(session)
    return "TUTOR-EXITED" in screen or "Traceback" in screen


def last_lines(session: str) -> str:
    lines = [line for line in pane(session).splitlines() if line.strip()]
    return " | ".join(lines[-4:])


def trial(lab_id: str, title: str, cycles: int, play: float) -> dict:
    session = f"trial-{os.getpid()}-{lab_id}"
    home = tempfile.mkdtemp(prefix="trial-")
    env = {k: v for k, v in os.environ.items() if k != "COLORTERM"}
    env.update(TERM="xterm-256color", GENAI_TUTOR_HOME=home, PYTHONPATH=str(ROOT))
    command = f"{sys.executable} -m tutor lab {lab_id}; echo TUTOR-EXITED; sleep 60"
    for _attempt in range(3):  # the previous lab's kill-session can leave tmux's server exiting
        started = subprocess.run(
            ["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", command], env=env
        )
        if started.returncode == 0:
            break
        time.sleep(1.0)
    else:
        raise RuntimeError(f"tmux could not start a session for {lab_id}")
    problems: list[str] = []
    done = 0
    try:
        if not wait_for(session, " Back ", 120):
            problems.append("the lab never painted its footer")
        for cycle in range(cycles):
            tmux("send-keys", "-t", session, "Space")
            time.sleep(play)
            tmux("send-keys", "-t", session, "Escape")
            time.sleep(0.5)
            if crashed(session):
                problems.append(f"cycle {cycle + 1}: the tutor exited: {last_lines(session)}")
                break
            if not wait_for(session, " Review ", 30):  # Home's footer
                problems.append(f"cycle {cycle + 1}: Escape did not return Home: {last_lines(session)}")
                break
            tmux("send-keys", "-t", session, "C-p")
            if not wait_for(session, "\U0001f50e", 20):  # the palette's search box
                problems.append(f"cycle {cycle + 1}: the palette did not open")
                break
            tmux("send-keys", "-t", session, "-l", title)
            if not wait_for(session, f"Lab: {title}", 20):
                problems.append(f"cycle {cycle + 1}: the palette did not find the lab")
                break
            tmux("send-keys", "-t", session, "Enter")
            if not wait_for(session, " Back ", 60) or crashed(session):
                problems.append(f"cycle {cycle + 1}: the lab did not open again: {last_lines(session)}")
                break
            done += 1
    finally:
        if alive(session):
            tmux("kill-session", "-t", session)
        shutil.rmtree(home, ignore_errors=True)
    return {"cycles": done, "problems": problems}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--play", type=float, default=2.0, help="seconds each lab plays")
    parser.add_argument("--labs", help="comma-separated lab ids (default: all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("tmux is not installed")
    sys.path.insert(0, str(ROOT))
    from content.loader import load_course
    from tutor.labs import LABS

    titles = load_course().labs
    ids = args.labs.split(",") if args.labs else sorted(LABS)
    rows = {lab: trial(lab, titles.get(lab, lab), args.cycles, args.play) for lab in ids}
    if args.json:
        print(json.dumps({"cycles_asked": args.cycles, "labs": rows}))
    else:
        for lab, row in rows.items():
            print(f"{lab:<18} {row['cycles']:>3} cycles  {'; '.join(row['problems']) or 'no traceback'}")


if __name__ == "__main__":
    main()
