"""Fault injection on the progress store: a full disk, read-only files, newer and foreign
databases, two sessions on one file, and every path problem as one line with exit 1."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from quizzes.scheduler import StudyScheduler
from quizzes.session import QuizSession, ReviewSession
from quizzes.store import SCHEMA_VERSION, Store, StoreError, UndoRefused
from tests.quizzes import T0, Clock, cards, single
from tests.reliability.faults import make_failing

REPO = Path(__file__).resolve().parents[2]


def _side_files(home: Path) -> list[str]:
    return sorted(p.name for p in home.iterdir() if ".corrupt-" in p.name or ".newer-" in p.name)


def _grade(session: ReviewSession, rating: int = 3) -> None:
    session.reveal()
    session.grade(rating)


# ------------------------------------------------------------------ a disk that fills up


def test_disk_full_mid_review_keeps_the_file_and_every_confirmed_grade(tutor_home):
    path = tutor_home / "progress.db"
    deck = cards("L01", 4)
    store = Store.open(path)
    session = ReviewSession(deck, store, StudyScheduler(), Clock(), 20)
    _grade(session, 4)
    _grade(session, 4)
    confirmed = store.card_states()
    assert len(confirmed) == 2
    conn = make_failing(store)
    conn.failing = True
    current = session.current
    session.reveal()
    with pytest.raises(StoreError, match="the disk is full"):
        session.grade(4)
    # The session did not move on: the learner still sees the same, revealed card.
    assert session.current == current and session.revealed and session.summary().reviewed == 2
    with pytest.raises(StoreError, match="the disk is full"):
        session.undo()  # undo fails too, and takes nothing back
    assert session.can_undo
    conn.failing = False  # space freed: the very same grade goes through
    session.grade(4)
    store.close()
    assert path.is_file() and _side_files(tutor_home) == []
    with Store.open(path) as again:
        assert again.recovered_from is None
        states = again.card_states()
        assert len(states) == 3 and all(states[k] == v for k, v in confirmed.items())
        assert len(again.review_log()) == 3


def test_disk_full_mid_quiz_loses_no_confirmed_answer(tutor_home):
    path = tutor_home / "progress.db"
    store = Store.open(path)
    quiz = QuizSession([single("q1"), single("q2"), single("q3")], store, now_fn=Clock())
    quiz.answer(1)
    quiz.advance()
    conn = make_failing(store)
    conn.failing = True
    with pytest.raises(StoreError, match="disk is full"):
        quiz.answer(0)
    assert not quiz.answered and quiz.index == 1  # not marked: the learner answers again
    conn.failing = False
    assert quiz.answer(0).correct is False
    store.close()
    with Store.open(path) as again:
        assert [(a.question_id, a.response) for a in again.answers()] == [("q1", 1), ("q2", 0)]
    assert _side_files(tutor_home) == []


@pytest.mark.parametrize(
    "message,reason",
    [
        ("database or disk is full", "the disk is full"),
        ("disk I/O error", "input/output error"),
        ("attempt to write a readonly database", "read-only"),
    ],
)
def test_open_time_disk_errors_are_named_and_the_file_stays(tutor_home, monkeypatch, message, reason):
    path = tutor_home / "progress.db"
    with Store.open(path) as store:
        store.record_review("c", 3, "{}", T0, T0)
    before = path.read_bytes()

    def broken(_path):
        raise sqlite3.OperationalError(message)

    monkeypatch.setattr(Store, "_connect", staticmethod(broken))
    with pytest.raises(StoreError, match=reason) as raised:
        Store.open(path)
    assert "\n" not in str(raised.value)
    assert path.read_bytes() == before and _side_files(tutor_home) == []


async def test_disk_full_in_the_app_shows_a_notice_and_keeps_running(make_app):
    from tutor.screens.review import ReviewScreen

    app = make_app(start=("review", ""))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        first = screen.session.current
        conn = make_failing(app.store)
        conn.failing = True
        await pilot.press("space", "3")
        await pilot.pause()
        assert app.is_running and app.screen is screen
        messages = [n.message for n in app._notifications]
        assert any("Not saved" in m and "disk is full" in m for m in messages), messages
        assert screen.session.current == first and screen.session.revealed
        conn.failing = False
        await pilot.press("3")
        await pilot.pause()
        assert screen.session.summary().reviewed == 1
    with Store.open() as store:
        assert first.id in store.card_states()


# ------------------------------------------------------------------ refused files


def test_read_only_file_is_refused_with_its_own_message(tutor_home):
    path = tutor_home / "progress.db"
    Store.open(path).close()
    path.chmod(0o444)
    try:
        with pytest.raises(StoreError, match="read-only; make it writable"):
            Store.open(path)
    finally:
        path.chmod(0o600)
    assert _side_files(tutor_home) == []


def test_read_only_folder_is_refused_and_nothing_is_moved(tutor_home):
    path = tutor_home / "progress.db"
    Store.open(path).close()
    tutor_home.chmod(0o555)
    try:
        with pytest.raises(StoreError, match="data folder .* is read-only"):
            Store.open(path)
    finally:
        tutor_home.chmod(0o700)
    assert _side_files(tutor_home) == []


def test_too_new_schema_is_refused_naming_the_version(tutor_home):
    path = tutor_home / "progress.db"
    Store.open(path).close()
    raw = sqlite3.connect(path)
    raw.execute("INSERT INTO schema_version VALUES (?, 'later')", (SCHEMA_VERSION + 6,))
    raw.commit()
    raw.close()
    before = path.read_bytes()
    with pytest.raises(
        StoreError, match=f"schema version {SCHEMA_VERSION + 6}; this version reads up to {SCHEMA_VERSION}"
    ):
        Store.open(path)
    assert path.read_bytes() == before and _side_files(tutor_home) == []


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('mine')",
        "CREATE TABLE schema_version (version TEXT); INSERT INTO schema_version VALUES ('1.0.3')",
        (
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL); "
            "INSERT INTO schema_version VALUES (1, 'x'); CREATE TABLE other (x)"
        ),
    ],
    ids=["other-tables", "text-schema-version", "missing-our-tables"],
)
def test_a_foreign_database_is_refused_not_adopted(tutor_home, sql):
    path = tutor_home / "progress.db"
    raw = sqlite3.connect(path)
    raw.executescript(sql)
    raw.commit()
    raw.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="another program's SQLite database"):
        Store.open(path)
    assert path.read_bytes() == before and _side_files(tutor_home) == []


# ------------------------------------------------------------------ two sessions, one file


def test_two_sessions_undo_only_their_own_grades(tutor_home):
    path = tutor_home / "progress.db"
    deck = cards("L01", 6)
    clock = Clock()
    with Store.open(path) as one, Store.open(path) as two:
        first = ReviewSession(deck[:3], one, StudyScheduler(), clock, 20)
        second = ReviewSession(deck[3:], two, StudyScheduler(), clock, 20)
        _grade(first, 4)  # deck[0], by session one
        _grade(second, 4)  # deck[3], by session two: the newest row in the file
        clock.now += timedelta(seconds=5)
        assert first.undo() == deck[0]
        states = two.card_states()
        assert deck[3].id in states and deck[0].id not in states
        assert [r[0] for r in two.review_log()] == [deck[3].id]
        assert second.undo() == deck[3]
        assert one.card_states() == {}


def test_undo_is_refused_when_another_session_graded_the_card_since(tutor_home):
    path = tutor_home / "progress.db"
    deck = cards("L01", 1)
    clock = Clock()
    with Store.open(path) as one, Store.open(path) as two:
        first = ReviewSession(deck, one, StudyScheduler(), clock, 20)
        _grade(first, 4)
        second = ReviewSession(deck, two, StudyScheduler(), Clock(T0 + timedelta(days=30)), 20)
        _grade(second, 3)  # the same card, graded again later in the other session
        kept = two.card_states()[deck[0].id]
        with pytest.raises(UndoRefused, match="graded again in another session"):
            first.undo()
        assert not first.can_undo  # that grade is no longer undoable; nothing else changed
        assert one.card_states()[deck[0].id] == kept and len(one.review_log()) == 2


# ------------------------------------------------------------------ path problems at start-up


def _start(home: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GENAI_TUTOR_HOME": home}
    return subprocess.run(
        [sys.executable, "-m", "tutor"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _path_cases(base: Path) -> dict[str, tuple[str, str]]:
    """name -> (GENAI_TUTOR_HOME, a phrase the one line must hold), with the files made."""
    cases = {}
    home = base / "db-is-a-folder"
    (home / "progress.db").mkdir(parents=True)
    cases["progress.db a folder"] = (str(home), "is a folder, not a database file")
    home = base / "wal-is-a-folder"
    home.mkdir()
    Store.open(home / "progress.db").close()
    (home / "progress.db-wal").mkdir()
    cases["-wal a folder"] = (str(home), "progress.db-wal is a folder")
    home = base / "dangling"
    home.mkdir()
    (home / "progress.db").symlink_to(base / "gone" / "progress.db")
    cases["dangling symlink"] = (str(home), "which does not exist")
    home = base / "read-only-home"
    home.mkdir()
    Store.open(home / "progress.db").close()
    home.chmod(0o555)
    cases["read-only home"] = (str(home), "is read-only")
    (base / "a-file").write_text("not a folder")
    cases["home is a file"] = (str(base / "a-file"), "is a file, not a folder")
    cases["home under a file"] = (str(base / "a-file" / "home"), "cannot create the data folder")
    cases["home on a read-only file system"] = (
        "/proc/genai-tutor-test/home",
        "cannot create the data folder",
    )
    home = base / "foreign"
    home.mkdir()
    raw = sqlite3.connect(home / "progress.db")
    raw.executescript("CREATE TABLE schema_version (version TEXT); INSERT INTO schema_version VALUES ('2.1')")
    raw.close()
    cases["another app's schema_version"] = (str(home), "another program's SQLite database")
    home = base / "newer"
    home.mkdir()
    Store.open(home / "progress.db").close()
    raw = sqlite3.connect(home / "progress.db")
    raw.execute("INSERT INTO schema_version VALUES (99, 'x')")
    raw.commit()
    raw.close()
    cases["newer schema"] = (str(home), "schema version 99")
    return cases


def test_every_path_problem_is_one_line_and_exit_1(tmp_path, monkeypatch, capsys):
    """In-process through the CLI's entry point (the same code `genai-tutor` runs), so the
    nine cases stay quick; the next test runs one case as a real process."""
    from tutor.cli import main

    cases = _path_cases(tmp_path)
    try:
        for name, (home, phrase) in cases.items():
            monkeypatch.setenv("GENAI_TUTOR_HOME", home)
            code = main([])
            captured = capsys.readouterr()
            lines = captured.err.strip().splitlines()
            assert code == 1, (name, code, captured.err)
            assert len(lines) == 1 and phrase in lines[0], (name, captured.err)
            assert "Traceback" not in captured.out + captured.err, name
    finally:
        (tmp_path / "read-only-home").chmod(0o700)
    assert not any(".corrupt-" in p.name for p in tmp_path.rglob("*"))


def test_a_path_problem_exits_1_from_a_real_process(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    done = _start(str(tmp_path / "a-file"))
    assert done.returncode == 1
    expected = (
        f"genai-tutor: the data folder {tmp_path / 'a-file'} is a file, not a folder (check GENAI_TUTOR_HOME)"
    )
    assert done.stderr.strip().splitlines() == [expected]
