"""Shared test set-up: progress goes to a temporary folder, time is fixed, animations are off."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

FIXED_NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def tutor_home(tmp_path, monkeypatch):
    """Every test gets its own empty progress folder (GENAI_TUTOR_HOME)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("GENAI_TUTOR_HOME", str(home))
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    from tutor import labs

    monkeypatch.setattr(labs, "WARM_WHILE_READING", False)  # no real compiles behind a test
    monkeypatch.setattr(labs, "DEFER_COMPILES", False)  # kernels, never twins, behind a frame
    return home


@pytest.fixture
def make_app(tutor_home):
    """Build a TutorApp on the real course with a fixed clock and the temporary store."""
    from quizzes.store import Store
    from tutor.app import TutorApp

    def factory(start=None, now=lambda: FIXED_NOW, course=None):
        return TutorApp(course=course, store=Store.open(), start=start, now=now)

    return factory
