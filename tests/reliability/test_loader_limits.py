"""The loader's hard cases from the reliability run, one by one, and `validate`'s report:
every problem of an item, warnings for unknown keys, JSON even for a non-course folder."""

from __future__ import annotations

import json
import os

import pytest

from content import load_course
from content.loader import MAX_FILE_BYTES
from tests.content.test_loader import GOOD_QUESTION, LESSON, make_course
from tutor.cli import main


def _problems(root) -> list[str]:
    return [str(p) for p in load_course(root).problems]


@pytest.mark.parametrize(
    "file,old,new,phrase",
    [
        ("course.toml", 'lessons = ["01-one"]', "lessons = 5", "lessons must be a list"),
        (
            "course.toml",
            'title = "Test course"',
            'title = "Test course"\nlabs = 5',
            "labs must be a [labs] table",
        ),
        ("course.toml", "per_lesson = 1", "per_lesson = true", "per_lesson must be a whole number"),
        ("lessons/01-one/cards.toml", "[[card]]", "[card]", "'card' must be written as [[card]]"),
        (
            "lessons/01-one/quiz.toml",
            "[[question]]",
            "[question]",
            "'question' must be written as [[question]]",
        ),
        (
            "lessons/01-one/quiz.toml",
            'concepts = ["beta"]',
            "concepts = 5",
            "concepts of question 'L01-q01' must be",
        ),
        (
            "lessons/01-one/lesson.md",
            'concepts = ["alpha", "beta"]',
            "concepts = 5",
            "concepts of lesson 'L01'",
        ),
        ("lessons/01-one/lesson.md", 'labs = ["art"]', "labs = {a = 1}", "labs must be a list"),
        ("syllabus.toml", "[[lesson]]", "[lesson]", "'lesson' must be written as [[lesson]]"),
    ],
)
def test_wrong_types_at_every_level_are_problems_not_crashes(tmp_path, file, old, new, phrase):
    root = make_course(tmp_path / "c")
    path = root / file
    text = path.read_text()
    assert old in text
    if "labs = 5" in new:
        text = text.replace("[labs]", "[other]")  # the [labs] table would clash with labs = 5
    path.write_text(text.replace(old, new, 1))
    found = _problems(root)
    assert any(phrase in p for p in found), found


def test_glossary_items_that_are_not_tables(tmp_path):
    root = make_course(tmp_path / "c")
    (root / "glossary.toml").write_text('term = [5, "x"]\n')
    assert sum("a glossary entry must be a [[term]] table" in p for p in _problems(root)) == 2


def test_invalid_utf8_names_its_line(tmp_path):
    root = make_course(tmp_path / "c")
    path = root / "lessons" / "01-one" / "lesson.md"
    path.write_bytes(LESSON.encode().replace(b"More text.", b"More \xff text."))
    assert any("lesson.md:17: is not valid UTF-8 (byte 0xff)" in p for p in _problems(root)), _problems(root)


def test_deep_nesting_fifo_device_and_size_are_refused(tmp_path):
    root = make_course(tmp_path / "c")
    folder = root / "lessons" / "01-one"
    (folder / "quiz.toml").write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    (folder / "cards.toml").unlink()
    os.mkfifo(folder / "cards.toml")  # a FIFO would block a reader forever
    (root / "glossary.toml").unlink()
    (root / "glossary.toml").symlink_to("/dev/urandom")  # a device never ends
    found = _problems(root)
    assert any("quiz.toml:1: broken TOML: arrays or tables are nested too deeply" in p for p in found), found
    assert any("cards.toml:0: is not a regular file" in p for p in found), found
    assert any("glossary.toml:0: is not a regular file" in p for p in found), found
    (folder / "lesson.md").write_text(LESSON + "x" * (MAX_FILE_BYTES + 1))
    found = _problems(root)
    assert any("lesson.md:0: is 1,000,1" in p and "at most 1,000,000" in p for p in found), found


def test_an_exam_that_cannot_be_drawn_is_a_problem(tmp_path):
    root = make_course(tmp_path / "c")
    (root / "course.toml").write_text(
        (root / "course.toml").read_text().replace("per_lesson = 1", "per_lesson = 2")
    )
    assert any("the final exam cannot be drawn: no lesson has 2" in p for p in _problems(root))


async def test_the_exam_key_with_no_drawable_exam_is_a_notice(tmp_path, make_app):
    root = make_course(tmp_path / "c")
    (root / "course.toml").write_text(
        (root / "course.toml").read_text().replace("per_lesson = 1", "per_lesson = 2")
    )
    app = make_app(course=load_course(root))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("x")
        await pilot.pause()
        assert any("no final exam to draw" in n.message for n in app._notifications)


def test_every_problem_of_an_item_is_reported(tmp_path):
    bad = (
        GOOD_QUESTION.replace("answer = 1", "answer = 9")
        .replace('explanation = "Because."', "")
        .replace('concepts = ["beta"]', 'concepts = ["gamma"]')
    )
    root = make_course(tmp_path / "c", quiz=bad)
    found = _problems(root)
    for phrase in (
        "is missing its explanation",
        "answer index 9 is out of range",
        "unknown concept id 'gamma'",
    ):
        assert any(phrase in p for p in found), (phrase, found)


def test_unknown_keys_are_warnings_and_validate_still_passes(tmp_path, capsys):
    root = make_course(
        tmp_path / "c", quiz=GOOD_QUESTION.replace("explanation =", 'explaination = "typo"\nexplanation =')
    )
    course = load_course(root)
    assert course.errors == ()
    (warning,) = course.problems
    assert str(warning).endswith(
        "quiz.toml:2: warning: unknown key 'explaination' in the question "
        "(known: answer, answers, applies, choices, concepts, explanation, "
        "id, kind, prompt); ignored"
    )
    assert main(["validate", str(root)]) == 0
    assert "0 problems, 1 warnings" in capsys.readouterr().out
    assert main(["validate", str(root), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["problems"][0]["severity"] == "warning"


def test_validate_json_is_json_even_for_a_folder_that_is_not_a_course(tmp_path, capsys):
    assert main(["validate", str(tmp_path), "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert "is not a course folder" in report["error"]
