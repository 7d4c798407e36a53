"""Stats: what is coming (30-day forecast), how well it sticks (true retention per week),
when you studied (26-week heatmap), how long, and which concepts are weakest, with a key
to practise exactly those. Every figure is also in `genai-tutor stats --json`.

Bars and heatmap cells use shades of one block character and every row has its number
beside it, so nothing depends on colour.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from quizzes.settings import load_settings, save_setting
from quizzes.stats import StudyStats, study_stats

BARS = "·▁▂▃▄▅▆▇█"
SHADES = "·░▒▓█"
DAY_NAMES = "MTWTFSS"


def _bar(values: list[int]) -> str:
    top = max(values, default=0)
    if top == 0:
        return "·" * len(values)
    return "".join(BARS[0 if v == 0 else max(1, round(8 * v / top))] for v in values)


def _shade(count: int, top: int) -> str:
    if count == 0 or top == 0:
        return SHADES[0]
    return SHADES[min(4, 1 + (3 * count) // top)]


def _minutes(seconds: int) -> str:
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def render_stats(figures: StudyStats) -> str:
    """The whole Stats page as Rich markup (kept apart from the screen so it can be tested)."""
    lines = []
    head = (
        f"[b]Reviews[/b] {figures.reviews_total} · [b]time studied[/b] "
        f"{_minutes(figures.seconds_studied)} ({_minutes(figures.seconds_today)} today)"
    )
    if figures.streak_days is not None:
        head += f" · [b]streak[/b] {figures.streak_days} d"
    lines.append(head)
    forecast = figures.forecast
    lines.append(
        f"[b]Due[/b] today {forecast[0]} · 7 days {sum(forecast[:7])} · "
        f"30 days {sum(forecast)}   {_bar(forecast)}"
    )
    lines.append("[b]True retention[/b] (reviews passed, per week)")
    cells = []
    for week in figures.retention[-4:]:
        share = "  –" if week.retention is None else f"{100 * week.retention:3.0f}%"
        cells.append(f"{week.week_start:%d %b} {share} of {week.reviews}")
    lines.append("  " + " · ".join(cells))
    lines.append(f"[b]Reviews[/b], last 26 weeks from {figures.heatmap_start:%d %b} (· none ░ ▒ ▓ █ most)")
    top = max(figures.heatmap, default=0)
    for weekday in range(7):
        row = [
            _shade(figures.heatmap[i], top) if i < len(figures.heatmap) else " "
            for i in range(weekday, 26 * 7, 7)
        ]
        lines.append(f"  {DAY_NAMES[weekday]} {''.join(row)}")
    studied = [m for m in figures.concepts if m.studied]
    lines.append(f"[b]Concepts[/b] studied {len(studied)} of {len(figures.concepts)}; weakest:")
    weakest = {m.concept: m for m in figures.concepts}
    if figures.weakest:
        lines.append("  " + " · ".join(f"{c} {100 * weakest[c].mastery:.0f}%" for c in figures.weakest))
    else:
        lines.append("  none yet: review some cards or take a quiz first")
    lines.append(
        f"[b]Settings[/b] desired retention {figures.desired_retention:.2f} ([ ]) · "
        f"new cards a day {figures.new_per_day} (- +)"
    )
    return "\n".join(lines)


class StatsScreen(Screen):
    HELP_TITLE = "Stats"
    HELP = (
        "True retention counts only reviews of cards past their learning steps, as Anki "
        "does. Time studied is estimated from the gaps between answers (each up to a "
        "minute). Mastery of a concept is the mean recall chance of its cards and whether "
        "its questions were last answered right. w practises the weakest concepts; [ and ] "
        "change the desired retention FSRS aims for; - and + the new cards a day (by 5); "
        "s shows or hides a study streak."
    )
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="stats.back"),
        Binding(
            "w", "weakest", "Practise weakest", id="stats.weakest", tooltip="A quiz on your weakest concepts"
        ),
        Binding("left_square_bracket", "retention(-0.01)", "Retention −", id="stats.retention_down"),
        Binding("right_square_bracket", "retention(0.01)", "Retention +", id="stats.retention_up"),
        Binding("minus", "new_per_day(-5)", "New/day −", id="stats.new_down", show=False),
        Binding("plus,equals_sign", "new_per_day(5)", "New/day +", id="stats.new_up", show=False),
        Binding("s", "streak", "Streak on/off", id="stats.streak", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="stats"):
            yield Static(id="stats-body")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Stats"
        self.refresh_stats()

    def on_screen_resume(self) -> None:
        self.refresh_stats()

    def refresh_stats(self) -> None:
        self.figures = study_stats(self.app.course, self.app.store, self.app.now(), self.app.zone)
        self.query_one("#stats-body", Static).update(render_stats(self.figures))

    def action_weakest(self) -> None:
        from tutor.screens.quiz import QuizScreen

        weakest = set(self.figures.weakest)
        questions = [q for q in self.app.course.questions if weakest & set(q.concepts)][:12]
        if not questions:
            self.notify("Nothing to practise yet: review some cards or take a quiz first.")
            return
        self.app.push_screen(QuizScreen(questions, kind="retry", title="Weakest concepts"))

    def action_retention(self, step: float) -> None:
        current = load_settings(self.app.store).desired_retention
        try:
            save_setting(self.app.store, "desired_retention", f"{round(current + step, 2):.2f}")
        except ValueError as error:
            self.notify(str(error).capitalize() + ".", severity="warning")
            return
        self.refresh_stats()

    def action_new_per_day(self, step: int) -> None:
        current = load_settings(self.app.store).new_per_day
        save_setting(self.app.store, "new_per_day", str(max(0, current + step)))
        self.refresh_stats()

    def action_streak(self) -> None:
        shown = load_settings(self.app.store).show_streak
        save_setting(self.app.store, "show_streak", str(not shown))
        self.refresh_stats()
