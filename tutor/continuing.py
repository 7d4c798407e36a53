"""What Home offers first: "Continue" (the lab left open, or the last lesson at its saved
position) and one "next step" (due cards, an unfinished quiz, the next unread lesson, the
final exam). Pure functions of the course and the store, so they are easy to test; no
Textual, numpy or engine here (Home imports this at start-up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from content.schema import Course
from quizzes import stats
from quizzes.store import Store

__all__ = ["Suggestion", "continue_entry", "next_step"]


@dataclass(frozen=True)
class Suggestion:
    """Something Home offers. kind: lesson, lab, review, quiz or exam; target: an id."""

    kind: str
    target: str
    label: str
    detail: str = ""


def continue_entry(course: Course, store: Store, open_lab: str | None) -> Suggestion | None:
    """The lab that was left open, else the lesson opened last, else None."""
    if open_lab is not None and open_lab in course.labs:
        home = next((lesson for lesson in course.lessons if open_lab in lesson.labs), None)
        where = f" · from {home.id}" if home is not None else ""
        return Suggestion(
            "lab", open_lab, f"Continue: {course.labs[open_lab]}", f"the lab you left open{where}"
        )
    record = store.last_opened_lesson()
    if record is None or record.lesson_id not in {lesson.id for lesson in course.lessons}:
        return None
    lesson = course.lesson(record.lesson_id)
    detail = "where you stopped reading" if record.position > 0 else "from the top"
    return Suggestion("lesson", lesson.id, f"Continue: {lesson.id} · {lesson.title}", detail)


def _unfinished_quiz(course: Course, store: Store) -> Suggestion | None:
    """The newest lesson quiz left part-way, unless the lesson's quiz was finished since."""
    attempts = store.attempts("lesson")
    finished_after: set[str] = set()
    for attempt in reversed(attempts):
        if attempt.lesson_id is None:
            continue
        if attempt.finished_at is not None:
            finished_after.add(attempt.lesson_id)
        elif (
            attempt.answered
            and attempt.lesson_id not in finished_after
            and attempt.lesson_id in {lesson.id for lesson in course.lessons}
        ):
            total = len(attempt.question_ids)
            return Suggestion(
                "quiz",
                attempt.lesson_id,
                f"Next: finish the {attempt.lesson_id} quiz",
                f"you stopped after {attempt.answered} of {total}",
            )
    return None


def next_step(course: Course, store: Store, now: datetime, skip_lesson: str | None = None) -> Suggestion:
    """The one most useful thing to do now (never None: at worst, the final exam)."""
    due = stats.due_count(course, store, now)
    if due:
        return Suggestion(
            "review",
            "",
            f"Next: review {due} card{'s' if due != 1 else ''} due now",
            "flashcards, a few minutes",
        )
    quiz = _unfinished_quiz(course, store)
    if quiz is not None:
        return quiz
    records = store.lessons()
    for lesson in course.lessons:
        record = records.get(lesson.id)
        if (record is None or not record.read) and lesson.id != skip_lesson:
            return Suggestion(
                "lesson", lesson.id, f"Next: read {lesson.id} · {lesson.title}", f"{lesson.minutes} min"
            )
    return Suggestion("exam", "", "Next: take the final exam", "questions from every lesson")
