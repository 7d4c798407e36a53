"""Shared hosts and exit codes: a fresh data folder is 0700 and its database files 0600
(an old install is tightened); numba's cache is outside the package; a crash prints one
line naming the report file and exits 1."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import platformdirs

from quizzes.store import Store

REPO = Path(__file__).resolve().parents[2]


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_fresh_data_folder_and_database_are_private(tmp_path, monkeypatch):
    os.umask(0o022)  # the usual umask: without care the folder would be 0755, files 0644
    home = tmp_path / "fresh" / "genai-tutor"
    monkeypatch.setenv("GENAI_TUTOR_HOME", str(home))
    with Store.open() as store:
        store.record_review("c", 3, "{}", store_time(), store_time())
        files = [home / "progress.db", home / "progress.db-wal", home / "progress.db-shm"]
        assert _mode(home) == 0o700
        assert [_mode(f) for f in files] == [0o600] * 3


def test_an_existing_install_is_tightened(tmp_path, monkeypatch):
    folder = tmp_path / "data" / "genai-tutor"
    monkeypatch.delenv("GENAI_TUTOR_HOME")
    monkeypatch.setattr(platformdirs, "user_data_path", lambda name: tmp_path / "data" / name)
    folder.mkdir(parents=True, mode=0o755)
    folder.chmod(0o755)
    Store.open(folder / "progress.db").close()
    (folder / "progress.db").chmod(0o644)
    with Store.open():
        assert _mode(folder) == 0o700 and _mode(folder / "progress.db") == 0o600


def store_time():
    from tests.quizzes import T0

    return T0


def test_numba_cache_is_in_the_user_cache_folder_not_the_package():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    code = "import engine.runtime as r, numba; print(numba.config.CACHE_DIR)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.strip()
    assert Path(out) == platformdirs.user_cache_path("genai-tutor") / "numba"
    assert not Path(out).resolve().is_relative_to(REPO)


CRASHING_APP = """
import sys
from tutor import app as app_module

def explode(self):
    raise ZeroDivisionError("boom in a handler")

app_module.TutorApp.on_mount = explode
from tutor.cli import main
sys.exit(main([]))
"""


def test_a_crash_is_one_line_with_the_report_path_and_exit_1(tutor_home):
    env = {**os.environ, "GENAI_TUTOR_HOME": str(tutor_home), "TERM": "xterm-256color"}
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_APP],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    reports = sorted(tutor_home.glob("crash-*.txt"))
    assert len(reports) == 1 and _mode(reports[0]) == 0o600
    assert "ZeroDivisionError: boom in a handler" in reports[0].read_text()
    shown = done.stdout + done.stderr
    assert "Traceback" not in shown
    # Textual drives the terminal on stderr; what remains without its control sequences:
    text = re.sub(r"\x1b\[[^a-zA-Z]*[a-zA-Z]|\x1b\][^\x07]*\x07|\x07", "", done.stderr)
    expected = (
        "genai-tutor stopped because of an unexpected error (ZeroDivisionError); "
        f"the full report is in {reports[0]}"
    )
    assert [line for line in text.splitlines() if line.strip()] == [expected]
