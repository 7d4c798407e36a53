"""SVG snapshots of the study screens at 80×24 (fixed clock, empty progress, no animation).

Regenerate after an intended change with: pytest tests/tutor/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

SIZE = (80, 24)


def test_home(snap_compare, make_app):
    assert snap_compare(make_app(), terminal_size=SIZE)


def test_lesson(snap_compare, make_app):
    assert snap_compare(make_app(start=("lesson", "L01")), terminal_size=SIZE)


def test_review_card_revealed(snap_compare, make_app):
    assert snap_compare(make_app(start=("review", "")), terminal_size=SIZE, press=["space"])


def test_quiz_question(snap_compare, make_app):
    assert snap_compare(make_app(start=("quiz", "L01")), terminal_size=SIZE)


def test_quiz_feedback(snap_compare, make_app):
    assert snap_compare(make_app(start=("quiz", "L01")), terminal_size=SIZE, press=["down", "enter"])


def test_help(snap_compare, make_app):
    assert snap_compare(make_app(), terminal_size=SIZE, press=["f1"])
