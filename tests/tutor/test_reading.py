"""Reading features of issue 20: Continue after a restart, the next step on Home, F1 that
lists every key of a screen, panels that say how to close them, and no import cycles
between the app and its screens."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest
from textual.containers import VerticalScroll
from textual.widgets import OptionList

from tutor.screens.help import HelpScreen, key_label
from tutor.screens.lesson import LessonScreen
from tutor.widgets.document import MarkdownText, reflow

ROOT = Path(__file__).resolve().parents[2]


def home_options(app) -> list[str]:
    options = app.screen.query_one("#lessons", OptionList)
    return [options.get_option_at_index(i).id for i in range(options.option_count)]


def ticking_clock():
    """A clock that moves one second on every reading, as real time would between opens."""
    from datetime import timedelta
    from itertools import count

    from tests.conftest import FIXED_NOW

    ticks = count()
    return lambda: FIXED_NOW + timedelta(seconds=next(ticks))


async def test_continue_reopens_the_last_lesson_at_its_position_after_a_restart(make_app):
    app = make_app(now=ticking_clock())
    async with app.run_test(size=(80, 24)) as pilot:
        assert "continue" not in home_options(app)  # nothing to continue yet
        app.open_lesson("L03")
        await pilot.pause()
        reader = app.screen.query_one("#reader", VerticalScroll)
        reader.scroll_to(y=37, animate=False, immediate=True)
        await pilot.pause()
        assert reader.scroll_y == 37
        await pilot.press("escape")
        app.open_lesson("L05")  # opened later, but left at once: it is the one to continue
        await pilot.pause()
        app.screen.query_one("#reader", VerticalScroll).scroll_to(y=12, animate=False, immediate=True)
        await pilot.pause()
    again = make_app(now=ticking_clock())
    async with again.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert home_options(again)[0] == "continue"
        assert again.screen.query_one("#lessons", OptionList).highlighted == 0
        await pilot.press("enter")
        await pilot.pause()
        screen = again.screen
        assert isinstance(screen, LessonScreen) and screen.lesson_id == "L05"
        await pilot.pause()
        assert screen.query_one("#reader", VerticalScroll).scroll_y == 12


async def test_continue_offers_the_lab_left_open(make_app):
    from tutor import labs

    lab_id = "temperature"
    assert labs.available(lab_id)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_lesson("L03")
        await pilot.pause()
        app.open_lab(lab_id)
        await pilot.pause()
        await app.screen.wait_idle()  # quit once the lab has built its model
    again = make_app()
    async with again.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        home = again.screen
        assert home._suggestions["continue"].kind == "lab"
        assert home._suggestions["continue"].target == lab_id
        await pilot.press("escape")  # nothing happens on Home
        await pilot.press("enter")
        await pilot.pause()
        assert again.open_lab_left_open() == lab_id
        assert type(again.screen).__module__ == labs.LABS[lab_id].split(":")[0]
        await again.screen.wait_idle()
        await pilot.press("escape")  # leaving the lab forgets it
        await pilot.pause()
        assert again.open_lab_left_open() is None
        assert again.store.setting(again.OPEN_LAB) == ""


async def test_next_step_moves_from_due_cards_to_unread_lessons(make_app):
    from datetime import timedelta

    from tests.conftest import FIXED_NOW

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        step = app.screen._suggestions["next-step"]
        assert (step.kind, step.target) == ("lesson", "L01")
        app.store.mark_read("L01", FIXED_NOW)
        app.screen.refresh_progress()
        assert app.screen._suggestions["next-step"].target == "L02"
        await pilot.press("r", "space", "1", "escape")  # "Again": due again within minutes
        await pilot.pause()
    later = make_app(now=lambda: FIXED_NOW + timedelta(days=1))
    async with later.run_test(size=(80, 24)) as pilot:
        step = later.screen._suggestions["next-step"]
        assert step.kind == "review" and "1 card due" in step.label
        options = later.screen.query_one("#lessons", OptionList)
        options.highlighted = home_options(later).index("next-step")
        await pilot.press("enter")
        await pilot.pause()
        assert type(later.screen).__name__ == "ReviewScreen"


async def test_home_rows_fit_80_columns_with_the_quiz_score(make_app):
    from rich.console import Console

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        longest = max(app.course.lessons, key=lambda lesson: len(lesson.title))
        attempt = app.store.start_attempt("lesson", [q.id for q in longest.questions], lesson_id=longest.id)
        for question in longest.questions:
            app.store.record_answer(attempt, question.id, "x", True, finish=question is longest.questions[-1])
        app.screen.refresh_progress()
        await pilot.pause()
        options = app.screen.query_one("#lessons", OptionList)
        width = options.scrollable_content_region.width
        console = Console(width=width, record=True, file=io.StringIO())
        console.print(options.get_option(longest.id).prompt)
        row = console.export_text().rstrip("\n")
    assert "\n" not in row and len(row) <= width
    total = len(longest.questions)
    assert row.endswith(f"quiz {total}/{total}")
    assert "…" in row or longest.title in row


STUDY_SCREENS = [None, ("lesson", "L02"), ("review", ""), ("quiz", "L01")]


@pytest.mark.parametrize("start", STUDY_SCREENS)
async def test_f1_lists_every_active_binding(make_app, start):
    app = make_app(start=start)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        before = app.screen
        active = before.active_bindings
        assert active
        await pilot.press("f1")
        await pilot.pause()
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        listed = {label for section in help_screen.sections for row in section.rows for label in row.keys}
        text = help_screen.query_one(MarkdownText).plain
        for key in active:
            assert key_label(key) in listed, key
            assert key_label(key) in text, key
        own = [b for b in type(before).BINDINGS if getattr(b, "tooltip", "")]
        for binding in own:
            assert binding.tooltip in text, binding.tooltip
        await pilot.press("escape")
        assert app.screen is before


@pytest.mark.parametrize("opener", ["f1", "g"])
async def test_panels_say_how_to_close_them_without_scrolling(make_app, opener):
    app = make_app(start=("lesson", "L04"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(opener)
        await pilot.pause()
        footer = app.screen.query_one("#panel-footer")
        assert "Esc" in str(footer.render()) and "closes" in str(footer.render())
        assert footer.region.height == 1 and footer.region.bottom <= 24
        body = app.screen.query_one("#panel-body")
        assert footer.region.y >= body.region.bottom  # below the scrolled text, always visible
        await pilot.press(opener)  # its own key closes it too
        assert isinstance(app.screen, LessonScreen)


async def test_code_viewer_scrolls_sideways_instead_of_cutting(make_app):
    from tutor.screens.help import CodePanel

    long_line = "x = " + " + ".join(f"value_{i}" for i in range(40))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(CodePanel("Code", [("example", long_line + "\n")]))
        await pilot.pause()
        body = app.screen.query_one("#panel-body")
        assert body.max_scroll_x > 0
        await pilot.press("end")
        body.scroll_to(x=body.max_scroll_x, animate=False, immediate=True)
        await pilot.pause()
        assert body.scroll_x == body.max_scroll_x
        assert "closes" in str(app.screen.query_one("#panel-footer").render())


def test_try_it_cards_are_reflowed_from_paragraphs():
    text = "Start with the preset\nand watch the map.\n\nThen compare:\n- the losses\n- the modes"
    assert reflow(text) == (
        "Start with the preset and watch the map.\n\nThen compare:\n- the losses\n- the modes"
    )


@pytest.mark.parametrize(
    "module",
    [
        "tutor/screens/help.py",
        "tutor/screens/lesson.py",
        "tutor/screens/home.py",
        "tutor/palette.py",
        "tutor/continuing.py",
    ],
)
def test_screens_never_import_the_app(module):
    tree = ast.parse((ROOT / module).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert "tutor.app" not in imported


async def test_next_step_offers_an_unfinished_quiz(make_app):
    from tutor.continuing import next_step

    app = make_app()
    async with app.run_test(size=(80, 24)):
        lesson = app.course.lesson("L03")
        ids = [q.id for q in lesson.questions]
        attempt = app.store.start_attempt("lesson", ids, lesson_id="L03")
        app.store.record_answer(attempt, ids[0], "x", False)
        app.store.record_answer(attempt, ids[1], "x", True)
        step = next_step(app.course, app.store, app.now())
        assert (step.kind, step.target) == ("quiz", "L03") and f"2 of {len(ids)}" in step.detail
        done = app.store.start_attempt("lesson", ids, lesson_id="L03")
        for question in lesson.questions:
            app.store.record_answer(done, question.id, "x", True, finish=question is lesson.questions[-1])
        assert next_step(app.course, app.store, app.now()).kind == "lesson"


async def test_home_warms_the_lessons_it_suggests_at_the_reader_width(make_app):
    from tutor.screens.lesson import lesson_parts
    from tutor.widgets.document import cached, clear_cache, document_style

    clear_cache()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(1.0)
        await app.workers.wait_for_complete()
        first = next(part for part in lesson_parts(app.course.lesson("L01").body) if isinstance(part, str))
        assert cached(first, 76, document_style(app))
        app.open_lesson("L01")
        await pilot.pause()
        text = app.screen.query(MarkdownText).first()
        assert text.content_size.width == 76  # the width Home rendered at


async def test_key_bar_lists_the_shown_keys_and_a_click_presses_one(make_app):
    from tutor.widgets.keybar import KeyBar

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        bar = app.screen.query_one(KeyBar)
        text = str(bar.render())
        shown = [b for b in app.screen.active_bindings.values() if b.binding.show and b.binding.description]
        for active in shown:
            assert active.binding.description in text
        assert "Commands" not in text  # Ctrl+P is bound with show=False
        await pilot.click(KeyBar, offset=(text.index("Review"), 0))
        await pilot.pause()
        assert type(app.screen).__name__ == "ReviewScreen"
