"""Saved progress: one SQLite file, written one transaction per confirmed action.

Where: `<GENAI_TUTOR_HOME or platformdirs.user_data_path("genai-tutor")>/progress.db`.
The file is in WAL mode with synchronous=FULL, and every method that records something
commits before it returns, so once the UI has confirmed an answer or a grade, killing
the process (or losing power) cannot lose it.

A file that SQLite cannot read (random bytes, truncated, not a database, failed
integrity check, or written by a newer version of this app) is never deleted: it is
renamed to `progress.db.corrupt-YYYYmmddTHHMMSS` (or `.newer-...`) together with its
-wal/-shm files, a fresh database is created, and `Store.recovered_from` holds the new
path of the old file so the UI can tell the learner where it went.

One connection, used only from the thread that opened it. Datetimes are UTC-aware and
stored as ISO 8601 text with microseconds, so text order is time order.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from quizzes.scheduler import utc

__all__ = ["ATTEMPT_KINDS", "BACKUP_VERSION", "AnswerRecord", "BackupError", "OwnCard", "AttemptRecord", "LessonRecord", "SCHEMA_VERSION",
           "Store", "StoreError", "default_path"]

ATTEMPT_KINDS = ("lesson", "exam", "retry")
BACKUP_FORMAT = "genai-tutor-progress"
BACKUP_VERSION = 1
# Every table a backup holds, in an order that respects foreign keys.
_BACKUP_TABLES = ("lesson_progress", "card_state", "review_log", "quiz_attempt",
                  "quiz_answer", "setting", "own_card")
DB_NAME = "progress.db"
ENV_HOME = "GENAI_TUTOR_HOME"

# Migration N (1-based) takes a database from schema version N-1 to N. Append, never edit.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE lesson_progress (lesson_id TEXT PRIMARY KEY,
        read INTEGER NOT NULL DEFAULT 0, position REAL NOT NULL DEFAULT 0,
        opened_at TEXT, last_opened_at TEXT, completed_at TEXT);
    CREATE TABLE card_state (card_id TEXT PRIMARY KEY,
        state TEXT NOT NULL, due TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE INDEX card_state_due ON card_state (due);
    CREATE TABLE review_log (id INTEGER PRIMARY KEY AUTOINCREMENT, card_id TEXT NOT NULL,
        rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 4), reviewed_at TEXT NOT NULL,
        prev_state TEXT, prev_due TEXT, new_state TEXT NOT NULL);
    CREATE INDEX review_log_card ON review_log (card_id);
    CREATE TABLE quiz_attempt (id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('lesson', 'exam', 'retry')),
        lesson_id TEXT, seed INTEGER, question_ids TEXT NOT NULL,
        started_at TEXT NOT NULL, finished_at TEXT);
    CREATE TABLE quiz_answer (id INTEGER PRIMARY KEY AUTOINCREMENT,
        attempt_id INTEGER NOT NULL REFERENCES quiz_attempt (id), question_id TEXT NOT NULL,
        response TEXT NOT NULL, correct INTEGER NOT NULL, answered_at TEXT NOT NULL);
    CREATE INDEX quiz_answer_attempt ON quiz_answer (attempt_id);
    """,
    """
    CREATE TABLE setting (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE own_card (id TEXT PRIMARY KEY, front TEXT NOT NULL, back TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '', added_at TEXT NOT NULL);
    CREATE INDEX review_log_time ON review_log (reviewed_at);
    """,
)
SCHEMA_VERSION = len(_MIGRATIONS)


class StoreError(RuntimeError):
    """The progress database could not be opened or used (and was not corrupt)."""


class BackupError(ValueError):
    """A progress backup file that this version cannot restore (said plainly why)."""


@dataclass(frozen=True)
class OwnCard:
    """A flashcard the learner imported ("My cards"): scheduled like the course's cards."""

    id: str
    front: str
    back: str
    tags: tuple[str, ...]


class _NewerSchema(Exception):
    """The file was written by a newer version of the app (unknown schema version)."""


@dataclass(frozen=True)
class LessonRecord:
    lesson_id: str
    read: bool
    position: float
    opened_at: datetime | None
    last_opened_at: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True)
class AttemptRecord:
    id: int
    kind: str
    lesson_id: str | None
    seed: int | None
    question_ids: tuple[str, ...]
    started_at: datetime
    finished_at: datetime | None
    right: int
    answered: int


@dataclass(frozen=True)
class AnswerRecord:
    attempt_id: int
    question_id: str
    response: object
    correct: bool
    answered_at: datetime


def default_path() -> Path:
    """The progress database path: GENAI_TUTOR_HOME if set, else the platform data dir."""
    home = os.environ.get(ENV_HOME)
    if home:
        return Path(home).expanduser() / DB_NAME
    import platformdirs

    return platformdirs.user_data_path("genai-tutor") / DB_NAME


def _iso(moment: datetime | None) -> str:
    moment = utc(moment) if moment is not None else datetime.now(timezone.utc)
    return moment.isoformat(timespec="microseconds")


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _to_json(response: object) -> str:
    """JSON for a learner's response: sets become sorted lists; anything odd, its repr."""
    if isinstance(response, (set, frozenset)):
        response = sorted(response, key=repr)
    return json.dumps(response, default=repr)


class Store:
    """The learner's saved progress. Open with `Store.open()`; close with `close()`."""

    BUSY_TIMEOUT = 5.0  # seconds to wait while another process holds the write lock

    def __init__(self, connection: sqlite3.Connection, path: Path, recovered_from: Path | None):
        self._db = connection
        self.path = path
        self.recovered_from = recovered_from

    @classmethod
    def open(cls, path: str | os.PathLike | None = None) -> Store:
        """Open (creating if needed) the database at `path` (default: `default_path()`)."""
        path = Path(path) if path is not None else default_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        # SQLite may merge or drop a -wal when it closes a damaged file: keep the bytes.
        wal = path.with_name(path.name + "-wal")
        saved_wal = wal.read_bytes() if wal.exists() else None
        try:
            return cls(cls._connect(path), path, None)
        except _NewerSchema:
            moved = cls._move_aside(path, "newer")
        except sqlite3.DatabaseError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise StoreError(f"{path} is in use by another program: {error}") from error
            moved = cls._move_aside(path, "corrupt")
        moved_wal = moved.with_name(moved.name + "-wal")
        if saved_wal is not None and not moved_wal.exists():
            moved_wal.write_bytes(saved_wal)
        try:
            return cls(cls._connect(path), path, moved)
        except (sqlite3.Error, _NewerSchema) as error:
            raise StoreError(f"could not create a fresh database at {path}: {error}") from error

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        if path.exists() and path.stat().st_size:
            with open(path, "rb") as file:  # reject non-databases before SQLite touches them
                if file.read(16) != b"SQLite format 3\x00":
                    raise sqlite3.DatabaseError("file is not a database")
        db = sqlite3.connect(path, timeout=Store.BUSY_TIMEOUT, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL").fetchone()
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            check = db.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check}")
            with Store._begin(db):
                db.execute("CREATE TABLE IF NOT EXISTS schema_version "
                           "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
                current = db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
                if current > SCHEMA_VERSION:
                    raise _NewerSchema(current)
                for version in range(current + 1, SCHEMA_VERSION + 1):
                    for statement in _MIGRATIONS[version - 1].split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                               (version, _iso(None)))
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _move_aside(path: Path, reason: str) -> Path:
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
        target = path.with_name(f"{path.name}.{reason}-{stamp}")
        serial = 1
        while target.exists():
            target = path.with_name(f"{path.name}.{reason}-{stamp}-{serial}")
            serial += 1
        if path.exists():
            os.replace(path, target)
        for suffix in ("-wal", "-shm", "-journal"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                os.replace(side, target.with_name(target.name + suffix))
        return target

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0])

    def close(self) -> None:
        """Close the connection (everything is already committed)."""
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    @contextmanager
    def _begin(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed (durably) when the block ends without error."""
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._begin(self._db)

    def _write(self, statements: list[tuple[str, tuple]]) -> list[int]:
        """Run statements in one transaction and commit; returns each statement's lastrowid."""
        with self._transaction() as db:
            return [db.execute(sql, args).lastrowid for sql, args in statements]

    # ---- lessons ------------------------------------------------------------------------

    def open_lesson(self, lesson_id: str, now: datetime | None = None) -> None:
        """Record that the lesson was opened (keeps the first-opened time)."""
        when = _iso(now)
        self._write([("INSERT INTO lesson_progress (lesson_id, opened_at, last_opened_at) "
                      "VALUES (?, ?, ?) ON CONFLICT (lesson_id) DO UPDATE SET "
                      "last_opened_at = excluded.last_opened_at, "
                      "opened_at = COALESCE(opened_at, excluded.opened_at)",
                      (lesson_id, when, when))])

    def save_position(self, lesson_id: str, position: float) -> None:
        """Remember how far down the lesson the learner had scrolled."""
        self._write([("INSERT INTO lesson_progress (lesson_id, position) VALUES (?, ?) "
                      "ON CONFLICT (lesson_id) DO UPDATE SET position = excluded.position",
                      (lesson_id, float(position)))])

    def mark_read(self, lesson_id: str, now: datetime | None = None) -> None:
        """Record that the learner finished the lesson (keeps the first completion time)."""
        when = _iso(now)
        self._write([("INSERT INTO lesson_progress (lesson_id, read, opened_at, completed_at) "
                      "VALUES (?, 1, ?, ?) ON CONFLICT (lesson_id) DO UPDATE SET read = 1, "
                      "opened_at = COALESCE(opened_at, excluded.opened_at), "
                      "completed_at = COALESCE(completed_at, excluded.completed_at)",
                      (lesson_id, when, when))])

    def lesson(self, lesson_id: str) -> LessonRecord | None:
        """One lesson's saved progress, or None if it was never opened."""
        return self.lessons().get(lesson_id)

    def lessons(self) -> dict[str, LessonRecord]:
        """Saved progress of every lesson ever opened, by lesson id."""
        rows = self._db.execute("SELECT lesson_id, read, position, opened_at, "
                                "last_opened_at, completed_at FROM lesson_progress")
        return {r[0]: LessonRecord(r[0], bool(r[1]), r[2], _when(r[3]), _when(r[4]), _when(r[5]))
                for r in rows}

    # ---- flashcards ---------------------------------------------------------------------

    def card_state(self, card_id: str) -> str | None:
        """The stored scheduling state (JSON text) of a card, or None if never reviewed."""
        found = self._select("SELECT state FROM card_state", "card_id", card_id, "")
        return found[0][0] if found else None

    def card_states(self) -> dict[str, tuple[str, datetime]]:
        """Every reviewed card: card id -> (state JSON text, due)."""
        rows = self._db.execute("SELECT card_id, state, due FROM card_state")
        return {r[0]: (r[1], datetime.fromisoformat(r[2])) for r in rows}

    def record_review(self, card_id: str, rating: int, state: str, due: datetime,
                      reviewed_at: datetime) -> None:
        """Save a graded card: its new state and a review-log entry, in one transaction.

        The previous state goes into the log so `undo_last_review` can restore it.
        """
        if isinstance(rating, bool) or rating not in (1, 2, 3, 4):
            raise ValueError(f"rating must be 1..4, not {rating!r}")
        when, due_text = _iso(reviewed_at), _iso(due)
        with self._transaction() as db:
            prev = db.execute("SELECT state, due FROM card_state WHERE card_id = ?",
                              (card_id,)).fetchone() or (None, None)
            db.execute("INSERT INTO review_log (card_id, rating, reviewed_at, prev_state, "
                       "prev_due, new_state) VALUES (?, ?, ?, ?, ?, ?)",
                       (card_id, int(rating), when, prev[0], prev[1], state))
            db.execute("INSERT INTO card_state (card_id, state, due, updated_at) "
                       "VALUES (?, ?, ?, ?) ON CONFLICT (card_id) DO UPDATE SET "
                       "state = excluded.state, due = excluded.due, "
                       "updated_at = excluded.updated_at",
                       (card_id, state, due_text, when))

    def undo_last_review(self) -> str | None:
        """Undo the most recent review: restore the card's previous state (or make it new
        again) and delete the log entry. Returns the card id, or None if there is none."""
        with self._transaction() as db:
            row = db.execute("SELECT id, card_id, prev_state, prev_due FROM review_log "
                             "ORDER BY id DESC LIMIT 1").fetchone()
            if row is None:
                return None
            log_id, card_id, prev_state, prev_due = row
            if prev_state is None:
                db.execute("DELETE FROM card_state WHERE card_id = ?", (card_id,))
            else:
                db.execute("UPDATE card_state SET state = ?, due = ?, updated_at = ? "
                           "WHERE card_id = ?", (prev_state, prev_due, _iso(None), card_id))
            db.execute("DELETE FROM review_log WHERE id = ?", (log_id,))
        return card_id

    def _select(self, sql: str, column: str, value: object, tail: str) -> list[tuple]:
        if value is None:
            return self._db.execute(f"{sql} {tail}").fetchall()
        return self._db.execute(f"{sql} WHERE {column} = ? {tail}", (value,)).fetchall()

    def review_log(self, card_id: str | None = None) -> list[tuple[str, int, datetime]]:
        """Reviews, oldest first: (card id, rating, reviewed at)."""
        sql = "SELECT card_id, rating, reviewed_at FROM review_log"
        rows = self._select(sql, "card_id", card_id, "ORDER BY id")
        return [(r[0], r[1], datetime.fromisoformat(r[2])) for r in rows]

    # ---- quizzes ------------------------------------------------------------------------

    def start_attempt(self, kind: str, question_ids: list[str] | tuple[str, ...],
                      lesson_id: str | None = None, seed: int | None = None,
                      now: datetime | None = None) -> int:
        """Begin a quiz attempt (kind: "lesson", "exam" or "retry"); returns its id."""
        if kind not in ATTEMPT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(ATTEMPT_KINDS)}, not {kind!r}")
        ids = json.dumps(list(question_ids))
        return self._write([("INSERT INTO quiz_attempt (kind, lesson_id, seed, question_ids, "
                             "started_at) VALUES (?, ?, ?, ?, ?)",
                             (kind, lesson_id, seed, ids, _iso(now)))])[0]

    def record_answer(self, attempt_id: int, question_id: str, response: object,
                      correct: bool, now: datetime | None = None, finish: bool = False) -> None:
        """Save one answered question, and with `finish` also close the attempt, in one
        transaction. Sets become sorted lists in the stored JSON."""
        when = _iso(now)
        statements = [("INSERT INTO quiz_answer (attempt_id, question_id, response, correct, "
                       "answered_at) VALUES (?, ?, ?, ?, ?)",
                       (attempt_id, question_id, _to_json(response), int(bool(correct)), when))]
        if finish:
            statements.append(("UPDATE quiz_attempt SET finished_at = ? WHERE id = ?",
                               (when, attempt_id)))
        self._write(statements)

    def finish_attempt(self, attempt_id: int, now: datetime | None = None) -> None:
        """Close an attempt without answering the rest (answers so far are kept)."""
        self._write([("UPDATE quiz_attempt SET finished_at = ? WHERE id = ?",
                      (_iso(now), attempt_id))])

    def attempts(self, kind: str | None = None) -> list[AttemptRecord]:
        """Quiz attempts, oldest first, with their counts of right and answered questions."""
        sql = (
            "SELECT a.id, a.kind, a.lesson_id, a.seed, a.question_ids, a.started_at, "
            "a.finished_at, COALESCE(SUM(q.correct), 0), COUNT(q.id) FROM quiz_attempt a "
            "LEFT JOIN quiz_answer q ON q.attempt_id = a.id"
        )
        rows = self._select(sql, "a.kind", kind, "GROUP BY a.id ORDER BY a.id")
        return [AttemptRecord(r[0], r[1], r[2], r[3], tuple(json.loads(r[4])),
                              datetime.fromisoformat(r[5]), _when(r[6]), int(r[7]), int(r[8]))
                for r in rows]

    def answers(self, attempt_id: int | None = None) -> list[AnswerRecord]:
        """Answers, oldest first, for one attempt or all."""
        sql = "SELECT attempt_id, question_id, response, correct, answered_at FROM quiz_answer"
        rows = self._select(sql, "attempt_id", attempt_id, "ORDER BY id")
        return [AnswerRecord(r[0], r[1], json.loads(r[2]), bool(r[3]),
                             datetime.fromisoformat(r[4])) for r in rows]

    def activity_times(self) -> list[datetime]:
        """When the learner reviewed a card or answered a question (for streaks)."""
        rows = self._db.execute("SELECT reviewed_at FROM review_log "
                                "UNION ALL SELECT answered_at FROM quiz_answer")
        return [datetime.fromisoformat(r[0]) for r in rows]

    def new_cards_introduced(self, since: datetime, until: datetime) -> int:
        """How many cards were graded for the first time in [since, until): a first
        review is a log entry with no previous state. Undoing one takes it back."""
        row = self._db.execute("SELECT COUNT(*) FROM review_log WHERE prev_state IS NULL "
                               "AND reviewed_at >= ? AND reviewed_at < ?",
                               (_iso(since), _iso(until))).fetchone()
        return int(row[0])

    def review_log_full(self) -> list[tuple[str, int, datetime, str | None, str]]:
        """Reviews, oldest first: (card id, rating, reviewed at, state before, state after)."""
        rows = self._db.execute("SELECT card_id, rating, reviewed_at, prev_state, new_state "
                                "FROM review_log ORDER BY id")
        return [(r[0], r[1], datetime.fromisoformat(r[2]), r[3], r[4]) for r in rows]

    def unfinished_attempt(self, kind: str) -> AttemptRecord | None:
        """The newest attempt of `kind` that was left before its last answer, if any."""
        open_ones = [a for a in self.attempts(kind) if a.finished_at is None]
        return open_ones[-1] if open_ones else None

    # ---- settings -----------------------------------------------------------------------

    def setting(self, key: str, default: str | None = None) -> str | None:
        """A learner's setting (text), or `default` when it was never set."""
        row = self._db.execute("SELECT value FROM setting WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_setting(self, key: str, value: str) -> None:
        self._write([("INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT (key) "
                      "DO UPDATE SET value = excluded.value", (key, str(value)))])

    # ---- the learner's own cards --------------------------------------------------------

    def add_own_cards(self, cards: list[OwnCard], now: datetime | None = None) -> int:
        """Add (or update, by id) the learner's own cards in one transaction; returns how
        many were new."""
        when = _iso(now)
        with self._transaction() as db:
            known = {r[0] for r in db.execute("SELECT id FROM own_card")}
            for card in cards:
                db.execute("INSERT INTO own_card (id, front, back, tags, added_at) "
                           "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                           "front = excluded.front, back = excluded.back, tags = excluded.tags",
                           (card.id, card.front, card.back, " ".join(card.tags), when))
        return sum(card.id not in known for card in {c.id: c for c in cards}.values())

    def own_cards(self) -> list[OwnCard]:
        """The learner's own cards, in the order they were added."""
        rows = self._db.execute("SELECT id, front, back, tags FROM own_card ORDER BY rowid")
        return [OwnCard(r[0], r[1], r[2], tuple(r[3].split())) for r in rows]

    # ---- backup -------------------------------------------------------------------------

    def export_backup(self) -> dict:
        """Everything the learner has done, as one JSON-ready dict with a format version."""
        tables = {}
        for table in _BACKUP_TABLES:
            cursor = self._db.execute(f"SELECT * FROM {table} ORDER BY rowid")
            columns = [c[0] for c in cursor.description]
            tables[table] = {"columns": columns, "rows": [list(r) for r in cursor]}
        return {"format": BACKUP_FORMAT, "version": BACKUP_VERSION,
                "schema": self.schema_version, "tables": tables}

    def import_backup(self, data: object) -> dict[str, int]:
        """Replace all progress with a backup from `export_backup`, in one transaction
        (a bad backup changes nothing). Returns the number of rows per table."""
        if not isinstance(data, dict) or data.get("format") != BACKUP_FORMAT:
            raise BackupError("this is not a genai-tutor progress backup")
        version = data.get("version")
        if not isinstance(version, int) or version > BACKUP_VERSION:
            raise BackupError(f"backup version {version!r} is newer than this app "
                              f"understands ({BACKUP_VERSION}); update genai-tutor")
        tables = data.get("tables")
        if not isinstance(tables, dict):
            raise BackupError("the backup has no tables")
        counts = {}
        try:
            with self._transaction() as db:
                for table in reversed(_BACKUP_TABLES):
                    db.execute(f"DELETE FROM {table}")
                for table in _BACKUP_TABLES:
                    block = tables.get(table, {"columns": [], "rows": []})
                    columns, rows = block.get("columns", []), block.get("rows", [])
                    known = {c[1] for c in db.execute(f"PRAGMA table_info({table})")}
                    if not set(columns) <= known:
                        raise BackupError(f"table {table} has unknown columns "
                                          f"{sorted(set(columns) - known)}")
                    if rows:
                        marks = ", ".join("?" for _ in columns)
                        db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) "
                                       f"VALUES ({marks})", [tuple(r) for r in rows])
                    counts[table] = len(rows)
        except sqlite3.Error as error:
            raise BackupError(f"the backup does not fit the database: {error}") from error
        return counts
