"""The command palette (Ctrl+P): find any lesson, lab, glossary term, quiz, page or theme.

Everything the palette offers is an `Entry` (title, one-line help, what to run). Entries
come from `SOURCES`, a list of functions app -> entries: the fixed pages of the tutor
(`PAGES`), the course (lessons, their labs and quizzes, the glossary) and the themes.
Adding a page is one line in `PAGES`, e.g.

    Entry("Statistics", "Reviews per day and retention", lambda app: app.open_stats()),

A query matches an entry's title fuzzily (Textual's matcher, as elsewhere in the
palette); failing that, every word of the query must start a word of the entry's
`words` (a glossary definition, a lab's lesson), so "discriminator" finds the GAN term.

Textual's default commands ("Keys", "Screenshot", which writes an SVG into the current
folder, and "Quit the application as soon as possible") are not offered: the app sets
`COMMANDS = {TutorCommands}`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial

from textual.app import App
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from content.safe import plain, visible

__all__ = ["PAGES", "SOURCES", "Entry", "TutorCommands", "entries", "search_entries"]


@dataclass(frozen=True)
class Entry:
    """One thing the palette can open. `words` is extra text a query may match by word."""

    title: str
    help: str
    run: Callable[[App], object]
    words: str = ""
    discover: bool = False  # listed before anything is typed

    def __post_init__(self) -> None:
        # Titles and help come from course files: control characters are shown, never sent.
        object.__setattr__(self, "title", visible(self.title))
        object.__setattr__(self, "help", visible(self.help))


PAGES: list[Entry] = [
    Entry(
        "Review flashcards", "Study the cards that are due now", lambda app: app.open_review(), discover=True
    ),
    Entry(
        "Final exam", "A balanced exam drawn from every lesson", lambda app: app.open_exam(), discover=True
    ),
    Entry(
        "Progress", "What you have read, reviewed and scored", lambda app: app.open_progress(), discover=True
    ),
    Entry(
        "Stats",
        "Due forecast, retention, heatmap, weakest concepts",
        lambda app: app.open_stats(),
        discover=True,
    ),
    Entry(
        "Reference",
        "Glossary, FAQ, timeline, cheat sheets, next steps",
        lambda app: app.open_reference(None),
        discover=True,
    ),
    Entry(
        "Glossary",
        "Every term, searchable by any word of its definition",
        lambda app: app.open_reference("glossary"),
    ),
    Entry("Help", "Every key you can press on this screen", lambda app: app.action_help(), discover=True),
    Entry("Quit genai-tutor", "Stop here; your progress is already saved", lambda app: app.exit()),
]


def course_entries(app: App) -> Iterator[Entry]:
    """Lessons, the labs they link to, their quizzes, and every glossary term."""
    from tutor import labs

    course = app.course
    for lesson in course.lessons:
        yield Entry(
            f"Lesson {lesson.id}: {lesson.title}",
            f"Read the lesson ({lesson.minutes} min)",
            partial(_open_lesson, lesson_id=lesson.id),
            discover=True,
        )
    seen: set[str] = set()
    for lesson in course.lessons:
        for lab_id in lesson.labs:
            if lab_id in seen or not labs.available(lab_id):
                continue
            seen.add(lab_id)
            title = course.labs.get(lab_id, lab_id)
            yield Entry(
                f"Lab: {title}",
                f"Try it from {lesson.id} · {lesson.title}",
                partial(_open_lab, lab_id=lab_id),
                words=f"{lab_id} {lesson.title}",
            )
    for lesson in course.lessons:
        if lesson.questions:
            count = len(lesson.questions)
            yield Entry(
                f"Quiz {lesson.id}: {lesson.title}",
                f"Check yourself: {count} questions",
                partial(_open_quiz, lesson_id=lesson.id),
            )
    for page in course.reference:
        yield Entry(
            f"Reference: {page.title}",
            page.summary or "A reference page",
            partial(_open_reference, page_id=page.id),
            words=page.body[:2000],
        )
    for entry in course.glossary:
        also = f" (also: {', '.join(entry.aliases)})" if entry.aliases else ""
        yield Entry(
            f"Term: {entry.term}",
            _excerpt(entry.definition),
            partial(_show_term, term_id=entry.id),
            words=entry.definition + also,
        )


def theme_entries(app: App) -> Iterator[Entry]:
    for name, theme in sorted(app.available_themes.items()):
        kind = "dark" if theme.dark else "light"
        yield Entry(f"Theme: {name}", f"Switch to the {kind} {name} colours", partial(_set_theme, name=name))


SOURCES: list[Callable[[App], Iterable[Entry]]] = [lambda app: PAGES, course_entries, theme_entries]


def entries(app: App) -> list[Entry]:
    """Everything the palette offers in this app, in order."""
    return [entry for source in SOURCES for entry in source(app)]


def _open_lesson(app: App, lesson_id: str) -> None:
    app.open_lesson(lesson_id)


def _open_reference(app: App, page_id: str) -> None:
    app.open_reference(page_id)


def _open_lab(app: App, lab_id: str) -> None:
    app.open_lab(lab_id)


def _open_quiz(app: App, lesson_id: str) -> None:
    app.open_quiz(lesson_id)


def _show_term(app: App, term_id: str) -> None:
    app.show_term(term_id)


def _set_theme(app: App, name: str) -> None:
    app.theme = name


def _excerpt(text: str, limit: int = 72) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


_WORD = re.compile(r"[\w'-]+")


def word_match(query: str, words: str) -> bool:
    """Every word of the query (3+ letters) starts some word of `words`, ignoring case."""
    wanted = [w for w in _WORD.findall(query.lower()) if len(w) >= 3]
    have = _WORD.findall(words.lower())
    return bool(wanted) and all(any(h.startswith(w) for h in have) for w in wanted)


WORD_SCORE = 0.25  # below a fuzzy title match, so a title that matches is listed first


def search_entries(
    query: str, items: Iterable[Entry], title_score: Callable[[str], float]
) -> list[tuple[float, Entry, bool]]:
    """(score, entry, found by its words) for each entry the query finds, best first."""
    found = []
    for entry in items:
        score = title_score(entry.title)
        if score > 0:
            found.append((score, entry, False))
        elif entry.words and word_match(query, entry.words):
            found.append((WORD_SCORE, entry, True))
    found.sort(key=lambda pair: -pair[0])
    return found


class TutorCommands(Provider):
    """Lessons, labs, terms, quizzes, pages and themes for Textual's command palette."""

    async def discover(self) -> Hits:
        for entry in entries(self.app):
            if entry.discover:
                yield DiscoveryHit(Content(entry.title), partial(entry.run, self.app), help=plain(entry.help))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for score, entry, by_words in search_entries(query, entries(self.app), matcher.match):
            display = Content(entry.title) if by_words else matcher.highlight(entry.title)
            help_text = plain(f"…{_context(query, entry.words)}…" if by_words else entry.help)
            yield Hit(score, display, partial(entry.run, self.app), text=entry.title, help=help_text)


def _context(query: str, words: str, span: int = 60) -> str:
    """The part of `words` around the first query word, for the hit's help line."""
    first = next((w for w in _WORD.findall(query.lower()) if len(w) >= 3), "")
    at = max(0, words.lower().find(first))
    start = words.rfind(" ", 0, max(0, at - span // 3)) + 1 if at > span // 3 else 0
    end = words.find(" ", start + span)
    return " ".join(words[start : end if end > 0 else len(words)].split())
