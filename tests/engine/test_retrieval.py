"""LSA retrieval: the embedding against numpy's own SVD, cosine ranking, files, chunks."""

from collections import Counter

import numpy as np
import pytest

from engine import retrieval

DOCS = [
    "The capital of Drosmia is Velkor.",
    "People in Kesh speak Lumari.",
    "Tamsin has a cat called Orbel.",
    "The river Sanvo flows through Kesh.",
    "Diffusion models remove noise step by step.",
    "A transformer attends over its context.",
]


def store(energy=1.0):
    s = retrieval.Store(energy)
    s.add(DOCS, "test")
    s.fit()
    return s


def test_terms_drop_stop_words_and_case():
    assert retrieval.terms("What is the capital of Drosmia?") == ["capital", "drosmia"]


def test_embedding_matches_numpy_svd():
    s = store(1.0)
    X = np.stack([s._tfidf(Counter(retrieval.terms(d))) for d in DOCS])
    U, S, _Vt = np.linalg.svd(X, full_matrices=False)
    ref = U[:, : s.rank] * S[: s.rank]
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    # singular vectors are defined up to sign: compare the cosine matrices instead
    np.testing.assert_allclose(s.vectors @ s.vectors.T, ref @ ref.T, atol=1e-8)
    # at full rank, LSA cosine equals the plain TF-IDF cosine
    np.testing.assert_allclose(s.vectors @ s.vectors.T, X @ X.T, atol=1e-8)


def test_search_ranks_by_cosine():
    s = store(1.0)
    hits = s.search("What is the capital of Drosmia?", 3)
    assert hits[0].document.text == DOCS[0]
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0.5 > scores[1]
    kesh = s.search("Which river flows through Kesh?", 2)
    assert kesh[0].document.text == DOCS[3] and kesh[1].document.text == DOCS[1]
    q = s.embed("capital Drosmia")
    assert np.linalg.norm(q) == pytest.approx(1.0)
    assert not s.embed("zzz unknown words").any()  # no known word: the zero vector


def test_truncation_keeps_requested_energy():
    s = store(0.5)
    assert 1 <= s.rank < len(DOCS)


def test_add_file_and_chunks(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("First paragraph about Velkor.\n\nSecond one.\nStill the second.\n\n\n")
    s = retrieval.Store()
    assert s.add_file(path) == 2
    assert s.documents[1].text == "Second one. Still the second." and s.documents[1].source == "notes.txt"
    pieces = retrieval.chunk(" ".join(["word"] * 130) + ". Short end.", 60)
    assert [len(p.split()) for p in pieces] == [60, 60, 10, 2]
    with pytest.raises(ValueError, match="empty"):
        retrieval.Store().fit()
