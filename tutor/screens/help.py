"""Help (F1 or ?): every key you can press on the screen you came from, and how the tutor
works. Also the modal panels (glossary, a term, a lab's explanation, its code) and the
friendly screen shown while the terminal is too small.

The key tables are built from the screen's active bindings (the focused widget's, the
screen's and the app's, merged the way Textual dispatches keys), so a screen or lab that
declares its keys as `Binding`s with a tooltip gets a complete help page for free. A
screen may add prose after the tables with a `HELP` string and name itself with
`HELP_TITLE`.

This module never imports `tutor.app`: it reads what it needs from `self.app`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer, Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from tutor.widgets.document import MarkdownText

GENERAL = """\
## How studying works
- **Lessons** explain one idea at a time. A "Try it" card opens a lab where a tiny
  model trains or samples live on your CPU.
- **Review** shows flashcards when they are due. Think of the answer, press Space to
  see it, then grade yourself from 1 (Again) to 4 (Easy); each button shows when the
  card would come back. Your memory model is FSRS.
- **Quiz** checks each answer at once and explains it. At the end you can retry the
  ones you missed. The **final exam** draws questions from every lesson.
- **Ctrl+P** finds lessons, labs, glossary terms, quizzes and themes by name.
- Progress is saved after every answer, so you can stop at any time.
"""

_KEY_NAMES = {
    "escape": "Esc",
    "space": "Space",
    "enter": "Enter",
    "tab": "Tab",
    "backspace": "Backspace",
    "delete": "Del",
    "insert": "Ins",
    "home": "Home",
    "end": "End",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "up": "↑",
    "down": "↓",
    "left": "←",
    "right": "→",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "question_mark": "?",
    "plus": "+",
    "minus": "-",
    "equals_sign": "=",
    "full_stop": ".",
    "comma": ",",
    "slash": "/",
    "backslash": "\\",
    "underscore": "_",
    "less_than_sign": "<",
    "greater_than_sign": ">",
    "exclamation_mark": "!",
    "number_sign": "#",
    "asterisk": "*",
    "vertical_line": "|",
    "grave_accent": "`",
    "apostrophe": "'",
    "quotation_mark": '"',
    "colon": ":",
    "semicolon": ";",
    "left_parenthesis": "(",
    "right_parenthesis": ")",
}

_ACTION_TEXT = {
    "app.pop_screen": "Go back",
    "pop_screen": "Go back",
    "app.quit": "Quit",
    "quit": "Quit",
    "app.focus_next": "Next control",
    "focus_next": "Next control",
    "app.focus_previous": "Previous control",
    "focus_previous": "Previous control",
    "app.command_palette": "Commands",
    "command_palette": "Commands",
    "app.help": "This help",
    "help": "This help",
}

_NAMESPACE_TITLES = {
    "VerticalScroll": "Scrolling",
    "ScrollableContainer": "Scrolling",
    "OptionList": "In the list",
    "ChoiceList": "In the list",
    "DataTable": "In the table",
    "Button": "On a button",
    "Input": "Typing",
    "TextArea": "Typing",
}


def key_label(key: str) -> str:
    """A key as a learner reads it: "ctrl+p" -> "Ctrl+P", "left_square_bracket" -> "["."""
    *mods, last = key.split("+")
    if last in _KEY_NAMES:
        name = _KEY_NAMES[last]
    elif re.fullmatch(r"f\d+", last):
        name = last.upper()
    elif len(last) == 1:
        name = last.upper() if mods else last
    else:
        name = last.replace("_", " ").title()
    return "+".join([m.title() for m in mods] + [name])


def _humanise(action: str) -> str:
    if action in _ACTION_TEXT:
        return _ACTION_TEXT[action]
    name = action.split(".")[-1].split("(")[0].replace("_", " ").strip()
    return name[:1].upper() + name[1:]


def _namespace_title(node: DOMNode, screen: Screen) -> str:
    if node is screen:
        named = getattr(screen, "HELP_TITLE", None) or getattr(screen, "LAB_TITLE", None)
        return named or screen.title or "This screen"
    if node is screen.app:
        return "Everywhere"
    for cls in type(node).__mro__:
        if cls.__name__ in _NAMESPACE_TITLES:
            return _NAMESPACE_TITLES[cls.__name__]
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", type(node).__name__)


@dataclass
class KeyRow:
    keys: list[str]
    action: str
    text: str
    enabled: bool


@dataclass
class KeySection:
    title: str
    rows: list[KeyRow]


def key_sections(screen: Screen) -> list[KeySection]:
    """Every key the screen answers right now, grouped by who answers it (the screen
    first, then the focused widget, then the app); keys of one action share a row."""
    sections: dict[int, KeySection] = {}
    order: list[DOMNode] = []
    rows: dict[tuple[int, str, str], KeyRow] = {}
    for key, active in screen.active_bindings.items():
        binding, node = active.binding, active.node
        text = binding.tooltip or binding.description or _humanise(binding.action)
        if id(node) not in sections:
            sections[id(node)] = KeySection(_namespace_title(node, screen), [])
            order.append(node)
        row_key = (id(node), binding.action, text)
        if row_key in rows:
            rows[row_key].keys.append(key_label(key))
            continue
        row = KeyRow([key_label(key)], binding.action, text, active.enabled)
        rows[row_key] = row
        sections[id(node)].rows.append(row)
    rank = {id(screen): 0, id(screen.app): 2}
    order.sort(key=lambda node: rank.get(id(node), 1))
    if id(screen) in sections:  # the screen's own keys before those every screen has
        own = {
            b.action
            for cls in type(screen).__mro__
            if not cls.__module__.startswith("textual")
            for b in cls.__dict__.get("BINDINGS", [])
            if isinstance(b, Binding)
        }
        sections[id(screen)].rows.sort(key=lambda row: row.action not in own)
    return [sections[id(node)] for node in order if sections[id(node)].rows]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _code(label: str) -> str:
    return f"`` {label} ``" if "`" in label else f"`{_cell(label)}`"


def sections_markdown(sections: Iterable[KeySection]) -> str:
    """Compact Markdown tables (key | action), one per section."""
    parts = []
    for section in sections:
        lines = [f"## {section.title}", "", "| Key | Does |", "| --- | --- |"]
        for row in section.rows:
            keys = " ".join(_code(label) for label in row.keys)
            lines.append(f"| {keys} | {_cell(row.text)}{'' if row.enabled else ' (not now)'} |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def close_hint(screen: Screen) -> str:
    """ "Esc, q or F1 closes" from the panel's own closing bindings."""
    keys = []
    for binding in _own_bindings(screen):
        if binding.action in ("app.pop_screen", "dismiss", "app.dismiss"):
            keys.extend(key_label(k.strip()) for k in binding.key.split(","))
    keys = list(dict.fromkeys(keys))
    if not keys:
        return ""
    joined = keys[0] if len(keys) == 1 else ", ".join(keys[:-1]) + " or " + keys[-1]
    return f"{joined} closes"


def _own_bindings(screen: Screen) -> list[Binding]:
    found = []
    for cls in type(screen).__mro__:
        for binding in cls.__dict__.get("BINDINGS", []):
            if isinstance(binding, Binding):
                found.append(binding)
    return found


class Panel(ModalScreen):
    """A modal panel with a one-line footer that always says how to close it."""

    BINDINGS = [Binding("escape,q", "app.pop_screen", "Close", id="panel.close")]
    SCROLL_HINT = "↑/↓ PgUp/PgDn scroll"

    def compose_body(self) -> ComposeResult:
        yield from ()

    panel_title = ""  # shown in the panel's top border

    def compose(self) -> ComposeResult:
        with Vertical(id="panel") as panel:
            panel.border_title = self.panel_title
            yield from self.compose_body()
            yield Static(f"{close_hint(self)} · {self.SCROLL_HINT}", id="panel-footer")

    def on_mount(self) -> None:
        self.query_one("#panel-body").focus()


class MarkdownPanel(Panel):
    """A scrollable Markdown page over the current screen (help, glossary, a term, a lab's
    explanation). Subclasses add their own opening key as a closing key too."""

    def __init__(self, markdown: str) -> None:
        super().__init__()
        self.markdown = markdown

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="panel-body"):
            yield MarkdownText(self.markdown)


class HelpScreen(MarkdownPanel):
    BINDINGS = [Binding("f1,question_mark", "app.pop_screen", "Close", show=False)]
    panel_title = "Help"

    def __init__(self, previous: Screen | None = None) -> None:
        self.sections = key_sections(previous) if previous is not None else []
        extra = (getattr(previous, "HELP", None) or "") if previous is not None else ""
        text = sections_markdown(self.sections)
        if extra.strip():
            text += "\n\n" + extra.strip()
        super().__init__(text + "\n\n" + GENERAL)


class CodePanel(Panel):
    """Source code, one titled block after another, never wrapped: long lines scroll
    sideways (←/→) instead of being cut."""

    SCROLL_HINT = "↑/↓ ←/→ scroll"

    def __init__(self, title: str, blocks: Iterable[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.blocks = tuple(blocks)

    def compose_body(self) -> ComposeResult:
        with ScrollableContainer(id="panel-body"):
            yield Static(f"[b]{self.title_text}[/b]\n", classes="code-title")
            for name, code in self.blocks:
                yield Static(f"[b]{name}[/b]", classes="code-title")
                yield Static(
                    Syntax(code, "python", theme="ansi_dark", line_numbers=True, word_wrap=False),
                    classes="code",
                )


class TooSmallScreen(Screen):
    """Replaces the layout while the terminal is smaller than the tutor needs."""

    BINDINGS = [Binding("q,ctrl+c", "app.quit", "Quit", show=False)]

    def __init__(self, min_width: int, min_height: int) -> None:
        super().__init__()
        self.min_size = (min_width, min_height)

    def compose(self) -> ComposeResult:
        width, height = self.min_size
        yield Static(
            f"Please enlarge the terminal.\n\ngenai-tutor needs at least {width}×{height} "
            "characters; it is made for 80×24.\n\n(q quits)",
            id="too-small",
        )
