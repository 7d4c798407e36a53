"""A word-level tokenizer: text -> token ids -> text, with an honest unknown-token path.

Real LLMs cut text into sub-words so that any string can be spelled. This tiny model
uses whole words (and the punctuation marks ``. , ! ? ; :``) as tokens, because a
vocabulary of about a thousand words is enough for its corpus and every token is
readable in the lab. The price: a word the corpus never used (often enough) has no
token. It becomes ``<unk>``, and ``encode`` reports it, so the learner sees which
words the model has never seen.

Two special tokens:

* ``<end>`` marks the edge of a paragraph. Every training paragraph is preceded by
  ``context`` copies of it and followed by one, so a prompt that starts a sentence
  looks like the start of a paragraph, and the model can decide to stop.
* ``<unk>`` stands for any word outside the vocabulary.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import numpy as np

END, UNK = "<end>", "<unk>"
SPECIALS = (END, UNK)
WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*|[0-9]+|[.,!?;:]")
PUNCT = set(".,!?;:")


def split_words(text: str) -> list[str]:
    """Words, numbers and punctuation marks; quotes, brackets and symbols are dropped."""
    return WORD.findall(text)


class Tokenizer:
    """Maps words to ids and back. ``vocab[0]`` is ``<end>``, ``vocab[1]`` is ``<unk>``."""

    def __init__(self, vocab: Iterable[str]):
        vocab = list(vocab)
        if tuple(vocab[:2]) != SPECIALS:
            vocab = list(SPECIALS) + [w for w in vocab if w not in SPECIALS]
        if len(set(vocab)) != len(vocab):
            raise ValueError("the vocabulary has repeated words")
        self.vocab = vocab
        self.index = {word: i for i, word in enumerate(vocab)}
        self.end_id, self.unk_id = 0, 1

    @classmethod
    def from_texts(cls, texts: Iterable[str], min_count: int = 3) -> Tokenizer:
        """Every word seen at least ``min_count`` times, most frequent first (ties: A-Z)."""
        counts = Counter(w for text in texts for w in split_words(text))
        words = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
        return cls(list(SPECIALS) + words)

    def __len__(self) -> int:
        return len(self.vocab)

    def lookup(self, word: str) -> int | None:
        """The id of ``word``; tries it as written, then lower-case, then Capitalised."""
        for form in (word, word.lower(), word.capitalize()):
            if form in self.index:
                return self.index[form]
        return None

    def encode(self, text: str) -> tuple[list[int], list[str]]:
        """Token ids for ``text`` and the words that had no token (each once, in order)."""
        ids, unknown = [], []
        for word in split_words(text):
            i = self.lookup(word)
            if i is None:
                ids.append(self.unk_id)
                if word not in unknown:
                    unknown.append(word)
            else:
                ids.append(i)
        return ids, unknown

    def decode(self, ids: Iterable[int]) -> str:
        """Words joined by spaces, no space before punctuation; ``<end>`` becomes a newline."""
        out: list[str] = []
        for i in ids:
            word = self.vocab[int(i)]
            if word == END:
                out.append("\n")
            elif word in PUNCT or not out or out[-1] == "\n":
                out.append(word)
            else:
                out.append(" " + word)
        return "".join(out).strip(" ")

    def stream(self, paragraphs: Iterable[str], context: int) -> np.ndarray:
        """All paragraphs as one int32 id stream, each preceded by ``context`` ``<end>``s."""
        ids: list[int] = []
        for paragraph in paragraphs:
            words, _ = self.encode(paragraph)
            if words:
                ids += [self.end_id] * context + words
        ids.append(self.end_id)
        return np.asarray(ids, dtype=np.int32)


def windows(stream: np.ndarray, context: int) -> tuple[np.ndarray, np.ndarray]:
    """Training pairs: X[n] = the ``context`` ids before position n, Y[n] = the id at n.

    Targets that are padding (an ``<end>`` right after another ``<end>``) are skipped:
    predicting the padding teaches nothing. The ``<end>`` that closes a paragraph stays.
    """
    stream = np.asarray(stream, dtype=np.int32)
    n = stream.shape[0] - context
    X = np.lib.stride_tricks.sliding_window_view(stream[:-1], context)[:n]
    Y = stream[context:]
    prev = stream[context - 1 : -1]
    keep = ~((Y == 0) & (prev == 0))
    return np.ascontiguousarray(X[keep]), np.ascontiguousarray(Y[keep])
