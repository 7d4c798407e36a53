"""Markdown drawn from a cache of rendered lines: lessons and help pages open at once.

Textual's own Markdown widget builds one widget per paragraph, list item and table cell,
and every one of them is styled and laid out on each open: a lesson costs ~500 widgets
and about a second of CPU on a small machine. Here a Markdown chunk is rendered once by
Rich into lines (Strips), the lines are cached keyed on the text itself, the width and the
theme's colours, and one widget paints only the rows that are on screen (the line API).
Opening a lesson a second time, or at the same width after a prefetch, renders nothing.

Rendering is pure Python with no Textual state, so `render_markdown` may run in a thread
(the lesson screen prefetches the next lesson that way).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from threading import Lock

from rich import box
from rich.console import Console
from rich.markdown import Heading, Markdown, TableElement
from rich.table import Table
from rich.text import Text
from rich.theme import Theme
from textual.app import App
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

__all__ = ["DocumentStyle", "MarkdownText", "document_style", "reflow", "render_markdown"]

CACHE_SIZE = 256  # rendered chunks kept: 13 lessons of ~6 chunks at a few widths and themes

# (style name, theme variable for its colour, extra attributes)
_STYLE_MAP: tuple[tuple[str, str, str], ...] = (
    ("markdown.h1", "markdown-h1-color", "bold underline"),
    ("markdown.h2", "markdown-h2-color", "bold"),
    ("markdown.h3", "markdown-h3-color", "bold"),
    ("markdown.h4", "markdown-h4-color", "italic"),
    ("markdown.code", "text-accent", "bold"),
    ("markdown.block_quote", "text-secondary", ""),
    ("markdown.item.bullet", "text-primary", "bold"),
    ("markdown.item.number", "text-primary", ""),
    ("markdown.link", "text-primary", "underline"),
    ("markdown.table.border", "text-primary", "dim"),
    ("markdown.table.header", "text-primary", "bold"),
    ("markdown.hr", "text-primary", "dim"),
    ("markdown.kbd", "text-accent", "bold"),
)

DocumentStyle = tuple[tuple[tuple[str, str], ...], str]
"""Hashable styling for a render: ((style name, style text), ...) and the code theme."""


_styles_by_theme: dict[tuple[int, str], DocumentStyle] = {}


def document_style(app: App) -> DocumentStyle:
    """The theme's colours as Rich styles for Markdown (part of the cache key)."""
    key = (id(app), app.theme)
    found = _styles_by_theme.get(key)
    if found is None:
        found = _styles_by_theme[key] = _theme_style(app)
    return found


def _theme_style(app: App) -> DocumentStyle:
    variables = app.theme_variables
    dark = app.current_theme.dark
    styles = []
    for name, variable, extra in _STYLE_MAP:
        colour = variables.get(variable, "")
        colour = colour if re.fullmatch(r"#[0-9A-Fa-f]{6}", colour or "") else ""
        styles.append((name, f"{extra} {colour}".strip() or "none"))
    return tuple(styles), ("ansi_dark" if dark else "ansi_light")


class _LeftHeading(Heading):
    """Headings flush left (Rich centres h1), so a lesson reads like a page, not a poster."""

    def __rich_console__(self, console, options):
        text = self.text.copy()
        text.justify = "left"
        yield text


class _CompactTable(TableElement):
    """Tables as key | value lines: a rule under the header, no frame, no rule per row."""

    def __rich_console__(self, console, options):
        table = Table(
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            style="markdown.table.border",
            collapse_padding=True,
        )
        if self.header is not None and self.header.row is not None:
            for column in self.header.row.cells:
                heading = column.content.copy()
                heading.stylize("markdown.table.header")
                table.add_column(heading)
        if self.body is not None:
            for row in self.body.rows:
                table.add_row(*[element.content for element in row.cells])
        yield table


class _Markdown(Markdown):
    elements = {**Markdown.elements, "heading_open": _LeftHeading, "table_open": _CompactTable}


_cache: OrderedDict[tuple[str, int, DocumentStyle], tuple[Strip, ...]] = OrderedDict()
_cache_lock = Lock()


def render_markdown(markdown: str, width: int, style: DocumentStyle) -> tuple[Strip, ...]:
    """The chunk's lines at `width` columns, rendered once and then served from the cache."""
    key = (markdown, max(1, width), style)
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    styles, code_theme = style
    console = Console(
        width=key[1],
        color_system="truecolor",
        force_terminal=True,
        legacy_windows=False,
        theme=Theme(dict(styles)),
        highlight=False,
    )
    lines = console.render_lines(
        _Markdown(markdown, code_theme=code_theme, hyperlinks=False),
        console.options.update_width(key[1]),
        pad=False,
    )
    strips = tuple(Strip(line) for line in lines)
    with _cache_lock:
        _cache[key] = strips
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return strips


def cached(markdown: str, width: int, style: DocumentStyle) -> bool:
    """True if this chunk is already rendered at this width and style (for tests/benchmarks)."""
    with _cache_lock:
        return (markdown, max(1, width), style) in _cache


def clear_cache() -> None:
    """Forget every rendered chunk (benchmarks use it to time a first open)."""
    with _cache_lock:
        _cache.clear()


_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")


def reflow(text: str) -> str:
    """Join a paragraph's hard-wrapped source lines, so the text wraps to the space it has.

    Blank lines still separate paragraphs, and a list item starts a new line.
    """
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines: list[str] = []
        for raw in block.splitlines():
            line = raw.strip()
            if lines and not _LIST_ITEM.match(raw):
                lines[-1] += " " + line
            else:
                lines.append(line)
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


class MarkdownText(Widget):
    """A chunk of Markdown painted from cached lines. Only the visible rows are drawn."""

    DEFAULT_CSS = """
    MarkdownText {
        height: auto;
        padding: 0 1;
    }
    """

    def __init__(self, markdown: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.markdown = markdown
        self._painted: tuple[int, object, tuple[Strip, ...]] | None = None  # width, style, lines

    @property
    def plain(self) -> str:
        """The text as shown at the current width (for tests and search)."""
        return "\n".join(strip.text.rstrip() for strip in self._lines(self.content_size.width))

    def _lines(self, width: int) -> tuple[Strip, ...]:
        return render_markdown(self.markdown, width, document_style(self.app))

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width))

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        painted = self._painted
        if painted is None or painted[0] != width:
            base = self.rich_style
            lines = tuple(line.crop_extend(0, width, None).apply_style(base) for line in self._lines(width))
            painted = self._painted = (width, base, lines)
        lines = painted[2]
        return lines[y] if y < len(lines) else Strip.blank(width, painted[1])

    def notify_style_update(self) -> None:
        self._painted = None  # colours or theme changed: paint the lines again
        super().notify_style_update()

    def on_resize(self) -> None:
        self._painted = None
        self.refresh(layout=True)


def card_label(title: str, text: str, soon: bool) -> Text:
    """A "Try it" card's label: the lab's name, then its prompt re-flowed from paragraphs."""
    label = Text.assemble(("▶ Try it: ", "bold"), (title, "bold"))
    if soon:
        label.append("  (coming soon)", style="italic")
    label.append("\n" + reflow(text))
    return label
