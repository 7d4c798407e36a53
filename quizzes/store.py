"""Saved progress: one SQLite file, written one transaction per confirmed action.

Where: `<GENAI_TUTOR_HOME or platformdirs.user_data_path("genai-tutor")>/progress.db`.
The file is in WAL mode with synchronous=FULL, and every method that records something
commits before it returns, so once the UI has confirmed an answer or a grade, killing
the process (or losing power) cannot lose it.

What goes wrong is told apart, because the remedies differ:

* Only a file SQLite cannot read as a database (random bytes, truncated, failed
  integrity check) is "corrupt". It is never deleted: it is renamed to
  `progress.db.corrupt-YYYYmmddTHHMMSS` with its -wal/-shm files, a fresh database is
  created, and `Store.recovered_from` holds where the old file went.
* A full disk, an I/O error, a read-only file or folder, a permission problem, a lock
  held by another program, a path that is a folder or a dangling link: `StoreError`
  with one plain line, and the file is left exactly where it is.
* A file written by a newer genai-tutor (a higher schema version) or by another
  program (an SQLite file without our tables) is refused, not changed or adopted.
* During a session a failed write raises `StoreError`; its transaction is rolled back,
  so what was saved before is intact and the caller can say "not saved" and retry.

The data folder is created 0700 and the database files 0600 (other users on a shared
host cannot read a learner's answers); files of an existing install are tightened when
opened.

One connection, used only from the thread that opened it. Datetimes are UTC-aware and
stored as ISO 8601 text with microseconds, so text order is time order.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from content.paths import user_home
from quizzes.scheduler import utc

__all__ = [
    "ATTEMPT_KINDS",
    "BACKUP_VERSION",
    "SCHEMA_VERSION",
    "AnswerRecord",
    "AttemptRecord",
    "BackupError",
    "LessonRecord",
    "OwnCard",
    "Store",
    "StoreError",
    "UndoRefused",
    "default_path",
    "is_corrupt",
    "reason",
]

ATTEMPT_KINDS = ("lesson", "exam", "retry")
BACKUP_FORMAT = "genai-tutor-progress"
BACKUP_VERSION = 1
# Every table a backup holds, in an order that respects foreign keys.
_BACKUP_TABLES = (
    "lesson_progress",
    "card_state",
    "review_log",
    "quiz_attempt",
    "quiz_answer",
    "setting",
    "own_card",
)
DB_NAME = "progress.db"

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


OUR_TABLES = {"schema_version", "lesson_progress", "card_state", "review_log", "quiz_attempt", "quiz_answer"}


class StoreError(RuntimeError):
    """The progress database could not be opened or used (and was not corrupt). The
    message is one plain line meant for the learner."""


class UndoRefused(StoreError):
    """The grade cannot be undone (gone, or the card was graded again elsewhere);
    nothing was changed."""


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


class _Foreign(Exception):
    """The file is an SQLite database, but not one of ours."""


class _Corrupt(Exception):
    """The file cannot be read as a database."""


# SQLite primary result codes (sqlite3.Error.sqlite_errorcode & 0xff) and what they mean.
_REASONS = {
    3: "permission denied",
    5: "it is in use by another program (it stayed locked)",
    6: "it is in use by another program (it stayed locked)",
    7: "the computer ran out of memory",
    8: "it or its folder is read-only",
    10: "the disk reported an input/output error",
    13: "the disk is full",
    14: "it cannot be opened (check that its folder exists and is writable)",
    23: "permission denied",
}
# The same, from the message, for errors raised without a code.
_MESSAGE_REASONS = (
    ("disk is full", 13),
    ("disk i/o error", 10),
    ("readonly", 8),
    ("read-only", 8),
    ("locked", 5),
    ("busy", 5),
    ("unable to open", 14),
    ("permission", 3),
    ("out of memory", 7),
)
_CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB


def _code(error: sqlite3.Error) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF
    text = str(error).lower()
    if "malformed" in text or "not a database" in text:
        return 11
    return next((code for needle, code in _MESSAGE_REASONS if needle in text), None)


def is_corrupt(error: sqlite3.Error) -> bool:
    """Whether SQLite said the file itself is damaged (not the disk, lock or permissions)."""
    return _code(error) in _CORRUPT_CODES


def reason(error: BaseException) -> str:
    """A plain phrase for why a database operation failed."""
    if isinstance(error, sqlite3.Error):
        found = _REASONS.get(_code(error) or -1)
        return found or str(error)
    if isinstance(error, OSError):
        return (error.strerror or str(error)).lower()
    return str(error)


def _db_errors(method):
    """Turn any sqlite3 error inside a Store method into a one-line StoreError (the
    transaction was rolled back, so the file holds exactly what it held before)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as error:
            raise StoreError(f"could not use your progress file {self.path}: {reason(error)}") from error

    return wrapper


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


def _default_folder() -> Path:
    import platformdirs

    return platformdirs.user_data_path("genai-tutor")


def default_path() -> Path:
    """The progress database path, in the learner's data folder (content.paths decides
    where that is: GENAI_TUTOR_HOME if set, else the platform's data folder)."""
    return user_home(create=False) / DB_NAME


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
        """Open (creating if needed) the database at `path` (default: `default_path()`).

        Raises StoreError (one line, file left in place) for everything except a
        corrupt file, which is moved aside and replaced (see the module docstring)."""
        path = Path(path) if path is not None else default_path()
        cls._prepare_folder(path.parent, tighten=path.parent == _default_folder())
        cls._check_path(path)
        # SQLite may merge or drop a -wal when it closes a damaged file: keep the bytes.
        wal = path.with_name(path.name + "-wal")
        try:
            saved_wal = wal.read_bytes() if wal.is_file() else None
        except OSError as error:
            raise StoreError(f"cannot read {wal}: {reason(error)}") from error
        try:
            return cls(cls._connect(path), path, None)
        except _NewerSchema as newer:
            raise StoreError(
                f"{path} was written by a newer genai-tutor (progress schema version {newer.args[0]}; "
                f"this version reads up to {SCHEMA_VERSION}); update genai-tutor, the file was not changed"
            ) from None
        except _Foreign as foreign:
            raise StoreError(
                f"{path} is another program's SQLite database ({foreign.args[0]}); it was not "
                "changed: move it away or set GENAI_TUTOR_HOME to another folder"
            ) from None
        except _Corrupt:
            pass
        except sqlite3.Error as error:
            if not is_corrupt(error):
                raise StoreError(
                    f"cannot open your progress file {path}: {reason(error)}; it was left as it is"
                ) from error
        except OSError as error:
            raise StoreError(f"cannot open your progress file {path}: {reason(error)}") from error
        try:
            moved = cls._move_aside(path, "corrupt")
        except OSError as error:
            raise StoreError(
                f"{path} cannot be read as a database, and it could not be moved aside "
                f"({reason(error)}); nothing was deleted"
            ) from error
        moved_wal = moved.with_name(moved.name + "-wal")
        if saved_wal is not None and not moved_wal.exists():
            moved_wal.write_bytes(saved_wal)
        try:
            return cls(cls._connect(path), path, moved)
        except (sqlite3.Error, OSError, _NewerSchema, _Foreign, _Corrupt) as error:
            raise StoreError(
                f"could not create a fresh database at {path}: {reason(error)} "
                f"(the unreadable one was kept at {moved})"
            ) from error

    @staticmethod
    def _prepare_folder(folder: Path, tighten: bool) -> None:
        """Create the data folder 0700; tighten the default one of an existing install."""
        try:
            if folder.exists() and not folder.is_dir():
                raise StoreError(f"the data folder {folder} is a file, not a folder (check GENAI_TUTOR_HOME)")
            created = not folder.exists()
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            info = folder.stat()
            if (created or tighten) and info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
                folder.chmod(0o700)
        except StoreError:
            raise
        except OSError as error:
            raise StoreError(
                f"cannot create the data folder {folder}: {reason(error)} "
                "(check GENAI_TUTOR_HOME and its permissions)"
            ) from error

    @staticmethod
    def _check_path(path: Path) -> None:
        """Refuse, in one line, the paths SQLite would fail on with a cryptic message."""
        if path.is_symlink() and not path.exists():
            raise StoreError(f"{path} is a link to {os.readlink(path)}, which does not exist")
        for candidate in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
            if candidate.is_dir():
                raise StoreError(f"{candidate} is a folder, not a database file; move it away")
            if candidate.exists() and not candidate.is_file():
                raise StoreError(f"{candidate} is not a regular file; move it away")
        if path.exists():
            mode = path.stat().st_mode
            if not os.access(path, os.R_OK | os.W_OK) or not mode & 0o222:
                raise StoreError(
                    f"your progress file {path} is read-only; make it writable "
                    "(chmod u+w) so genai-tutor can save"
                )
        folder = path.parent
        if not os.access(folder, os.W_OK | os.X_OK) or not folder.stat().st_mode & 0o222:
            raise StoreError(
                f"the data folder {folder} is read-only; genai-tutor needs to write there "
                "(or set GENAI_TUTOR_HOME to a writable folder)"
            )

    @staticmethod
    def _own_files(path: Path) -> None:
        """Create the database file 0600 if it is new; tighten it and its -wal/-shm files
        (SQLite gives those the database's mode) on an existing install."""
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
        except FileExistsError:
            pass
        for candidate in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
            try:
                info = candidate.stat()
            except FileNotFoundError:
                continue
            if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
                candidate.chmod(0o600)

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        if path.exists() and path.stat().st_size:
            with open(path, "rb") as file:  # reject non-databases before SQLite touches them
                if file.read(16) != b"SQLite format 3\x00":
                    raise _Corrupt("file is not a database")
        Store._own_files(path)
        db = sqlite3.connect(path, timeout=Store.BUSY_TIMEOUT, isolation_level=None)
        try:
            check = db.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                raise _Corrupt(f"integrity check failed: {check}")
            Store._check_ours(db)  # read-only look: a foreign or newer file is not touched
            db.execute("PRAGMA journal_mode=WAL").fetchone()
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            with Store._begin(db):
                db.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version "
                    "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
                )
                current = db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
                if current > SCHEMA_VERSION:
                    raise _NewerSchema(current)
                for version in range(current + 1, SCHEMA_VERSION + 1):
                    for statement in _MIGRATIONS[version - 1].split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute(
                        "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                        (version, _iso(None)),
                    )
            Store._own_files(path)  # the -wal and -shm files exist now
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _check_ours(db: sqlite3.Connection) -> None:
        """Raise _Foreign for a database of another program, _NewerSchema for a newer one
        of ours. An empty database is fine (a fresh file)."""
        tables = {
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        if not tables:
            return
        if "schema_version" not in tables:
            raise _Foreign(f"tables {', '.join(sorted(tables)[:4])}")
        columns = [(row[1], str(row[2]).upper()) for row in db.execute("PRAGMA table_info(schema_version)")]
        if columns[:2] != [("version", "INTEGER"), ("applied_at", "TEXT")]:
            raise _Foreign("its schema_version table is not genai-tutor's")
        odd = db.execute("SELECT COUNT(*) FROM schema_version WHERE typeof(version) != 'integer'").fetchone()[
            0
        ]
        if odd:
            raise _Foreign("its schema_version table holds non-integer versions")
        current = db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
        if current > SCHEMA_VERSION:
            raise _NewerSchema(current)
        if current >= 1 and not tables >= OUR_TABLES:
            raise _Foreign(f"it lacks the tables {', '.join(sorted(OUR_TABLES - tables))}")

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
    @_db_errors
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

    def _write(self, statements: list[tuple[str, tuple]]) -> list[int | None]:
        """Run statements in one transaction and commit; returns each statement's lastrowid."""
        with self._transaction() as db:
            return [db.execute(sql, args).lastrowid for sql, args in statements]

    # ---- lessons ------------------------------------------------------------------------

    @_db_errors
    def open_lesson(self, lesson_id: str, now: datetime | None = None) -> None:
        """Record that the lesson was opened (keeps the first-opened time)."""
        when = _iso(now)
        self._write(
            [
                (
                    "INSERT INTO lesson_progress (lesson_id, opened_at, last_opened_at) "
                    "VALUES (?, ?, ?) ON CONFLICT (lesson_id) DO UPDATE SET "
                    "last_opened_at = excluded.last_opened_at, "
                    "opened_at = COALESCE(opened_at, excluded.opened_at)",
                    (lesson_id, when, when),
                )
            ]
        )

    @_db_errors
    def save_position(self, lesson_id: str, position: float) -> None:
        """Remember how far down the lesson the learner had scrolled."""
        self._write(
            [
                (
                    "INSERT INTO lesson_progress (lesson_id, position) VALUES (?, ?) "
                    "ON CONFLICT (lesson_id) DO UPDATE SET position = excluded.position",
                    (lesson_id, float(position)),
                )
            ]
        )

    @_db_errors
    def mark_read(self, lesson_id: str, now: datetime | None = None) -> None:
        """Record that the learner finished the lesson (keeps the first completion time)."""
        when = _iso(now)
        self._write(
            [
                (
                    "INSERT INTO lesson_progress (lesson_id, read, opened_at, completed_at) "
                    "VALUES (?, 1, ?, ?) ON CONFLICT (lesson_id) DO UPDATE SET read = 1, "
                    "opened_at = COALESCE(opened_at, excluded.opened_at), "
                    "completed_at = COALESCE(completed_at, excluded.completed_at)",
                    (lesson_id, when, when),
                )
            ]
        )

    def lesson(self, lesson_id: str) -> LessonRecord | None:
        """One lesson's saved progress, or None if it was never opened."""
        return self.lessons().get(lesson_id)

    @_db_errors
    def lessons(self) -> dict[str, LessonRecord]:
        """Saved progress of every lesson ever opened, by lesson id."""
        rows = self._db.execute(
            "SELECT lesson_id, read, position, opened_at, last_opened_at, completed_at FROM lesson_progress"
        )
        return {
            r[0]: LessonRecord(r[0], bool(r[1]), r[2], _when(r[3]), _when(r[4]), _when(r[5])) for r in rows
        }

    # ---- settings -----------------------------------------------------------------------

    def setting(self, key: str, default: str | None = None) -> str | None:
        """A learner's setting (text), or `default` when it was never set."""
        row = self._db.execute("SELECT value FROM setting WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_setting(self, key: str, value: str) -> None:
        self._write(
            [
                (
                    "INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT (key) "
                    "DO UPDATE SET value = excluded.value",
                    (key, str(value)),
                )
            ]
        )

    def last_opened_lesson(self) -> LessonRecord | None:
        """The lesson opened most recently, with its saved scroll position, or None."""
        opened = [r for r in self.lessons().values() if r.last_opened_at is not None]
        return max(opened, key=lambda r: r.last_opened_at, default=None)

    # ---- flashcards ---------------------------------------------------------------------

    @_db_errors
    def card_state(self, card_id: str) -> str | None:
        """The stored scheduling state (JSON text) of a card, or None if never reviewed."""
        found = self._select("SELECT state FROM card_state", "card_id", card_id, "")
        return found[0][0] if found else None

    @_db_errors
    def card_states(self) -> dict[str, tuple[str, datetime]]:
        """Every reviewed card: card id -> (state JSON text, due)."""
        rows = self._db.execute("SELECT card_id, state, due FROM card_state")
        return {r[0]: (r[1], datetime.fromisoformat(r[2])) for r in rows}

    @_db_errors
    def record_review(
        self, card_id: str, rating: int, state: str, due: datetime, reviewed_at: datetime
    ) -> int:
        """Save a graded card: its new state and a review-log entry, in one transaction.
        Returns the log entry's row id, which is what `undo_review` takes.

        The previous state goes into the log so `undo_review` can restore it.
        """
        if isinstance(rating, bool) or rating not in (1, 2, 3, 4):
            raise ValueError(f"rating must be 1..4, not {rating!r}")
        when, due_text = _iso(reviewed_at), _iso(due)
        with self._transaction() as db:
            prev = db.execute(
                "SELECT state, due FROM card_state WHERE card_id = ?", (card_id,)
            ).fetchone() or (None, None)
            log_id = db.execute(
                "INSERT INTO review_log (card_id, rating, reviewed_at, prev_state, "
                "prev_due, new_state) VALUES (?, ?, ?, ?, ?, ?)",
                (card_id, int(rating), when, prev[0], prev[1], state),
            ).lastrowid
            db.execute(
                "INSERT INTO card_state (card_id, state, due, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (card_id) DO UPDATE SET "
                "state = excluded.state, due = excluded.due, "
                "updated_at = excluded.updated_at",
                (card_id, state, due_text, when),
            )
        assert log_id is not None  # an INSERT always sets lastrowid
        return int(log_id)

    @_db_errors
    def undo_review(self, log_id: int) -> str:
        """Undo the review with row id `log_id` (one this session made): restore the card's
        previous state (or make it new again) and delete that log entry. Returns the card id.

        Everything is checked inside the transaction before anything is deleted, and
        StoreError (nothing changed) is raised when the entry is gone or the card has been
        graded again since (by another session on the same file): undoing then would
        overwrite that later grade."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT card_id, prev_state, prev_due, new_state FROM review_log WHERE id = ?", (log_id,)
            ).fetchone()
            if row is None:
                raise UndoRefused("that grade is no longer in your progress file, so it cannot be undone")
            card_id, prev_state, prev_due, new_state = row
            later = db.execute(
                "SELECT COUNT(*) FROM review_log WHERE card_id = ? AND id > ?", (card_id, log_id)
            ).fetchone()[0]
            current = db.execute("SELECT state FROM card_state WHERE card_id = ?", (card_id,)).fetchone()
            if later or current is None or current[0] != new_state:
                raise UndoRefused(
                    f"card {card_id} was graded again in another session since, "
                    "so this grade cannot be undone"
                )
            if prev_state is None:
                db.execute("DELETE FROM card_state WHERE card_id = ?", (card_id,))
            else:
                db.execute(
                    "UPDATE card_state SET state = ?, due = ?, updated_at = ? WHERE card_id = ?",
                    (prev_state, prev_due, _iso(None), card_id),
                )
            db.execute("DELETE FROM review_log WHERE id = ?", (log_id,))
        return card_id

    def _select(self, sql: str, column: str, value: object, tail: str) -> list[tuple]:
        if value is None:
            return self._db.execute(f"{sql} {tail}").fetchall()
        return self._db.execute(f"{sql} WHERE {column} = ? {tail}", (value,)).fetchall()

    @_db_errors
    def review_log(self, card_id: str | None = None) -> list[tuple[str, int, datetime]]:
        """Reviews, oldest first: (card id, rating, reviewed at)."""
        sql = "SELECT card_id, rating, reviewed_at FROM review_log"
        rows = self._select(sql, "card_id", card_id, "ORDER BY id")
        return [(r[0], r[1], datetime.fromisoformat(r[2])) for r in rows]

    # ---- quizzes ------------------------------------------------------------------------

    @_db_errors
    def start_attempt(
        self,
        kind: str,
        question_ids: list[str] | tuple[str, ...],
        lesson_id: str | None = None,
        seed: int | None = None,
        now: datetime | None = None,
    ) -> int:
        """Begin a quiz attempt (kind: "lesson", "exam" or "retry"); returns its id."""
        if kind not in ATTEMPT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(ATTEMPT_KINDS)}, not {kind!r}")
        ids = json.dumps(list(question_ids))
        row_id = self._write(
            [
                (
                    "INSERT INTO quiz_attempt (kind, lesson_id, seed, question_ids, "
                    "started_at) VALUES (?, ?, ?, ?, ?)",
                    (kind, lesson_id, seed, ids, _iso(now)),
                )
            ]
        )[0]
        assert row_id is not None  # an INSERT always sets lastrowid
        return row_id

    @_db_errors
    def record_answer(
        self,
        attempt_id: int,
        question_id: str,
        response: object,
        correct: bool,
        now: datetime | None = None,
        finish: bool = False,
    ) -> None:
        """Save one answered question, and with `finish` also close the attempt, in one
        transaction. Sets become sorted lists in the stored JSON."""
        when = _iso(now)
        statements: list[tuple[str, tuple]]
        statements = [
            (
                "INSERT INTO quiz_answer (attempt_id, question_id, response, correct, "
                "answered_at) VALUES (?, ?, ?, ?, ?)",
                (attempt_id, question_id, _to_json(response), int(bool(correct)), when),
            )
        ]
        if finish:
            statements.append(("UPDATE quiz_attempt SET finished_at = ? WHERE id = ?", (when, attempt_id)))
        self._write(statements)

    @_db_errors
    def finish_attempt(self, attempt_id: int, now: datetime | None = None) -> None:
        """Close an attempt without answering the rest (answers so far are kept)."""
        self._write([("UPDATE quiz_attempt SET finished_at = ? WHERE id = ?", (_iso(now), attempt_id))])

    @_db_errors
    def attempts(self, kind: str | None = None) -> list[AttemptRecord]:
        """Quiz attempts, oldest first, with their counts of right and answered questions."""
        sql = (
            "SELECT a.id, a.kind, a.lesson_id, a.seed, a.question_ids, a.started_at, "
            "a.finished_at, COALESCE(SUM(q.correct), 0), COUNT(q.id) FROM quiz_attempt a "
            "LEFT JOIN quiz_answer q ON q.attempt_id = a.id"
        )
        rows = self._select(sql, "a.kind", kind, "GROUP BY a.id ORDER BY a.id")
        return [
            AttemptRecord(
                r[0],
                r[1],
                r[2],
                r[3],
                tuple(json.loads(r[4])),
                datetime.fromisoformat(r[5]),
                _when(r[6]),
                int(r[7]),
                int(r[8]),
            )
            for r in rows
        ]

    @_db_errors
    def answers(self, attempt_id: int | None = None) -> list[AnswerRecord]:
        """Answers, oldest first, for one attempt or all."""
        sql = "SELECT attempt_id, question_id, response, correct, answered_at FROM quiz_answer"
        rows = self._select(sql, "attempt_id", attempt_id, "ORDER BY id")
        return [
            AnswerRecord(r[0], r[1], json.loads(r[2]), bool(r[3]), datetime.fromisoformat(r[4])) for r in rows
        ]

    @_db_errors
    def activity_times(self) -> list[datetime]:
        """When the learner reviewed a card or answered a question (for streaks)."""
        rows = self._db.execute(
            "SELECT reviewed_at FROM review_log UNION ALL SELECT answered_at FROM quiz_answer"
        )
        return [datetime.fromisoformat(r[0]) for r in rows]

    def new_cards_introduced(self, since: datetime, until: datetime) -> int:
        """How many cards were graded for the first time in [since, until): a first
        review is a log entry with no previous state. Undoing one takes it back."""
        row = self._db.execute(
            "SELECT COUNT(*) FROM review_log WHERE prev_state IS NULL "
            "AND reviewed_at >= ? AND reviewed_at < ?",
            (_iso(since), _iso(until)),
        ).fetchone()
        return int(row[0])

    def review_log_full(self) -> list[tuple[str, int, datetime, str | None, str]]:
        """Reviews, oldest first: (card id, rating, reviewed at, state before, state after)."""
        rows = self._db.execute(
            "SELECT card_id, rating, reviewed_at, prev_state, new_state FROM review_log ORDER BY id"
        )
        return [(r[0], r[1], datetime.fromisoformat(r[2]), r[3], r[4]) for r in rows]

    def unfinished_attempt(self, kind: str) -> AttemptRecord | None:
        """The newest attempt of `kind` that was left before its last answer, if any."""
        open_ones = [a for a in self.attempts(kind) if a.finished_at is None]
        return open_ones[-1] if open_ones else None

    # ---- the learner's own cards --------------------------------------------------------

    def add_own_cards(self, cards: list[OwnCard], now: datetime | None = None) -> int:
        """Add (or update, by id) the learner's own cards in one transaction; returns how
        many were new."""
        when = _iso(now)
        with self._transaction() as db:
            known = {r[0] for r in db.execute("SELECT id FROM own_card")}
            for card in cards:
                db.execute(
                    "INSERT INTO own_card (id, front, back, tags, added_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                    "front = excluded.front, back = excluded.back, tags = excluded.tags",
                    (card.id, card.front, card.back, " ".join(card.tags), when),
                )
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
        return {
            "format": BACKUP_FORMAT,
            "version": BACKUP_VERSION,
            "schema": self.schema_version,
            "tables": tables,
        }

    def import_backup(self, data: object) -> dict[str, int]:
        """Replace all progress with a backup from `export_backup`, in one transaction
        (a bad backup changes nothing). Returns the number of rows per table."""
        if not isinstance(data, dict) or data.get("format") != BACKUP_FORMAT:
            raise BackupError("this is not a genai-tutor progress backup")
        version = data.get("version")
        if not isinstance(version, int) or version > BACKUP_VERSION:
            raise BackupError(
                f"backup version {version!r} is newer than this app "
                f"understands ({BACKUP_VERSION}); update genai-tutor"
            )
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
                        raise BackupError(f"table {table} has unknown columns {sorted(set(columns) - known)}")
                    if rows:
                        marks = ", ".join("?" for _ in columns)
                        db.executemany(
                            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                            [tuple(r) for r in rows],
                        )
                    counts[table] = len(rows)
        except sqlite3.Error as error:
            raise BackupError(f"the backup does not fit the database: {error}") from error
        return counts
