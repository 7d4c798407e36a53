"""The final exam's draw: shares by lesson size, concept coverage, application questions,
a new draw per attempt; and resuming an exam left half-way."""

from collections import Counter
from dataclasses import replace

import pytest

from quizzes.session import QuizSession, build_exam
from quizzes.store import Store
from tests.quizzes import course, gap, lesson, multi, single, truefalse


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "progress.db") as opened:
        yield opened


def sized(lid: str, words: int, questions: list) -> object:
    return replace(lesson(lid, 0, tuple(questions)), body=" ".join(["word"] * words))


def concepts(question, *names, applies=False):
    return replace(question, concepts=tuple(names), applies=applies)


def bank(lid: str, n: int) -> list:
    return [concepts(single(f"{lid}-q{i}", lid), f"{lid}-c{i % 3}") for i in range(n)]


def test_lessons_share_the_exam_by_their_length():
    built = course(
        sized("L01", 100, bank("L01", 6)),
        sized("L02", 200, bank("L02", 6)),
        sized("L03", 300, bank("L03", 6)),
        per_lesson=2,
    )
    for seed in range(5):
        assert Counter(q.lesson_id for q in build_exam(built, seed=seed)) == {"L01": 1, "L02": 2, "L03": 3}


def test_a_lesson_never_gives_more_than_it_has_and_every_lesson_gives_one():
    built = course(sized("L01", 1000, bank("L01", 2)), sized("L02", 10, bank("L02", 5)), per_lesson=3)
    drawn = Counter(q.lesson_id for q in build_exam(built, seed=1))
    assert drawn["L01"] == 2 and drawn["L02"] >= 1


def test_the_draw_covers_every_concept_it_can():
    # Four questions on "a" and one each on "b" and "c": three picks must cover a, b and c.
    questions = [concepts(single(f"L01-q{i}"), "a") for i in range(4)]
    questions += [concepts(gap("L01-q8"), "b"), concepts(truefalse("L01-q9"), "c")]
    built = course(sized("L01", 50, questions), per_lesson=3)
    for seed in range(30):
        exam = build_exam(built, seed=seed)
        assert {c for q in exam for c in q.concepts} == {"a", "b", "c"}


def test_at_least_a_third_are_application_questions():
    # Application questions test nothing new, so only the rule can bring them in.
    plain = [concepts(single(f"L01-q{i}"), f"c{i}") for i in range(9)]
    applied = [concepts(multi(f"L01-a{i}"), "c0", applies=True) for i in range(4)]
    built = course(sized("L01", 50, plain + applied), per_lesson=9)
    for seed in range(30):
        exam = build_exam(built, seed=seed)
        assert len(exam) == 9 and sum(q.applies for q in exam) >= 3


def test_each_seed_draws_anew_and_the_same_seed_repeats():
    built = course(sized("L01", 50, bank("L01", 12)), sized("L02", 50, bank("L02", 12)), per_lesson=4)
    draws = {tuple(q.id for q in build_exam(built, seed=s)) for s in range(10)}
    assert len(draws) == 10
    assert build_exam(built, seed=3) == build_exam(built, seed=3)
    assert build_exam(built, per_lesson=0) == []


def test_an_exam_left_half_way_resumes_where_it_was(store):
    built = course(sized("L01", 50, bank("L01", 6)), per_lesson=5)
    exam = build_exam(built, seed=2)
    first = QuizSession(exam, store, "exam", seed=77)
    orders = [first.presented_order(q) for q in exam]
    first.answer(exam[0].answer)
    first.advance()
    first.answer(99)  # wrong
    left = store.unfinished_attempt("exam")
    assert left is not None and left.id == first.attempt_id
    again = QuizSession.resume(left, built, store)
    assert again.attempt_id == first.attempt_id and again.index == 2
    assert [again.presented_order(q) for q in exam] == orders
    assert again.score.right == 1 and [q.id for q in again.missed()] == [exam[1].id]
    while not again.finished:
        again.answer(again.current.answer)
        again.advance()
    assert store.unfinished_attempt("exam") is None
    assert store.attempts("exam")[0].answered == 5 and len(store.attempts("exam")) == 1
