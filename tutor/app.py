"""The Textual app: owns the course, the progress store and the clock; screens do the rest.

Start-up stays light on purpose: this module and the Home screen import neither numpy nor
numba nor the engine. A lab pulls the engine in when it is opened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timezone, tzinfo
from functools import partial
from pathlib import Path

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from content import Course, load_course
from quizzes.store import Store

MIN_WIDTH, MIN_HEIGHT = 60, 20


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class TutorApp(App):
    """genai-tutor. `start` opens a screen straight away: ("lesson", id), ("quiz", id),
    ("exam", ""), ("review", ""), ("reference", page id or "")."""

    CSS_PATH = Path(__file__).with_name("tutor.tcss")  # absolute, so subclasses anywhere work
    TITLE = "genai-tutor"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("f1,question_mark", "help", "Help", id="help", tooltip="Keys and how this screen works"),
        Binding("ctrl+p", "command_palette", "Commands", id="palette", show=False,
                tooltip="Jump to a lesson, review, quiz, theme"),
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

        self.course = course if course is not None else load_course()
        self.store = store if store is not None else Store.open()
        self.now = now
        # The zone the learner's days are counted in (daily new-card limit, Stats);
        # None means the machine's own zone. Tests set UTC.
        self.zone: tzinfo | None = None
        self._start = start
        self.animation_level = "none"
        self.wire_settings = WireSettings.choose(
            low_bandwidth_from_env() if low_bandwidth is None else low_bandwidth)
        self.wire_meter = WireMeter()

    # ------------------------------------------------------------------ lifecycle

    def on_mount(self) -> None:
        from tutor.screens.home import HomeScreen

        self.wire_meter.install(self._driver)
        self._restore_theme()
        self.push_screen(HomeScreen())
        if self.course.problems:
            count = len(self.course.problems)
            first = self.course.problems[0]
            self.notify(f"{count} problem(s) in the course files were skipped, e.g. {first}. "
                        "Run 'genai-tutor validate' for the list.", title="Course problems",
                        severity="warning", timeout=10)
        if self.store.recovered_from is not None:
            self.notify(f"Your progress file could not be read, so a fresh one was started. "
                        f"The old file was kept at {self.store.recovered_from}.",
                        title="Progress file moved aside", severity="warning", timeout=20)
        if self._start is not None:
            kind, ident = self._start
            {"lesson": self.open_lesson, "quiz": self.open_quiz, "lab": self.open_lab,
             "exam": lambda _ident: self.open_exam(), "review": lambda _ident: self.open_review(),
             "reference": lambda ident: self.open_reference(ident or None)}[kind](ident)

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
        self.store.close()

    def on_resize(self, event: events.Resize) -> None:
        from tutor.screens.help import TooSmallScreen

        too_small = event.size.width < MIN_WIDTH or event.size.height < MIN_HEIGHT
        showing = isinstance(self.screen, TooSmallScreen)
        if too_small and not showing:
            self.push_screen(TooSmallScreen())
        elif showing and not too_small:
            self.pop_screen()

    # ------------------------------------------------------------------ navigation

    def open_lesson(self, lesson_id: str) -> None:
        from tutor.screens.lesson import LessonScreen

        self.push_screen(LessonScreen(lesson_id))

    def open_quiz(self, lesson_id: str) -> None:
        from tutor.screens.quiz import QuizScreen

        lesson = self.course.lesson(lesson_id)
        if not lesson.questions:
            self.notify(f"{lesson.id} has no quiz questions yet.", severity="warning")
            return
        self.push_screen(QuizScreen(list(lesson.questions), kind="lesson", title=f"{lesson.id} quiz"))

    def open_exam(self) -> None:
        """Resume the exam left unfinished, if any; otherwise draw a new one."""
        from quizzes.session import QuizSession, build_exam, new_attempt_seed
        from tutor.screens.quiz import QuizScreen

        left = self.store.unfinished_attempt("exam")
        session = QuizSession.resume(left, self.course, self.store, self.now) if left else None
        if session is not None:
            self.push_screen(QuizScreen(list(session.questions), kind="exam", title="Final exam",
                                        session=session))
            self.notify(f"Resuming your exam at question {session.index + 1}.")
            return
        questions = build_exam(self.course, self.course.exam_per_lesson,
                               seed=new_attempt_seed(self.store, self.now()))
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
            self.notify(f"The '{self.course.labs.get(lab_id, lab_id)}' lab is coming soon.", severity="information")
            return
        self.push_screen(labs.create(lab_id))

    def action_help(self) -> None:
        from tutor.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    # ------------------------------------------------------------------ command palette

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Review flashcards", "Study the cards that are due", self.open_review)
        yield SystemCommand("Final exam", "A balanced exam drawn from every lesson", self.open_exam)
        yield SystemCommand("Progress", "What you have read, reviewed and scored", self.open_progress)
        yield SystemCommand("Reference", "Glossary, FAQ, timeline, cheat sheets, next steps",
                            partial(self.open_reference, None))
        yield SystemCommand("Glossary", "Every term, searchable by any word of its definition",
                            partial(self.open_reference, "glossary"))
        for page in self.course.reference:
            yield SystemCommand(f"Reference: {page.title}", page.summary or "A reference page",
                                partial(self.open_reference, page.id), discover=False)
        yield SystemCommand("Stats", "Due forecast, retention, heatmap, weakest concepts", self.open_stats)
        for lesson in self.course.lessons:
            yield SystemCommand(f"Lesson {lesson.id}: {lesson.title}", "Jump to this lesson",
                                partial(self.open_lesson, lesson.id), discover=False)
            if lesson.questions:
                yield SystemCommand(f"Quiz {lesson.id}: {lesson.title}", "Check yourself on this lesson",
                                    partial(self.open_quiz, lesson.id), discover=False)
