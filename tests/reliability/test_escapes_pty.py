"""Escape sequences in content, weights and command-line messages never reach the
terminal raw. The app runs with its real driver inside a pseudo-terminal, shows every
surface that prints course text, and the bytes the pty receives are read back: the OSC 52
clipboard write and the CSI screen clear placed in the course appear only as visible
escapes (a backslash and "x1b"). The CLI's output carries no ESC byte at all."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import numpy as np

from tests.content.test_loader import (
    CARDS,
    COURSE,
    GLOSSARY,
    GOOD_QUESTION,
    LESSON,
    make_course,
)

REPO = Path(__file__).resolve().parents[2]
SURFACES = ["course", "title", "body", "front", "back", "prompt", "choice", "explain", "term", "define"]


def osc(tag: str) -> str:
    """An OSC 52 clipboard write (TOML escape form), tagged with the surface it is in."""
    return f"\\u001b]52;c;{tag}\\u0007"


def malicious_course(root: Path) -> Path:
    """The loader tests' course with an escape sequence in every string a learner sees."""
    lesson = LESSON.replace('title = "One"', f'title = "{osc("title")}One"').replace(
        "Some text.", "Some \x1b]52;c;body\x07 text \x1b[2J cleared? [/bold] [@click=app.quit]q[/]"
    )
    quiz = (
        GOOD_QUESTION.replace('prompt = "Pick one"', f'prompt = "{osc("prompt")}Pick [/bold] one"')
        .replace('choices = ["a", "b"]', f'choices = ["{osc("choice")}a", "b"]')
        .replace('explanation = "Because."', f'explanation = "{osc("explain")}Because [/] \\u001b[2J."')
    )
    cards = CARDS.replace('front = "Q?"', f'front = "{osc("front")}Q? [/bold]"').replace(
        'back = "A."', f'back = "{osc("back")}A. [red]x"'
    )
    root = make_course(root, quiz=quiz, cards=cards, lesson=lesson)
    (root / "course.toml").write_text(COURSE.replace('title = "Test course"', f'title = "{osc("course")}C"'))
    (root / "glossary.toml").write_text(
        GLOSSARY.replace('term = "sample"', f'term = "{osc("term")}sample"').replace(
            'definition = "A thing a model makes."', f'definition = "{osc("define")}A thing."'
        )
    )
    return root


def run_in_pty(argv: list[str], env: dict, timeout: float = 240) -> tuple[int, bytes]:
    """Run `argv` with a 80x24 pseudo-terminal as its stdin/stdout/stderr; return (exit code,
    every byte it wrote to the terminal)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    process = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO, start_new_session=True
    )
    os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + timeout
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        elif process.poll() is not None:
            break
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(
                f"{argv} did not finish in {timeout} s; output so far: {bytes(out[-400:])!r}"
            )
    process.wait(timeout=30)
    os.close(master)
    return process.returncode, bytes(out)


SCRIPTED_APP = """
import asyncio, sys
from content import load_course
from tutor.app import TutorApp

class Scripted(TutorApp):
    async def script(self):
        async def settle(seconds=2.5):
            await asyncio.sleep(seconds)
        await settle()
        self.open_lesson("L01"); await settle(4)
        self.screen.action_glossary(); await settle()
        self.pop_screen(); self.pop_screen(); await settle(1)
        self.open_quiz("L01"); await settle(3)
        self.screen._answer(0); await settle()
        self.pop_screen(); await settle(1)
        self.open_review(); await settle(3)
        self.screen.action_space(); await settle()
        self.exit()

    def on_mount(self):
        super().on_mount()
        self.run_worker(self.script())

Scripted(course=load_course(sys.argv[1])).run()
"""


def _cli_bytes(out: bytes) -> bytes:
    """The CLI's own output: numba initialises colorama, whose exit hook writes one SGR
    reset (ESC[0m) to a terminal; that sequence is theirs and harmless, so it is removed
    from the end before counting ESC bytes."""
    return out.removesuffix(b"\x1b[0m")


def _env(home: Path) -> dict:
    return {
        **os.environ,
        "GENAI_TUTOR_HOME": str(home),
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "TEXTUAL_ANIMATIONS": "none",
    }


def test_content_escapes_never_reach_the_terminal_raw(tmp_path, tutor_home):
    root = malicious_course(tmp_path / "course")
    code, out = run_in_pty([sys.executable, "-c", SCRIPTED_APP, str(root)], _env(tutor_home))
    assert code == 0, out[-2000:]
    assert b"\x1b]52" not in out  # no clipboard write, from anywhere
    assert b"\x1b[2J cleared" not in out and b"\x1b[2J." not in out

    shown = [s for s in SURFACES if f"\\x1b]52;c;{s}".encode() in out]
    assert set(shown) >= set(SURFACES) - {"course"}, f"surfaces seen on screen: {shown}"
    assert b"[/bold]" in out  # markup shown as text, not applied (and no crash)


def test_validate_prints_no_escape_byte(tmp_path, tutor_home):
    root = malicious_course(tmp_path / "course")
    for extra in ([], ["--json"]):
        code, out = run_in_pty(
            [sys.executable, "-m", "tutor", "validate", str(root), *extra], _env(tutor_home), 120
        )
        assert b"\x1b" not in out and b"\x07" not in out, out
        assert code == 1  # the control characters are reported as problems
        assert b"control character" in out


def test_sample_prompt_and_vocabulary_escapes_are_not_printed(tmp_path, tutor_home):
    from engine import weights

    code, out = run_in_pty(
        [sys.executable, "-m", "tutor", "sample", "The \x1b]52;c;eA==\x07 cat", "--tokens", "3"],
        _env(tutor_home),
        180,
    )
    out = _cli_bytes(out)
    assert code == 0 and b"\x1b" not in out and b"\x07" not in out, out
    assert b"tokens: The" in out
    with np.load(weights.default_dir() / "lm.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    import json

    meta = json.loads(arrays.pop("__meta__").tobytes())
    meta.pop("checksum")
    vocab = arrays["vocab"].astype("<U40")
    vocab[7] = "\x1b[2J\x1b]52;c;eA==\x07"
    arrays["vocab"] = vocab
    path = weights.save(tmp_path / "lm.npz", arrays, meta)
    code, out = run_in_pty(
        [sys.executable, "-m", "tutor", "sample", "The", "--weights", str(path)], _env(tutor_home), 180
    )
    out = _cli_bytes(out)
    assert code == 1 and b"\x1b" not in out and b"\x07" not in out, out
    assert b"unusable because" in out


def test_a_store_error_naming_a_hostile_path_prints_no_escape(tmp_path):
    hostile = tmp_path / "home\x1b]52;c;eA==\x07"
    hostile.write_text("a file where the data folder should be")
    code, out = run_in_pty([sys.executable, "-m", "tutor"], _env(hostile), 120)
    assert code == 1 and b"\x1b]52" not in out and b"\x07" not in out, out
    assert b"\\x1b]52" in out and b"is a file, not a folder" in out
