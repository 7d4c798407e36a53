"""Study sessions the screens drive: flashcard review and quizzes. No UI here.

Every grade and every answer is saved (one transaction) before the method returns, so the
UI may confirm it on screen straight away.

Review flow (Anki's):  current -> reveal() -> grade(1..4) -> next current ... ; undo().
Quiz flow:             current -> answer(response) -> (show result) -> advance() ... ;
                       when finished: score, missed(), retry_missed().
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone, tzinfo

from content.schema import Card, Course, Question
from quizzes.grading import Result, choice_order, grade, shuffled_order
from quizzes.scheduler import (
    RATINGS,
    CardState,
    StudyScheduler,
    dumps_state,
    format_interval,
    loads_state,
    utc,
)
from quizzes.store import AttemptRecord, Store, UndoRefused

__all__ = [
    "MY_CARDS",
    "QuizSession",
    "study_deck",
    "ReviewSession",
    "ReviewSummary",
    "Score",
    "build_exam",
    "day_bounds",
    "new_left_today",
]

# A card graded into a step due within this window comes back later in the same session
# (Anki's "learn ahead limit"), so Again and the short learning steps are practised now.
LEARN_AHEAD = timedelta(minutes=20)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


MY_CARDS = "My cards"


def study_deck(course: Course, store: Store) -> list[Card]:
    """Every flashcard to study: the course's, then the learner's own ("My cards")."""
    own = [Card(c.id, MY_CARDS, c.front, c.back, c.tags) for c in store.own_cards()]
    return [*course.cards, *own]


def day_bounds(now: datetime, tz: tzinfo | None = None) -> tuple[datetime, datetime]:
    """The learner's calendar day holding `now` (midnight to midnight in `tz`, default the
    machine's zone), as two UTC instants. The daily new-card limit counts in this day."""
    zone = tz if tz is not None else datetime.now().astimezone().tzinfo
    day = utc(now).astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return utc(start), utc(end)


def new_left_today(store: Store, now: datetime, per_day: int, tz: tzinfo | None = None) -> int:
    """How many more never-seen cards may be introduced today under a limit of `per_day`
    a day, counted across every session of that day."""
    start, end = day_bounds(now, tz)
    return max(0, per_day - store.new_cards_introduced(start, end))


@dataclass(frozen=True)
class ReviewSummary:
    """Where a review session stands: grades given this session, per rating (1..4)."""

    reviewed: int
    by_rating: dict[int, int]
    remaining: int
    next_due: datetime | None


@dataclass
class _Step:
    card: Card
    rating: int
    log_id: int
    queue_before: list[Card] = field(default_factory=list)


class ReviewSession:
    """A queue of flashcards to review now: every card due (due <= now, earliest first),
    then never-seen cards in course order, as many as the daily limit still allows:
    `new_limit` new cards per calendar day (in `tz`), however many sessions that day has.

    `now_fn` returns the current UTC time (tests pass a fake clock).
    """

    def __init__(
        self,
        course_cards: Iterable[Card],
        store: Store,
        scheduler: StudyScheduler,
        now_fn: Callable[[], datetime] | None = None,
        new_limit: int = 20,
        tz: tzinfo | None = None,
    ) -> None:
        self._store = store
        self._scheduler = scheduler
        self._now_fn = now_fn or _utc_now
        unique: dict[str, Card] = {}
        for card in course_cards:
            unique.setdefault(card.id, card)
        self._cards = list(unique.values())
        now = self._now()
        stored = store.card_states()
        due = [
            (stored[c.id][1], position, c)
            for position, c in enumerate(self._cards)
            if c.id in stored and stored[c.id][1] <= now
        ]
        self._new_limit, self._tz = max(0, new_limit), tz
        allowed = new_left_today(store, now, self._new_limit, tz)
        fresh = [c for c in self._cards if c.id not in stored][:allowed]
        self._queue: list[Card] = [c for _, _, c in sorted(due, key=lambda d: d[:2])] + fresh
        self._revealed = False
        self._history: list[_Step] = []

    def _now(self) -> datetime:
        return utc(self._now_fn())

    def _state(self, card: Card, now: datetime) -> CardState:
        text = self._store.card_state(card.id)
        if text is None:
            return self._scheduler.new_card_state(now)
        try:
            return loads_state(text)
        except ValueError:
            return self._scheduler.new_card_state(now)

    @property
    def current(self) -> Card | None:
        """The card to show, or None when the session is over."""
        return self._queue[0] if self._queue else None

    @property
    def revealed(self) -> bool:
        """Whether the current card's back is showing."""
        return self._revealed

    @property
    def finished(self) -> bool:
        return not self._queue

    @property
    def remaining(self) -> int:
        """Cards still to go, the current one included."""
        return len(self._queue)

    @property
    def can_undo(self) -> bool:
        return bool(self._history)

    def new_left(self) -> int:
        """New cards the daily limit still allows today (those queued here included)."""
        return new_left_today(self._store, self._now(), self._new_limit, self._tz)

    def is_new(self, card: Card | None = None) -> bool:
        """Whether the card (default: the current one) has never been graded."""
        card = card or self.current
        return card is not None and self._store.card_state(card.id) is None

    def reveal(self) -> None:
        """Show the back of the current card."""
        if self.current is None:
            raise RuntimeError("the review session is over")
        self._revealed = True

    def previews(self) -> dict[int, str]:
        """For each rating 1..4, the interval it would give the current card ("10m", "3d")."""
        if self.current is None:
            return {}
        now = self._now()
        intervals = self._scheduler.preview(self._state(self.current, now), now)
        return {rating: format_interval(interval) for rating, interval in intervals.items()}

    def grade(self, rating: int) -> None:
        """Grade the current (revealed) card 1 Again, 2 Hard, 3 Good or 4 Easy: saves it,
        then moves on. A card now due within 20 minutes returns at the end of the queue."""
        card = self.current
        if card is None:
            raise RuntimeError("the review session is over")
        if not self._revealed:
            raise RuntimeError("reveal the answer before grading")
        if isinstance(rating, bool) or rating not in RATINGS:
            raise ValueError(f"rating must be 1, 2, 3 or 4, not {rating!r}")
        now = self._now()
        state, _ = self._scheduler.review(self._state(card, now), rating, now)
        log_id = self._store.record_review(card.id, rating, dumps_state(state), state.due, now)
        self._history.append(_Step(card, rating, log_id, list(self._queue)))
        self._queue.pop(0)
        if state.due - now <= LEARN_AHEAD:
            self._queue.append(card)
        self._revealed = False

    def undo(self) -> Card | None:
        """Take back the last grade of this session: the card's saved state is restored
        and it becomes the current card again, front side up (as Anki does).
        Returns that card, or None if there was nothing to undo.

        Only the review this session saved (by its row id) is ever removed, so a second
        session on the same progress file keeps its grades. If the store cannot undo it
        (StoreError: nothing was changed), the session stays as it was; if the card was
        graded again elsewhere (UndoRefused), this grade is dropped from the undo history."""
        if not self._history:
            return None
        step = self._history[-1]
        try:
            self._store.undo_review(step.log_id)
        except UndoRefused:
            self._history.pop()
            raise
        self._history.pop()
        self._queue = step.queue_before
        self._revealed = False
        return step.card

    def summary(self) -> ReviewSummary:
        """Counts per rating this session, cards left, and when the next card is due."""
        by_rating = {rating: 0 for rating in RATINGS}
        for step in self._history:
            by_rating[step.rating] += 1
        ids = {c.id for c in self._cards}
        dues = [due for cid, (_, due) in self._store.card_states().items() if cid in ids]
        return ReviewSummary(len(self._history), by_rating, len(self._queue), min(dues, default=None))


@dataclass(frozen=True)
class Score:
    right: int
    total: int

    @property
    def fraction(self) -> float:
        return self.right / self.total if self.total else 0.0


class QuizSession:
    """One run through a list of questions, saved as a quiz attempt.

    kind: "lesson" (a lesson's "Check yourself"), "exam" (see build_exam) or "retry" (the
    missed questions of an earlier run). `current` stays on an answered question so the
    UI can show the result and explanation; `advance()` moves on.
    """

    def __init__(
        self,
        questions: Sequence[Question],
        store: Store,
        kind: str = "lesson",
        seed: int | None = None,
        lesson_id: str | None = None,
        now_fn: Callable[[], datetime] | None = None,
        attempt_id: int | None = None,
    ) -> None:
        if not questions:
            raise ValueError("a quiz needs at least one question")
        self.questions: tuple[Question, ...] = tuple(questions)
        self.kind = kind
        self._store = store
        self._now_fn = now_fn or _utc_now
        if seed is None:
            seed = new_attempt_seed(store, self._now_fn())
        self.seed = seed
        lessons = {q.lesson_id for q in self.questions}
        if lesson_id is None and kind != "exam" and len(lessons) == 1:
            lesson_id = next(iter(lessons))
        self.lesson_id = lesson_id
        if attempt_id is None:
            attempt_id = store.start_attempt(
                kind, [q.id for q in self.questions], lesson_id, seed, utc(self._now_fn())
            )
        self.attempt_id = attempt_id
        self.index = 0
        self._results: list[Result | None] = [None] * len(self.questions)

    @classmethod
    def resume(
        cls,
        attempt: AttemptRecord,
        course: Course,
        store: Store,
        now_fn: Callable[[], datetime] | None = None,
    ) -> QuizSession | None:
        """Carry on an attempt left unfinished: the same questions in the same order with
        the same option orders, answers so far re-marked, on the first unanswered one.
        None if the course no longer has every question of the attempt."""
        try:
            questions = [course.question(qid) for qid in attempt.question_ids]
        except KeyError:
            return None
        if not questions:
            return None
        session = cls(
            questions,
            store,
            attempt.kind,
            attempt.seed or 0,
            attempt.lesson_id,
            now_fn,
            attempt_id=attempt.id,
        )
        given = {a.question_id: a.response for a in store.answers(attempt.id)}
        for position, question in enumerate(questions):
            if question.id in given:
                session._results[position] = grade(question, _from_json(question, given[question.id]))
        session.index = next((i for i, r in enumerate(session._results) if r is None), len(questions))
        return session

    @property
    def current(self) -> Question | None:
        """The question on screen, or None after advancing past the last one."""
        return self.questions[self.index] if self.index < len(self.questions) else None

    @property
    def answered(self) -> bool:
        """Whether the current question has been answered."""
        return self.current is not None and self._results[self.index] is not None

    @property
    def result(self) -> Result | None:
        """The result for the current question, once answered."""
        return self._results[self.index] if self.current is not None else None

    def presented_order(self, question: Question | None = None) -> list[int]:
        """The order to show a question's choices in (default: the current question), as
        indices into question.choices: shuffled for order, single and multi questions,
        deterministic for this attempt's seed; empty for kinds without choices."""
        question = question or self.current
        if question is None or not question.choices:
            return []
        if question.kind == "order":
            return shuffled_order(question, self.seed)
        return choice_order(question, self.seed)

    def answer(self, response: object) -> Result:
        """Mark and save the answer to the current question; returns the Result."""
        question = self.current
        if question is None:
            raise RuntimeError("the quiz is over")
        if self._results[self.index] is not None:
            raise RuntimeError(f"question {question.id} is already answered; call advance()")
        result = grade(question, response)
        last = sum(r is None for r in self._results) == 1
        self._store.record_answer(
            self.attempt_id, question.id, response, result.correct, utc(self._now_fn()), last
        )
        self._results[self.index] = result
        return result

    def advance(self) -> Question | None:
        """Move past the answered current question; returns the next one (or None)."""
        if self.current is not None and not self.answered:
            raise RuntimeError("answer the current question first")
        if self.index < len(self.questions):
            self.index += 1
        return self.current

    @property
    def answered_count(self) -> int:
        """How many questions have been answered so far."""
        return sum(r is not None for r in self._results)

    @property
    def finished(self) -> bool:
        """Whether every question has been answered."""
        return all(r is not None for r in self._results)

    @property
    def score(self) -> Score:
        """Right answers so far out of all the questions in the quiz."""
        return Score(sum(bool(r and r.correct) for r in self._results), len(self.questions))

    def missed(self) -> list[Question]:
        """Questions answered wrongly, in quiz order."""
        return [q for q, r in zip(self.questions, self._results) if r is not None and not r.correct]

    def retry_missed(self, seed: int | None = None) -> QuizSession | None:
        """A new "retry" quiz of the missed questions, or None if none were missed."""
        missed = self.missed()
        if not missed:
            return None
        return QuizSession(missed, self._store, "retry", seed, self.lesson_id, self._now_fn)

    def per_lesson_scores(self) -> dict[str, tuple[int, int]]:
        """Lesson id -> (right, total questions from that lesson), in first-seen order."""
        scores: dict[str, list[int]] = {}
        for question, result in zip(self.questions, self._results):
            entry = scores.setdefault(question.lesson_id, [0, 0])
            entry[0] += bool(result and result.correct)
            entry[1] += 1
        return {lesson: (right, total) for lesson, (right, total) in scores.items()}


def new_attempt_seed(store: Store, now: datetime) -> int:
    """A seed for a new attempt: different for every attempt, even two started in the same
    second (the number of attempts so far is part of it), and reproducible in tests."""
    return int(utc(now).timestamp()) * 1000 + len(store.attempts()) + 1


def _from_json(question: Question, stored: object) -> object:
    """A response as the store gave it back (JSON) in the type `grade` expects."""
    if question.kind == "multi" and isinstance(stored, list):
        return set(stored)
    return stored


def _lesson_quotas(course: Course, total: int) -> dict[str, int]:
    """Exam questions per lesson: `total` shared in proportion to each lesson's length in
    words (largest remainders), at least one each, never more than a lesson has."""
    lessons = [lesson for lesson in course.lessons if lesson.questions]
    if not lessons or total <= 0:
        return {}
    sizes = {lesson.id: max(1, len(lesson.body.split())) for lesson in lessons}
    whole = sum(sizes.values())
    exact = {lid: total * size / whole for lid, size in sizes.items()}
    quota = {lid: max(1, math.floor(share)) for lid, share in exact.items()}
    by_remainder = sorted(exact, key=lambda lid: exact[lid] - math.floor(exact[lid]), reverse=True)
    for lid in by_remainder:
        if sum(quota.values()) >= total:
            break
        quota[lid] += 1
    limits = {lesson.id: len(lesson.questions) for lesson in lessons}
    return {lid: min(count, limits[lid]) for lid, count in quota.items()}


# Random weight added to a question's count of new concepts when the exam is drawn: below
# 1, so a question testing more untested concepts always wins, yet equals vary per draw.
JITTER = 0.99


def build_exam(course: Course, per_lesson: int | None = None, seed: int = 0) -> list[Question]:
    """The final exam: `per_lesson` × the number of lessons questions (default: the
    course's exam setting), shared among lessons by their length, chosen greedily to test
    as many syllabus concepts as possible, with at least a third application questions
    (`applies`), then shuffled. Ties are broken at random, so each seed gives a new draw;
    the same seed gives the same exam."""
    count = course.exam_per_lesson if per_lesson is None else per_lesson
    lessons = [lesson for lesson in course.lessons if lesson.questions]
    if count <= 0 or not lessons:
        return []
    total = count * len(lessons)
    quota = _lesson_quotas(course, total)
    total = sum(quota.values())
    need_applied = math.ceil(total / 3)
    rng = random.Random(f"exam:{seed}")
    pool = [q for lesson in lessons for q in lesson.questions]
    tie = {q.id: rng.random() for q in pool}  # a fixed order among equals
    picked: list[Question] = []
    covered: set[str] = set()
    taken = {lid: 0 for lid in quota}
    kinds: dict[tuple[str, str], int] = {}
    while len(picked) < total:
        open_pool = [q for q in pool if taken[q.lesson_id] < quota[q.lesson_id] and q not in picked]
        if not open_pool:
            break
        applied = sum(q.applies for q in picked)
        if need_applied - applied >= total - len(picked):
            open_pool = [q for q in open_pool if q.applies] or open_pool
        noise = {q.id: rng.random() * JITTER for q in open_pool}
        best = max(
            open_pool,
            key=lambda q: (
                len(set(q.concepts) - covered) + noise[q.id],
                -kinds.get((q.lesson_id, q.kind), 0),
                tie[q.id],
            ),
        )
        picked.append(best)
        covered |= set(best.concepts)
        taken[best.lesson_id] += 1
        kinds[(best.lesson_id, best.kind)] = kinds.get((best.lesson_id, best.kind), 0) + 1
    rng.shuffle(picked)
    return picked
