from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from quizzes.scheduler import (
    NaiveDatetimeError,
    State,
    StudyScheduler,
    dumps_state,
    format_interval,
    loads_state,
)
from tests.quizzes import T0


def test_fuzzing_is_off_by_default_and_intervals_are_deterministic():
    scheduler = StudyScheduler()
    assert scheduler.fuzz is False
    card = scheduler.new_card_state(T0)
    first, _ = scheduler.review(card, 4, T0)
    for _ in range(5):
        again, _ = StudyScheduler().review(card, 4, T0)
        assert again.due == first.due
    assert first.state == State.Review


def test_new_card_intervals_rise_with_the_rating():
    scheduler = StudyScheduler()
    intervals = scheduler.preview(scheduler.new_card_state(T0), T0)
    assert intervals[1] < intervals[2] < intervals[3] < intervals[4]
    assert intervals[1] == timedelta(minutes=1)
    assert intervals[3] == timedelta(minutes=10)


def test_reviewed_card_intervals_rise_with_the_rating():
    scheduler = StudyScheduler()
    card, _ = scheduler.review(scheduler.new_card_state(T0), 3, T0)
    card, _ = scheduler.review(card, 3, card.due)
    assert card.state == State.Review
    later = card.due
    intervals = scheduler.preview(card, later)
    assert intervals[1] < intervals[2] < intervals[3] < intervals[4]
    assert intervals[2] >= timedelta(days=1)


def test_preview_matches_review_and_does_not_change_the_card():
    scheduler = StudyScheduler()
    card = scheduler.new_card_state(T0)
    before = dumps_state(card)
    intervals = scheduler.preview(card, T0)
    assert dumps_state(card) == before
    for rating, interval in intervals.items():
        reviewed, log = scheduler.review(card, rating, T0)
        assert reviewed.due - T0 == interval
        assert int(log.rating) == rating


def test_naive_datetimes_are_rejected():
    scheduler = StudyScheduler()
    card = scheduler.new_card_state(T0)
    naive = datetime(2025, 3, 1, 9, 0)
    with pytest.raises(NaiveDatetimeError, match="naive"):
        scheduler.review(card, 3, naive)
    with pytest.raises(NaiveDatetimeError):
        scheduler.preview(card, naive)
    with pytest.raises(NaiveDatetimeError):
        scheduler.new_card_state(naive)


def test_aware_non_utc_datetimes_are_converted():
    scheduler = StudyScheduler()
    card = scheduler.new_card_state(T0)
    paris = T0.astimezone(ZoneInfo("Europe/Paris"))
    reviewed, _ = scheduler.review(card, 3, paris)
    assert reviewed.last_review == T0
    assert reviewed.due.tzinfo == timezone.utc


@pytest.mark.parametrize("rating", [0, 5, True, "3"])
def test_bad_ratings_are_rejected(rating):
    scheduler = StudyScheduler()
    with pytest.raises((ValueError, TypeError)):
        scheduler.review(scheduler.new_card_state(T0), rating, T0)


def test_state_round_trips_through_json():
    scheduler = StudyScheduler()
    card, _ = scheduler.review(scheduler.new_card_state(T0), 3, T0)
    restored = loads_state(dumps_state(card))
    assert restored == card
    with pytest.raises(ValueError):
        loads_state('{"nope": 1}')
    with pytest.raises(ValueError):
        loads_state("not json")


@pytest.mark.parametrize(
    ("interval", "label"),
    [
        (timedelta(seconds=20), "<1m"),
        (timedelta(minutes=1), "1m"),
        (timedelta(minutes=10), "10m"),
        (timedelta(hours=5), "5h"),
        (timedelta(days=1), "1d"),
        (timedelta(days=8), "8d"),
        (timedelta(days=21), "3w"),
        (timedelta(days=61), "2mo"),
        (timedelta(days=365), "1y"),
        (timedelta(days=548), "1.5y"),
    ],
)
def test_format_interval(interval, label):
    assert format_interval(interval) == label


def test_desired_retention_is_checked():
    with pytest.raises(ValueError):
        StudyScheduler(desired_retention=1.5)
    assert StudyScheduler(desired_retention=0.8).desired_retention == 0.8
