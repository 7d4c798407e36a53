"""Pilot tests at 80×24 for issue 11: new option orders per attempt, the exam resuming
after Escape, the daily new-card limit across Review sessions, read only at a lesson's end,
and the Stats screen."""

from dataclasses import replace
from datetime import timedelta, timezone

from textual.widgets import Static

from content import load_course
from quizzes.settings import save_setting
from tests.conftest import FIXED_NOW
from tests.tutor.test_study_flow import answer_by_keys
from tutor.screens.home import HomeScreen
from tutor.screens.lesson import LessonScreen
from tutor.screens.quiz import LeaveExamScreen, QuizScreen
from tutor.screens.review import ReviewScreen
from tutor.screens.stats import StatsScreen
from tutor.widgets.choices import ChoiceList


class MovingClock:
    def __init__(self, now=FIXED_NOW):
        self.now = now

    def __call__(self):
        return self.now


def shown_orders(screen):
    return [
        tuple(screen.session.presented_order(q))
        for q in screen.session.questions
        if q.kind in ("single", "multi")
    ]


async def test_the_same_quiz_twice_shows_different_option_orders(make_app):
    app = make_app(start=("quiz", "L01"))
    async with app.run_test(size=(80, 24)) as pilot:
        first = app.screen
        while first.session.current.kind not in ("single", "multi"):
            await answer_by_keys(pilot, first, first.session.current)
            await pilot.press("n")
        on_screen = list(first.query_one("#choices", ChoiceList).order)
        assert on_screen == first.session.presented_order()
        orders = shown_orders(first)
        await pilot.press("escape")
        app.open_quiz("L01")
        await pilot.pause()
        second = app.screen
        assert isinstance(second, QuizScreen) and second is not first
        assert second.session.attempt_id != first.session.attempt_id
        assert shown_orders(second) != orders
        assert len(orders) >= 5


async def test_feedback_marks_right_wrong_and_missed(make_app):
    app = make_app(start=("quiz", "L01"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        while screen.session.current.kind != "multi":
            await answer_by_keys(pilot, screen, screen.session.current)
            await pilot.press("n")
        question = screen.session.current
        choices = screen.query_one("#choices", ChoiceList)
        right = sorted(question.answers)
        wrong = next(i for i in range(len(question.choices)) if i not in right)
        for target in (right[0], wrong):  # tick one right and one wrong option
            choices.highlighted = choices.order.index(target)
            await pilot.press("space")
        await pilot.press("enter")
        assert choices.marks[right[0]] == "right" and choices.marks[wrong] == "wrong"
        assert all(choices.marks[i] == "missed" for i in right[1:])
        labels = [str(choices.get_option_at_index(p).prompt) for p in range(choices.option_count)]
        assert any(label.startswith("missed") for label in labels)
        assert any(label.startswith("✗") for label in labels)


async def test_the_exam_asks_before_leaving_and_resumes_with_x(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("x")
        exam = app.screen
        assert isinstance(exam, QuizScreen) and exam.kind == "exam"
        attempt = exam.session.attempt_id
        for _ in range(3):
            await answer_by_keys(pilot, exam, exam.session.current)
            await pilot.press("n")
        asked = exam.session.current
        await pilot.press("escape")
        assert isinstance(app.screen, LeaveExamScreen)
        await pilot.press("n")  # stay
        assert app.screen is exam
        await pilot.press("escape", "y")
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("x")
        resumed = app.screen
        assert isinstance(resumed, QuizScreen) and resumed is not exam
        assert resumed.session.attempt_id == attempt
        assert resumed.session.index == 3 and resumed.session.current == asked
        assert resumed.session.answered_count == 3
        total = len(resumed.session.questions)
        await pilot.press("escape", "y", "p")  # Progress lists the exam, still unfinished
        history = str(app.screen.query_one("#exams", Static).render())
        assert f"3 of {total} answered · unfinished (x resumes)" in history


def right_response(question):
    """The right answer to `question` in the form the quiz screen hands to the session."""
    if question.kind == "multi":
        return set(question.answers)
    if question.kind == "gap":
        return question.answers[0]
    if question.kind == "order":
        return list(range(len(question.choices)))
    return question.answer


async def test_exam_results_list_missed_questions_by_text_and_review_them(make_app):
    app = make_app(course=replace(load_course(), exam_per_lesson=1))  # a short exam: 13 questions
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("x")
        exam = app.screen
        missed = []
        while not exam.session.finished:
            question = exam.session.current
            if len(missed) < 2:  # two wrong answers by keys, the rest straight to the screen
                missed.append(question)
                await answer_by_keys(pilot, exam, question, correct=False)
            else:
                exam._answer(right_response(question))
            await pilot.press("n")
        text = str(exam.query_one("#q-prompt", Static).render())
        for question in missed:
            assert question.prompt[:30] in text and question.explanation[:30] in text
            assert question.id not in text
        await pilot.press("r")
        assert list(exam.session.questions) == missed
        assert app.store.attempts("exam")[0].finished_at is not None


async def test_daily_new_card_limit_holds_across_sessions_and_resets_next_day(make_app):
    clock = MovingClock()
    app = make_app(now=clock)
    app.zone = timezone.utc
    save_setting(app.store, "new_per_day", "5")
    async with app.run_test(size=(80, 24)) as pilot:
        due_line = app.screen.query_one("#due", Static)
        assert "0 due · 5 new today" in str(due_line.render())
        await pilot.press("r")
        review = app.screen
        assert isinstance(review, ReviewScreen) and review.session.remaining == 5
        for _ in range(3):
            await pilot.press("space", "4")  # Easy: days away, not back today
        await pilot.press("escape")
        assert "0 due · 2 new today" in str(due_line.render())
        clock.now += timedelta(hours=3)
        await pilot.press("r")
        review = app.screen
        assert review.session.remaining == 2
        await pilot.press("space", "4", "space", "4")
        assert review.session.finished
        summary = str(review.query_one("#summary", Static).render())
        assert "new cards are done" in summary
        await pilot.press("escape", "r")
        assert app.screen.session.remaining == 0
        await pilot.press("escape")
        clock.now = FIXED_NOW.replace(hour=0) + timedelta(days=1)  # midnight: a new day
        app.screen.refresh_progress()
        assert "0 due · 5 new today" in str(due_line.render())
        await pilot.press("r")
        assert app.screen.session.remaining == 5
        assert len(app.store.review_log()) == 5


async def test_a_lesson_is_read_only_when_its_end_was_reached(make_app):
    app = make_app(start=("lesson", "L02"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("n")  # on to L03 without scrolling L02
        assert isinstance(app.screen, LessonScreen) and app.screen.lesson_id == "L03"
        await pilot.pause()
        assert not (app.store.lesson("L02") and app.store.lesson("L02").read)
        await pilot.press("end")
        await pilot.pause()
        await pilot.pause()
        assert app.store.lesson("L03").read


async def test_stats_screen_opens_from_home_and_changes_settings(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        assert isinstance(app.screen, StatsScreen)
        await pilot.press("right_square_bracket")
        assert "desired retention 0.91" in str(app.screen.query_one("#stats-body", Static).render())
        await pilot.press("s")
        assert "streak" in str(app.screen.query_one("#stats-body", Static).render())
        await pilot.press("w")  # nothing studied yet: a message, no quiz
        assert isinstance(app.screen, StatsScreen)
