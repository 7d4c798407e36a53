"""Captions for the sprites in many phrasings, and the word tokenizer of the CLIP model.

A sprite has four attributes (shape, colour, position, size: engine.images). One fixed
caption per sprite would teach a text encoder one sentence per picture; a learner
typing "a big blue cross" or "on the left, a tiny heart" would fall off it. So each
sprite can be described by:

* **synonyms**: large/big, small/tiny/little, centre/middle/center, cross/plus, ...
* **word orders**: "a small red heart on the left", "on the left, a small red heart"
* **partial descriptions**: "a red heart", "a tiny shape", "something purple"

A template is a string with slots ``{size} {colour} {shape} {where}``; a caption states
exactly the attributes of its slots. :data:`TRAIN_TEMPLATES` are used in training;
:data:`HELD_OUT_TEMPLATES` never are (they test phrasings the model has not seen, made
of words it has). :data:`HELD_OUT_PAIRS` are four colour-shape pairs (e.g. no purple
triangle) that never appear in training at any position or size: 40 of the 360
attribute combinations (11 %), kept for testing compositional generalisation.

Captions are returned with their **slots**: an int array (shape, colour, position,
size) holding the stated attribute ids and -1 where the caption says nothing. A caption
is *true of* a sprite when every stated attribute matches (:func:`match_matrix`); the
contrastive loss uses that, because "a red heart" describes every red heart in a batch.

The tokenizer is word-level over the fixed :data:`VOCAB` (every word any template or
synonym uses, sorted). Unknown words are dropped and reported
(:func:`unknown_words`); a text with no known word cannot be encoded.
"""

from __future__ import annotations

import re

import numpy as np

from . import images as imgs

ATTRIBUTES = ("shape", "colour", "position", "size")

#: Words for each attribute value, in the order of engine.images' name tuples.
SHAPE_WORDS = {
    "circle": ("circle", "disc"),
    "square": ("square", "box"),
    "triangle": ("triangle",),
    "diamond": ("diamond",),
    "cross": ("cross", "plus"),
    "heart": ("heart",),
}
COLOUR_WORDS = {
    "red": ("red",),
    "orange": ("orange",),
    "yellow": ("yellow",),
    "green": ("green",),
    "blue": ("blue",),
    "purple": ("purple", "violet"),
}
WHERE_WORDS = {
    "left": ("on the left", "at the left", "to the left"),
    "right": ("on the right", "at the right", "to the right"),
    "top": ("at the top", "near the top", "up at the top"),
    "bottom": ("at the bottom", "near the bottom", "down at the bottom"),
    "centre": ("in the centre", "in the middle", "in the center"),
}
SIZE_WORDS = {"small": ("small", "tiny", "little"), "large": ("large", "big")}

TRAIN_TEMPLATES = (
    "a {size} {colour} {shape} {where}",
    "{where}, a {size} {colour} {shape}",
    "a {colour} {size} {shape} {where}",
    "there is a {size} {colour} {shape} {where}",
    "a {size} {shape} {where}, {colour}",
    "the {shape} is {colour} and {size}",
    "a {colour} {shape}",
    "a {size} {shape}",
    "a {shape} {where}",
    "a {size} {colour} {shape}",
    "{where} there is a {colour} {shape}",
    "a {size} {shape} {where}",
    "a {shape}",
    "a {colour} shape",
    "something {colour}",
    "a {size} shape",
    "a shape {where}",
    "a {size} {colour} thing",
    "a {colour} thing {where}",
    "the shape sits {where}",
)
HELD_OUT_TEMPLATES = (
    "{where}, the {shape} is {size} and {colour}",
    "there is a {colour} {shape} {where} and the shape is {size}",
    "a {shape} {where}, {colour} and {size}",
    "something {size} and {colour} sits {where}: a {shape}",
)
#: Colour-shape pairs never shown in training (all 5 positions x 2 sizes of each).
HELD_OUT_PAIRS = (("purple", "triangle"), ("green", "heart"), ("orange", "cross"), ("blue", "circle"))

WORD = re.compile(r"[a-z]+")
_SLOT = re.compile(r"{(size|colour|shape|where)}")
_SLOT_INDEX = {"shape": 0, "colour": 1, "where": 2, "size": 3}


def _vocabulary() -> tuple[str, ...]:
    words: set[str] = set()
    for text in TRAIN_TEMPLATES + HELD_OUT_TEMPLATES:
        words.update(WORD.findall(_SLOT.sub(" ", text)))
    for table in (SHAPE_WORDS, COLOUR_WORDS, WHERE_WORDS, SIZE_WORDS):
        for phrases in table.values():
            for phrase in phrases:
                words.update(WORD.findall(phrase))
    return tuple(sorted(words))


VOCAB = _vocabulary()
WORD_ID = {w: i for i, w in enumerate(VOCAB)}


def template_slots(template: str) -> tuple[int, ...]:
    """Which attributes (0 shape, 1 colour, 2 position, 3 size) a template states."""
    return tuple(sorted(_SLOT_INDEX[name] for name in _SLOT.findall(template)))


def describe(
    shape: int, colour: int, position: int, size: int, template: str, rng: np.random.Generator | None = None
) -> tuple[str, np.ndarray]:
    """(caption, slots) of one sprite's attributes in ``template``.

    Synonyms are drawn from ``rng`` (the first word of each list when rng is None).
    """

    def pick(options: tuple[str, ...]) -> str:
        return options[0] if rng is None else options[int(rng.integers(len(options)))]

    words = {
        "shape": pick(SHAPE_WORDS[imgs.SHAPES[shape]]),
        "colour": pick(COLOUR_WORDS[imgs.COLOURS[colour]]),
        "where": pick(WHERE_WORDS[imgs.POSITIONS[position]]),
        "size": pick(SIZE_WORDS[imgs.SIZES[size]]),
    }
    text = _SLOT.sub(lambda m: words[m.group(1)], template)
    values = (shape, colour, position, size)
    slots = np.full(4, -1, np.int64)
    for k in template_slots(template):
        slots[k] = values[k]
    return text, slots


def random_captions(
    attrs: np.ndarray, rng: np.random.Generator, templates: tuple[str, ...] = TRAIN_TEMPLATES
) -> tuple[list[str], np.ndarray]:
    """One random phrasing per row of ``attrs`` (N, 4): (texts, slots (N, 4))."""
    texts, slots = [], np.empty((len(attrs), 4), np.int64)
    for i, (s, c, p, z) in enumerate(np.asarray(attrs, np.int64)):
        template = templates[int(rng.integers(len(templates)))]
        text, slots[i] = describe(s, c, p, z, template, rng)
        texts.append(text)
    return texts, slots


# ------------------------------------------------------------------ combinations


def all_combinations() -> np.ndarray:
    """The 360 attribute combinations as rows (shape, colour, position, size)."""
    grids = np.meshgrid(
        *(np.arange(len(n)) for n in (imgs.SHAPES, imgs.COLOURS, imgs.POSITIONS, imgs.SIZES)), indexing="ij"
    )
    return np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)


def is_held_out(attrs: np.ndarray) -> np.ndarray:
    """Boolean per row of ``attrs`` (N, 4): is its colour-shape pair held out?"""
    attrs = np.asarray(attrs, np.int64).reshape(-1, 4)
    out = np.zeros(len(attrs), bool)
    for colour, shape in HELD_OUT_PAIRS:
        out |= (attrs[:, 0] == imgs.SHAPES.index(shape)) & (attrs[:, 1] == imgs.COLOURS.index(colour))
    return out


def training_combinations() -> np.ndarray:
    combos = all_combinations()
    return combos[~is_held_out(combos)]


def held_out_combinations() -> np.ndarray:
    combos = all_combinations()
    return combos[is_held_out(combos)]


def match_matrix(image_attrs: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """float32 (N_images, N_captions): 1 where the caption is true of the image."""
    a = np.asarray(image_attrs, np.int64)
    s = np.asarray(slots, np.int64)
    out = np.ones((len(a), len(s)), bool)
    for k in range(4):  # one attribute at a time: no (N, N, 4) temporary
        out &= (s[None, :, k] < 0) | (a[:, k, None] == s[None, :, k])
    return out.astype(np.float32)


# ------------------------------------------------------------------ tokenizer


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def unknown_words(text: str) -> list[str]:
    """The words of ``text`` the model has no token for (they are ignored)."""
    return [w for w in words(text) if w not in WORD_ID]


def tokenize(text: str) -> list[int]:
    """Token ids of the known words of ``text``, in order."""
    return [WORD_ID[w] for w in words(text) if w in WORD_ID]


def encode(texts: list[str], max_len: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pack texts into (ids, positions, offsets): text i is ids[offsets[i]:offsets[i+1]].

    Texts longer than ``max_len`` known words are cut; a text with no known word raises
    ValueError (there is nothing to encode).
    """
    ids: list[int] = []
    positions: list[int] = []
    offsets = [0]
    for text in texts:
        tokens = tokenize(text)[:max_len]
        if not tokens:
            raise ValueError(
                f"no known word in {text!r}; the model knows words such as 'red', 'heart', 'small', 'left'"
            )
        ids.extend(tokens)
        positions.extend(range(len(tokens)))
        offsets.append(len(ids))
    return (np.asarray(ids, np.int64), np.asarray(positions, np.int64), np.asarray(offsets, np.int64))
