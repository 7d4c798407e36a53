"""engine.captions: phrasings, held-out templates and combinations, the match matrix."""

import numpy as np
import pytest

from engine import captions as C
from engine import images


def test_describe_fills_slots_and_states_only_them():
    text, slots = C.describe(5, 0, 0, 0, "a {size} {colour} {shape} {where}")
    assert text == "a small red heart on the left" and list(slots) == [5, 0, 0, 0]
    text, slots = C.describe(4, 4, 2, 1, "a {colour} {shape}")
    assert text == "a blue cross" and list(slots) == [4, 4, -1, -1]
    assert C.template_slots("{where}, a {size} thing") == (2, 3)


def test_random_captions_use_synonyms_and_word_orders():
    rng = np.random.default_rng(0)
    attrs = np.tile([[0, 5, 4, 1]], (400, 1))  # a large purple circle, centre
    texts, slots = C.random_captions(attrs, rng)
    joined = " ".join(texts)
    for word in ("big", "large", "violet", "purple", "disc", "middle", "centre"):
        assert word in joined, word
    assert any(t.startswith("in the") for t in texts)  # "where" first
    assert (slots == -1).any()
    assert (slots[slots >= 0] == np.broadcast_to(attrs, slots.shape)[slots >= 0]).all()
    assert C.match_matrix(attrs[:1], slots).all()  # every phrasing is true of it


def test_held_out_templates_are_new_phrasings_of_known_words():
    assert not set(C.TRAIN_TEMPLATES) & set(C.HELD_OUT_TEMPLATES)
    trained = set()
    for t in C.TRAIN_TEMPLATES:
        trained.update(C.WORD.findall(C._SLOT.sub(" ", t)))
    for table in (C.SHAPE_WORDS, C.COLOUR_WORDS, C.WHERE_WORDS, C.SIZE_WORDS):
        for phrases in table.values():
            for p in phrases:
                trained.update(C.WORD.findall(p))
    for t in C.HELD_OUT_TEMPLATES:
        assert set(C.WORD.findall(C._SLOT.sub(" ", t))) <= trained, t
        assert C.template_slots(t) == (0, 1, 2, 3)


def test_held_out_combinations_are_about_ten_percent():
    combos = C.all_combinations()
    assert len(combos) == 360 and len(np.unique(combos, axis=0)) == 360
    held = C.held_out_combinations()
    assert len(held) == 40 and len(C.training_combinations()) == 320
    purple_triangle = [images.SHAPES.index("triangle"), images.COLOURS.index("purple")]
    assert (held[:, :2] == purple_triangle).all(axis=1).sum() == 10


def test_match_matrix_against_brute_force():
    rng = np.random.default_rng(3)
    attrs = C.all_combinations()[rng.integers(0, 360, 30)]
    _, slots = C.random_captions(attrs[rng.permutation(30)], rng)
    m = C.match_matrix(attrs, slots)
    for i in range(30):
        for j in range(30):
            want = all(s < 0 or s == a for s, a in zip(slots[j], attrs[i]))
            assert m[i, j] == want


def test_encode_packs_known_words_and_reports_unknown_ones():
    ids, pos, offsets = C.encode(["a red heart", "A BIG, blue cross!"], max_len=16)
    assert list(offsets) == [0, 3, 7] and list(pos) == [0, 1, 2, 0, 1, 2, 3]
    assert [C.VOCAB[i] for i in ids[3:]] == ["a", "big", "blue", "cross"]
    assert C.unknown_words("a photo of a red heart") == ["photo", "of"]
    assert len(C.encode(["a " * 40], max_len=16)[0]) == 16
    with pytest.raises(ValueError, match="no known word"):
        C.encode(["zebra"], max_len=16)
