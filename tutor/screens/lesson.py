"""The lesson reader: Markdown with "Try it" lab cards, previous/next, and "Check yourself".

Opening a lesson must feel instant, also on a small machine over SSH. So a lesson is split
into its parts once per text (cached), each Markdown part is one `MarkdownText` widget
painted from cached rendered lines (see tutor/widgets/document.py), and while the learner
reads, the next lesson is rendered in a worker thread at the same width, so `n` only has
to lay out a handful of widgets.
"""

from __future__ import annotations

from functools import lru_cache, partial

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Header

from content import LabBlock, body_parts
from content.safe import visible
from tutor.screens.help import MarkdownPanel
from tutor.storeguard import guarded
from tutor.widgets.document import (
    DocumentStyle,
    MarkdownText,
    card_label,
    document_style,
    render_markdown,
)
from tutor.widgets.keybar import KeyBar


@lru_cache(maxsize=64)
def lesson_parts(body: str) -> tuple[str | LabBlock, ...]:
    """The lesson body split into Markdown chunks and lab blocks, once per text."""
    return tuple(body_parts(body))


def reader_text_width(screen_width: int) -> int:
    """The width lesson text is rendered at: the screen less the reader's vertical
    scrollbar (2) and the text's padding (1 each side)."""
    return max(1, screen_width - 4)


def warm(app, lesson_ids) -> None:
    """Render these lessons in a worker thread at the width the reader will use, so the
    first open of each is as quick as a repeat one (Home warms "Continue" and "Next")."""
    course, style = app.course, document_style(app)
    bodies = [course.lesson(lesson_id).body for lesson_id in lesson_ids]
    width = reader_text_width(app.size.width)
    app.run_worker(
        lambda: prefetch_in_worker(bodies, width, style),
        thread=True,
        group="prefetch",
        exit_on_error=False,
    )


def prefetch(body: str, width: int, style: DocumentStyle) -> None:
    """Render every Markdown chunk of a lesson into the line cache (safe in a thread)."""
    for part in lesson_parts(body):
        if isinstance(part, str):
            render_markdown(part, width, style)


def prefetch_in_worker(bodies: list[str], width: int, style: DocumentStyle) -> None:
    """:func:`prefetch` as a thread worker's whole work: the pool thread then forgets the
    worker, so the screen that started it can be freed (tutor/memory.forget_worker)."""
    from tutor import memory

    try:
        for body in bodies:
            prefetch(body, width, style)
    finally:
        memory.forget_worker()


class LabCard(Button):
    """A "Try it" card in the lesson body. Enter (or a click) opens the lab."""

    def __init__(self, block: LabBlock, title: str, ready: bool) -> None:
        super().__init__(
            card_label(visible(title), visible(block.text), soon=not ready),
            classes="lab-card" + ("" if ready else " -soon"),
        )
        self.lab_id = block.lab_id


class LessonScreen(Screen):
    HELP_TITLE = "Lesson"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="lesson.back"),
        Binding("n,right_square_bracket", "next", "Next", id="lesson.next", tooltip="The next lesson"),
        Binding(
            "p,left_square_bracket", "previous", "Prev", id="lesson.previous", tooltip="The previous lesson"
        ),
        Binding("c", "check", "Check yourself", id="lesson.check", tooltip="Take this lesson's quiz"),
        Binding("t", "try_it", "Try it", id="lesson.try", tooltip="Open this lesson's lab"),
        Binding("g", "glossary", "Glossary", id="lesson.glossary", tooltip="Terms this lesson introduces"),
    ]

    def __init__(self, lesson_id: str) -> None:
        super().__init__()
        self.lesson_id = lesson_id
        self._shown: str | None = None  # the lesson whose widgets are in the reader
        self._scroll_y = 0  # the reader's scroll position, kept up to date

    @property
    def lesson(self):
        return self.app.course.lesson(self.lesson_id)

    def compose(self) -> ComposeResult:
        yield Header()
        yield VerticalScroll(id="reader")
        yield KeyBar()

    def _body(self) -> list[Widget]:
        from tutor import labs

        widgets: list[Widget] = []
        for part in lesson_parts(self.lesson.body):
            if isinstance(part, LabBlock):
                title = self.app.course.labs.get(part.lab_id, part.lab_id)
                widgets.append(LabCard(part, title, labs.available(part.lab_id)))
            else:
                widgets.append(MarkdownText(visible(part)))
        widgets.append(Button("Check yourself: take the quiz (c)", id="check", classes="check"))
        return widgets

    async def on_mount(self) -> None:
        reader = self.query_one("#reader", VerticalScroll)
        reader.focus()
        # Remember the scroll position as it changes: when the app quits, the reader's
        # widgets are gone before this screen hears of it.
        self.watch(reader, "scroll_y", self._remember_scroll, init=False)
        await self._show()

    def _remember_scroll(self, y: float) -> None:
        self._scroll_y = int(y)

    def show_lesson(self, lesson_id: str) -> None:
        """Show another lesson in this reader (the screen, its header and footer stay)."""
        if self._shown is not None:
            self._save_position(after_paint=True)
        self.lesson_id = lesson_id
        if self.is_mounted:
            self.call_later(self._show)

    async def _show(self) -> None:
        lesson = self.lesson
        if self._shown == lesson.id:
            return
        reader = self.query_one("#reader", VerticalScroll)
        record = self.app.store.lesson(lesson.id)
        position = record.position if record is not None else 0
        with self.app.batch_update():
            self.title = visible(f"{lesson.id} · {lesson.title}")
            self.sub_title = f"{lesson.minutes} min"
            await reader.remove_children()
            await reader.mount_all(self._body())
            reader.scroll_to(y=0, animate=False, immediate=True)
        self._shown, self._scroll_y = lesson.id, 0
        if position:
            self.call_after_refresh(reader.scroll_to, y=position, animate=False)
        # Saving "opened" (a durable write) and rendering the next lesson wait until this
        # one is on screen.
        self.call_after_refresh(self.app.store.open_lesson, lesson.id, self.app.now())
        self.call_after_refresh(self._warm_labs)
        self.set_timer(0.3, self._prefetch_next)

    def _warm_labs(self) -> None:
        """While the learner reads, compile (or load) the kernels of this lesson's labs
        in one low-priority thread, so `t` finds them ready (tutor/labs: Warmer)."""
        from tutor import labs

        if labs.WARM_WHILE_READING and self.lesson_id == self._shown:
            labs.warmer.start([block.lab_id for block in self.lesson.lab_blocks])

    def _prefetch_next(self) -> None:
        """Render the next lesson in a thread while this one is read, at this width."""
        lessons = self.app.course.lessons
        index = next(i for i, lesson in enumerate(lessons) if lesson.id == self.lesson_id)
        texts = self.query(MarkdownText)
        if index + 1 >= len(lessons) or not texts:
            return
        width = texts.first().content_size.width
        body, style = lessons[index + 1].body, document_style(self.app)
        self.run_worker(
            lambda: prefetch_in_worker([body], width, style),
            thread=True,
            group="prefetch",
            exit_on_error=False,
        )

    def on_unmount(self) -> None:
        self._save_position()

    @guarded
    def _save_position(self, after_paint: bool = False) -> None:
        """Save how far down the shown lesson is scrolled (after the next paint, when a
        new lesson is about to be drawn, so the durable write does not delay it)."""
        if self._shown is None:
            return
        save = partial(self.app.store.save_position, self._shown, self._scroll_y)
        self.call_after_refresh(save) if after_paint else save()

    def on_screen_suspend(self) -> None:
        self._save_position()

    @guarded
    def _check_read(self) -> None:
        if self._shown is None or not self.is_current:
            return
        reader = self.query_one("#reader", VerticalScroll)
        at_end = reader.max_scroll_y == 0 or reader.scroll_y >= reader.max_scroll_y - 1
        if at_end and self._shown != getattr(self, "_marked_read", None):  # one durable write
            self.app.store.mark_read(self._shown, self.app.now())
            self._marked_read = self._shown

    def on_idle(self) -> None:
        self._check_read()

    # ------------------------------------------------------------------ actions

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if isinstance(event.button, LabCard):
            self.app.open_lab(event.button.lab_id)
        elif event.button.id == "check":
            self.action_check()

    @guarded
    def _go(self, step: int) -> None:
        lessons = self.app.course.lessons
        index = next(i for i, lesson in enumerate(lessons) if lesson.id == self.lesson_id)
        target = index + step
        if not 0 <= target < len(lessons):
            self.notify("That was the last lesson." if step > 0 else "This is the first lesson.")
            return
        self.show_lesson(lessons[target].id)

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
        lines = [visible(f"# Terms in {lesson.id}"), ""]
        for term_id in lesson.terms:
            entry = course.term(term_id)
            lines.append(visible(f"**{entry.term}**: {entry.definition}\n"))
        if not lesson.terms:
            lines.append("This lesson introduces no new glossary terms.")
        super().__init__("\n".join(lines))
