"""Progress figures for Home and a progress screen, computed from the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo

from content.schema import Course
from quizzes.scheduler import State, loads_state, utc
from quizzes.session import new_left_today, study_deck
from quizzes.settings import load_settings
from quizzes.store import Store

__all__ = [
    "LessonProgress",
    "Overall",
    "due_and_new_today",
    "due_count",
    "lesson_progress",
    "new_count",
    "overall",
    "study_streak",
]

CARD_STATES = ("new", "learning", "review", "relearning")


@dataclass(frozen=True)
class LessonProgress:
    """One lesson as the course map shows it.

    best_score is the best finished "Check yourself" attempt as (right, total), or None.
    """

    lesson_id: str
    opened: bool
    read: bool
    position: float
    cards_seen: int
    cards_total: int
    questions_total: int
    best_score: tuple[int, int] | None


@dataclass(frozen=True)
class Overall:
    """Whole-course figures. cards_by_state has keys new, learning, review, relearning."""

    lessons_total: int
    lessons_read: int
    cards_total: int
    cards_by_state: dict[str, int]
    due_now: int
    reviews: int
    answers_right: int
    answers_total: int
    streak_days: int
    studied_today: bool


def _best_scores(store: Store) -> dict[str, tuple[int, int]]:
    best: dict[str, tuple[int, int]] = {}
    for attempt in store.attempts("lesson"):
        if attempt.finished_at is None or attempt.lesson_id is None or not attempt.question_ids:
            continue
        score = (attempt.right, len(attempt.question_ids))
        held = best.get(attempt.lesson_id)
        if held is None or score[0] * held[1] > held[0] * score[1]:
            best[attempt.lesson_id] = score
    return best


def lesson_progress(course: Course, store: Store) -> dict[str, LessonProgress]:
    """Lesson id -> LessonProgress, in course order."""
    records = store.lessons()
    seen = set(store.card_states())
    best = _best_scores(store)
    result = {}
    for lesson in course.lessons:
        record = records.get(lesson.id)
        result[lesson.id] = LessonProgress(
            lesson_id=lesson.id,
            opened=record is not None and record.opened_at is not None,
            read=record is not None and record.read,
            position=record.position if record is not None else 0.0,
            cards_seen=sum(card.id in seen for card in lesson.cards),
            cards_total=len(lesson.cards),
            questions_total=len(lesson.questions),
            best_score=best.get(lesson.id),
        )
    return result


def due_count(course: Course, store: Store, now: datetime) -> int:
    """How many of the course's cards that have been studied are due at `now`."""
    moment = utc(now)
    states = store.card_states()
    return sum(1 for card in course.cards if card.id in states and states[card.id][1] <= moment)


def due_and_new_today(course: Course, store: Store, now: datetime,
                      tz: tzinfo | None = None) -> tuple[int, int]:
    """What Review would show now: (cards due, new cards the daily limit still allows),
    counting the learner's own cards as well as the course's."""
    moment = utc(now)
    states = store.card_states()
    deck = study_deck(course, store)
    due = sum(1 for card in deck if card.id in states and states[card.id][1] <= moment)
    unseen = sum(1 for card in deck if card.id not in states)
    allowed = new_left_today(store, moment, load_settings(store).new_per_day, tz)
    return due, min(unseen, allowed)


def new_count(course: Course, store: Store) -> int:
    """How many of the course's cards have never been studied."""
    states = store.card_states()
    return sum(1 for card in course.cards if card.id not in states)


def study_streak(days: set[date], today: date) -> int:
    """Consecutive study days ending today, or ending yesterday if not yet studied today."""
    day = today if today in days else today - timedelta(days=1)
    streak = 0
    while day in days:
        streak += 1
        day -= timedelta(days=1)
    return streak


def overall(
    course: Course, store: Store, now: datetime | None = None, tz: tzinfo | None = None
) -> Overall:
    """Figures for a progress screen. Study days are counted in `tz` (default: the
    machine's local zone), so a streak follows the learner's calendar."""
    moment = utc(now) if now is not None else datetime.now(timezone.utc)
    zone = tz if tz is not None else datetime.now().astimezone().tzinfo
    states = store.card_states()
    by_state = {name: 0 for name in CARD_STATES}
    for card in course.cards:
        stored = states.get(card.id)
        if stored is None:
            by_state["new"] += 1
            continue
        try:
            by_state[State(loads_state(stored[0]).state).name.lower()] += 1
        except ValueError:
            by_state["new"] += 1
    answers = store.answers()
    days = {t.astimezone(zone).date() for t in store.activity_times()}
    today = moment.astimezone(zone).date()
    records = store.lessons()
    return Overall(
        lessons_total=len(course.lessons),
        lessons_read=sum(1 for lesson in course.lessons
                         if lesson.id in records and records[lesson.id].read),
        cards_total=len(course.cards),
        cards_by_state=by_state,
        due_now=due_count(course, store, moment),
        reviews=len(store.review_log()),
        answers_right=sum(a.correct for a in answers),
        answers_total=len(answers),
        streak_days=study_streak(days, today),
        studied_today=today in days,
    )
