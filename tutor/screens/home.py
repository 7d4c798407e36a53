"""Home: the course map with each lesson's progress, what is due today, and the way in.

This screen must stay cheap to import: no numpy, numba or engine here.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option

from content.safe import visible
from quizzes import stats
from tutor.continuing import Suggestion, continue_entry, next_step
from tutor.storeguard import guarded
from tutor.widgets.keybar import KeyBar


class HomeScreen(Screen):
    HELP_TITLE = "Home"
    BINDINGS = [
        Binding("r", "review", "Review", id="home.review", tooltip="Study the flashcards that are due"),
        Binding("x", "exam", "Final exam", id="home.exam", tooltip="A balanced exam drawn from every lesson"),
        Binding(
            "p", "progress", "Progress", id="home.progress", tooltip="What you have read, reviewed and scored"
        ),
        Binding(
            "g",
            "reference",
            "Reference",
            id="home.reference",
            tooltip="Glossary, FAQ, timeline and cheat sheets",
        ),
        Binding(
            "s",
            "stats",
            "Stats",
            id="home.stats",
            tooltip="Due forecast, retention, heatmap, weakest concepts",
        ),
        Binding("q", "app.quit", "Quit", id="home.quit"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="due")
        yield Static(
            "[b]r[/b] review cards · [b]x[/b] final exam · [b]p[/b] progress · "
            "[b]g[/b] reference · [b]Ctrl+P[/b] commands",
            id="today",
        )
        yield Static("Lessons  [dim]↑/↓ choose · Enter open[/]", id="lessons-title")
        yield OptionList(id="lessons")
        yield KeyBar()

    def on_mount(self) -> None:
        self.title = "genai-tutor"
        self.sub_title = visible(self.app.course.title)
        self.refresh_progress()
        self.query_one("#lessons", OptionList).focus()
        self.set_timer(0.5, self._warm_lessons)

    def _warm_lessons(self) -> None:
        """Render the lessons Home suggests ahead of time (imported late: start-up stays light)."""
        from tutor.screens.lesson import warm

        ids = [s.target for s in self._suggestions.values() if s.kind == "lesson"]
        warm(self.app, ids)

    def on_screen_resume(self) -> None:
        self.refresh_progress()

    @guarded
    def refresh_progress(self) -> None:
        course, store = self.app.course, self.app.store
        progress = stats.lesson_progress(course, store)
        due, new = stats.due_and_new_today(course, store, self.app.now(), self.app.zone)
        read = sum(1 for p in progress.values() if p.read)
        self.query_one("#due", Static).update(
            f"[b]{due}[/b] due · [b]{new}[/b] new today · {read} of {len(course.lessons)} lessons read"
        )
        options = self.query_one("#lessons", OptionList)
        highlighted = options.highlighted_option.id if options.highlighted_option is not None else None
        options.clear_options()
        self._suggestions = self._suggest()
        for key, suggestion in self._suggestions.items():
            options.add_option(Option(self._suggestion_row(suggestion), id=key))
        for lesson in course.lessons:
            options.add_option(Option(self._row(lesson, progress.get(lesson.id)), id=lesson.id))
        if options.option_count:
            ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
            options.highlighted = ids.index(highlighted) if highlighted in ids else 0

    def _suggest(self) -> dict[str, Suggestion]:
        """ "Continue" (if there is anything to continue) and the next step, by option id."""
        app = self.app
        found = continue_entry(app.course, app.store, app.open_lab_left_open())
        skip = found.target if found is not None and found.kind == "lesson" else None
        suggestions = {"next-step": next_step(app.course, app.store, app.now(), skip_lesson=skip)}
        return {"continue": found, **suggestions} if found is not None else suggestions

    @staticmethod
    def _suggestion_row(suggestion: Suggestion) -> Table:
        mark = "▶" if suggestion.label.startswith("Continue") else "→"
        return HomeScreen._columns(
            Text(mark, style="bold"),
            Text(visible(suggestion.label), style="bold"),
            Text(visible(suggestion.detail), style="dim"),
        )

    @staticmethod
    def _columns(lead: Text, title: Text, detail: Text) -> Table:
        """One row: a short lead, the title (cut with … to fit), the detail kept whole."""
        grid = Table.grid(expand=True, padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(no_wrap=True, justify="right")
        grid.add_row(lead, title, detail)
        return grid

    @staticmethod
    def _row(lesson, progress) -> Table:
        read = progress is not None and progress.read
        lead = Text.assemble(
            ("✓ " if read else "· ", "bold green" if read else "dim"), (visible(lesson.id), "bold")
        )
        detail = ""
        if progress is not None:
            detail = f"cards {progress.cards_seen}/{progress.cards_total}"
            if progress.best_score is not None:
                right, total = progress.best_score
                detail += f" · quiz {right}/{total}"
        return HomeScreen._columns(lead, Text(visible(lesson.title)), Text(detail, style="dim"))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        suggestion = self._suggestions.get(event.option.id or "")
        if suggestion is None:
            self.app.open_lesson(event.option.id)
        elif suggestion.kind == "lab":
            self.app.open_lab(suggestion.target)
        elif suggestion.kind == "lesson":
            self.app.open_lesson(suggestion.target)
        elif suggestion.kind == "quiz":
            self.app.open_quiz(suggestion.target)
        elif suggestion.kind == "review":
            self.app.open_review()
        else:
            self.app.open_exam()

    def action_review(self) -> None:
        self.app.open_review()

    def action_exam(self) -> None:
        self.app.open_exam()

    def action_progress(self) -> None:
        self.app.open_progress()

    def action_reference(self) -> None:
        self.app.open_reference()

    def action_stats(self) -> None:
        self.app.open_stats()
