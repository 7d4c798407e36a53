"""Home: the course map with each lesson's progress, what is due today, and the way in.

This screen must stay cheap to import: no numpy, numba or engine here.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from quizzes import stats


class HomeScreen(Screen):
    HELP_TITLE = "Home"
    BINDINGS = [
        Binding("r", "review", "Review", id="home.review", tooltip="Study the flashcards that are due"),
        Binding("x", "exam", "Final exam", id="home.exam", tooltip="A balanced exam drawn from every lesson"),
        Binding("p", "progress", "Progress", id="home.progress", tooltip="What you have read, reviewed and scored"),
        Binding("g", "reference", "Reference", id="home.reference",
                tooltip="Glossary, FAQ, timeline, prompt cheat sheet, responsible use, next steps"),
        Binding("s", "stats", "Stats", id="home.stats", tooltip="Due forecast, retention, heatmap, weakest concepts"),
        Binding("q", "app.quit", "Quit", id="home.quit"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="due")
        yield Static("[b]r[/b] review cards · [b]x[/b] final exam · [b]p[/b] progress · "
                     "[b]g[/b] reference · [b]Ctrl+P[/b] commands", id="today")
        yield Static("Lessons  [dim]↑/↓ choose · Enter open[/]", id="lessons-title")
        yield OptionList(id="lessons")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "genai-tutor"
        self.sub_title = self.app.course.title
        self.refresh_progress()
        self.query_one("#lessons", OptionList).focus()

    def on_screen_resume(self) -> None:
        self.refresh_progress()

    def refresh_progress(self) -> None:
        course, store = self.app.course, self.app.store
        progress = stats.lesson_progress(course, store)
        due, new = stats.due_and_new_today(course, store, self.app.now(), self.app.zone)
        read = sum(1 for p in progress.values() if p.read)
        self.query_one("#due", Static).update(
            f"[b]{due}[/b] due · [b]{new}[/b] new today · {read} of {len(course.lessons)} lessons read"
        )
        options = self.query_one("#lessons", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        for lesson in course.lessons:
            options.add_option(Option(self._row(lesson, progress.get(lesson.id)), id=lesson.id))
        if options.option_count:
            options.highlighted = highlighted if highlighted is not None else 0

    @staticmethod
    def _row(lesson, progress) -> Text:
        mark = "✓" if progress is not None and progress.read else "·"
        row = Text.assemble((f"{mark} ", "bold green" if mark == "✓" else "dim"), (f"{lesson.id}  ", "bold"))
        row.append(lesson.title.ljust(46))
        if progress is not None:
            detail = f"cards {progress.cards_seen}/{progress.cards_total}"
            if progress.best_score is not None:
                right, total = progress.best_score
                detail += f" · quiz {right}/{total}"
            row.append(f"  {detail}", style="dim")
        row.truncate(74, overflow="ellipsis")
        return row

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.app.open_lesson(event.option.id)

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
