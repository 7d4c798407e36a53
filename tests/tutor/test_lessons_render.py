"""Every lesson opens in the app at 80×24, nothing needs horizontal scrolling, and no word
of the lesson is lost when its Markdown is rendered into lines."""

from __future__ import annotations

import re

from rich.cells import cell_len

from tutor.screens.lesson import LabCard, LessonScreen
from tutor.widgets.document import MarkdownText

WORD = re.compile(r"[A-Za-z]{4,}")


def source_words(markdown: str) -> set[str]:
    without_links = re.sub(r"\]\([^)]*\)", "]", markdown)
    return set(WORD.findall(without_links))


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
            texts = list(screen.query(MarkdownText))
            assert texts
            for widget in texts:
                width = widget.content_size.width
                assert 60 <= width <= 78, lesson.id
                shown = widget.plain
                assert all(cell_len(line) <= width for line in shown.splitlines()), lesson.id
                lost = source_words(widget.markdown) - set(WORD.findall(shown))
                assert not lost, f"{lesson.id}: words not shown: {sorted(lost)[:10]}"
            assert len(screen.query(LabCard)) == len(lesson.lab_blocks)
            seen.append(lesson.id)
            if index + 1 < len(app.course.lessons):
                await pilot.press("n")
        assert seen == [lesson.id for lesson in app.course.lessons]
