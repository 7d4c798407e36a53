"""A scripted month of study on a fixed clock, shared by the stats and backup tests.

Six cards are learnt on Sunday 1 November 2026 (graded Easy, so they go straight to the
review state, due 8 days later). On Monday 9 November all six come back: four Good, one
Hard, one Again; the lapsed card is relearnt ten minutes later (Good). Then, every day
to 30 November, whatever is due is reviewed Good. Two quiz answers are given on
2 November, one right and one wrong.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from quizzes.scheduler import StudyScheduler
from quizzes.session import ReviewSession
from tests.quizzes import Clock, cards

START = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
END = datetime(2026, 11, 30, 18, 0, tzinfo=timezone.utc)
DECK = cards("L01", 6)


def _session(store, clock, deck):
    return ReviewSession(deck, store, StudyScheduler(), clock, new_limit=20, tz=timezone.utc)


def _grade(session, clock, rating):
    session.reveal()
    clock.now += timedelta(seconds=20)
    session.grade(rating)


def play_month(store, deck=DECK):
    """Fill `store` with the month above (on `deck`'s first six cards); returns the
    clock, left at END."""
    deck = tuple(deck)[:6]
    clock = Clock(START)
    session = _session(store, clock, deck)
    while not session.finished:
        _grade(session, clock, 4)
    clock.now = START + timedelta(days=1)
    attempt = store.start_attempt("lesson", ["L01-q01", "L01-q02"], "L01", 1, clock.now)
    store.record_answer(attempt, "L01-q01", 1, True, clock.now + timedelta(seconds=30))
    store.record_answer(attempt, "L01-q02", [0], False, clock.now + timedelta(seconds=70), True)
    clock.now = datetime(2026, 11, 9, 12, 0, tzinfo=timezone.utc)
    session = _session(store, clock, deck)
    for rating in (3, 3, 3, 3, 2, 1):
        _grade(session, clock, rating)
    clock.now += timedelta(minutes=10)
    _grade(session, clock, 3)
    day = datetime(2026, 11, 10, 12, 0, tzinfo=timezone.utc)
    while day < END:
        clock.now = day
        session = _session(store, clock, deck)
        while not session.finished:
            _grade(session, clock, 3)
        day += timedelta(days=1)
    clock.now = END
    return clock
