"""The reference shelf: reachable from Home and the palette, the glossary search, and every
page readable at 80×24 without sideways scrolling."""

from __future__ import annotations

from textual.widgets import Input, Markdown, OptionList
from textual.widgets._markdown import MarkdownFence, MarkdownTable

from tutor.screens.reference import GlossaryScreen, ReferencePageScreen, ReferenceScreen

SIZE = (80, 24)


def test_snapshot_glossary_search(snap_compare, make_app):
    assert snap_compare(make_app(start=("reference", "glossary")), terminal_size=SIZE, press=[*"velocity"])


def test_snapshot_faq(snap_compare, make_app):
    assert snap_compare(make_app(start=("reference", "faq")), terminal_size=SIZE)


async def test_home_key_opens_the_shelf_and_every_page(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, ReferenceScreen)
        options = app.screen.query_one("#reference-pages", OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert ids == ["glossary", *(page.id for page in app.course.reference)]
        assert {"faq", "timeline", "prompting", "responsible-use", "next-steps"} <= set(ids)
        for index, page_id in enumerate(ids):
            options.highlighted = index
            await pilot.press("enter")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, GlossaryScreen if page_id == "glossary" else ReferencePageScreen), (
                page_id
            )
            for widget in (
                *screen.query(Markdown),
                *screen.query(MarkdownFence),
                *screen.query(MarkdownTable),
            ):
                assert widget.max_scroll_x == 0, f"{page_id}: {type(widget).__name__} scrolls sideways"
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, ReferenceScreen)


async def test_glossary_search_finds_a_term_by_a_word_of_its_definition(make_app):
    app = make_app(start=("reference", "glossary"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, GlossaryScreen)
        assert len(screen.matches) == len(app.course.glossary)
        await pilot.press(*"velocity")
        await pilot.pause()
        assert screen.query_one(Input).value == "velocity"
        # "velocity" is in flow matching's definition, not in its name
        assert "velocity" not in app.course.term("flow-matching").term and "flow-matching" in screen.matches
        assert all(
            "velocity" in app.course.term(t).definition.casefold()
            or any("velocity" in a.casefold() for a in app.course.term(t).aliases)
            for t in screen.matches
        )
        await pilot.press(*" zzzz")
        await pilot.pause()
        assert screen.matches == []
        assert "No term matches" in str(screen.query_one("#glossary-count").render())


async def test_palette_lists_the_reference_pages(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        from tutor.palette import entries

        titles = {entry.title for entry in entries(app)}
        assert {"Reference", "Glossary"} <= titles
        assert {f"Reference: {page.title}" for page in app.course.reference} <= titles
        entry = next(e for e in entries(app) if e.title == "Reference: Next steps")
        entry.run(app)
        await pilot.pause()
        assert isinstance(app.screen, ReferencePageScreen) and app.screen.page_id == "next-steps"
