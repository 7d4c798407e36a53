"""Help (F1 or ?): the keys of the screen you came from, and how the tutor works.
Also the friendly screen shown while the terminal is too small."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Markdown, Static

GENERAL = """\
## Everywhere
| Key | Does |
| --- | --- |
| F1 or ? | this help |
| Ctrl+P | commands: jump to a lesson, review, quiz, final exam, theme |
| Escape | go back |
| Tab / Shift+Tab | move between buttons and lists |
| ↑ / ↓, Enter | choose in a list |
| q | quit (from Home) |

## How studying works
- **Lessons** explain one idea at a time. A "Try it" card opens a lab where a tiny
  model trains or samples live on your CPU.
- **Review** shows flashcards when they are due. Think of the answer, press Space to
  see it, then grade yourself from 1 (Again) to 4 (Easy); each button shows when the
  card would come back. Your memory model is FSRS.
- **Quiz** checks each answer at once and explains it. At the end you can retry the
  ones you missed. The **final exam** draws questions from every lesson.
- Progress is saved after every answer, so you can stop at any time.
"""


def _screen_keys(screen: Screen) -> str:
    """Every key that works on `screen` now: its bindings, its focused widget's and the
    app's, merged the way Textual dispatches them (so a lab's knob letters are included)."""
    rows = []
    by_action: dict[tuple[str, str], list[str]] = {}
    for key, (_node, binding, enabled, _tooltip) in screen.active_bindings.items():
        if enabled and binding.description:
            by_action.setdefault((binding.description, binding.tooltip or binding.description),
                                 []).append(_pretty(key))
    for (description, tooltip), keys in by_action.items():
        text = description if tooltip == description else f"{description}: {tooltip}"
        rows.append(f"| {', '.join(keys)} | {text} |")
    if not rows:
        return ""
    title = getattr(screen, "HELP_TITLE", "This screen")
    extra = getattr(screen, "HELP", None) or ""
    return f"## {title}\n| Key | Does |\n| --- | --- |\n" + "\n".join(rows) + "\n\n" + extra + "\n"


def _pretty(key: str) -> str:
    names = {"escape": "Escape", "space": "Space", "enter": "Enter", "left_square_bracket": "[",
             "right_square_bracket": "]", "question_mark": "?", "shift+up": "Shift+↑",
             "shift+down": "Shift+↓", "up": "↑", "down": "↓", "left": "←", "right": "→"}
    return names.get(key, key)


class MarkdownPanel(ModalScreen):
    """A scrollable Markdown page over the current screen (help, glossary, a lab's explanation).
    Escape or q closes it; subclasses add their own opening key as a closing key too."""

    BINDINGS = [Binding("escape,q", "app.pop_screen", "Close", id="panel.close")]

    def __init__(self, markdown: str) -> None:
        super().__init__()
        self.markdown = markdown

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="panel"):
            yield Markdown(self.markdown)
            yield Static("[dim]Escape closes[/]")

    def on_mount(self) -> None:
        self.query_one("#panel").focus()


class HelpScreen(MarkdownPanel):
    BINDINGS = [Binding("f1,question_mark", "app.pop_screen", "Close", show=False)]

    def __init__(self, previous: Screen | None = None) -> None:
        keys = _screen_keys(previous) if previous is not None else ""
        super().__init__("# Help\n\n" + keys + GENERAL)


class TooSmallScreen(Screen):
    """Replaces the layout while the terminal is smaller than the tutor needs."""

    BINDINGS = [Binding("q,ctrl+c", "app.quit", "Quit", show=False)]

    def compose(self) -> ComposeResult:
        from tutor.app import MIN_HEIGHT, MIN_WIDTH

        yield Static(
            f"Please enlarge the terminal.\n\ngenai-tutor needs at least {MIN_WIDTH}×{MIN_HEIGHT} "
            "characters; it is made for 80×24.\n\n(q quits)",
            id="too-small",
        )
