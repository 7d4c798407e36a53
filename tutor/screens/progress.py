"""Progress: lessons read, cards by memory state, quiz scores per lesson, the history of
final exams, and a study streak only for learners who switched it on (s on Stats)."""

from __future__ import annotations

from datetime import timezone

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from content.safe import visible
from quizzes import stats
from quizzes.settings import load_settings
from tutor.storeguard import guarded


class ProgressScreen(Screen):
    HELP_TITLE = "Progress"
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="progress.back")]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="progress"):
            yield Static(id="overall")
            yield DataTable(id="per-lesson", cursor_type="row", zebra_stripes=True)
            yield Static(id="exams")
        yield Footer()

    @guarded
    def on_mount(self) -> None:
        self.title = "Progress"
        course, store = self.app.course, self.app.store
        now = self.app.now()
        summary = stats.overall(course, store, now, tz=timezone.utc if now.tzinfo is timezone.utc else None)
        states = " · ".join(f"{name} {count}" for name, count in summary.cards_by_state.items())
        right, total = summary.answers_right, summary.answers_total
        share = f" ({round(100 * right / total)}%)" if total else ""
        streak = ""
        if load_settings(store).show_streak:
            days = f"{summary.streak_days} day{'s' if summary.streak_days != 1 else ''}"
            streak = f"    [b]Study streak[/b] {days}{' (today ✓)' if summary.studied_today else ''}"
        self.query_one("#overall", Static).update(
            f"[b]Lessons read[/b] {summary.lessons_read} of {summary.lessons_total}{streak}\n"
            f"[b]Cards[/b] {summary.cards_total}: {states} · due now {summary.due_now}\n"
            f"[b]Quiz answers[/b] {right} right of {total}{share} · [b]reviews[/b] {summary.reviews}"
        )
        table = self.query_one("#per-lesson", DataTable)
        table.add_columns("Lesson", "Title", "Read", "Cards seen", "Best quiz")
        per_lesson = stats.lesson_progress(course, store)
        for lesson in course.lessons:
            progress = per_lesson[lesson.id]
            best = f"{progress.best_score[0]}/{progress.best_score[1]}" if progress.best_score else "–"
            title = lesson.title if len(lesson.title) <= 34 else lesson.title[:33].rstrip() + "…"
            # Text, not str: DataTable reads a str cell as markup.
            table.add_row(
                Text(visible(lesson.id)),
                Text(visible(title)),
                "✓" if progress.read else "·",
                f"{progress.cards_seen}/{progress.cards_total}",
                best,
            )
        table.focus()
        self.query_one("#exams", Static).update(self._exam_history())

    def _exam_history(self) -> str:
        """Every exam attempt, newest first: when, score, and whether it was left unfinished."""
        attempts = list(reversed(self.app.store.attempts("exam")))
        if not attempts:
            return "[b]Final exams[/b] none yet (x on Home starts one)"
        lines = ["[b]Final exams[/b]"]
        for attempt in attempts[:8]:
            total = len(attempt.question_ids)
            when = attempt.started_at.strftime("%d %b %Y %H:%M")
            if attempt.finished_at is None:
                lines.append(f"  {when}  {attempt.answered} of {total} answered · unfinished (x resumes)")
            else:
                lines.append(
                    f"  {when}  {attempt.right} of {total} ({round(100 * attempt.right / max(total, 1))}%)"
                )
        return "\n".join(lines)
