"""Checks that the quiz bank cannot be answered without the material.

Two tells let a test-wise learner score without knowing anything: the right option being
conspicuously longer than the others, and the right answers sitting in the same places.
Options are shuffled on every attempt, but the files should not rely on that: a keyed
option much longer than its distractors is a giveaway in any order.

`bank_warnings` names each question whose keyed option is more than 1.5 times the mean
length of its distractors; `bank_report` gives the course-level figures that
`genai-tutor validate --json` prints under "bank".
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from content.schema import Course, Problem, Question

__all__ = ["LONG_KEY_RATIO", "MAX_LONGEST_SHARE", "bank_report", "bank_warnings", "key_ratio"]

LONG_KEY_RATIO = 1.5  # keyed option vs the mean length of its distractors
MAX_LONGEST_SHARE = 0.35  # at most this share of single-choice keys may be the longest option


def _single_key(question: Question) -> int:
    """The keyed index of a single-choice question (the loader guarantees an int)."""
    answer = question.answer
    if not isinstance(answer, int):
        raise TypeError(f"question {question.id} has no answer index")
    return int(answer)


def _keyed(question: Question) -> set[int]:
    if question.kind == "single":
        return {_single_key(question)}
    if question.kind == "multi":
        return {int(i) for i in question.answers}
    return set()


def key_ratio(question: Question) -> float:
    """Mean length of the keyed option(s) over the mean length of the distractors
    (0 for a question without both)."""
    keyed = _keyed(question)
    right = [len(c) for i, c in enumerate(question.choices) if i in keyed]
    wrong = [len(c) for i, c in enumerate(question.choices) if i not in keyed]
    if not right or not wrong:
        return 0.0
    return (sum(right) / len(right)) / (sum(wrong) / len(wrong))


def _longest_is_keyed(question: Question) -> bool:
    """Whether the keyed option of a single-choice question is strictly the longest."""
    lengths = [len(c) for c in question.choices]
    key = _single_key(question)
    return all(lengths[key] > n for i, n in enumerate(lengths) if i != key)


def _all_right_first(question: Question) -> bool:
    """Whether a multi-select question's right answers are exactly its first options."""
    return sorted(question.answers) == list(range(len(question.answers)))


def _question_lines(root: Path | None) -> dict[str, tuple[str, int]]:
    """Question id -> (file relative to the content root's parent, line of its id)."""
    if root is None:
        return {}
    found = {}
    pattern = re.compile(r'^\s*id\s*=\s*"([^"]+)"')
    for path in sorted(Path(root).glob("lessons/*/quiz.toml")):
        shown = str(path.relative_to(Path(root).parent))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = pattern.match(line)
            if match:
                found[match.group(1)] = (shown, number)
    return found


def bank_warnings(course: Course, root: Path | str | None = None) -> list[Problem]:
    """One warning per question whose keyed option is a giveaway by its length, at the
    question's id line when `root` (the content folder) is given."""
    lines = _question_lines(Path(root) if root is not None else None)
    warnings = []
    for question in course.questions:
        if question.kind not in ("single", "multi"):
            continue
        ratio = key_ratio(question)
        if ratio > LONG_KEY_RATIO:
            where = lines.get(question.id, (f"{question.lesson_id}/quiz.toml", 0))
            warnings.append(
                Problem(
                    where[0],
                    where[1],
                    f"question '{question.id}': the keyed option is {ratio:.1f}× the mean length "
                    f"of its distractors (keep it under {LONG_KEY_RATIO}×: shorten it or "
                    "strengthen the distractors)",
                )
            )
    return warnings


def bank_report(course: Course) -> dict:
    """Course-level balance of the quiz bank, as plain JSON-ready numbers."""
    singles = [q for q in course.questions if q.kind == "single"]
    multis = [q for q in course.questions if q.kind == "multi"]
    positions = Counter(_single_key(q) for q in singles)
    longest = sum(_longest_is_keyed(q) for q in singles)
    return {
        "single_choice": len(singles),
        "multi_select": len(multis),
        "answer_positions": {
            "ABCDEF"[i]: positions.get(i, 0) for i in range(max((len(q.choices) for q in singles), default=0))
        },
        "longest_is_keyed": longest,
        "longest_is_keyed_share": round(longest / len(singles), 4) if singles else 0.0,
        "longest_is_keyed_limit": MAX_LONGEST_SHARE,
        "multi_all_right_first": [q.id for q in multis if _all_right_first(q)],
        "long_key_warnings": [w.message.split("'")[1] for w in bank_warnings(course)],
        "long_key_ratio_limit": LONG_KEY_RATIO,
    }
