"""Card export (Anki plain text, CSV) and import of the learner's own cards."""

import csv
from dataclasses import replace

import pytest

from quizzes import transfer
from quizzes.scheduler import StudyScheduler
from quizzes.session import MY_CARDS, ReviewSession, study_deck
from quizzes.store import Store
from tests.quizzes import Clock, cards, course, lesson


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "progress.db") as opened:
        yield opened


def tagged_deck():
    deck = list(cards("L01", 3))
    deck[0] = replace(deck[0], front="Line one\nline <two>", concepts=("alpha", "beta"))
    deck[1] = replace(deck[1], back="tab\there & there")
    return deck


def test_anki_export_has_the_header_and_one_note_per_card_with_tags(tmp_path):
    path = tmp_path / "cards.txt"
    assert transfer.export_anki(tagged_deck(), path) == 3
    lines = path.read_text(encoding="utf-8").splitlines()
    header = [line for line in lines if line.startswith("#")]
    notes = [line for line in lines if not line.startswith("#")]
    assert header == [
        "#separator:tab",
        "#html:true",
        "#notetype:Basic",
        "#deck:genai-tutor",
        "#tags column:3",
    ]
    assert len(notes) == 3 and all(len(note.split("\t")) == 3 for note in notes)
    front, _back, tags = notes[0].split("\t")
    assert front == "Line one<br>line &lt;two&gt;" and tags == "L01 alpha beta"
    assert notes[1].split("\t")[1] == "tab here &amp; there"
    assert notes[2].split("\t")[2] == "L01"


def test_csv_export_round_trips_through_the_csv_module(tmp_path):
    path = tmp_path / "cards.csv"
    transfer.export_csv(tagged_deck(), path)
    with open(path, encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [r["id"] for r in rows] == ["L01-c00", "L01-c01", "L01-c02"]
    assert rows[0]["front"] == "Line one\nline <two>" and rows[0]["tags"] == "L01 alpha beta"


def test_importing_own_cards_reports_bad_lines_and_keeps_the_rest(store, tmp_path):
    path = tmp_path / "mine.tsv"
    path.write_text(
        "# my deck\nWhat is a token?\tA piece of text\tnlp\n\nno tab here\n"
        "Front only\t \nQ2\tA2\na\tb\tc\td\n",
        encoding="utf-8",
    )
    added, updated, errors = transfer.import_own_cards(store, path)
    assert (added, updated) == (2, 0)
    assert errors == [
        f"{path}:4: needs a front and a back separated by a tab",
        f"{path}:5: the back is empty",
        f"{path}:7: has 4 fields; use front, back and optional tags (separated by tabs)",
    ]
    again = transfer.import_own_cards(store, path)
    assert again[:2] == (0, 2)  # same fronts: updated, not doubled
    deck = study_deck(course(lesson("L01", 2)), store)
    mine = [card for card in deck if card.lesson_id == MY_CARDS]
    assert [c.front for c in mine] == ["What is a token?", "Q2"] and mine[0].concepts == ("nlp",)
    session = ReviewSession(deck, store, StudyScheduler(), Clock())
    seen = []
    while not session.finished:
        seen.append(session.current.id)
        session.reveal()
        session.grade(4)
    assert set(seen) == {c.id for c in deck}  # own cards are scheduled like the rest


def test_cli_import_prints_file_and_line(tmp_path, capsys):
    from tutor.cli import main

    path = tmp_path / "mine.tsv"
    path.write_text("Good\tline\nbad line\n", encoding="utf-8")
    assert main(["import", "cards", str(path)]) == 1
    out = capsys.readouterr()
    assert f"{path}:2: needs a front and a back" in out.err
    assert "imported 1 new" in out.out
    with Store.open() as store:
        assert [c.front for c in store.own_cards()] == ["Good"]
