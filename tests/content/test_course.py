"""The shipped course: coverage of the syllabus and the minimum counts, so an edit can't drop them."""

from __future__ import annotations

import re

import pytest

from content import load_course, missing_glossary_terms
from content.schema import QUESTION_KINDS
from quizzes.session import build_exam

COURSE = load_course()


def body_words(body: str) -> int:
    return len(body.split())


def test_course_is_clean_and_complete():
    assert COURSE.problems == ()
    assert len(COURSE.lessons) >= 13
    assert len(COURSE.cards) >= 130
    assert len(COURSE.questions) >= 156
    assert COURSE.uncovered_concepts() == []
    assert missing_glossary_terms(COURSE) == []


@pytest.mark.parametrize("lesson", COURSE.lessons, ids=lambda lesson: lesson.id)
def test_each_lesson_meets_the_bar(lesson):
    syllabus = {s.id: s for s in COURSE.syllabus.lessons}[lesson.id]
    assert set(syllabus.concepts) <= set(lesson.concepts)
    assert 700 <= body_words(lesson.body) <= 1500
    assert "## What you will learn" in lesson.body and "## Key ideas" in lesson.body
    assert "## Further reading" in lesson.body
    assert len(lesson.cards) >= 10
    assert len(lesson.questions) >= 12
    assert {q.kind for q in lesson.questions} == set(QUESTION_KINDS)
    assert sum(q.applies for q in lesson.questions) * 3 >= len(lesson.questions)
    for fence in re.findall(r"```[^\n]*\n(.*?)```", lesson.body, flags=re.S):
        assert max(len(line) for line in fence.splitlines()) <= 70, lesson.id


def test_every_glossary_term_is_linked_from_a_lesson():
    linked = {term for lesson in COURSE.lessons for term in lesson.terms}
    assert {entry.id for entry in COURSE.glossary} <= linked


def test_final_exam_is_balanced():
    exam = build_exam(COURSE, seed=7)
    assert len(exam) >= 30
    per_lesson = {}
    for question in exam:
        per_lesson[question.lesson_id] = per_lesson.get(question.lesson_id, 0) + 1
    assert set(per_lesson) == {lesson.id for lesson in COURSE.lessons}
    assert min(per_lesson.values()) >= 2
