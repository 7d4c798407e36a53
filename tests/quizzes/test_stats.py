from datetime import date, timedelta, timezone

import pytest

from quizzes.scheduler import StudyScheduler
from quizzes.session import QuizSession, ReviewSession
from quizzes.stats import due_count, lesson_progress, new_count, overall, study_streak
from quizzes.store import Store
from tests.quizzes import T0, Clock, course, lesson, single, truefalse


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "progress.db") as opened:
        yield opened


def two_lessons():
    return course(
        lesson("L01", 3, (single("L01-q1"), truefalse("L01-q2"))),
        lesson("L02", 2, (single("L02-q1", "L02"),)),
    )


def grade_all(store, deck, clock, ratings):
    session = ReviewSession(deck, store, StudyScheduler(), clock)
    for rating in ratings:
        session.reveal()
        session.grade(rating)


def test_fresh_progress(store):
    built = two_lessons()
    progress = lesson_progress(built, store)
    assert list(progress) == ["L01", "L02"]
    first = progress["L01"]
    assert (first.read, first.opened, first.cards_seen, first.cards_total) == (False, False, 0, 3)
    assert first.best_score is None and first.questions_total == 2
    assert due_count(built, store, T0) == 0 and new_count(built, store) == 5
    summary = overall(built, store, T0, timezone.utc)
    assert summary.cards_by_state == {"new": 5, "learning": 0, "review": 0, "relearning": 0}
    assert (summary.streak_days, summary.studied_today, summary.answers_total) == (0, False, 0)


def test_progress_after_study(store):
    built = two_lessons()
    clock = Clock()
    store.open_lesson("L01", T0)
    store.save_position("L01", 30.0)
    store.mark_read("L01", T0)
    grade_all(store, built.lessons[0].cards, clock, [4, 3])  # one review, one learning
    for answers in ([1, False], [1, True]):
        quiz = QuizSession(built.lessons[0].questions, store, seed=1, now_fn=clock)
        for response in answers:
            quiz.answer(response)
            quiz.advance()
    unfinished = QuizSession(built.lessons[1].questions, store, now_fn=clock)
    assert unfinished.lesson_id == "L02"

    progress = lesson_progress(built, store)
    assert progress["L01"].read and progress["L01"].position == 30.0
    assert progress["L01"].cards_seen == 2
    assert progress["L01"].best_score == (2, 2)
    assert progress["L02"].best_score is None and not progress["L02"].opened

    assert due_count(built, store, T0) == 0
    assert due_count(built, store, T0 + timedelta(minutes=10)) == 1
    assert due_count(built, store, T0 + timedelta(days=30)) == 2
    assert new_count(built, store) == 3

    summary = overall(built, store, T0, timezone.utc)
    assert summary.cards_by_state == {"new": 3, "learning": 1, "review": 1, "relearning": 0}
    assert (summary.lessons_read, summary.lessons_total) == (1, 2)
    assert (summary.answers_right, summary.answers_total) == (3, 4)
    assert summary.reviews == 2 and summary.streak_days == 1 and summary.studied_today


def test_streak_counts_consecutive_study_days(store):
    built = two_lessons()
    clock = Clock()
    for day in (0, 1, 2, 4, 5):
        clock.now = T0 + timedelta(days=day)
        quiz = QuizSession([single("L01-q1")], store, now_fn=clock)
        quiz.answer(1)
    assert overall(built, store, T0 + timedelta(days=5), timezone.utc).streak_days == 2
    not_yet_today = overall(built, store, T0 + timedelta(days=6), timezone.utc)
    assert not_yet_today.streak_days == 2 and not not_yet_today.studied_today
    assert overall(built, store, T0 + timedelta(days=7), timezone.utc).streak_days == 0


def test_study_streak_helper():
    today = date(2025, 3, 10)
    days = {today - timedelta(days=n) for n in (0, 1, 2, 5)}
    assert study_streak(days, today) == 3
    assert study_streak(days - {today}, today) == 2
    assert study_streak(set(), today) == 0
