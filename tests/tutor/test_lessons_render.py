"""Every lesson opens in the app at 80×24 and nothing needs horizontal scrolling."""

from __future__ import annotations

from textual.widgets import Markdown
from textual.widgets._markdown import MarkdownFence, MarkdownTable

from tutor.screens.lesson import LabCard, LessonScreen


async def test_every_lesson_fits_80_columns(make_app):
    app = make_app(start=("lesson", "L01"))
    async with app.run_test(size=(80, 24)) as pilot:
        seen = []
        for index, lesson in enumerate(app.course.lessons):
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, LessonScreen) and screen.lesson_id == lesson.id
            reader = screen.query_one("#reader")
            assert reader.max_scroll_x == 0, lesson.id
            assert screen.query(Markdown)
            for widget in (*screen.query(MarkdownFence), *screen.query(MarkdownTable)):
                assert widget.max_scroll_x == 0, f"{lesson.id}: a {type(widget).__name__} scrolls sideways"
            assert len(screen.query(LabCard)) == len(lesson.lab_blocks)
            seen.append(lesson.id)
            if index + 1 < len(app.course.lessons):
                await pilot.press("n")
        assert seen == [lesson.id for lesson in app.course.lessons]
