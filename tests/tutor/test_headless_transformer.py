"""`genai-tutor tokenize`, `train transformer` and `ask` (tiny runs and the shipped weights)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import bpe
from engine.transformer import Transformer
from tutor import cli

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "my_facts.txt"
SHIPPED = Path(__file__).resolve().parents[2] / "content" / "weights" / "transformer.npz"


def run_json(capsys, argv) -> dict:
    assert cli.main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_tokenize_json_shows_pieces_that_spell_the_text(capsys):
    out = run_json(capsys, ["tokenize", "Zoë visits Belmistra", "--json"])
    assert "".join(out["tokens"]).replace("<c3><ab>", "ë") == "Zoë visits Belmistra"
    assert bpe.shipped().decode(out["ids"]) == "Zoë visits Belmistra"
    assert out["count"] == len(out["ids"]) and out["vocab_size"] == 1024


def test_train_transformer_saves_to_the_user_folder_by_default(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_TUTOR_HOME", str(tmp_path))
    out = run_json(capsys, ["train", "transformer", "--steps", "3", "--seed", "1", "--json"])
    assert out["steps"] == 3 and len(out["loss_curve"]) == 3 and out["tokens"] > 0
    assert out["cpu_seconds"] > 0 and out["seconds"] > 0  # CPU time: the one-core budget
    model, meta = Transformer.load(tmp_path / "weights" / "transformer.npz")
    assert model.config.seed == 1 and meta["steps"] == 3


def exit_code(argv: list[str]) -> int:
    """The exit code of a command, whether it returns or argparse stops it at parse time."""
    try:
        return cli.main(argv)
    except SystemExit as stop:
        return int(stop.code)


def test_bad_arguments_exit_2(capsys):
    assert exit_code(["train", "transformer", "--steps", "0", "--no-save"]) == 2
    assert exit_code(["ask", "Why?", "--k", "0"]) == 2
    assert exit_code(["ask", "   "]) == 2
    assert exit_code(["ask", "Why?", "--docs", "/nonexistent/file.txt"]) == 2
    assert "is not a readable file" in capsys.readouterr().err


def test_unusable_weights_is_one_clear_message(capsys, tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not weights")
    assert cli.main(["ask", "Why?", "--weights", str(junk)]) == 1
    assert "train transformer" in capsys.readouterr().err


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped transformer weights")
def test_ask_retrieves_from_the_learners_own_file(capsys):
    out = run_json(capsys, ["ask", "What is the capital of Quorvania?", "--docs", str(FIXTURE), "--json"])
    assert out["documents"][0]["source"] == "my_facts.txt" and out["documents"][0]["in_prompt"]
    assert out["documents"][0]["text"].startswith("The capital of Quorvania is Belmistra.")
    assert "Document: The capital of Quorvania is Belmistra." in out["prompt"]
    assert all(0 < t["prob"] <= 1 for t in out["tokens"])
    closed = run_json(capsys, ["ask", "What is the capital of Quorvania?", "--no-retrieval", "--json"])
    assert closed["documents"] == [] and closed["answer"] != "Belmistra"
    assert "Document:" not in closed["prompt"]


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped transformer weights")
def test_ask_answers_from_the_learners_own_file(capsys):
    out = run_json(capsys, ["ask", "What is the capital of Quorvania?", "--docs", str(FIXTURE), "--json"])
    assert out["answer"] == "Belmistra"
    assert "".join(t["token"] for t in out["tokens"]).strip() == "Belmistra"
    out = run_json(
        capsys, ["ask", "What is the name of the cat of Ilvana?", "--docs", str(FIXTURE), "--json"]
    )
    assert out["answer"] == "Fiddlewump"


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped transformer weights")
def test_ask_uses_no_document_that_shares_no_word(capsys):
    out = run_json(capsys, ["ask", "Who is the leader of Zzyzx?", "--k", "2", "--json"])
    assert [d["score"] for d in out["documents"]] == [0.0, 0.0]
    assert not any(d["in_prompt"] for d in out["documents"]) and "Document:" not in out["prompt"]


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped transformer weights")
def test_ask_closed_book_knows_the_corpus(capsys):
    out = run_json(capsys, ["ask", "What is the capital of France?", "--no-retrieval", "--json"])
    assert out["answer"] == "Paris"
