"""The word-level tokenizer: vocabulary, unknown words, decoding, training windows."""

from __future__ import annotations

import numpy as np

from engine.tokenizer import END, UNK, Tokenizer, split_words, windows


def test_split_keeps_words_numbers_and_punctuation_and_drops_symbols():
    assert split_words('He said "hi", at 7 o\'clock (twice)!') == [
        "He",
        "said",
        "hi",
        ",",
        "at",
        "7",
        "o'clock",
        "twice",
        "!",
    ]


def test_vocabulary_is_specials_then_most_frequent_words():
    tok = Tokenizer.from_texts(["b a a .", "a b c ."], min_count=2)
    assert tok.vocab[:2] == [END, UNK]
    assert tok.vocab[2:] == ["a", ".", "b"]  # a x3, then ties in A-Z order; c was seen once


def test_unknown_words_are_reported_once_each_in_order():
    tok = Tokenizer([END, UNK, "The", "capital", "of", "is", "."])
    ids, unknown = tok.encode("The capital of Atlantis is Zog. Zog!")
    assert unknown == ["Atlantis", "Zog", "!"]
    assert ids.count(tok.unk_id) == 4
    assert ids[0] == tok.index["The"]


def test_case_fallback_finds_the_written_form():
    tok = Tokenizer([END, UNK, "The", "paris"])
    ids, unknown = tok.encode("the Paris")
    assert unknown == [] and ids == [tok.index["The"], tok.index["paris"]]


def test_decode_puts_no_space_before_punctuation():
    tok = Tokenizer([END, UNK, "Paris", "is", "big", ".", ","])
    ids, _ = tok.encode("Paris , is big .")
    assert tok.decode(ids) == "Paris, is big."
    assert tok.decode([tok.index["big"], tok.end_id, tok.index["Paris"]]) == "big\nParis"


def test_windows_pad_paragraph_starts_and_skip_padding_targets():
    tok = Tokenizer([END, UNK, "a", "b"])
    stream = tok.stream(["a b", "b"], context=2)
    assert stream.tolist() == [0, 0, 2, 3, 0, 0, 3, 0]
    X, Y = windows(stream, 2)
    # targets: a, b, <end> (closes paragraph 1), b, <end>; the padding <end> is skipped
    assert Y.tolist() == [2, 3, 0, 3, 0]
    assert X.tolist() == [[0, 0], [0, 2], [2, 3], [0, 0], [0, 3]]
    assert X.dtype == np.int32 and X.flags.c_contiguous
