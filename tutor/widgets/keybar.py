"""A one-line footer of the keys a screen shows, drawn as one widget.

Textual's Footer builds a widget per key (each with styled sub-parts) and rebuilds them
whenever the bindings change, which happens several times while a screen opens; on the
lesson reader that was most of the time `n` took. This bar keeps the look (key, then
what it does) but is a single line of text, redrawn only when the visible keys change.
A key can be clicked, like in Textual's footer.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

__all__ = ["KeyBar"]


class KeyBar(Static):
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
        background: $footer-background;
        color: $footer-foreground;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self) -> None:
        super().__init__("")
        self._shown: tuple[tuple[str, str, str], ...] | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def _bindings_changed(self, _screen: object) -> None:
        if not self.screen.is_current:
            return
        seen: set[str] = set()
        items = []
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if not binding.show or not binding.description or binding.action in seen:
                continue
            seen.add(binding.action)
            display = binding.key_display or self.app.get_key_display(binding)
            items.append((display, binding.description, key))
        shown = tuple(items)
        if shown == self._shown:
            return
        self._shown = shown
        parts = []
        for display, description, key in shown:
            part = Content.assemble(
                (f" {display} ", "bold $footer-key-foreground"),
                (f"{description} ", "$footer-description-foreground"),
            )
            parts.append(part.stylize(f"@click=app.simulate_key('{key}')"))
        self.update(Content("").join(parts))
