"""ChoiceList: one keyboard-first list for single-choice, multiple-choice and ordering answers.

- single:  ↑/↓ to move, Enter answers with the highlighted choice.
- multi:   Space ticks or unticks the highlighted choice, Enter submits the ticked set.
- order:   Shift+↑ / Shift+↓ (or [ and ]) move the highlighted item, Enter submits the order.

After `show_marks(...)` the list marks choices in words and symbols, colour being only a
second cue: "✓" ticked and right, "✗" ticked but wrong, "missed" right but not ticked.
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

LETTERS = "ABCDEF"
# mark name -> (label, style); every label is 8 cells wide so the choices stay aligned.
MARKS = {
    "right": ("✓       ", "bold green"),
    "wrong": ("✗       ", "bold red"),
    "missed": ("missed  ", "bold yellow"),
}


class ChoiceList(OptionList):
    BINDINGS = [
        Binding("space", "toggle", "Tick", show=False),
        Binding("shift+up,left_square_bracket", "move(-1)", "Move up", show=False),
        Binding("shift+down,right_square_bracket", "move(1)", "Move down", show=False),
    ]

    class Submitted(Message):
        """The learner answered: an index (single), a set of indices (multi) or an order (list)."""

        def __init__(self, choice_list: ChoiceList, response: object) -> None:
            super().__init__()
            self.choice_list = choice_list
            self.response = response

    def __init__(self, choices: list[str], mode: str, order: list[int] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.choices = choices
        self.mode = mode
        self.order = list(order) if order is not None else list(range(len(choices)))
        self.ticked: set[int] = set()
        self.marks: dict[int, str] = {}
        self.locked = False

    def on_mount(self) -> None:
        self._redraw(0)

    def _label(self, position: int, index: int) -> Text:
        text = Text()
        if index in self.marks:
            label, style = MARKS[self.marks[index]]
            text.append(label, style=style)
        elif self.marks:
            text.append(" " * 8)
        if self.mode == "multi":
            text.append("[x] " if index in self.ticked else "[ ] ", style="bold")
        elif self.mode == "order":
            text.append(f"{position + 1}. ", style="bold")
        else:
            text.append(f"{LETTERS[position]}. ", style="bold")
        text.append(self.choices[index])
        return text

    def _redraw(self, highlight: int | None = None) -> None:
        keep = self.highlighted if highlight is None else highlight
        self.clear_options()
        self.add_options(Option(self._label(pos, index)) for pos, index in enumerate(self.order))
        if self.option_count:
            self.highlighted = min(keep or 0, self.option_count - 1)

    # ------------------------------------------------------------------ input

    def action_toggle(self) -> None:
        if self.locked or self.mode != "multi" or self.highlighted is None:
            return
        self.ticked ^= {self.order[self.highlighted]}
        self._redraw()

    def action_move(self, step: int) -> None:
        if self.locked or self.mode != "order" or self.highlighted is None:
            return
        here = self.highlighted
        there = here + step
        if 0 <= there < len(self.order):
            self.order[here], self.order[there] = self.order[there], self.order[here]
            self._redraw(there)

    def action_select(self) -> None:
        if self.locked or self.highlighted is None:
            return
        if self.mode == "multi":
            response: object = set(self.ticked)
        elif self.mode == "order":
            response = list(self.order)
        else:
            response = self.order[self.highlighted]
        self.post_message(self.Submitted(self, response))

    def show_marks(self, marks: dict[int, str]) -> None:
        """Mark the given choice indices "right", "wrong" or "missed" and stop taking input."""
        self.locked = True
        self.marks = marks
        self._redraw()
