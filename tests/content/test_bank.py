"""The quiz bank cannot be answered by length or position: `validate --json` reports it."""

import json

from content.bank import bank_report, bank_warnings, key_ratio
from content.schema import Question
from tests.quizzes import course, lesson


def test_validate_json_reports_a_bank_that_meets_the_bar(capsys):
    from tutor.cli import main

    main(["validate", "--json"])
    bank = json.loads(capsys.readouterr().out)["bank"]
    assert bank["single_choice"] >= 100
    assert bank["longest_is_keyed_share"] <= 0.35
    assert abs(bank["longest_is_keyed"] / bank["single_choice"] - bank["longest_is_keyed_share"]) < 1e-4
    assert bank["multi_all_right_first"] == []
    assert sum(bank["answer_positions"].values()) == bank["single_choice"]


def test_the_report_and_warnings_catch_the_tells():
    long_key = Question(
        "L01-q1", "L01", "single", "p", "e", ("short", "a much longer keyed option", "tiny"), 1
    )
    fair = Question("L01-q2", "L01", "single", "p", "e", ("alpha", "beta", "gamma"), 0)
    first = Question("L01-q3", "L01", "multi", "p", "e", ("yes", "also", "nope"), answers=(0, 1))
    built = course(lesson("L01", 0, (long_key, fair, first)))
    report = bank_report(built)
    assert report["longest_is_keyed"] == 1 and report["longest_is_keyed_share"] == 0.5
    assert report["answer_positions"] == {"A": 1, "B": 1, "C": 0}
    assert report["multi_all_right_first"] == ["L01-q3"]
    assert key_ratio(long_key) == len("a much longer keyed option") / ((5 + 4) / 2)
    assert [w.message.split("'")[1] for w in bank_warnings(built)] == ["L01-q1"]
