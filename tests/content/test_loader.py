"""The course format: broken files give file:line problems in plain words, and the rest loads."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from content import body_parts, load_course
from content.schema import LabBlock
from tutor.cli import main

SYLLABUS = """
glossary_terms = ["sample", "seed"]

[[lesson]]
id = "L01"
title = "One"
concepts = ["alpha", "beta"]
"""

COURSE = """
title = "Test course"
lessons = ["01-one"]

[exam]
per_lesson = 1

[labs]
art = "Art lab"
"""

LESSON = """+++
id = "L01"
title = "One"
minutes = 5
concepts = ["alpha", "beta"]
labs = ["art"]
terms = ["sample"]
+++
# One

Some text.

::: lab art
Try a seed.
:::

More text.
"""

CARDS = """
[[card]]
id = "L01-c01"
front = "Q?"
back = "A."
concepts = ["alpha"]
"""

GOOD_QUESTION = """
[[question]]
id = "L01-q01"
kind = "single"
prompt = "Pick one"
choices = ["a", "b"]
answer = 1
explanation = "Because."
concepts = ["beta"]
"""

GLOSSARY = """
[[term]]
id = "sample"
term = "sample"
definition = "A thing a model makes."

[[term]]
id = "seed"
term = "seed"
definition = "A number that fixes the randomness."
"""


def make_course(root: Path, quiz: str = GOOD_QUESTION, cards: str = CARDS, lesson: str = LESSON) -> Path:
    (root / "lessons" / "01-one").mkdir(parents=True)
    (root / "syllabus.toml").write_text(SYLLABUS)
    (root / "course.toml").write_text(COURSE)
    (root / "glossary.toml").write_text(GLOSSARY)
    (root / "lessons" / "01-one" / "lesson.md").write_text(lesson)
    (root / "lessons" / "01-one" / "cards.toml").write_text(cards)
    (root / "lessons" / "01-one" / "quiz.toml").write_text(quiz)
    return root


def problems(root: Path) -> list[str]:
    return [str(p) for p in load_course(root).problems]


def test_clean_course_loads(tmp_path):
    course = load_course(make_course(tmp_path))
    assert course.problems == ()
    lesson = course.lesson("L01")
    assert [c.id for c in lesson.cards] == ["L01-c01"]
    assert course.question("L01-q01").answer == 1
    assert lesson.lab_blocks == (LabBlock("art", "Try a seed."),)
    assert course.uncovered_concepts() == []


def test_uncovered_concepts_lists_untested(tmp_path):
    course = load_course(make_course(tmp_path, quiz=""))
    assert course.uncovered_concepts() == ["beta"]


BROKEN = [
    ('kind = "single"', 'kind = "essay"', 4, "unknown kind 'essay' in question 'L01-q01'"),
    ("answer = 1", "answer = 5", 7, "answer index 5 is out of range for question 'L01-q01'"),
    ('concepts = ["beta"]', 'concepts = ["gamma"]', 9, "unknown concept id 'gamma' in question 'L01-q01'"),
    ('explanation = "Because."', "", 2, "question 'L01-q01' is missing its explanation"),
    ('id = "L01-q01"', 'id = "L01-c01"', 3, "duplicate id 'L01-c01'"),
    ('choices = ["a", "b"]', 'choices = ["a", "b"', 7, "broken TOML: Unclosed array"),
]


@pytest.mark.parametrize(
    "old,new,line,message", BROKEN, ids=[b[3].split()[0] + str(i) for i, b in enumerate(BROKEN)]
)
def test_broken_question_reports_file_line_message(tmp_path, old, new, line, message):
    make_course(tmp_path, quiz=GOOD_QUESTION.replace(old, new))
    found = problems(tmp_path)
    expected_prefix = f"{tmp_path.name}/lessons/01-one/quiz.toml:{line}: "
    assert any(p.startswith(expected_prefix) and message in p for p in found), found


def test_unknown_lab_id_in_front_matter_and_body(tmp_path):
    lesson = LESSON.replace('labs = ["art"]', 'labs = ["nope"]').replace("::: lab art", "::: lab zap")
    make_course(tmp_path, lesson=lesson)
    found = problems(tmp_path)
    assert any(p.endswith("lesson.md:6: unknown lab id 'nope' (known: art)") for p in found), found
    assert any("lesson.md:13: unknown lab id 'zap'" in p for p in found), found


def test_broken_item_is_skipped_rest_loads(tmp_path):
    bad = GOOD_QUESTION + GOOD_QUESTION.replace("L01-q01", "L01-q02").replace(
        'kind = "single"', 'kind = "poem"'
    )
    course = load_course(make_course(tmp_path, quiz=bad))
    assert [q.id for q in course.questions] == ["L01-q01"]
    assert len(course.problems) == 1


def test_every_kind_parses(tmp_path):
    quiz = GOOD_QUESTION + textwrap.dedent("""
        [[question]]
        id = "L01-q02"
        kind = "multi"
        prompt = "Pick some"
        choices = ["a", "b", "c"]
        answers = [0, 2]
        explanation = "x"
        concepts = ["alpha"]

        [[question]]
        id = "L01-q03"
        kind = "truefalse"
        prompt = "True?"
        answer = false
        explanation = "x"
        concepts = ["alpha"]

        [[question]]
        id = "L01-q04"
        kind = "gap"
        prompt = "The ___ is"
        answers = ["Paris"]
        explanation = "x"
        concepts = ["alpha"]

        [[question]]
        id = "L01-q05"
        kind = "order"
        prompt = "Order"
        choices = ["1", "2", "3"]
        explanation = "x"
        concepts = ["alpha"]
        """)
    course = load_course(make_course(tmp_path, quiz=quiz))
    assert course.problems == ()
    assert [q.kind for q in course.questions] == ["single", "multi", "truefalse", "gap", "order"]
    assert course.question("L01-q02").answers == (0, 2)


def test_body_parts_keeps_reading_order():
    parts = body_parts("a\n::: lab x\nhello\n:::\nb\n")
    assert parts == ["a", LabBlock("x", "hello"), "b"]


def test_validate_cli_exit_codes_and_json(tmp_path, capsys):
    make_course(tmp_path)
    assert main(["validate", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["lessons"], report["cards"], report["questions"], report["glossary"]) == (1, 1, 1, 2)
    assert report["problems"] == [] and report["uncovered_concepts"] == []
    (tmp_path / "lessons" / "01-one" / "quiz.toml").write_text(
        GOOD_QUESTION.replace("answer = 1", "answer = 9")
    )
    assert main(["validate", str(tmp_path)]) == 1
    assert "quiz.toml:7: answer index 9 is out of range" in capsys.readouterr().out


def test_validate_unknown_path_is_usage_error(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nowhere")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
