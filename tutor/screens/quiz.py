"""Quiz: one question at a time, options in a new order each attempt, immediate feedback
with a mark and the explanation, a score at the end listing the missed questions by their
text, and "retry the ones I missed". The final exam is the same screen; leaving it asks
first, and Home's x resumes it where it was left."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Header, Input, Static

from content import Question
from content.safe import plain
from quizzes.grading import option_marks
from quizzes.session import QuizSession
from quizzes.store import StoreError
from tutor.storeguard import guarded, notify_store_error
from tutor.widgets.choices import ChoiceList

KIND_HINTS = {
    "single": "one answer · ↑/↓ then Enter",
    "multi": "tick every right answer · Space ticks, Enter submits",
    "truefalse": "true or false · t / f, or ↑/↓ then Enter",
    "gap": "fill the gap · type, then Enter",
    "order": "put in order · Shift+↑/↓ or [ ] move, Enter submits",
}


class QuizScreen(Screen):
    HELP_TITLE = "Quiz"
    HELP = "After each answer you see ✓ or ✗ and why. Enter or n moves on."
    BINDINGS = [
        Binding("escape", "leave", "Back", id="quiz.back"),
        Binding("n", "next", "Next", id="quiz.next", tooltip="The next question (after answering)"),
        Binding("t", "truefalse(True)", "True", show=False),
        Binding("f", "truefalse(False)", "False", show=False),
        Binding(
            "r",
            "retry",
            "Retry missed",
            id="quiz.retry",
            show=False,
            tooltip="At the end: a new round of the questions you missed",
        ),
    ]

    def __init__(
        self,
        questions: list[Question],
        kind: str = "lesson",
        title: str = "Quiz",
        session: QuizSession | None = None,
    ) -> None:
        super().__init__()
        self.quiz_title = title
        self.kind = kind
        self.questions = questions
        self.session: QuizSession | None = session
        self.answered = False

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="quiz"):
            yield Static(id="q-meta")
            yield Static(id="q-prompt")
            yield Horizontal(id="q-answer")
            yield Static(id="q-feedback")
            with Horizontal(id="q-buttons"):
                yield Button("Next (n)", id="next", compact=True)
                yield Button("Retry the ones I missed (r)", id="retry", compact=True)
                yield Button("Done (Esc)", id="done", compact=True)
        yield Footer()

    async def on_mount(self) -> None:
        self.title = self.quiz_title
        if self.session is None:
            try:
                self.session = QuizSession(
                    self.questions, self.app.store, kind=self.kind, now_fn=self.app.now
                )
            except StoreError as error:  # the attempt could not be saved: no quiz to show
                notify_store_error(self.app, error)
                self.app.pop_screen()
                return
        elif self.session.answered:
            self.session.advance()
        if self.session.finished:
            await self.show_results()
        else:
            await self.show_question()

    # ------------------------------------------------------------------ showing

    async def show_question(self) -> None:
        session = self.session
        question = session.current
        self.answered = False
        self.sub_title = f"Question {session.index + 1} of {len(session.questions)}"
        self.query_one("#q-meta", Static).update(
            f"[dim]{plain(question.lesson_id)} · {KIND_HINTS[question.kind]}[/]"
        )
        self.query_one("#q-prompt", Static).update(plain(question.prompt))
        feedback = self.query_one("#q-feedback", Static)
        feedback.update("")
        feedback.display = False
        for button in self.query("#q-buttons Button"):
            button.display = False
        area = self.query_one("#q-answer", Horizontal)
        await area.remove_children()
        widget = self._answer_widget(question)
        await area.mount(widget)
        widget.focus()
        self.query_one("#quiz", VerticalScroll).scroll_home(animate=False)

    def _answer_widget(self, question: Question):
        if question.kind == "gap":
            return Input(placeholder="your answer, then Enter", id="gap")
        if question.kind == "truefalse":
            return ChoiceList(["True", "False"], "single", id="choices")
        order = self.session.presented_order(question)
        return ChoiceList(list(question.choices), question.kind, order=order, id="choices")

    # ------------------------------------------------------------------ answering

    def on_choice_list_submitted(self, event: ChoiceList.Submitted) -> None:
        question = self.session.current
        response = event.response
        if question.kind == "truefalse":
            response = response == 0
        self._answer(response)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.notify("Type an answer first.", severity="warning")
            return
        self._answer(event.value)

    def action_truefalse(self, value: bool) -> None:
        if not self.answered and self.session.current.kind == "truefalse":
            self._answer(value)

    @guarded
    def _answer(self, response: object) -> None:
        if self.answered:
            return
        question = self.session.current
        result = self.session.answer(response)
        self.answered = True
        self._mark(question, response, result.correct)
        if result.typo:
            mark = f"[b green]✓ {plain(result.detail)}[/]"
        elif result.correct:
            mark = "[b green]✓ Right.[/]"
        else:
            mark = f"[b red]✗ Not quite.[/] The answer: {plain(result.expected)}"
        feedback = self.query_one("#q-feedback", Static)
        feedback.update(f"{mark}\n\n{plain(question.explanation)}")
        feedback.display = True
        feedback.set_class(result.correct, "-right")
        feedback.set_class(not result.correct, "-wrong")
        next_button = self.query_one("#next", Button)
        next_button.label = "See your score (n)" if self.session.finished else "Next (n)"
        next_button.display = True
        next_button.focus()
        self.call_after_refresh(self.query_one("#quiz", VerticalScroll).scroll_end, animate=False)

    def _mark(self, question: Question, response: object, correct: bool) -> None:
        if question.kind == "gap":
            self.query_one("#gap", Input).disabled = True
            return
        choices = self.query_one("#choices", ChoiceList)
        choices.show_marks(option_marks(question, response))

    # ------------------------------------------------------------------ moving on

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "done":
            self.app.pop_screen()
        else:
            await {"next": self.action_next, "retry": self.action_retry}[event.button.id]()

    async def action_next(self) -> None:
        if not self.answered:
            return
        if self.session.finished:
            await self.show_results()
        else:
            self.session.advance()
            await self.show_question()

    async def show_results(self) -> None:
        session = self.session
        right, total = session.score.right, session.score.total
        self.sub_title = "Results"
        lines = [f"[b]Score: {right} of {total}[/b] ({round(100 * right / max(total, 1))}%)"]
        if self.kind == "exam":
            lines.append("")
            for lesson_id, (good, count) in session.per_lesson_scores().items():
                lines.append(f"  {plain(lesson_id)}  {'✓' if good == count else '·'} {good}/{count}")
        missed = session.missed()
        if missed:
            lines.append(f"\n[b]You missed {len(missed)}[/b] (r reviews exactly these):")
            for number, question in enumerate(missed, 1):
                lines.append(
                    f"\n{number}. {plain(question.prompt)}\n   [dim]{plain(question.explanation)}[/]"
                )
        else:
            lines.append("\nNothing missed. Well done.")
        self.query_one("#q-meta", Static).update("")
        self.query_one("#q-prompt", Static).update("\n".join(lines))
        await self.query_one("#q-answer", Horizontal).remove_children()
        self.query_one("#q-feedback", Static).display = False
        self.query_one("#next", Button).display = False
        self.query_one("#retry", Button).display = bool(missed)
        done = self.query_one("#done", Button)
        done.display = True
        (self.query_one("#retry", Button) if missed else done).focus()
        self.answered = False

    def action_leave(self) -> None:
        """Leave; an exam still in progress asks first (its answers are already saved)."""
        session = self.session
        if self.kind == "exam" and session is not None and not session.finished:
            self.app.push_screen(LeaveExamScreen(), self._left)
        else:
            self.app.pop_screen()

    def _left(self, leave: bool | None) -> None:
        if leave:
            self.app.pop_screen()

    @guarded
    async def action_retry(self) -> None:
        if self.session is None or not self.session.finished or not self.session.missed():
            return
        self.session = self.session.retry_missed()
        self.kind = "retry"
        await self.show_question()


class LeaveExamScreen(ModalScreen[bool]):
    """Asks before leaving an exam half-way: y leaves (x on Home resumes), n stays."""

    DEFAULT_CSS = """
    LeaveExamScreen { align: center middle; }
    #leave-exam { width: 56; height: auto; padding: 1 2; border: round $warning; background: $surface; }
    """
    BINDINGS = [
        Binding("y", "dismiss(True)", "Leave"),
        Binding("n,escape", "dismiss(False)", "Stay"),
    ]

    def compose(self) -> ComposeResult:
        yield Static(
            "[b]Leave the exam?[/b]\n\nYour answers so far are saved. Press [b]x[/b] on Home "
            "to carry on where you left off.\n\n[b]y[/b] leave · [b]n[/b] stay",
            id="leave-exam",
        )
