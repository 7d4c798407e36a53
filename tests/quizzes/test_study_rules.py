"""Options shuffled per attempt with unambiguous marks, one-typo tolerance in gaps, and a
daily (not per-session) limit on new cards."""

from datetime import timedelta, timezone

import pytest

from content.schema import Question
from quizzes.grading import choice_order, grade, one_typo, option_marks
from quizzes.scheduler import StudyScheduler
from quizzes.session import QuizSession, ReviewSession, new_left_today
from quizzes.store import Store
from tests.quizzes import Clock, cards, gap, multi, single


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "progress.db") as opened:
        yield opened


def test_choice_order_is_a_permutation_fixed_by_seed_and_new_per_seed():
    question = Question("Q1", "L01", "single", "p", "e", tuple("abcdef"), 0)
    orders = {tuple(choice_order(question, seed)) for seed in range(50)}
    assert all(sorted(order) == list(range(6)) for order in orders)
    assert len(orders) > 30
    assert choice_order(question, 7) == choice_order(question, 7)
    # the keyed option lands in every position over many attempts
    assert {choice_order(question, s).index(0) for s in range(50)} == set(range(6))


def test_two_attempts_at_one_quiz_show_different_orders(store):
    questions = [single(f"Q{i}") for i in range(4)] + [multi("Q9")]
    clock = Clock()
    first = QuizSession(questions, store, now_fn=clock)
    second = QuizSession(questions, store, now_fn=clock)  # same second: still a new seed
    assert first.seed != second.seed
    assert [first.presented_order(q) for q in questions] != [second.presented_order(q) for q in questions]


def test_marks_say_right_wrong_and_missed():
    question = multi("Q1")  # right: 0 and 2
    assert option_marks(question, {0, 1}) == {0: "right", 1: "wrong", 2: "missed"}
    assert option_marks(question, {0, 2}) == {0: "right", 2: "right"}
    one = single("Q2", answer=1)
    assert option_marks(one, 2) == {2: "wrong", 1: "missed"}
    assert option_marks(one, 1) == {1: "right"}


@pytest.mark.parametrize(
    "typed, accepted, ok",
    [
        ("noize", "noise", True),  # substitution
        ("nosie", "noise", True),  # swapped neighbours
        ("noisse", "noise", True),  # insertion
        ("nose", "noise", True),  # deletion in a five-letter word
        ("bias", "base", False),  # four letters: no tolerance
        ("nozze", "noise", False),  # two typos
        ("latent spce", "latent space", True),
        ("latnt spce", "latent space", False),
    ],
)
def test_one_typo_only_in_long_words(typed, accepted, ok):
    assert one_typo(typed, accepted) is ok


def test_a_gap_answer_with_one_typo_is_accepted_with_a_note():
    result = grade(gap("Q1", answers=("noise",)), "Noize")
    assert result.correct and result.typo and "mind the spelling" in result.detail
    exact = grade(gap("Q1", answers=("noise",)), "noise")
    assert exact.correct and not exact.typo
    assert not grade(gap("Q1", answers=("bias",)), "bios").correct


def _study(store, deck, clock, per_day):
    session = ReviewSession(deck, store, StudyScheduler(), clock, new_limit=per_day, tz=timezone.utc)
    return session


def test_the_new_card_limit_is_per_day_across_sessions_and_resets_next_day(store):
    deck = cards("L01", 30)
    clock = Clock()  # 09:00 UTC
    first = _study(store, deck, clock, per_day=10)
    assert first.remaining == 10
    for _ in range(4):  # learn four new cards (Easy sends them days away), then leave
        first.reveal()
        first.grade(4)
    clock.now += timedelta(hours=2)
    second = _study(store, deck, clock, per_day=10)
    assert second.remaining == 6
    assert new_left_today(store, clock(), 10, timezone.utc) == 6
    second.reveal()
    second.grade(4)
    second.undo()  # an undone first review gives its new-card slot back
    assert new_left_today(store, clock(), 10, timezone.utc) == 6
    while not second.finished:
        second.reveal()
        second.grade(4)
    assert _study(store, deck, clock, per_day=10).remaining == 0
    clock.now += timedelta(hours=13)  # 00:00 the next day: a fresh allowance
    assert _study(store, deck, clock, per_day=10).remaining == 10


def test_settings_have_defaults_and_refuse_bad_values(store):
    from quizzes.settings import Settings, load_settings, save_setting

    assert load_settings(store) == Settings(20, 0.9, False)
    assert save_setting(store, "new_per_day", "7") == 7
    assert save_setting(store, "desired_retention", "0.85") == 0.85
    for key, bad, why in [
        ("new_per_day", "lots", "whole number"),
        ("new_per_day", "-1", "whole number"),
        ("desired_retention", "1.5", "between"),
        ("desired_retention", "x", "number"),
        ("show_streak", "maybe", "true or false"),
        ("colour", "red", "unknown setting"),
    ]:
        with pytest.raises(ValueError, match=why):
            save_setting(store, key, bad)
    assert load_settings(store) == Settings(7, 0.85, False)
