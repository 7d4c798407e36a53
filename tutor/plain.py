"""Plain mode: quizzes and flashcard review as plain lines of text, for screen readers and
scripts (`genai-tutor review --plain`, `quiz L03 --plain`, `quiz exam --plain`).

No Textual and no escape codes: every prompt is a line, every answer a line read from
input. The store, sessions and grading are the app's own, so an answer given here is
saved and marked exactly as on screen. `?` shows help; `q` or the end of input leaves,
and everything answered so far is already saved (an exam left this way resumes later).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone, tzinfo
from typing import TextIO

from content import Course, Question
from quizzes.grading import option_marks
from quizzes.scheduler import RATING_NAMES, StudyScheduler
from quizzes.session import (
    QuizSession,
    ReviewSession,
    build_exam,
    new_attempt_seed,
    study_deck,
)
from quizzes.settings import load_settings
from quizzes.store import Store

__all__ = ["parse_response", "run_quiz", "run_review"]

LETTERS = "abcdef"
QUIZ_HELP = """How to answer:
  one answer        the option's number or letter: 2 or b
  tick all          every right option, separated by commas: 1,3
  true or false     true, false, t or f
  fill the gap      type the missing word(s)
  put in order      the item numbers in the right order: 3,1,2,4
  ?                 this help
  q                 save and leave (an exam carries on where you left it next time)"""
REVIEW_HELP = """Recall the answer, then press Enter to see it. Grade honestly:
  1 Again (forgot)   2 Hard   3 Good   4 Easy   (Enter alone means Good)
  u undoes the last grade, ? shows this help, q saves and leaves."""
MARK_WORDS = {"right": "[right]", "wrong": "[wrong]", "missed": "[missed]"}
KIND_WORDS = {
    "single": "one answer",
    "multi": "tick every right answer",
    "truefalse": "true or false",
    "gap": "fill the gap",
    "order": "put in order",
}
_SPLIT = re.compile(r"[\s,;]+")


class _Leave(Exception):
    """The learner typed q or input ended."""


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _positions(text: str, count: int) -> list[int] | None:
    """Option positions (0-based) from "2", "b", "1,3" or "a c"; None if any is not one."""
    picked = []
    for token in filter(None, _SPLIT.split(text.strip().lower())):
        if token.isdigit() and 1 <= int(token) <= count:
            picked.append(int(token) - 1)
        elif len(token) == 1 and token in LETTERS[:count]:
            picked.append(LETTERS.index(token))
        else:
            return None
    return picked


def parse_response(question: Question, order: list[int], text: str) -> tuple[object, str | None]:
    """Turn a typed line into the response `grade` expects, with options numbered as
    shown (`order`: the choice index shown at each position). Returns (response, None),
    or (None, why) when the line is not an answer of the right shape."""
    text = text.strip()
    count = len(order)
    if question.kind == "gap":
        return (text, None) if text else (None, "Type the missing word(s).")
    if question.kind == "truefalse":
        word = text.lower()
        if word in ("t", "true", "yes", "y", "1"):
            return True, None
        if word in ("f", "false", "no", "n", "2"):
            return False, None
        return None, "Answer true or false (t or f)."
    picked = _positions(text, count)
    if not picked:
        return None, f"Give option numbers from 1 to {count} (or letters a to {LETTERS[count - 1]})."
    if question.kind == "single":
        if len(picked) != 1:
            return None, "Give just one option."
        return order[picked[0]], None
    if question.kind == "multi":
        return {order[p] for p in picked}, None
    if sorted(picked) != list(range(count)):
        return None, f"Give every item number from 1 to {count} exactly once, in your order."
    return [order[p] for p in picked], None


class _Lines:
    """Reads answers line by line; the end of input or `q` leaves."""

    def __init__(self, inp: TextIO, out: TextIO) -> None:
        self.inp, self.out = inp, out

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def ask(self, prompt: str = "> ") -> str:
        self.out.write(prompt)
        self.out.flush()
        line = self.inp.readline()
        if not line:
            self.say()
            raise _Leave
        if not getattr(self.inp, "isatty", lambda: False)():
            self.out.write("\n")  # piped input is not echoed: end the prompt's line
        line = line.rstrip("\n")
        if line.strip().lower() in ("q", "quit"):
            raise _Leave
        return line


# ---------------------------------------------------------------------------------- quizzes


def _show_question(io: _Lines, session: QuizSession, question: Question) -> list[int]:
    io.say()
    io.say(
        f"Question {session.index + 1} of {len(session.questions)} "
        f"({question.lesson_id}, {KIND_WORDS[question.kind]})"
    )
    io.say(question.prompt)
    if question.kind == "truefalse":
        io.say("  1. True")
        io.say("  2. False")
        return [0, 1]
    order = session.presented_order(question)
    for position, index in enumerate(order):
        io.say(f"  {position + 1}. {question.choices[index]}")
    return order


def _show_result(io: _Lines, question: Question, response: object, result, order: list[int]) -> None:
    if result.typo:
        io.say(f"Right. {result.detail}")
    elif result.correct:
        io.say("Right.")
    else:
        io.say(f"Wrong. The answer: {result.expected}")
        if question.kind != "order":
            io.say(result.detail)
    if question.kind in ("single", "multi", "truefalse"):
        marks = option_marks(question, response)
        names = ["True", "False"] if question.kind == "truefalse" else list(question.choices)
        for position, index in enumerate(order):
            if index in marks:
                io.say(f"  {MARK_WORDS[marks[index]]} {position + 1}. {names[index]}")
    io.say(question.explanation)


def _ask_question(io: _Lines, session: QuizSession) -> None:
    question = session.current
    assert question is not None  # the caller checked that the quiz is not finished
    order = _show_question(io, session, question)
    while True:
        line = io.ask()
        if line.strip() == "?":
            io.say(QUIZ_HELP)
            continue
        response, why = parse_response(question, order, line)
        if why is None:
            break
        io.say(why)
    result = session.answer(response)
    _show_result(io, question, response, result, order)
    session.advance()


def _show_score(io: _Lines, session: QuizSession) -> None:
    score = session.score
    io.say()
    io.say(f"Score: {score.right} of {score.total} ({round(100 * score.fraction)}%)")
    if session.kind == "exam":
        for lesson_id, (right, total) in session.per_lesson_scores().items():
            io.say(f"  {lesson_id}: {right} of {total}")
    missed = session.missed()
    if not missed:
        io.say("Nothing missed. Well done.")
        return
    io.say(f"You missed {len(missed)}:")
    for number, question in enumerate(missed, 1):
        io.say(f"{number}. {question.prompt}")
        io.say(f"   {question.explanation}")


def run_quiz(session: QuizSession, inp: TextIO, out: TextIO, title: str) -> int:
    """Ask every unanswered question of `session`, then print the score and the missed
    questions; offers a retry of exactly those. Returns 0."""
    io = _Lines(inp, out)
    io.say(f"{title}: {len(session.questions)} questions. Type ? for help, q to save and leave.")
    try:
        while True:
            while not session.finished:
                _ask_question(io, session)
            _show_score(io, session)
            if not session.missed():
                return 0
            io.say("Retry the ones you missed? (y/n)")
            if io.ask().strip().lower() not in ("y", "yes"):
                return 0
            retry = session.retry_missed()
            if retry is None:
                return 0
            session = retry
    except _Leave:
        answered = session.answered_count
        io.say(f"Saved: {answered} of {len(session.questions)} answered.")
        if session.kind == "exam" and not session.finished:
            io.say("Run the exam again to carry on where you left off.")
        return 0


def exam_session(course: Course, store: Store, now_fn: Callable[[], datetime]) -> QuizSession:
    """The exam left unfinished (resumed), or a newly drawn one."""
    left = store.unfinished_attempt("exam")
    session = QuizSession.resume(left, course, store, now_fn) if left else None
    if session is not None:
        return session
    questions = build_exam(course, course.exam_per_lesson, seed=new_attempt_seed(store, now_fn()))
    return QuizSession(questions, store, "exam", now_fn=now_fn)


# ---------------------------------------------------------------------------------- review


def run_review(
    course: Course,
    store: Store,
    inp: TextIO,
    out: TextIO,
    now_fn: Callable[[], datetime] = _utc_now,
    tz: tzinfo | None = None,
) -> int:
    """Review the due flashcards (and today's new ones) line by line. Returns 0."""
    io = _Lines(inp, out)
    settings = load_settings(store)
    session = ReviewSession(
        study_deck(course, store),
        store,
        StudyScheduler(settings.desired_retention),
        now_fn,
        new_limit=settings.new_per_day,
        tz=tz,
    )
    io.say(f"Review: {session.remaining} cards. Type ? for help, q to save and leave.")
    try:
        while (card := session.current) is not None:
            io.say()
            io.say(
                f"Card ({card.lesson_id}, {'new' if session.is_new() else 'review'}); "
                f"{session.remaining} to go"
            )
            io.say(f"Front: {card.front}")
            while True:
                line = io.ask("Enter shows the answer> ").strip()
                if line == "?":
                    io.say(REVIEW_HELP)
                    continue
                break
            session.reveal()
            io.say(f"Back: {card.back}")
            previews = session.previews()
            io.say(
                "Grade: "
                + ", ".join(f"{r} {RATING_NAMES[r]} ({previews[r]})" for r in RATING_NAMES)
                + "; u undoes"
            )
            while True:
                line = io.ask().strip().lower()
                if line == "?":
                    io.say(REVIEW_HELP)
                elif line == "u":
                    undone = session.undo()
                    io.say(f"Undone: {undone.front}" if undone else "Nothing to undo.")
                    if undone:
                        break
                elif line in ("", "1", "2", "3", "4"):
                    session.grade(int(line or 3))
                    break
                else:
                    io.say("Type 1, 2, 3 or 4 (Enter alone is 3 Good), u to undo, q to leave.")
    except _Leave:
        pass
    summary = session.summary()
    counts = ", ".join(f"{RATING_NAMES[r]} {summary.by_rating[r]}" for r in RATING_NAMES)
    io.say(f"Reviewed {summary.reviewed} cards ({counts}); {summary.remaining} left for now.")
    return 0
