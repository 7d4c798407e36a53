"""The learner's study settings, kept in the progress store with their defaults.

new_per_day:        new flashcards introduced per calendar day, across all sessions (20)
desired_retention:  the recall probability FSRS schedules for (0.9, as Anki and FSRS advise)
show_streak:        whether Progress and Stats show a study streak (off unless opted in)
"""

from __future__ import annotations

from dataclasses import dataclass

from quizzes.store import Store

__all__ = ["Settings", "load_settings", "save_setting"]

DEFAULTS = {"new_per_day": 20, "desired_retention": 0.9, "show_streak": False}
RETENTION_RANGE = (0.7, 0.99)


@dataclass(frozen=True)
class Settings:
    new_per_day: int = 20
    desired_retention: float = 0.9
    show_streak: bool = False


def _parse(key: str, text: str) -> object:
    """Check one setting's text; raise ValueError with a plain sentence when it is wrong."""
    if key == "new_per_day":
        if not text.strip().isdigit():
            raise ValueError("new cards per day must be a whole number, e.g. 20")
        count = int(text)
        if not 0 <= count <= 9999:
            raise ValueError("new cards per day must be between 0 and 9999")
        return count
    if key == "desired_retention":
        try:
            value = float(text)
        except ValueError:
            raise ValueError("desired retention must be a number such as 0.9") from None
        low, high = RETENTION_RANGE
        if not low <= value <= high:
            raise ValueError(f"desired retention must be between {low} and {high}")
        return value
    if key == "show_streak":
        if text.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
            raise ValueError("show_streak must be true or false")
        return text.lower() in ("true", "1", "yes", "on")
    raise ValueError(f"unknown setting '{key}' (choose from {', '.join(DEFAULTS)})")


def load_settings(store: Store) -> Settings:
    """The saved settings; a value that no longer parses falls back to its default."""
    values: dict[str, object] = {}
    for key, default in DEFAULTS.items():
        text = store.setting(key)
        try:
            values[key] = default if text is None else _parse(key, text)
        except ValueError:
            values[key] = default
    return Settings(
        int(str(values["new_per_day"])),
        float(str(values["desired_retention"])),
        values["show_streak"] is True,
    )


def save_setting(store: Store, key: str, text: str) -> object:
    """Check and save one setting; returns the parsed value. Raises ValueError if bad."""
    value = _parse(key, str(text))
    store.set_setting(key, str(value).lower() if isinstance(value, bool) else str(value))
    return value
