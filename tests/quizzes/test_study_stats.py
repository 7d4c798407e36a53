"""Stats over a scripted month (tests/quizzes/month.py) on a fixed clock, and the backup
round trip that must reproduce them exactly."""

import json
from dataclasses import replace
from datetime import date, timezone

import pytest

from content.schema import Syllabus, SyllabusLesson
from quizzes import transfer
from quizzes.settings import save_setting
from quizzes.stats import study_stats
from quizzes.store import BackupError, Store
from tests.quizzes import course, lesson, single
from tests.quizzes.month import END, play_month


def month_course():
    questions = (
        replace(single("L01-q01"), concepts=("alpha",)),
        replace(single("L01-q02"), concepts=("beta",)),
    )
    built = course(lesson("L01", 6, questions))
    return replace(built, syllabus=Syllabus((SyllabusLesson("L01", "One", ("alpha", "beta")),), ()))


@pytest.fixture
def month_store(tmp_path):
    with Store.open(tmp_path / "progress.db") as store:
        play_month(store)
        yield store


def test_forecast_counts_each_card_on_its_due_day(month_store):
    figures = study_stats(month_course(), month_store, END, timezone.utc)
    assert figures.today == date(2026, 11, 30)
    expected = [0] * 30
    expected[6] = 1  # the Hard card, due 6 December
    expected[18] = 4  # the four Good cards, due 18 December
    expected[29] = 1  # the relearnt card, due 29 December
    assert figures.forecast == expected
    states = month_store.card_states()
    assert sum(figures.forecast) == sum(1 for _, due in states.values() if due.date() < date(2026, 12, 30))


def test_true_retention_counts_only_reviews_of_review_cards(month_store):
    weeks = {w.week_start: w for w in study_stats(month_course(), month_store, END, timezone.utc).retention}
    # 9 Nov: six review cards (one Again); the relearning step that day does not count,
    # but the lapsed card's next review on 11 Nov does (it is a review card again).
    assert (weeks[date(2026, 11, 9)].reviews, weeks[date(2026, 11, 9)].passed) == (7, 6)
    assert weeks[date(2026, 11, 9)].retention == pytest.approx(6 / 7)
    assert weeks[date(2026, 11, 2)].retention is None
    assert (weeks[date(2026, 11, 16)].reviews, weeks[date(2026, 11, 23)].reviews) == (1, 1)


def test_heatmap_time_and_mastery(month_store):
    figures = study_stats(month_course(), month_store, END, timezone.utc)
    assert figures.heatmap_start == date(2026, 6, 8) and figures.heatmap_start.weekday() == 0
    by_day = {i: n for i, n in enumerate(figures.heatmap) if n}
    assert by_day == {146: 6, 154: 7, 156: 1, 161: 1, 174: 1}
    assert figures.reviews_total == 16
    # 5 gaps of 20 s on 1 Nov, 60 s (capped) to the quiz, 40 s between its answers, 60 s
    # to 9 Nov, 5 × 20 s there, then four capped gaps of 60 s.
    assert figures.seconds_studied == 100 + 60 + 40 + 60 + 100 + 4 * 60
    mastery = {m.concept: m for m in figures.concepts}
    assert mastery["alpha"].mastery == 1.0 and mastery["beta"].mastery == 0.0
    assert figures.weakest == ["beta", "alpha"]
    assert figures.streak_days is None  # only when the learner opts in
    save_setting(month_store, "show_streak", "true")
    # studied on 29 November, not yet on the 30th, not on the 28th: a streak of one day
    assert study_stats(month_course(), month_store, END, timezone.utc).streak_days == 1


def test_export_then_import_into_a_fresh_home_reproduces_stats(month_store, tmp_path):
    save_setting(month_store, "desired_retention", "0.85")
    before = study_stats(month_course(), month_store, END, timezone.utc).to_json()
    backup = tmp_path / "backup.json"
    transfer.export_progress(month_store, backup)
    assert json.loads(backup.read_text())["version"] == 1
    with Store.open(tmp_path / "fresh" / "progress.db") as fresh:
        counts = transfer.import_progress(fresh, backup)
        assert counts["review_log"] == 16 and counts["quiz_answer"] == 2
        after = study_stats(month_course(), fresh, END, timezone.utc).to_json()
        assert after == before and after["desired_retention"] == 0.85
        assert fresh.review_log() == month_store.review_log()


def test_a_bad_backup_changes_nothing(month_store, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "genai-tutor-progress", "version": 99, "tables": {}}))
    with pytest.raises(BackupError, match="newer"):
        transfer.import_progress(month_store, bad)
    broken = month_store.export_backup()
    broken["tables"]["review_log"]["rows"][0][1] = None  # card_id may not be null
    bad.write_text(json.dumps(broken))
    with pytest.raises(BackupError):
        transfer.import_progress(month_store, bad)
    assert len(month_store.review_log()) == 16
