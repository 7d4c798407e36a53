"""The lesson reader: Markdown with "Try it" lab cards, previous/next, and "Check yourself"."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Markdown

from content import LabBlock, body_parts
from tutor.screens.help import MarkdownPanel


class LabCard(Button):
    """A "Try it" card in the lesson body. Enter (or a click) opens the lab."""

    def __init__(self, block: LabBlock, title: str, ready: bool) -> None:
        label = Text.assemble(("▶ Try it: ", "bold"), (title, "bold"))
        if not ready:
            label.append("  (coming soon)", style="italic")
        label.append("\n" + block.text)
        super().__init__(label, classes="lab-card" + ("" if ready else " -soon"))
        self.lab_id = block.lab_id


class LessonScreen(Screen):
    HELP_TITLE = "Lesson"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="lesson.back"),
        Binding("n,right_square_bracket", "next", "Next", id="lesson.next", tooltip="The next lesson"),
        Binding("p,left_square_bracket", "previous", "Prev", id="lesson.previous", tooltip="The previous lesson"),
        Binding("c", "check", "Check yourself", id="lesson.check", tooltip="Take this lesson's quiz"),
        Binding("t", "try_it", "Try it", id="lesson.try", tooltip="Open this lesson's lab"),
        Binding("g", "glossary", "Glossary", id="lesson.glossary", tooltip="Terms this lesson introduces"),
    ]

    def __init__(self, lesson_id: str) -> None:
        super().__init__()
        self.lesson_id = lesson_id

    @property
    def lesson(self):
        return self.app.course.lesson(self.lesson_id)

    def compose(self) -> ComposeResult:
        from tutor import labs

        lesson = self.lesson
        yield Header()
        with VerticalScroll(id="reader"):
            for part in body_parts(lesson.body):
                if isinstance(part, LabBlock):
                    title = self.app.course.labs.get(part.lab_id, part.lab_id)
                    yield LabCard(part, title, labs.available(part.lab_id))
                else:
                    yield Markdown(part, open_links=False)
            yield Button("Check yourself: take the quiz (c)", id="check", classes="check")
        yield Footer()

    def on_mount(self) -> None:
        lesson = self.lesson
        self.title = f"{lesson.id} · {lesson.title}"
        self.sub_title = f"{lesson.minutes} min"
        self.app.store.open_lesson(lesson.id, self.app.now())
        reader = self.query_one("#reader", VerticalScroll)
        reader.focus()
        record = self.app.store.lesson(lesson.id)
        position = record.position if record is not None else 0
        if position:
            self.call_after_refresh(reader.scroll_to, y=position, animate=False)

    def on_unmount(self) -> None:
        self._save_position()

    def _save_position(self) -> None:
        try:
            reader = self.query_one("#reader", VerticalScroll)
        except Exception:  # the screen's widgets are already gone
            return
        self.app.store.save_position(self.lesson_id, int(reader.scroll_y))

    def on_screen_suspend(self) -> None:
        self._save_position()

    def _check_read(self) -> None:
        reader = self.query_one("#reader", VerticalScroll)
        if reader.max_scroll_y == 0 or reader.scroll_y >= reader.max_scroll_y - 1:
            self.app.store.mark_read(self.lesson_id, self.app.now())

    def on_idle(self) -> None:
        self._check_read()

    # ------------------------------------------------------------------ actions

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if isinstance(event.button, LabCard):
            self.app.open_lab(event.button.lab_id)
        elif event.button.id == "check":
            self.action_check()

    def _go(self, step: int) -> None:
        lessons = self.app.course.lessons
        index = next(i for i, lesson in enumerate(lessons) if lesson.id == self.lesson_id)
        target = index + step
        if not 0 <= target < len(lessons):
            self.notify("That was the last lesson." if step > 0 else "This is the first lesson.")
            return
        self._save_position()
        self.app.switch_screen(LessonScreen(lessons[target].id))

    def action_next(self) -> None:
        self._go(+1)

    def action_previous(self) -> None:
        self._go(-1)

    def action_check(self) -> None:
        self.app.open_quiz(self.lesson_id)

    def action_try_it(self) -> None:
        if not self.lesson.lab_blocks:
            self.notify("This lesson has no lab.")
            return
        self.app.open_lab(self.lesson.lab_blocks[0].lab_id)

    def action_glossary(self) -> None:
        self.app.push_screen(GlossaryScreen(self.app.course, self.lesson_id))


class GlossaryScreen(MarkdownPanel):
    """The terms a lesson introduces, with their definitions."""

    BINDINGS = [Binding("g", "app.pop_screen", "Close", show=False)]

    def __init__(self, course, lesson_id: str) -> None:
        lesson = course.lesson(lesson_id)
        lines = [f"# Terms in {lesson.id}", ""]
        for term_id in lesson.terms:
            entry = course.term(term_id)
            lines.append(f"**{entry.term}**: {entry.definition}\n")
        if not lesson.terms:
            lines.append("This lesson introduces no new glossary terms.")
        super().__init__("\n".join(lines))
