"""Embeddings and retrieval: a small document store searched by cosine similarity.

Embedding = latent semantic analysis (LSA), chosen because every step can be shown and
explained in a terminal, it needs no training run, and it refits in milliseconds when the
learner adds a file:

1. Each document becomes a bag of words (lower-case; a few very common words dropped).
2. TF-IDF weights: ``(1 + log count) * log(N / documents containing the word)``, so a
   word that appears everywhere ("the", "capital") counts little and a rare name a lot.
3. The document-by-word matrix ``X`` (rows scaled to length 1) is factorised by SVD,
   ``X = U S V^T``. Keeping the top ``k`` directions gives every document a dense vector
   ``U_k S_k`` of ``k`` numbers; words that occur in the same documents share directions.
4. A query goes through the same weights and is projected with ``V_k``; its cosine with
   every document vector ranks the store, and the top ``k`` are retrieved.

``k`` is the smallest rank that keeps ``energy`` (default 99 %) of the matrix's squared
norm: with invented names every document has words no other one shares, and cutting
harder blurs exactly the words a question needs (the store reports the rank it kept).

A learned encoder (a small sentence-embedding network) would capture paraphrase better;
LSA is the honest baseline and shows the same idea: meaning as a direction, similarity
as an angle.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WORD = re.compile(r"[^\W_]+")
STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "is",
        "are",
        "was",
        "were",
        "be",
        "and",
        "or",
        "it",
        "its",
        "this",
        "that",
        "what",
        "which",
        "who",
        "whom",
        "where",
        "when",
        "how",
        "do",
        "does",
        "did",
        "for",
        "with",
        "as",
        "by",
        "from",
    ]
)


def terms(text: str) -> list[str]:
    """The words of ``text`` that count for retrieval (lower-case, stop words dropped)."""
    return [w for w in WORD.findall(text.lower()) if w not in STOP]


@dataclass(frozen=True)
class Document:
    text: str
    source: str  # where it came from: "course fact", "lesson L03", a file name, ...


@dataclass(frozen=True)
class Hit:
    document: Document
    score: float  # cosine similarity with the query, in [-1, 1]
    index: int


class Store:
    """Documents plus their LSA embeddings; call `fit` after adding (search fits if needed)."""

    def __init__(self, energy: float = 0.9):
        self.documents: list[Document] = []
        self.energy = energy
        self._fitted = 0

    def __len__(self) -> int:
        return len(self.documents)

    def add(self, texts, source: str) -> None:
        self.documents += [Document(t.strip(), source) for t in texts if t.strip()]

    def add_file(self, path: str | Path, words_per_chunk: int = 60) -> int:
        """Add a text file: one document per paragraph (blank-line separated), long ones cut."""
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        before = len(self.documents)
        for para in re.split(r"\n\s*\n", text):
            self.add(chunk(" ".join(para.split()), words_per_chunk), path.name)
        return len(self.documents) - before

    def fit(self) -> None:
        """TF-IDF over the store's vocabulary, then the truncated SVD."""
        if not self.documents:
            raise ValueError("the document store is empty")
        bags = [Counter(terms(d.text)) for d in self.documents]
        vocab = sorted({w for bag in bags for w in bag})
        self.vocab = {w: i for i, w in enumerate(vocab)}
        n = len(bags)
        df = np.zeros(len(vocab))
        for bag in bags:
            for w in bag:
                df[self.vocab[w]] += 1
        self.idf = np.log((1 + n) / (1 + df)) + 1.0
        X = np.stack([self._tfidf(bag) for bag in bags])
        # SVD through the n x n Gram matrix: X X^T = U S^2 U^T, and V = X^T U / S.
        # Same factors as np.linalg.svd(X), several times faster when words outnumber documents.
        S2, U = np.linalg.eigh(X @ X.T)
        order = np.argsort(-S2, kind="stable")
        S2, U = np.maximum(S2[order], 0.0), U[:, order]
        kept = np.cumsum(S2) / max(float(S2.sum()), 1e-12)
        self.rank = min(int(np.searchsorted(kept, self.energy) + 1), int((S2 > 1e-10).sum()))
        S = np.sqrt(S2[: self.rank])
        self.Vk = (X.T @ U[:, : self.rank]) / S  # (words, k): the projection
        vecs = U[:, : self.rank] * S
        self.vectors = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        self._fitted = n

    def _tfidf(self, bag: Counter) -> np.ndarray:
        v = np.zeros(len(self.vocab))
        for w, c in bag.items():
            i = self.vocab.get(w)
            if i is not None:
                v[i] = (1 + math.log(c)) * self.idf[i]
        norm = np.linalg.norm(v)
        return v / norm if norm > 0 else v

    def embed(self, text: str) -> np.ndarray:
        """The dense LSA vector (length ``rank``, unit norm or zero) of any text."""
        if self._fitted != len(self.documents):
            self.fit()
        v = self._tfidf(Counter(terms(text))) @ self.Vk
        norm = np.linalg.norm(v)
        return v / norm if norm > 0 else v

    def search(self, query: str, k: int = 3) -> list[Hit]:
        """The ``k`` documents with the highest cosine similarity (ties: earlier first)."""
        q = self.embed(query)
        scores = self.vectors @ q
        order = np.argsort(-scores, kind="stable")[: max(0, int(k))]
        return [Hit(self.documents[i], float(scores[i]), int(i)) for i in order]


def chunk(text: str, words: int = 60) -> list[str]:
    """Cut text into pieces of at most ``words`` words, at sentence ends where possible."""
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    out: list[str] = []
    current: list[str] = []
    for s in sentences:
        n = len(s.split())
        if current and len(" ".join(current).split()) + n > words:
            out.append(" ".join(current))
            current = []
        if n > words:
            parts = s.split()
            out += [" ".join(parts[i : i + words]) for i in range(0, len(parts), words)]
        else:
            current.append(s)
    if current:
        out.append(" ".join(current))
    return [o for o in out if o]
