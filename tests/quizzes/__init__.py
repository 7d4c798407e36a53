"""Tests for quizzes/. Small course objects are built here, never read from content/."""

from __future__ import annotations

from datetime import datetime, timezone

from content.schema import Card, Course, Lesson, Question, Syllabus

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


def single(qid: str, lesson: str = "L01", answer: int = 1) -> Question:
    return Question(qid, lesson, "single", "Pick one", "Because.", ("a", "b", "c"), answer)


def multi(qid: str, lesson: str = "L01") -> Question:
    return Question(qid, lesson, "multi", "Tick", "Because.", ("a", "b", "c", "d"), answers=(0, 2))


def truefalse(qid: str, lesson: str = "L01", answer: bool = True) -> Question:
    return Question(qid, lesson, "truefalse", "True?", "Because.", answer=answer)


def gap(qid: str, lesson: str = "L01", answers: tuple = ("encoder",)) -> Question:
    return Question(qid, lesson, "gap", "The ___ maps", "Because.", answers=answers)


def order(qid: str, lesson: str = "L01", n: int = 4) -> Question:
    return Question(qid, lesson, "order", "Order", "Because.", tuple(f"step {i}" for i in range(n)))


def cards(lesson: str, n: int) -> tuple[Card, ...]:
    return tuple(Card(f"{lesson}-c{i:02d}", lesson, f"front {i}", f"back {i}") for i in range(n))


def lesson(lid: str, n_cards: int = 3, questions: tuple = ()) -> Lesson:
    return Lesson(
        lid, lid.lower(), f"Lesson {lid}", 10, "Body", cards=cards(lid, n_cards), questions=questions
    )


def course(*lessons: Lesson, per_lesson: int = 2) -> Course:
    return Course("Test course", tuple(lessons), (), {}, per_lesson, Syllabus((), ()))


class Clock:
    """A fake UTC clock that tests move by hand."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now
