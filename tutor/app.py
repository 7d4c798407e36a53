"""The Textual app: owns the course, the progress store and the clock; screens do the rest.

Start-up stays light on purpose: this module and the Home screen import neither numpy nor
numba nor the engine. A lab pulls the engine in when it is opened; PREPARE_AFTER seconds
after the first paint a daemon thread imports it and pays numba's one-time costs, so
that the first lab does not (tutor.labs.Warmer.prepare).
"""

from __future__ import annotations

import os
import tempfile
import traceback
from collections.abc import Callable
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from weakref import WeakKeyDictionary

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.screen import ModalScreen, Screen

from content import Course, load_course
from content.safe import plain
from quizzes.store import Store, default_path
from tutor.palette import TutorCommands

MIN_WIDTH, MIN_HEIGHT = 60, 20
PREPARE_AFTER = 1.0  # seconds after start: the first paint and first keys come first


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def write_crash_report(error: BaseException) -> Path | None:
    """Write the full traceback to `crash-<time>.txt` in the user data folder (0600; a
    temporary file if that folder is unusable). Returns the path, or None if nothing
    could be written."""
    text = "".join(traceback.format_exception(error))
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    try:
        folder = default_path().parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / f"crash-{stamp}-{os.getpid()}.txt"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        try:
            fd, name = tempfile.mkstemp(prefix=f"genai-tutor-crash-{stamp}-", suffix=".txt")
            path = Path(name)
        except OSError:
            return None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def crash_message(error: BaseException, report: Path | None) -> str:
    """The one short line a learner sees after a crash (no traceback on the terminal)."""
    where = f"the full report is in {report}" if report is not None else "no report could be written"
    return plain(f"genai-tutor stopped because of an unexpected error ({type(error).__name__}); {where}")


class TutorApp(App):
    """genai-tutor. `start` opens a screen straight away: ("lesson", id), ("quiz", id),
    ("exam", ""), ("review", ""), ("reference", page id or "")."""

    CSS_PATH = Path(__file__).with_name("tutor.tcss")  # absolute, so subclasses anywhere work
    TITLE = "genai-tutor"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = {TutorCommands}  # replaces Textual's defaults (Keys, Screenshot, Quit at once)
    OPEN_LAB = "open_lab"  # store setting: the lab on screen, so Home can offer to continue it
    BINDINGS = [
        Binding("f1,question_mark", "help", "Help", id="help", tooltip="Keys and how this screen works"),
        Binding(
            "ctrl+p",
            "command_palette",
            "Commands",
            id="palette",
            show=False,
            tooltip="Jump to a lesson, review, quiz, theme",
        ),
    ]

    def __init__(
        self,
        course: Course | None = None,
        store: Store | None = None,
        start: tuple[str, str] | None = None,
        now: Callable[[], datetime] = utc_now,
        low_bandwidth: bool | None = None,
    ) -> None:
        super().__init__()
        from tutor.wire import WireMeter, WireSettings, low_bandwidth_from_env

        # The store first: a progress file that cannot be used stops start-up at once.
        self.store = store if store is not None else Store.open()
        self.course = course if course is not None else load_course()
        self.now = now
        # The zone the learner's days are counted in (daily new-card limit, Stats);
        # None means the machine's own zone. Tests set UTC.
        self.zone: tzinfo | None = None
        self._start = start
        self.crash_line: str | None = None
        self.animation_level = "none"
        self.wire_settings = WireSettings.choose(
            low_bandwidth_from_env() if low_bandwidth is None else low_bandwidth
        )
        self.wire_meter = WireMeter()
        self._lab_screens: WeakKeyDictionary[Screen, str] = WeakKeyDictionary()
        self._open_lab = self.store.setting(self.OPEN_LAB) or None  # "": no lab open
        self._in_lab = False
        self._reader: Screen | None = None

    # ------------------------------------------------------------------ lifecycle

    def on_mount(self) -> None:
        from tutor.screens.home import HomeScreen

        self.wire_meter.install(self._driver)
        if not self.is_headless:  # a resize reaches an idle screen at once (tutor.wire)
            import asyncio

            from tutor.wire import SignalWaker

            self._signal_waker = SignalWaker()
            self._signal_waker.install(asyncio.get_running_loop())
        self._restore_theme()
        self.push_screen(HomeScreen())
        self.screen_change_signal.subscribe(self, self._track_open_lab)
        from tutor import labs

        if labs.WARM_WHILE_READING:  # after the first paint: the engine's start-up costs
            self.set_timer(PREPARE_AFTER, labs.warmer.prepare)
        errors = self.course.errors
        if errors:
            self.notify(
                plain(
                    f"{len(errors)} problem(s) in the course files were skipped, e.g. {errors[0]}. "
                    "Run 'genai-tutor validate' for the list."
                ),
                title="Course problems",
                severity="warning",
                timeout=10,
            )
        if self.store.recovered_from is not None:
            self.notify(
                plain(
                    f"Your progress file could not be read, so a fresh one was started. "
                    f"The old file was kept at {self.store.recovered_from}."
                ),
                title="Progress file moved aside",
                severity="warning",
                timeout=20,
            )
        if self._start is not None:
            kind, ident = self._start
            {
                "lesson": self.open_lesson,
                "quiz": self.open_quiz,
                "lab": self.open_lab,
                "exam": lambda _ident: self.open_exam(),
                "review": lambda _ident: self.open_review(),
                "reference": lambda ident: self.open_reference(ident or None),
            }[kind](ident)

    def _restore_theme(self) -> None:
        from tutor import settings

        theme = settings.load().get("theme")
        if isinstance(theme, str) and theme in self.available_themes:
            self.theme = theme
        self._theme_restored = True

    def watch_theme(self, theme: str) -> None:
        """Remember the learner's theme for next time."""
        if getattr(self, "_theme_restored", False):
            from tutor import settings

            settings.save(theme=theme)

    def on_unmount(self) -> None:
        from tutor import labs

        labs.warmer.close()  # a reading-time warm-up starts nothing more; never waited for
        waker = getattr(self, "_signal_waker", None)
        if waker is not None:
            waker.close()
        self.store.close()

    def _fatal_error(self) -> None:
        """An unhandled exception: instead of a traceback on the learner's terminal, one
        line saying where the full report was written (`crash_line`, printed to stderr by
        the CLI once the terminal is restored); the exit code is 1 (Textual sets
        return_code before calling this)."""
        error = self._exception or RuntimeError("unknown error")
        self.crash_line = crash_message(error, write_crash_report(error))
        self.bell()
        self._close_messages_no_wait()

    def on_resize(self, event: events.Resize) -> None:
        from tutor.screens.help import TooSmallScreen

        too_small = event.size.width < MIN_WIDTH or event.size.height < MIN_HEIGHT
        showing = isinstance(self.screen, TooSmallScreen)
        if too_small and not showing:
            self.push_screen(TooSmallScreen(MIN_WIDTH, MIN_HEIGHT))
        elif showing and not too_small:
            self.pop_screen()

    # ------------------------------------------------------------------ navigation

    def open_lesson(self, lesson_id: str) -> None:
        """Show a lesson. One reader screen is kept (installed) and re-used, so opening a
        lesson swaps its text in place instead of building a screen with header and footer."""
        from tutor.screens.lesson import LessonScreen

        reader = self._reader
        if reader is None:
            reader = self._reader = LessonScreen(lesson_id)
            self.install_screen(reader, name="lesson-reader")
        if self.screen is reader:
            reader.show_lesson(lesson_id)
        elif reader in self.screen_stack:  # e.g. the palette used in a lab opened from it
            self.push_screen(LessonScreen(lesson_id))
        else:
            reader.show_lesson(lesson_id)
            self.push_screen(reader)

    def open_quiz(self, lesson_id: str) -> None:
        from tutor.screens.quiz import QuizScreen

        lesson = self.course.lesson(lesson_id)
        if not lesson.questions:
            self.notify(plain(f"{lesson.id} has no quiz questions yet."), severity="warning")
            return
        self.push_screen(QuizScreen(list(lesson.questions), kind="lesson", title=f"{lesson.id} quiz"))

    def open_exam(self) -> None:
        """Resume the exam left unfinished, if any; otherwise draw a new one."""
        from quizzes.session import QuizSession, build_exam, new_attempt_seed
        from tutor.screens.quiz import QuizScreen

        left = self.store.unfinished_attempt("exam")
        session = QuizSession.resume(left, self.course, self.store, self.now) if left else None
        if session is not None:
            self.push_screen(
                QuizScreen(list(session.questions), kind="exam", title="Final exam", session=session)
            )
            self.notify(f"Resuming your exam at question {session.index + 1}.")
            return
        drawable = any(len(lesson.questions) >= self.course.exam_per_lesson for lesson in self.course.lessons)
        questions = (
            build_exam(
                self.course, self.course.exam_per_lesson, seed=new_attempt_seed(self.store, self.now())
            )
            if drawable
            else []
        )
        if not questions:
            self.notify(
                f"No lesson has {self.course.exam_per_lesson} quiz questions yet, so there is no "
                "final exam to draw.",
                severity="warning",
            )
            return
        self.push_screen(QuizScreen(questions, kind="exam", title="Final exam"))

    def open_review(self) -> None:
        from tutor.screens.review import ReviewScreen

        self.push_screen(ReviewScreen())

    def open_progress(self) -> None:
        from tutor.screens.progress import ProgressScreen

        self.push_screen(ProgressScreen())

    def open_reference(self, page_id: str | None = None) -> None:
        """The reference shelf, or one of its pages ("glossary" or a content/reference page id)."""
        from tutor.screens.reference import (
            GLOSSARY_ID,
            GlossaryScreen,
            ReferencePageScreen,
            ReferenceScreen,
        )

        if page_id is None:
            self.push_screen(ReferenceScreen())
        elif page_id == GLOSSARY_ID:
            self.push_screen(GlossaryScreen())
        else:
            self.push_screen(ReferencePageScreen(page_id))

    def open_stats(self) -> None:
        from tutor.screens.stats import StatsScreen

        self.push_screen(StatsScreen())

    def open_lab(self, lab_id: str) -> None:
        from tutor import labs

        if not labs.available(lab_id):
            self.notify(
                plain(f"The '{self.course.labs.get(lab_id, lab_id)}' lab is coming soon."),
                severity="information",
            )
            return
        screen = labs.create(lab_id)
        self._lab_screens[screen] = lab_id
        self.push_screen(screen)

    def _track_open_lab(self, screen: Screen) -> None:
        """Remember which lab is on screen, so after a restart Home can offer to continue it.

        A panel over the lab (help, code) keeps it open; leaving the lab for another screen,
        or opening a lesson, forgets it. Quitting from inside the lab keeps it.
        """
        from tutor.screens.help import TooSmallScreen

        if isinstance(screen, (ModalScreen, TooSmallScreen)):
            return
        lab_id = self._lab_screens.get(screen)
        if lab_id is not None or self._in_lab or hasattr(screen, "lesson_id"):
            self._set_open_lab(lab_id)
        self._in_lab = lab_id is not None

    def _set_open_lab(self, lab_id: str | None) -> None:
        if lab_id != self._open_lab:
            self._open_lab = lab_id
            self.store.set_setting(self.OPEN_LAB, lab_id or "")

    def open_lab_left_open(self) -> str | None:
        """The lab that was on screen when the tutor last stopped (or is on screen now)."""
        return self._open_lab if self._open_lab in self.course.labs else None

    def show_term(self, term_id: str) -> None:
        from tutor.screens.help import MarkdownPanel

        entry = self.course.term(term_id)
        lessons = [lesson.id for lesson in self.course.lessons if term_id in lesson.terms]
        where = f"\n\nIntroduced in {', '.join(lessons)}." if lessons else ""
        also = f"\n\nAlso called: {', '.join(entry.aliases)}." if entry.aliases else ""
        self.push_screen(MarkdownPanel(f"# {entry.term}\n\n{entry.definition}{also}{where}"))

    def action_help(self) -> None:
        from tutor.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))
