"""Flashcard review with Anki's keys: Space reveals, 1–4 grade (Space after reveal = Good),
u undoes the last grade. Each grade button shows when the card would come back."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Static

from content.safe import plain
from quizzes.scheduler import RATING_NAMES, StudyScheduler
from quizzes.session import ReviewSession, study_deck
from quizzes.settings import load_settings
from quizzes.store import StoreError
from tutor.storeguard import guarded, notify_store_error


class ReviewScreen(Screen):
    HELP_TITLE = "Review"
    HELP = (
        "Recall the answer before you reveal it. Grade honestly: 1 Again (forgot), 2 Hard, "
        "3 Good, 4 Easy. The scheduler (FSRS) spaces the next review by your grade."
    )
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="review.back"),
        Binding(
            "space",
            "space",
            "Show / Good",
            id="review.space",
            tooltip="Reveal the answer; once shown, grade Good",
        ),
        Binding(
            "1", "grade(1)", "Again", id="review.again", show=False, tooltip="Forgot it: see it again soon"
        ),
        Binding("2", "grade(2)", "Hard", id="review.hard", show=False, tooltip="Recalled with difficulty"),
        Binding("3", "grade(3)", "Good", id="review.good", show=False, tooltip="Recalled it"),
        Binding("4", "grade(4)", "Easy", id="review.easy", show=False, tooltip="Recalled it at once"),
        Binding("u", "undo", "Undo", id="review.undo", tooltip="Undo the last grade"),
    ]

    def __init__(self, scheduler: StudyScheduler | None = None) -> None:
        super().__init__()
        self.scheduler = scheduler
        self.session: ReviewSession | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="review"):
            yield Static(id="card-meta")
            yield Static(id="card-front", classes="card-face")
            yield Static(id="card-back", classes="card-face")
            with Horizontal(id="grades"):
                yield Button("Space  Show answer", id="reveal", compact=True)
                for rating, name in RATING_NAMES.items():
                    yield Button(
                        f"{rating} {name}", id=f"grade-{rating}", compact=True, classes=f"grade -r{rating}"
                    )
            yield Static(id="summary")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Review"
        settings = load_settings(self.app.store)
        if self.scheduler is None:
            self.scheduler = StudyScheduler(settings.desired_retention)
        try:
            self.session = ReviewSession(
                study_deck(self.app.course, self.app.store),
                self.app.store,
                self.scheduler,
                now_fn=self.app.now,
                new_limit=settings.new_per_day,
                tz=self.app.zone,
            )
        except StoreError as error:  # the saved card states cannot be read: nothing to review
            notify_store_error(self.app, error)
            self.app.pop_screen()
            return
        self.show_card()

    @guarded
    def show_card(self) -> None:
        session = self.session
        card = session.current
        summary = self.query_one("#summary", Static)
        if card is None:
            self._show_summary()
            return
        summary.display = False
        self.sub_title = f"{session.summary().reviewed} done · {session.remaining} to go"
        kind = "new card" if session.is_new() else "review"
        self.query_one("#card-meta", Static).update(f"[dim]{plain(card.lesson_id)} · {kind}[/]")
        self.query_one("#card-front", Static).update(plain(card.front))
        back = self.query_one("#card-back", Static)
        back.update(plain(card.back))
        back.display = session.revealed
        self.query_one("#card-front").display = True
        self.query_one("#reveal", Button).display = not session.revealed
        previews = session.previews() if session.revealed else {}
        for rating, name in RATING_NAMES.items():
            button = self.query_one(f"#grade-{rating}", Button)
            button.display = session.revealed
            if rating in previews:
                button.label = f"{rating} {name} · {previews[rating]}"
        target = self.query_one("#grade-3", Button) if session.revealed else self.query_one("#reveal", Button)
        target.focus()

    def _show_summary(self) -> None:
        summary = self.session.summary()
        self.sub_title = "Session summary"
        for selector in ("#card-front", "#card-back", "#reveal", ".grade"):
            for widget in self.query(selector):
                widget.display = False
        self.query_one("#card-meta", Static).update("")
        lines = []
        if summary.reviewed:
            counts = " · ".join(f"{RATING_NAMES[r]} {summary.by_rating.get(r, 0)}" for r in RATING_NAMES)
            lines.append(
                f"[b]You reviewed {summary.reviewed} card{'s' if summary.reviewed != 1 else ''}.[/b]"
            )
            lines.append(counts)
        else:
            lines.append("[b]No cards are due right now.[/b]")
        settings = load_settings(self.app.store)
        if not summary.remaining and self.session.new_left() == 0 and settings.new_per_day:
            lines.append(f"Today's {settings.new_per_day} new cards are done; more come tomorrow.")
        if summary.next_due is not None:
            lines.append(f"Next card due: {summary.next_due.astimezone().strftime('%a %d %b, %H:%M')}")
        lines.append("\nEscape goes back. u undoes the last grade.")
        widget = self.query_one("#summary", Static)
        widget.update("\n".join(lines))
        widget.display = True

    # ------------------------------------------------------------------ keys

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "reveal":
            self.action_space()
        elif event.button.id and event.button.id.startswith("grade-"):
            self.action_grade(int(event.button.id[-1]))

    @guarded
    def action_space(self) -> None:
        if self.session.current is None:
            return
        if self.session.revealed:
            self.action_grade(3)
        else:
            self.session.reveal()
            self.show_card()

    @guarded
    def action_grade(self, rating: int) -> None:
        if self.session.current is None or not self.session.revealed:
            return
        self.session.grade(rating)
        self.show_card()

    @guarded
    def action_undo(self) -> None:
        if self.session.undo() is not None:
            self.show_card()
        else:
            self.notify("Nothing to undo.")
