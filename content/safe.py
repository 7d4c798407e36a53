"""The one gate every string passes before it reaches the learner's terminal.

Course files, weights files (the language model's vocabulary), a learner's input and file
names are all text someone else may have written. Two things in such text can hurt:

* control characters: ESC starts terminal commands (``ESC]52;c;...`` writes the
  clipboard, ``ESC[2J`` clears the screen), and the other C0/C1 codes and DEL move the
  cursor or switch character sets. `visible` turns each into a printable escape such
  as ``\\x1b``, so the text is still readable and nothing is executed. Newline and tab
  are kept.
* markup: Textual and Rich read ``[bold]`` and ``[/]`` as styling, and an unbalanced
  ``[/bold]`` raises. `plain` also escapes markup, for text shown where markup is
  parsed (``Static.update``, notifications) but is not meant as markup.

This module imports nothing but the standard library, so the app, the CLI and the
content loader can all use it without pulling in the engine.
"""

from __future__ import annotations

import re

__all__ = ["CONTROL", "escape_markup", "has_control", "plain", "visible"]

# C0 except \t (0x09) and \n (0x0a), DEL (0x7f) and C1 (0x80-0x9f).
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# The pattern Textual's and Rich's own `escape` use: a [ that could open a tag.
_TAG = re.compile(r"(\\*)(\[[a-z#/@$][^[]*?])", re.IGNORECASE)


def _escape_one(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def visible(text: object) -> str:
    """`text` as a string with every control character except newline and tab shown as a
    printable ``\\xNN`` escape (a real backslash, x and two hex digits)."""
    return CONTROL.sub(_escape_one, str(text))


def has_control(text: str) -> bool:
    """Whether `text` holds a character `visible` would rewrite."""
    return CONTROL.search(text) is not None


def escape_markup(text: str) -> str:
    """Escape ``[`` where Textual/Rich markup would read a tag (as ``textual.markup.escape``
    does, and also for ``[$variable]``), so the text shows literally. Textual's markup
    treats a trailing backslash as text, so unlike Rich's escape none is added there."""

    def one(match: re.Match[str]) -> str:
        backslashes, tag = match.groups()
        return f"{backslashes}{backslashes}\\{tag}"

    return _TAG.sub(one, text)


def plain(text: object) -> str:
    """`text` made safe to put inside markup: control characters visible, tags escaped."""
    return escape_markup(visible(text))
