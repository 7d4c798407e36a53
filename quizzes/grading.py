"""Marking quiz answers.

`grade(question, response)` never raises for a bad *response* (wrong type, index out of
range, nothing entered): the learner simply gets it wrong, with a sentence saying why.
It raises ValueError only for a question whose `kind` is unknown, which is a content
error that `genai-tutor validate` reports long before a learner meets it.

Response types by question kind:

    single     int                 index into question.choices
    multi      set/list/tuple[int]  indices of every ticked choice
    truefalse  bool
    gap        str                 what the learner typed
    order      list[int]           indices into question.choices in the learner's order
                                   (question.choices is written in the correct order)
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass

from content.schema import Question

__all__ = ["Result", "grade", "normalise", "shuffled_order"]

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Result:
    """The mark for one answer.

    correct:  whether the answer is right (no partial credit)
    expected: the right answer, written for a person to read
    detail:   one plain sentence about what the learner gave
    """

    correct: bool
    expected: str
    detail: str


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char).startswith(("P", "S"))


def normalise(text: str) -> str:
    """Fold text for lenient comparison of typed answers.

    Compatibility-decomposes (NFKD), drops accents, casefolds (so "ß" becomes "ss"),
    treats dashes as spaces (a learner who types "next token" for "next-token" knows the
    answer), collapses runs of whitespace to one space and strips punctuation and symbols
    from both ends. Other inner punctuation stays: "p(x)" is not "px".
    """
    text = unicodedata.normalize("NFKD", str(text)).casefold()
    text = unicodedata.normalize("NFKD", text)
    text = "".join(" " if unicodedata.category(c) == "Pd" else c for c in text if not unicodedata.combining(c))
    text = _SPACE.sub(" ", text).strip()
    start, end = 0, len(text)
    while start < end and (_is_punctuation(text[start]) or text[start].isspace()):
        start += 1
    while end > start and (_is_punctuation(text[end - 1]) or text[end - 1].isspace()):
        end -= 1
    return text[start:end]


def _is_index(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _choice(question: Question, index: int) -> str:
    return question.choices[index]


def _join(items: list[str]) -> str:
    return "; ".join(items) if items else "nothing"


def _grade_single(question: Question, response: object) -> Result:
    expected = _choice(question, int(question.answer))
    if response is None:
        return Result(False, expected, "No choice was made.")
    if not _is_index(response) or not 0 <= response < len(question.choices):
        return Result(False, expected, "That is not one of the choices.")
    if response == question.answer:
        return Result(True, expected, "Right.")
    return Result(False, expected, f"You chose “{_choice(question, response)}”.")


def _grade_multi(question: Question, response: object) -> Result:
    right = {int(i) for i in question.answers}
    expected = _join([_choice(question, i) for i in sorted(right)])
    if response is None:
        return Result(False, expected, "Nothing was ticked.")
    if not isinstance(response, (set, frozenset, list, tuple)):
        return Result(False, expected, "The answer should be a set of ticked choices.")
    items = list(response)
    if not all(_is_index(i) and 0 <= i < len(question.choices) for i in items):
        return Result(False, expected, "Some ticks are not among the choices.")
    given = set(items)
    if given == right:
        return Result(True, expected, "Right: you ticked exactly the right choices.")
    missed = [_choice(question, i) for i in sorted(right - given)]
    extra = [_choice(question, i) for i in sorted(given - right)]
    parts = []
    if missed:
        parts.append(f"Not ticked but right: {_join(missed)}.")
    if extra:
        parts.append(f"Ticked but wrong: {_join(extra)}.")
    return Result(False, expected, " ".join(parts))


def _grade_truefalse(question: Question, response: object) -> Result:
    expected = "True" if question.answer else "False"
    if not isinstance(response, bool):
        return Result(False, expected, "The answer should be true or false.")
    if response == bool(question.answer):
        return Result(True, expected, "Right.")
    return Result(False, expected, f"You said {'true' if response else 'false'}.")


def _grade_gap(question: Question, response: object) -> Result:
    accepted = [str(a) for a in question.answers]
    expected = accepted[0] if accepted else ""
    if not isinstance(response, str) or not normalise(response):
        return Result(False, expected, "Nothing was typed.")
    typed = normalise(response)
    if any(typed == normalise(a) for a in accepted):
        return Result(True, expected, "Right.")
    return Result(False, expected, f"You wrote “{response.strip()}”.")


def _grade_order(question: Question, response: object) -> Result:
    expected = " → ".join(question.choices)
    count = len(question.choices)
    if not isinstance(response, (list, tuple)):
        return Result(False, expected, "The answer should be the items in your order.")
    items = list(response)
    if not all(_is_index(i) for i in items) or sorted(items) != list(range(count)):
        return Result(False, expected, "Every item must be placed exactly once.")
    if items == list(range(count)):
        return Result(True, expected, "Right: every item is in its place.")
    first_wrong = next(pos for pos, item in enumerate(items) if item != pos)
    placed = sum(1 for pos, item in enumerate(items) if item == pos)
    return Result(
        False,
        expected,
        f"{placed} of {count} in the right place; the first slip is at position "
        f"{first_wrong + 1}, which should be “{question.choices[first_wrong]}”.",
    )


_GRADERS = {
    "single": _grade_single,
    "multi": _grade_multi,
    "truefalse": _grade_truefalse,
    "gap": _grade_gap,
    "order": _grade_order,
}


def grade(question: Question, response: object) -> Result:
    """Mark `response` for `question`; see the module docstring for response types."""
    grader = _GRADERS.get(question.kind)
    if grader is None:
        raise ValueError(f"question {question.id} has unknown kind {question.kind!r}")
    return grader(question, response)


def shuffled_order(question: Question, seed: int | str = 0) -> list[int]:
    """The order in which to present an order question's choices (indices into choices).

    Deterministic from the question id and `seed`, and never already correct when there
    are two or more choices, so the learner always has something to do.
    """
    indices = list(range(len(question.choices)))
    if len(indices) < 2:
        return indices
    rng = random.Random(f"order:{question.id}:{seed}")
    rng.shuffle(indices)
    if indices == sorted(indices):
        indices = indices[1:] + indices[:1]
    return indices
