"""Flashcard scheduling: a thin, deterministic wrapper around the `fsrs` package.

A card's scheduling state is an `fsrs.Card` (exported here as `CardState`). It is stored
as JSON text (`dumps_state` / `loads_state`); the store keys it by the course's string
card id, so fsrs's own integer `card_id` is always 0 and means nothing.

Every datetime must be timezone-aware. Aware non-UTC datetimes are converted to UTC;
naive ones raise `NaiveDatetimeError`, because guessing a zone would silently shift
every due date.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fsrs import Card as CardState
from fsrs import Rating, ReviewLog, Scheduler, State

__all__ = [
    "CardState",
    "NaiveDatetimeError",
    "RATINGS",
    "RATING_NAMES",
    "StudyScheduler",
    "State",
    "dumps_state",
    "format_interval",
    "loads_state",
    "utc",
]

RATINGS = (1, 2, 3, 4)
RATING_NAMES = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}


class NaiveDatetimeError(ValueError):
    """A datetime without a time zone was given where a UTC instant is needed."""


def utc(moment: datetime) -> datetime:
    """Return `moment` in UTC; raise NaiveDatetimeError if it has no time zone."""
    if not isinstance(moment, datetime):
        raise TypeError(f"expected a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise NaiveDatetimeError(
            f"naive datetime {moment.isoformat()} given; use a UTC-aware datetime, "
            "e.g. datetime.now(timezone.utc)"
        )
    return moment.astimezone(timezone.utc)


def dumps_state(state: CardState) -> str:
    """Serialise a card's scheduling state to JSON text (for the store)."""
    return state.to_json()


def loads_state(text: str) -> CardState:
    """Rebuild a card's scheduling state from `dumps_state` text.

    Raises ValueError when the text is not a state this module wrote.
    """
    try:
        state = CardState.from_json(text)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"not a card state: {error}") from error
    state.due = utc(state.due)
    if state.last_review is not None:
        state.last_review = utc(state.last_review)
    return state


def format_interval(interval: timedelta) -> str:
    """A short label for an interval: "<1m", "10m", "5h", "3d", "3w", "2mo", "1.5y"."""
    seconds = interval.total_seconds()
    minutes = seconds / 60
    hours = minutes / 60
    days = hours / 24
    if minutes < 1:
        return "<1m"
    if hours < 1:
        return f"{round(minutes)}m"
    if days < 1:
        return f"{round(hours)}h"
    if days < 14:
        return f"{round(days)}d"
    if days < 60:
        return f"{round(days / 7)}w"
    if days < 365:
        return f"{round(days / 30.44)}mo"
    years = days / 365.25
    return f"{years:.1f}y".replace(".0y", "y") if years < 10 else f"{round(years)}y"


class StudyScheduler:
    """FSRS with this app's settings. Fuzzing is off by default, so intervals are
    reproducible; switch it on for real study to spread out cards learnt together."""

    def __init__(self, desired_retention: float = 0.9, fuzz: bool = False) -> None:
        if not 0.0 < desired_retention < 1.0:
            raise ValueError("desired_retention must be between 0 and 1")
        self.desired_retention = desired_retention
        self.fuzz = fuzz
        self._fsrs = Scheduler(desired_retention=desired_retention, enable_fuzzing=fuzz)
        self._exact = Scheduler(desired_retention=desired_retention, enable_fuzzing=False)

    def new_card_state(self, now: datetime | None = None) -> CardState:
        """The state of a card never studied (due at `now`, default the current time)."""
        due = utc(now) if now is not None else datetime.now(timezone.utc)
        return CardState(card_id=0, due=due)

    @staticmethod
    def _rating(rating: int) -> Rating:
        if isinstance(rating, bool) or not isinstance(rating, int) or rating not in RATINGS:
            raise ValueError(f"rating must be 1 (Again), 2 (Hard), 3 (Good) or 4 (Easy), not {rating!r}")
        return Rating(rating)

    def review(self, state: CardState, rating: int, now: datetime) -> tuple[CardState, ReviewLog]:
        """Grade a card at `now`: returns the new state and fsrs's review log.

        `state` itself is not modified.
        """
        return self._fsrs.review_card(state, self._rating(rating), review_datetime=utc(now))

    def preview(self, state: CardState, now: datetime) -> dict[int, timedelta]:
        """The interval each rating (1..4) would give at `now`, for button labels.

        Computed without fuzz, so with fuzzing on the real interval may differ slightly.
        """
        moment = utc(now)
        result = {}
        for rating in RATINGS:
            card, _ = self._exact.review_card(state, Rating(rating), review_datetime=moment)
            result[rating] = card.due - moment
        return result

    def preview_labels(self, state: CardState, now: datetime) -> dict[int, str]:
        """`preview` formatted with `format_interval`."""
        return {r: format_interval(t) for r, t in self.preview(state, now).items()}

    def retrievability(self, state: CardState, now: datetime) -> float:
        """Predicted probability (0..1) of recalling the card at `now`; 0 if never studied."""
        return float(self._exact.get_card_retrievability(state, current_datetime=utc(now)))
