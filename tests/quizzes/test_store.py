import json
import os
import random
import sqlite3
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import platformdirs
import pytest

from quizzes.store import SCHEMA_VERSION, Store, StoreError, UndoRefused, default_path
from tests.quizzes import T0

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_TUTOR_HOME", str(tmp_path))
    return tmp_path


def test_genai_tutor_home_is_honoured(home):
    with Store.open() as store:
        assert store.path == home / "progress.db"
    assert (home / "progress.db").is_file()


def test_default_location_is_the_platform_data_dir(monkeypatch):
    monkeypatch.delenv("GENAI_TUTOR_HOME", raising=False)
    assert default_path() == platformdirs.user_data_path("genai-tutor") / "progress.db"


def test_schema_version_and_wal(home):
    with Store.open() as store:
        assert store.schema_version == SCHEMA_VERSION >= 1
        assert store.recovered_from is None
    raw = sqlite3.connect(home / "progress.db")
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    raw.close()
    with Store.open() as again:
        assert again.schema_version == SCHEMA_VERSION


def test_everything_persists_across_close_and_reopen(home):
    with Store.open() as store:
        store.open_lesson("L01", T0)
        store.save_position("L01", 42.5)
        store.mark_read("L01", T0 + timedelta(minutes=9))
        store.open_lesson("L01", T0 + timedelta(hours=1))
        store.record_review("L01-c00", 3, '{"s": 1}', T0 + timedelta(days=2), T0)
        attempt = store.start_attempt("lesson", ["q1", "q2"], "L01", 7, T0)
        store.record_answer(attempt, "q1", {2, 0}, True, T0)
        store.record_answer(attempt, "q2", "Éncoder", False, T0, finish=True)
    with Store.open() as store:
        lesson = store.lesson("L01")
        assert lesson.read and lesson.position == 42.5
        assert lesson.opened_at == T0
        assert lesson.last_opened_at == T0 + timedelta(hours=1)
        assert lesson.completed_at == T0 + timedelta(minutes=9)
        assert store.card_states() == {"L01-c00": ('{"s": 1}', T0 + timedelta(days=2))}
        assert store.review_log() == [("L01-c00", 3, T0)]
        (record,) = store.attempts()
        assert (record.kind, record.lesson_id, record.seed) == ("lesson", "L01", 7)
        assert (record.right, record.answered, record.finished_at) == (1, 2, T0)
        assert [a.response for a in store.answers(attempt)] == [[0, 2], "Éncoder"]
        assert store.lesson("L99") is None


def test_undo_restores_the_previous_state_and_forgets_the_review(home):
    with Store.open() as store:
        first = store.record_review("c", 1, "first", T0 + timedelta(minutes=1), T0)
        second = store.record_review("c", 3, "second", T0 + timedelta(days=3), T0 + timedelta(minutes=1))
        with pytest.raises(UndoRefused, match="graded again"):
            store.undo_review(first)  # a later grade of the card exists: nothing changes
        assert len(store.review_log()) == 2
        assert store.undo_review(second) == "c"
        assert store.card_states()["c"] == ("first", T0 + timedelta(minutes=1))
        assert len(store.review_log()) == 1
        assert store.undo_review(first) == "c"
        assert store.card_state("c") is None
        with pytest.raises(UndoRefused, match="no longer"):
            store.undo_review(first)


def test_bad_inputs_are_rejected(home):
    with Store.open() as store:
        with pytest.raises(ValueError):
            store.start_attempt("homework", ["q"])
        with pytest.raises(ValueError):
            store.record_review("c", 5, "{}", T0, T0)
        assert store.card_states() == {}


WRITER = textwrap.dedent(
    """
    import os, sys
    from datetime import datetime, timedelta, timezone
    from quizzes.store import Store
    now = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
    store = Store.open()
    step = sys.argv[1]
    if step == "review":
        store.record_review("L01-c00", 3, '{"s": 2}', now + timedelta(days=4), now)
    elif step == "answer":
        attempt = store.start_attempt("exam", ["q1", "q2"], None, 1, now)
        store.record_answer(attempt, "q1", [1, 0, 2], True, now)
    elif step == "lesson":
        store.mark_read("L02", now)
        store.save_position("L02", 17.0)
    os._exit(0)
    """
)


@pytest.mark.parametrize("step", ["review", "answer", "lesson"])
def test_kill_right_after_a_confirmed_write_loses_nothing(home, step):
    env = {**os.environ, "GENAI_TUTOR_HOME": str(home)}
    done = subprocess.run([sys.executable, "-c", WRITER, step], env=env, cwd=REPO)
    assert done.returncode == 0
    with Store.open() as store:
        assert store.recovered_from is None
        if step == "review":
            assert store.card_state("L01-c00") == '{"s": 2}'
            assert store.review_log()[0][1] == 3
        elif step == "answer":
            (answer,) = store.answers()
            assert answer.response == [1, 0, 2] and answer.correct
            assert store.attempts("exam")[0].finished_at is None
        else:
            lesson = store.lesson("L02")
            assert lesson.read and lesson.position == 17.0


def _moved_aside(home: Path) -> list[Path]:
    return sorted(p for p in home.iterdir() if ".corrupt-" in p.name)


def test_random_bytes_are_moved_aside_intact(home):
    junk = random.Random(1).randbytes(5000)
    (home / "progress.db").write_bytes(junk)
    (home / "progress.db-wal").write_bytes(b"wal junk")
    with Store.open() as store:
        moved = store.recovered_from
        assert moved is not None and moved.parent == home
        assert moved.name.startswith("progress.db.corrupt-")
        assert len(moved.name) == len("progress.db.corrupt-YYYYmmddTHHMMSS")
        assert moved.read_bytes() == junk
        assert Path(str(moved) + "-wal").read_bytes() == b"wal junk"
        store.record_review("c", 3, "{}", T0, T0)
    with Store.open() as again:
        assert again.recovered_from is None
        assert again.card_state("c") == "{}"
    assert _moved_aside(home) == [moved, Path(str(moved) + "-wal")]


@pytest.mark.parametrize("keep", [0.5, 100, 30])
def test_truncated_database_is_moved_aside(home, keep):
    with Store.open() as store:
        for i in range(40):
            store.record_review(f"c{i}", 3, json.dumps({"pad": "x" * 2000}), T0, T0)
    data = (home / "progress.db").read_bytes()
    cut = data[: int(len(data) * keep) if isinstance(keep, float) else keep]
    (home / "progress.db").write_bytes(cut)
    with Store.open() as store:
        assert store.recovered_from is not None
        assert store.recovered_from.read_bytes() == cut
        assert store.card_states() == {}


def test_text_file_is_not_a_database(home):
    (home / "progress.db").write_text("these are my notes, not a database\n" * 50)
    with Store.open() as store:
        assert store.recovered_from.read_text().startswith("these are my notes")


def test_two_recoveries_in_a_row_keep_both_old_files(home):
    (home / "progress.db").write_bytes(b"first junk" * 200)
    Store.open().close()
    (home / "progress.db").write_bytes(b"second junk" * 200)
    with Store.open() as store:
        assert store.recovered_from.read_bytes() == b"second junk" * 200
    contents = {p.read_bytes() for p in _moved_aside(home)}
    assert contents == {b"first junk" * 200, b"second junk" * 200}


def test_database_from_a_newer_app_is_refused_not_changed(home):
    Store.open().close()
    raw = sqlite3.connect(home / "progress.db")
    raw.execute("INSERT INTO schema_version VALUES (?, 'later')", (SCHEMA_VERSION + 1,))
    raw.commit()
    raw.close()
    before = (home / "progress.db").read_bytes()
    with pytest.raises(StoreError, match=f"newer genai-tutor .*schema version {SCHEMA_VERSION + 1}"):
        Store.open()
    assert (home / "progress.db").read_bytes() == before
    assert [p.name for p in home.iterdir() if ".corrupt-" in p.name or ".newer-" in p.name] == []


def test_a_database_locked_by_another_process_is_not_moved(home, monkeypatch):
    Store.open().close()
    monkeypatch.setattr(Store, "BUSY_TIMEOUT", 0.05)
    holder = sqlite3.connect(home / "progress.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match="in use"):
            Store.open()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert _moved_aside(home) == []
    with Store.open() as store:
        assert store.recovered_from is None


def test_a_corrupt_database_keeps_its_unmerged_wal(home):
    with Store.open() as store:
        for i in range(40):
            store.record_review(f"c{i}", 3, json.dumps({"pad": "x" * 2000}), T0, T0)
    env = {**os.environ, "GENAI_TUTOR_HOME": str(home)}
    subprocess.run([sys.executable, "-c", WRITER, "answer"], env=env, cwd=REPO, check=True)
    wal = (home / "progress.db-wal").read_bytes()
    assert wal, "a killed writer leaves its WAL behind"
    main = (home / "progress.db").read_bytes()
    (home / "progress.db").write_bytes(main[:1024])
    with Store.open() as store:
        moved = store.recovered_from
        assert moved.read_bytes() == main[:1024]
        assert Path(str(moved) + "-wal").read_bytes() == wal
        assert store.card_states() == {}
