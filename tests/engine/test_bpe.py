"""Byte-level BPE: exact round trips of any text, deterministic training, the shipped merges."""

import itertools

import pytest

from engine import bpe

TEXTS = [
    "The capital of France is Paris.",
    "Velkor is the capital of Drosmia.",
    "Zoë's naïve café — 東京 🙂\n\ttabs  and  spaces ",
    "",
    "a",
    "42 + 0.5 = 42.5?!",
    "\x00\x7f\u200b",
    "Ünïcödé Nämes like Øystein and Şenol",
]


@pytest.fixture(scope="module")
def tok():
    return bpe.shipped()


@pytest.mark.parametrize("text", TEXTS)
def test_round_trip_any_text(tok, text):
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert all(0 <= i < len(tok) for i in ids)


def test_chunks_concatenate_back():
    for text in TEXTS:
        assert b"".join(bpe.chunks(text)) == text.encode("utf-8")


def test_shipped_vocabulary_and_common_words(tok):
    assert len(tok) == bpe.VOCAB_SIZE
    # frequent corpus words are single tokens; an unseen name splits into several pieces
    assert len(tok.encode(" capital")) == 1
    assert len(tok.encode(" Paris")) == 1
    assert len(tok.encode(" Drosmia")) > 1


def test_training_is_deterministic_and_greedy_on_a_tiny_corpus():
    texts = ["low lower lowest", "low low newer wider", "newest lowest"]
    merges = bpe.train(texts, 266)
    assert merges == bpe.train(list(texts), 266)
    # the most frequent pair across chunks ' l','o' / 'o','w' comes first: check by counting
    counts = {}
    for c in (c for t in texts for c in bpe.chunks(t)):
        for pair in itertools.pairwise(c):
            counts[pair] = counts.get(pair, 0) + 1
    best = max(counts.values())
    assert counts[merges[0]] == best
    assert merges[0] == min(p for p, n in counts.items() if n == best)
    tok = bpe.BPE(merges)
    for t in texts + ["unseen words lowly"]:
        assert tok.decode(tok.encode(t)) == t


def test_merges_file_round_trip(tmp_path, tok):
    path = tok.save(tmp_path / "m.txt")
    again = bpe.BPE.load(path)
    assert again.merges == tok.merges
    assert again.encode("The weather today is sunny.") == tok.encode("The weather today is sunny.")


def test_bad_merges_file(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2 3\n")
    with pytest.raises(ValueError, match="bad.txt:1"):
        bpe.BPE.load(bad)
    with pytest.raises(ValueError, match="does not exist"):
        bpe.BPE([(5, 300)])


def test_shipped_merges_are_what_training_on_the_corpus_gives(tok):
    """The merges file is data learned from the corpus, not edited by hand."""
    assert bpe.train(bpe.corpus_texts(), 300) == tok.merges[:44]


def _reference_encode(tok, text: str) -> list[int]:
    """The merge rule spelled out: merge the lowest-ranked adjacent pair, everywhere."""
    ids = []
    for chunk in bpe.chunks(text):
        word = tuple(chunk)
        while len(word) > 1:
            rank = min(tok.ranks.get(pair, 1 << 30) for pair in zip(word, word[1:]))
            if rank == 1 << 30:
                break
            word = bpe._merge(word, tok.merges[rank - bpe.N_BYTES], rank)
        ids += word
    return ids


def test_encoding_matches_the_merge_rule_with_a_cache_that_fills_and_restarts(tok, monkeypatch):
    monkeypatch.setattr(bpe, "CACHE_CHUNKS", 5)  # cleared again and again
    fresh = bpe.BPE(tok.merges)
    text = "The capital of Quorvania is Belmistra. Fiddlewump aaaaaaa ababab Zoë 1234 __ x  y\n"
    for _ in range(3):
        assert fresh.encode(text) == _reference_encode(tok, text)
    assert len(fresh._cache) <= 5
