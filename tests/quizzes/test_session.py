from collections import Counter
from datetime import timedelta

import pytest

from quizzes.scheduler import StudyScheduler, loads_state
from quizzes.session import QuizSession, ReviewSession, build_exam
from quizzes.store import Store
from tests.quizzes import Clock, cards, course, gap, lesson, multi, order, single, truefalse


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "progress.db") as opened:
        yield opened


def review(store, deck, clock, new_limit=20):
    return ReviewSession(deck, store, StudyScheduler(), clock, new_limit)


def test_new_cards_come_in_course_order_up_to_the_limit(store):
    deck = cards("L01", 5)
    session = review(store, deck, Clock(), new_limit=3)
    assert session.remaining == 3
    assert session.current == deck[0] and session.is_new()
    assert not session.revealed


def test_reveal_grade_and_relearning_within_the_session(store):
    deck = cards("L01", 2)
    clock = Clock()
    session = review(store, deck, clock)
    with pytest.raises(RuntimeError, match="reveal"):
        session.grade(3)
    assert session.previews() == {1: "1m", 2: "6m", 3: "10m", 4: "8d"}
    session.reveal()
    session.grade(4)  # Easy: days away, so done for this session
    assert session.current == deck[1] and not session.revealed
    session.reveal()
    session.grade(1)  # Again: due in a minute, so it comes back
    assert session.current == deck[1] and session.remaining == 1
    clock.now += timedelta(minutes=1)
    session.reveal()
    session.grade(3)
    session.reveal()
    clock.now += timedelta(minutes=10)
    session.grade(3)
    assert session.finished and session.current is None
    summary = session.summary()
    assert summary.reviewed == 4
    assert summary.by_rating == {1: 1, 2: 0, 3: 2, 4: 1}
    assert summary.remaining == 0
    assert summary.next_due == min(due for _, due in store.card_states().values())
    assert len(store.review_log()) == 4


def test_undo_restores_the_card_and_shows_it_again(store):
    deck = cards("L01", 2)
    clock = Clock()
    session = review(store, deck, clock)
    assert session.undo() is None and not session.can_undo
    session.reveal()
    session.grade(3)
    session.reveal()
    session.grade(4)
    before_second = store.card_states()
    assert session.undo() == deck[1]
    assert session.current == deck[1] and not session.revealed
    assert store.card_state(deck[1].id) is None
    assert deck[0].id in store.card_states() and deck[1].id not in store.card_states()
    assert before_second[deck[0].id] == store.card_states()[deck[0].id]
    session.reveal()
    session.grade(2)
    assert session.summary().by_rating == {1: 0, 2: 1, 3: 1, 4: 0}
    assert session.undo() == deck[1]
    assert session.undo() == deck[0]
    assert store.card_states() == {} and store.review_log() == []
    assert session.current == deck[0] and session.remaining == 2


def test_a_new_session_picks_up_due_cards_from_the_store(tmp_path):
    deck = cards("L01", 3)
    clock = Clock()
    with Store.open(tmp_path / "p.db") as store:
        session = review(store, deck, clock, new_limit=2)
        for _ in range(2):
            session.reveal()
            session.grade(4)
    with Store.open(tmp_path / "p.db") as store:
        same_day = review(store, deck, clock, new_limit=5)
        assert same_day.current == deck[2]
        assert same_day.remaining == 1
        clock.now += timedelta(days=30)
        later = review(store, deck, clock, new_limit=0)
        assert later.remaining == 2 and not later.is_new()
        state = loads_state(store.card_state(later.current.id))
        assert state.due <= clock.now


def test_due_cards_come_earliest_first(store):
    deck = cards("L01", 3)
    clock = Clock()
    session = review(store, deck, clock)
    for rating in (4, 3, 4):  # c00 and c02 graduate; c01 goes to a 10 minute step
        session.reveal()
        session.grade(rating)
    clock.now += timedelta(days=60)
    again = review(store, deck, clock)
    order_seen = [again.current.id]
    while True:
        again.reveal()
        again.grade(4)
        if again.current is None:
            break
        order_seen.append(again.current.id)
    assert order_seen == ["L01-c01", "L01-c00", "L01-c02"]


def test_bad_rating_is_refused_and_nothing_saved(store):
    session = review(store, cards("L01", 1), Clock())
    session.reveal()
    with pytest.raises(ValueError):
        session.grade(0)
    assert store.review_log() == []


def quiz_questions():
    return [single("L01-q1"), multi("L01-q2"), truefalse("L01-q3"), gap("L01-q4"), order("L01-q5")]


def test_quiz_flow_with_every_kind_and_retry(store):
    questions = quiz_questions()
    quiz = QuizSession(questions, store, "lesson", seed=3)
    assert quiz.lesson_id == "L01" and quiz.current == questions[0]
    assert quiz.answer(1).correct
    assert quiz.answered and quiz.result.correct
    with pytest.raises(RuntimeError):
        quiz.answer(1)
    assert quiz.advance() == questions[1]
    with pytest.raises(RuntimeError):
        quiz.advance()
    assert not quiz.answer({0}).correct
    quiz.advance()
    assert quiz.answer(True).correct
    quiz.advance()
    assert quiz.answer("  ÉNCODER ").correct
    quiz.advance()
    shown = quiz.presented_order()
    assert sorted(shown) == [0, 1, 2, 3] and shown != [0, 1, 2, 3]
    assert not quiz.finished
    assert not quiz.answer(shown).correct
    assert quiz.finished and quiz.current == questions[4]
    assert quiz.advance() is None and quiz.current is None
    assert (quiz.score.right, quiz.score.total) == (3, 5)
    assert quiz.missed() == [questions[1], questions[4]]
    (attempt,) = store.attempts()
    assert attempt.finished_at is not None and (attempt.right, attempt.answered) == (3, 5)

    retry = quiz.retry_missed()
    assert retry.kind == "retry" and retry.questions == (questions[1], questions[4])
    retry.answer({2, 0})
    retry.advance()
    retry.answer([0, 1, 2, 3])
    assert retry.finished and retry.score.right == 2 and retry.retry_missed() is None
    kinds = [a.kind for a in store.attempts()]
    assert kinds == ["lesson", "retry"]
    assert [a.correct for a in store.answers(retry.attempt_id)] == [True, True]


def test_each_answer_is_saved_before_the_next(tmp_path):
    path = tmp_path / "p.db"
    with Store.open(path) as store:
        quiz = QuizSession(quiz_questions(), store)
        quiz.answer(0)
        with Store.open(path) as other:
            (answer,) = other.answers()
            assert answer.question_id == "L01-q1" and answer.response == 0 and not answer.correct


def test_empty_quiz_is_refused(store):
    with pytest.raises(ValueError):
        QuizSession([], store)


def exam_course():
    banks = {
        "L01": [
            single("L01-q1", "L01"),
            single("L01-q2", "L01"),
            truefalse("L01-q3", "L01"),
            gap("L01-q4", "L01"),
            single("L01-q5", "L01"),
        ],
        "L02": [multi("L02-q1", "L02"), order("L02-q2", "L02"), multi("L02-q3", "L02")],
        "L03": [single("L03-q1", "L03")],
    }
    return course(*(lesson(lid, 1, tuple(qs)) for lid, qs in banks.items()), per_lesson=3)


def test_exam_scores_per_lesson(store):
    exam = build_exam(exam_course(), seed=1)
    quiz = QuizSession(exam, store, "exam", seed=1)
    assert quiz.lesson_id is None
    for question in exam:
        quiz.answer(1 if question.lesson_id == "L01" else None)
        quiz.advance()
    scores = quiz.per_lesson_scores()
    drawn = Counter(q.lesson_id for q in exam)
    assert scores["L02"] == (0, drawn["L02"])
    assert scores["L01"][1] == drawn["L01"]
    assert store.attempts("exam")[0].answered == len(exam)
