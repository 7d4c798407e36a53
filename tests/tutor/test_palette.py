"""The command palette (Ctrl+P) finds lessons, labs, glossary terms (also by a word of
their definition), quizzes, pages and themes, and no longer offers Textual's defaults."""

from __future__ import annotations

import asyncio

from textual.command import CommandList, CommandPalette

from tutor.palette import PAGES, Entry, entries, search_entries, word_match
from tutor.screens.help import MarkdownPanel
from tutor.widgets.document import MarkdownText


async def palette_hits(pilot, app, query: str, expect=None) -> list[tuple[str, str]]:
    """Open the palette, type `query`, and return (title, help) of every hit once the
    list has settled (or contains `expect`)."""
    if not isinstance(app.screen, CommandPalette):
        await pilot.press("ctrl+p")
    await pilot.press(*query)
    found: list[tuple[str, str]] = []
    for _ in range(100):
        await asyncio.sleep(0.05)
        found = _listed(app)
        if found and (expect is None or any(expect in title for title, _ in found)):
            break
    await asyncio.sleep(0.3)  # let the search finish
    return _listed(app)


def _listed(app) -> list[tuple[str, str]]:
    commands = app.screen.query_one(CommandList)
    options = [commands.get_option_at_index(i) for i in range(commands.option_count)]
    return [(str(option.hit.text), str(option.hit.help)) for option in options if hasattr(option, "hit")]


async def test_gan_finds_the_gan_lab_and_opens_it(make_app):
    from tutor.labs.gan2d import GanLab

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        hits = await palette_hits(pilot, app, "gan", expect="Lab:")
        titles = [title for title, _ in hits]
        lab_title = f"Lab: {app.course.labs['gan-2d']}"
        assert lab_title in titles
        assert any(title.startswith("Lesson L04") for title in titles)
        commands = app.screen.query_one(CommandList)
        commands.highlighted = titles.index(lab_title)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, GanLab)
        await pilot.press("escape")
        await pilot.pause()


async def test_a_word_of_a_definition_finds_the_term_and_opens_it(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        entry = app.course.term("hallucination")
        assert "invented" in entry.definition and "v" not in entry.term
        hits = await palette_hits(pilot, app, "invented", expect="hallucination")
        found = [(title, help_) for title, help_ in hits if title == "Term: hallucination"]
        assert found and "invented" in found[0][1]  # the help line shows where it matched
        commands = app.screen.query_one(CommandList)
        commands.highlighted = [title for title, _ in hits].index("Term: hallucination")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MarkdownPanel)
        text = app.screen.query_one(MarkdownText).plain
        assert "hallucination" in text and "invented" in text


async def test_textual_defaults_are_gone(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        titles = [entry.title for entry in entries(app)]
        for removed in ("Screenshot", "Keys", "Quit the application as soon as possible"):
            assert removed not in titles
        hits = await palette_hits(pilot, app, "screenshot")
        assert not any("Screenshot" in title for title, _ in hits)
        await pilot.press(*["backspace"] * len("screenshot"))
        hits = await palette_hits(pilot, app, "quit", expect="Quit")
        assert [title for title, _ in hits if title.startswith("Quit")] == ["Quit genai-tutor"]


async def test_every_kind_of_entry_is_offered(make_app):
    from tutor import labs

    app = make_app()
    async with app.run_test(size=(80, 24)):
        titles = [entry.title for entry in entries(app)]
        course = app.course
        for lesson in course.lessons:
            assert any(t.startswith(f"Lesson {lesson.id}:") for t in titles)
        for lab_id, title in course.labs.items():
            assert (f"Lab: {title}" in titles) == labs.available(lab_id)
        assert sum(t.startswith("Term: ") for t in titles) == len(course.glossary)
        with_quiz = sum(1 for lesson in course.lessons if lesson.questions)
        assert sum(t.startswith("Quiz ") for t in titles) == with_quiz
        assert {"Review flashcards", "Final exam", "Progress"} <= set(titles)
        assert f"Theme: {app.theme}" in titles
        assert all(entry.help for entry in entries(app))


def test_one_line_adds_a_page(monkeypatch):
    opened = []
    page = Entry("Statistics", "Reviews per day", lambda app: opened.append(app))
    monkeypatch.setattr("tutor.palette.PAGES", [*PAGES, page])

    class FakeApp:  # only what the page sources read
        available_themes = {}

    from tutor import palette

    titles = [entry.title for entry in palette.SOURCES[0](FakeApp())]
    assert titles[-1] == "Statistics"
    found = search_entries("stat", [page], lambda title: 1.0 if "Stat" in title else 0.0)
    assert found and found[0][1] is page


def test_word_match_needs_every_word():
    assert word_match("fool discrim", "it is trained to fool the discriminator")
    assert not word_match("fool banana", "it is trained to fool the discriminator")
    assert not word_match("to", "it is trained to fool")  # words under 3 letters are ignored
