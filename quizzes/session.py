"""Study sessions the screens drive: flashcard review and quizzes. No UI here.

Every grade and every answer is saved (one transaction) before the method returns, so the
UI may confirm it on screen straight away.

Review flow (Anki's):  current -> reveal() -> grade(1..4) -> next current ... ; undo().
Quiz flow:             current -> answer(response) -> (show result) -> advance() ... ;
                       when finished: score, missed(), retry_missed().
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from content.schema import Card, Course, Question
from quizzes.grading import Result, grade, shuffled_order
from quizzes.scheduler import (
    RATINGS, CardState, StudyScheduler, dumps_state, format_interval, loads_state, utc,
)
from quizzes.store import Store, UndoRefused

__all__ = ["QuizSession", "ReviewSession", "ReviewSummary", "Score", "build_exam"]

# A card graded into a step due within this window comes back later in the same session
# (Anki's "learn ahead limit"), so Again and the short learning steps are practised now.
LEARN_AHEAD = timedelta(minutes=20)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


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
    then up to `new_limit` never-seen cards in course order.

    `now_fn` returns the current UTC time (tests pass a fake clock).
    """

    def __init__(
        self,
        course_cards: Iterable[Card],
        store: Store,
        scheduler: StudyScheduler,
        now_fn: Callable[[], datetime] | None = None,
        new_limit: int = 20,
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
        fresh = [c for c in self._cards if c.id not in stored][: max(0, new_limit)]
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
        seed: int = 0,
        lesson_id: str | None = None,
        now_fn: Callable[[], datetime] | None = None,
    ) -> None:
        if not questions:
            raise ValueError("a quiz needs at least one question")
        self.questions: tuple[Question, ...] = tuple(questions)
        self.kind = kind
        self.seed = seed
        lessons = {q.lesson_id for q in self.questions}
        if lesson_id is None and kind != "exam" and len(lessons) == 1:
            lesson_id = next(iter(lessons))
        self.lesson_id = lesson_id
        self._store = store
        self._now_fn = now_fn or _utc_now
        self.attempt_id = store.start_attempt(
            kind, [q.id for q in self.questions], lesson_id, seed, utc(self._now_fn())
        )
        self.index = 0
        self._results: list[Result | None] = [None] * len(self.questions)

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
        """For an order question (default: current), the shuffled order to show its choices
        in, as indices into question.choices. Deterministic for this quiz's seed."""
        question = question or self.current
        if question is None:
            return []
        return shuffled_order(question, self.seed)

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
        return QuizSession(missed, self._store, "retry", self.seed + 1 if seed is None else seed,
                           self.lesson_id, self._now_fn)

    def per_lesson_scores(self) -> dict[str, tuple[int, int]]:
        """Lesson id -> (right, total questions from that lesson), in first-seen order."""
        scores: dict[str, list[int]] = {}
        for question, result in zip(self.questions, self._results):
            entry = scores.setdefault(question.lesson_id, [0, 0])
            entry[0] += bool(result and result.correct)
            entry[1] += 1
        return {lesson: (right, total) for lesson, (right, total) in scores.items()}


def build_exam(course: Course, per_lesson: int | None = None, seed: int = 0) -> list[Question]:
    """A balanced exam: `per_lesson` questions (default: the course's exam setting) from
    every lesson that has at least that many, taking kinds in turn so each lesson's share
    mixes kinds where it can, then all shuffled together. Same seed, same exam."""
    count = course.exam_per_lesson if per_lesson is None else per_lesson
    if count <= 0:
        return []
    rng = random.Random(f"exam:{seed}")
    picked: list[Question] = []
    for lesson in course.lessons:
        if len(lesson.questions) < count:
            continue
        by_kind: dict[str, list[Question]] = {}
        for question in lesson.questions:
            by_kind.setdefault(question.kind, []).append(question)
        kinds = sorted(by_kind)
        rng.shuffle(kinds)
        for kind in kinds:
            rng.shuffle(by_kind[kind])
        chosen: list[Question] = []
        while len(chosen) < count:
            for kind in kinds:
                if by_kind[kind] and len(chosen) < count:
                    chosen.append(by_kind[kind].pop())
        picked.extend(chosen)
    rng.shuffle(picked)
    return picked
