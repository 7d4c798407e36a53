"""The reference shelf: the whole glossary (searchable), the FAQ, the history timeline, the
prompt cheat sheet, the responsible-use checklist and next steps.

The pages are content files (content/reference/*.md, the glossary in content/glossary.toml);
these screens only show them. Opened from Home (g) or the command palette.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Markdown, OptionList, Static
from textual.widgets.option_list import Option

from content import search_glossary

GLOSSARY_ID = "glossary"


class ReferenceScreen(Screen):
    """The shelf: a list of reference pages; Enter opens one."""

    HELP_TITLE = "Reference"
    HELP = "Every page here is also in the command palette (Ctrl+P), e.g. type 'glossary' or 'FAQ'."
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="reference.back")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Reference  [dim]↑/↓ choose · Enter open · Escape back[/]", id="reference-title")
        yield OptionList(id="reference-pages")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Reference"
        options = self.query_one("#reference-pages", OptionList)
        count = len(self.app.course.glossary)
        options.add_option(Option(f"Glossary  [dim]all {count} terms, searchable[/]", id=GLOSSARY_ID))
        for page in self.app.course.reference:
            label = page.title + (f"  [dim]{page.summary}[/]" if page.summary else "")
            options.add_option(Option(label, id=page.id))
        options.highlighted = 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.app.open_reference(event.option.id)


class GlossaryScreen(Screen):
    """Every glossary term; typing filters by term, alias or any word of the definition."""

    HELP_TITLE = "Glossary"
    HELP = (
        "Type to search. A term matches when every word you type appears in its name, "
        "an alias or its definition, so 'velocity' finds flow matching."
    )
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="glossary.back"),
        Binding("ctrl+f", "focus_search", "Search", id="glossary.search", tooltip="Jump to the search box"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="Search terms and definitions", id="glossary-search")
        yield Static(id="glossary-count")
        with VerticalScroll(id="glossary-list"):
            yield Markdown(id="glossary-entries", open_links=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Glossary"
        self.show("")
        self.query_one("#glossary-search", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.show(event.value)

    def show(self, query: str) -> None:
        entries = search_glossary(self.app.course.glossary, query)
        self.matches = [entry.id for entry in entries]
        total = len(self.app.course.glossary)
        if query.strip():
            found = f"{len(entries)} of {total} terms match '{query.strip()}'"
            count = found if entries else f"No term matches '{query.strip()}'. Try one word, e.g. 'noise'."
        else:
            count = f"All {total} terms. Type to search."
        self.query_one("#glossary-count", Static).update(count)
        text = "\n\n".join(f"**{e.term}**: {e.definition}" for e in entries)
        self.query_one("#glossary-entries", Markdown).update(text)
        self.query_one("#glossary-list", VerticalScroll).scroll_home(animate=False)

    def action_focus_search(self) -> None:
        self.query_one("#glossary-search", Input).focus()


class ReferencePageScreen(Screen):
    """One reference page as scrollable Markdown."""

    HELP_TITLE = "Reference page"
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="page.back")]

    def __init__(self, page_id: str) -> None:
        super().__init__()
        self.page_id = page_id

    def compose(self) -> ComposeResult:
        page = self.app.course.reference_page(self.page_id)
        yield Header()
        with VerticalScroll(id="reference-reader"):
            yield Markdown(page.body, open_links=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.app.course.reference_page(self.page_id).title
        self.query_one("#reference-reader").focus()
