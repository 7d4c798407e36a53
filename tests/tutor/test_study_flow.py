"""Pilot tests of the study flow at 80×24: Home → lesson → next/back, review, quiz, restart."""

from __future__ import annotations

import io

import pytest
from textual.widgets import Input, OptionList

from tutor.screens.home import HomeScreen
from tutor.screens.lesson import LessonScreen
from tutor.screens.quiz import QuizScreen
from tutor.screens.review import ReviewScreen
from tutor.widgets.choices import ChoiceList


async def test_open_lesson_then_next_and_back(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("enter")  # the first entry, "Next: read L01"
        assert isinstance(app.screen, LessonScreen) and app.screen.lesson_id == "L01"
        await pilot.press("n")
        assert app.screen.lesson_id == "L02"
        await pilot.press("p")
        assert app.screen.lesson_id == "L01"
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)
        options = app.screen.query_one("#lessons", OptionList)
        options.highlighted = options.get_option_index("L02")
        await pilot.press("down", "enter")
        assert app.screen.lesson_id == "L03"


async def test_review_space_grades_and_undo(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("r")
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        first = screen.session.current
        assert not screen.session.revealed
        await pilot.press("space")
        assert screen.session.revealed
        button = screen.query_one("#grade-3")
        assert "Good ·" in str(button.label)  # the interval this grade would give
        await pilot.press("space")  # Space after reveal = Good
        assert app.store.card_state(first.id) is not None
        second = screen.session.current
        assert second.id != first.id
        await pilot.press("space", "1")
        assert [r[1] for r in app.store.review_log()] == [3, 1]
        await pilot.press("u")
        assert [r[1] for r in app.store.review_log()] == [3]
        assert screen.session.current.id == second.id and not screen.session.revealed
        await pilot.press("4")  # grading before revealing does nothing
        assert len(app.store.review_log()) == 1


def plain(renderable, width: int = 76) -> str:
    """What a Rich renderable shows at `width` columns, as text."""
    from rich.console import Console

    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


async def answer_by_keys(pilot, screen, question, correct=True):
    """Answer the question on screen with the keyboard alone."""
    if question.kind == "gap":
        text = question.answers[0] if correct else "zzz"
        await pilot.press(*list(text), "enter")
        return
    if question.kind == "truefalse":
        value = question.answer if correct else not question.answer
        await pilot.press("t" if value else "f")
        return
    choices = screen.query_one("#choices", ChoiceList)
    if question.kind == "single":
        wrong = next(i for i in range(len(question.choices)) if i != question.answer)
        target = question.answer if correct else wrong
        position = choices.order.index(target)
        await pilot.press(*(["down"] * position), "enter")
    elif question.kind == "multi":
        wrong_set = {i for i in range(len(question.choices)) if i not in question.answers}
        wanted = set(question.answers) if correct else wrong_set
        for position in range(len(choices.order)):
            if choices.order[position] in wanted:
                await pilot.press("space")
            await pilot.press("down")
        await pilot.press("enter")
    else:  # order: selection sort with Shift+↑
        if correct:
            for target in range(len(choices.order)):
                position = choices.order.index(target)
                choices.highlighted = position
                await pilot.press(*(["shift+up"] * (position - target)))
        await pilot.press("enter")


async def test_quiz_every_kind_with_marks_and_retry(make_app):
    app = make_app(start=("quiz", "L01"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, QuizScreen)
        kinds = {q.kind for q in screen.session.questions}
        assert kinds == {"single", "multi", "truefalse", "gap", "order"}
        wrong_ids = []
        seen_kinds_wrong = set()
        while True:
            question = screen.session.current
            correct = question.kind in seen_kinds_wrong or question.kind == "order"
            if not correct:
                seen_kinds_wrong.add(question.kind)
                wrong_ids.append(question.id)
            await answer_by_keys(pilot, screen, question, correct)
            result = screen.session.result
            assert result.correct is correct, (question.id, question.kind)
            feedback = str(screen.query_one("#q-feedback").render())
            assert ("✓" in feedback) if correct else ("✗" in feedback)
            assert question.explanation[:20] in feedback
            await pilot.press("n")
            if screen.session.finished and screen.query_one("#retry").display:
                break
        assert screen.session.score.right == len(screen.session.questions) - len(wrong_ids)
        assert [q.id for q in screen.session.missed()] == wrong_ids
        await pilot.press("r")
        assert [q.id for q in screen.session.questions] == wrong_ids
        assert screen.session.kind == "retry"


async def test_progress_survives_restart(make_app):
    app = make_app(start=("quiz", "L01"))
    async with app.run_test(size=(80, 24)) as pilot:
        question = app.screen.session.current
        await answer_by_keys(pilot, app.screen, question, correct=True)
        await pilot.press("escape", "r", "space", "3")
        card_id = app.store.review_log()[0][0]
    again = make_app()
    async with again.run_test(size=(80, 24)) as pilot:
        assert again.store.card_state(card_id) is not None
        answers = again.store.answers()
        assert [a.question_id for a in answers] == [question.id] and answers[0].correct
        options = again.screen.query_one("#lessons", OptionList)
        row = plain(options.get_option("L01").prompt)
        assert "cards 1/" in row


async def test_gap_input_empty_answer_is_refused(make_app):
    app = make_app(start=("quiz", "L01"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        while screen.session.current.kind != "gap":
            await answer_by_keys(pilot, screen, screen.session.current)
            await pilot.press("n")
        await pilot.press("enter")
        assert not screen.session.answered
        assert isinstance(app.focused, Input)


@pytest.mark.parametrize("size", [(50, 24), (80, 15)])
async def test_too_small_terminal_shows_friendly_message(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert "enlarge" in str(app.screen.query_one("#too-small").render())
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)


@pytest.mark.parametrize("start", [None, ("lesson", "L02"), ("review", ""), ("quiz", "L01")])
async def test_help_opens_on_every_screen(make_app, start):
    from tutor.screens.help import HelpScreen

    app = make_app(start=start)
    async with app.run_test(size=(80, 24)) as pilot:
        before = app.screen
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert app.screen is before
