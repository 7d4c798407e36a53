"""The Stats screen at 80×24 after a scripted month of study (fixed clock, UTC days).

Regenerate after an intended change with:
pytest tests/tutor/test_stats_snapshot.py --snapshot-update
"""

from __future__ import annotations

from datetime import timezone

from content import load_course
from tests.quizzes.month import END, play_month


def test_stats_after_a_month(snap_compare, make_app):
    app = make_app(now=lambda: END)
    app.zone = timezone.utc
    play_month(app.store, load_course().lesson("L01").cards)
    assert snap_compare(app, terminal_size=(80, 24), press=["s"])
