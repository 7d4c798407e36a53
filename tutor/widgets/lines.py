"""CachedLines: the line-API pattern the text widgets share.

A subclass draws all of its rows at once in `_draw(width, height)`; the strips are kept,
with the widget's own style applied (the line API does not paint a widget's background
for us), until the data, the size or the style changes.
"""

from __future__ import annotations

from textual.strip import Strip
from textual.widget import Widget


class CachedLines(Widget):
    _lines: list[Strip] | None = None

    def _draw(self, width: int, height: int) -> list[Strip]:
        raise NotImplementedError

    def invalidate(self, layout: bool = False) -> None:
        """The data changed: draw again on the next refresh."""
        self._lines = None
        self.refresh(layout=layout)

    def on_resize(self) -> None:
        self._lines = None

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines = None

    def render_line(self, y: int) -> Strip:
        if self._lines is None:
            base = self.rich_style
            self._lines = [line.apply_style(base) for line in self._draw(*self.size)]
        if y < len(self._lines):
            return self._lines[y]
        return Strip.blank(self.size.width, self.rich_style)
