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
from typing import TypeGuard

from content.schema import Question

__all__ = ["Result", "choice_order", "grade", "normalise", "one_typo", "option_marks", "shuffled_order"]

TYPO_MIN_LETTERS = 5
TYPO_NOTE = "Accepted, mind the spelling"

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
    typo: bool = False


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
    text = "".join(
        " " if unicodedata.category(c) == "Pd" else c for c in text if not unicodedata.combining(c)
    )
    text = _SPACE.sub(" ", text).strip()
    start, end = 0, len(text)
    while start < end and (_is_punctuation(text[start]) or text[start].isspace()):
        start += 1
    while end > start and (_is_punctuation(text[end - 1]) or text[end - 1].isspace()):
        end -= 1
    return text[start:end]


def _is_index(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _choice(question: Question, index: int) -> str:
    return question.choices[index]


def _join(items: list[str]) -> str:
    return "; ".join(items) if items else "nothing"


def _grade_single(question: Question, response: object) -> Result:
    assert question.answer is not None  # the loader requires an answer for single
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
    near = next((a for a in accepted if one_typo(typed, normalise(a))), None)
    if near is not None:
        return Result(True, near, f"{TYPO_NOTE}: “{near}”.", typo=True)
    return Result(False, expected, f"You wrote “{response.strip()}”.")


def _within_one_edit(a: str, b: str) -> bool:
    """Whether `a` becomes `b` by one insertion, deletion, substitution or swap of two
    neighbouring letters (Damerau's four kinds of single typo)."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and a[diffs[1]] == b[diffs[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k in range(len(short)) if short[k] != long[k]), len(short))
    return short[i:] == long[i + 1 :]


def one_typo(typed: str, accepted: str) -> bool:
    """Whether `typed` is `accepted` with exactly one typo, allowed only in words of five
    letters or more (short words differ by one letter from other real words: "bias" and
    "base" are not typos of each other). Both arguments are already normalised."""
    if typed == accepted:
        return False
    got, want = typed.split(" "), accepted.split(" ")
    if len(got) != len(want):
        return False
    slips = [(g, w) for g, w in zip(got, want) if g != w]
    return len(slips) == 1 and len(slips[0][1]) >= TYPO_MIN_LETTERS and _within_one_edit(*slips[0])


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


def choice_order(question: Question, seed: int | str = 0) -> list[int]:
    """The order in which to show a single- or multi-choice question's options (indices
    into choices). Deterministic from the question id and the attempt's `seed`, so a
    resumed attempt shows the same order and a new attempt (new seed) a new one."""
    indices = list(range(len(question.choices)))
    random.Random(f"choices:{question.id}:{seed}").shuffle(indices)
    return indices


def option_marks(question: Question, response: object) -> dict[int, str]:
    """How to mark each option after an answer, by choice index: "right" (chosen and
    right), "wrong" (chosen but wrong) or "missed" (right but not chosen); options neither
    chosen nor right get no mark. True/false uses index 0 for True and 1 for False.
    Order questions are marked per item: "right" if in its place, else "wrong"."""
    if question.kind == "order":
        items = list(response) if isinstance(response, (list, tuple)) else []
        return {index: "right" if index == position else "wrong" for position, index in enumerate(items)}
    if question.kind == "truefalse":
        right = {0 if question.answer else 1}
        chosen = {0 if response else 1} if isinstance(response, bool) else set()
    elif question.kind == "single":
        assert question.answer is not None  # the loader requires an answer for single
        right = {int(question.answer)}
        chosen = {response} if _is_index(response) else set()
    elif question.kind == "multi":
        right = {int(i) for i in question.answers}
        chosen = set(response) if isinstance(response, (set, frozenset, list, tuple)) else set()
    else:
        return {}
    marks = {i: "right" if i in right else "wrong" for i in chosen}
    marks.update({i: "missed" for i in right - chosen})
    return marks
