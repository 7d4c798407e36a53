"""A byte-level BPE tokenizer: any UTF-8 text becomes sub-word tokens, and back exactly.

This is the tokenizer family of GPT-2 and most LLMs since, small enough to read:

1. Text is first cut into *chunks* (a word with its leading space, a number, a run of
   punctuation, whitespace), so a merge never glues the end of one word to the next.
2. Each chunk is written as its UTF-8 bytes. The 256 byte values are the first 256
   tokens, so every string can be spelled, even a name or an emoji never seen before:
   there is no unknown token.
3. Training (`train`) counts adjacent token pairs over the corpus's chunks and merges
   the most frequent pair into a new token, again and again. The ordered list of merges
   IS the tokenizer; it is shipped as a text file (one ``left right`` pair of token ids
   per line, see `save`/`load`).
4. Encoding applies the merges to each chunk in training order (lowest rank first), the
   same order they were learned; decoding concatenates the tokens' bytes.

Frequent words become one token (" capital"), rare words and invented names several
(" Dr", "os", "mia"), which is what the grounding lab needs: a name the model never saw
still has tokens, so it can be copied from a document into an answer.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

# Chunks: letters (ASCII or not) with one optional leading space, digits, other symbols,
# and whitespace (a space run before a word leaves its last space to that word).
CHUNK = re.compile(r" ?[^\W\d_]+| ?\d+| ?[^\s\w]+|_+|\s+(?!\S)|\s+")
N_BYTES = 256


def chunks(text: str) -> list[bytes]:
    """The pre-tokenised pieces of ``text`` as UTF-8 bytes; they concatenate back to it."""
    return [m.group().encode("utf-8") for m in CHUNK.finditer(text)]


CACHE_CHUNKS = 100_000  # encoded chunks kept; the training stream's names repeat within an episode


def _merge(word: tuple[int, ...], pair: tuple[int, int], new: int) -> tuple[int, ...]:
    """``word`` with every non-overlapping occurrence of ``pair`` (left to right) replaced."""
    out, i, n = [], 0, len(word)
    while i < n:
        if i + 1 < n and word[i] == pair[0] and word[i + 1] == pair[1]:
            out.append(new)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


def train(texts: Iterable[str], vocab_size: int) -> list[tuple[int, int]]:
    """Learn ``vocab_size - 256`` merges from ``texts``; deterministic.

    Ties between equally frequent pairs go to the smallest (left, right) ids, so the same
    texts always give the same merges. Pair counts are kept up to date incrementally:
    only the chunks that contain the merged pair are re-counted.
    """
    if vocab_size < N_BYTES:
        raise ValueError(f"vocab_size must be at least {N_BYTES} (the byte tokens)")
    counts = Counter(c for text in texts for c in chunks(text))
    words = [tuple(c) for c in counts]
    freq = [counts[c] for c in counts]
    pairs: Counter = Counter()
    where: dict[tuple[int, int], set[int]] = {}
    for w, (word, f) in enumerate(zip(words, freq)):
        for pair in itertools.pairwise(word):
            pairs[pair] += f
            where.setdefault(pair, set()).add(w)
    merges: list[tuple[int, int]] = []
    while len(merges) < vocab_size - N_BYTES and pairs:
        best = max(pairs.items(), key=lambda kv: (kv[1], -kv[0][0], -kv[0][1]))[0]
        if pairs[best] < 2:
            break
        new = N_BYTES + len(merges)
        merges.append(best)
        for w in sorted(where.pop(best, ())):
            old, f = words[w], freq[w]
            for pair in itertools.pairwise(old):
                pairs[pair] -= f
                if pairs[pair] <= 0:
                    del pairs[pair]
            words[w] = _merge(old, best, new)
            for pair in zip(words[w], words[w][1:]):
                pairs[pair] += f
                where.setdefault(pair, set()).add(w)
    return merges


class BPE:
    """Encode/decode with a list of merges. Token ``i < 256`` is the byte ``i``."""

    def __init__(self, merges: list[tuple[int, int]]):
        self.merges = [(int(a), int(b)) for a, b in merges]
        self.ranks = {pair: N_BYTES + r for r, pair in enumerate(self.merges)}
        self.pieces: list[bytes] = [bytes([i]) for i in range(N_BYTES)]
        for a, b in self.merges:
            if a >= len(self.pieces) or b >= len(self.pieces):
                raise ValueError(f"merge ({a}, {b}) uses a token that does not exist yet")
            self.pieces.append(self.pieces[a] + self.pieces[b])
        self._cache: dict[bytes, list[int]] = {}

    def __len__(self) -> int:
        return len(self.pieces)

    def _encode_chunk(self, chunk: bytes) -> list[int]:
        """Apply the merges by rank: repeatedly merge the earliest-learned adjacent pair."""
        hit = self._cache.get(chunk)
        if hit is not None:
            return hit
        word, ranks, none = tuple(chunk), self.ranks, 1 << 30
        while len(word) > 1:
            rank = min(ranks.get(pair, none) for pair in itertools.pairwise(word))
            if rank == none:
                break
            word = _merge(word, self.merges[rank - N_BYTES], rank)
        if len(self._cache) >= CACHE_CHUNKS:  # invented names never repeat for long: start afresh
            self._cache.clear()
        self._cache[chunk] = ids = list(word)
        return ids

    def encode(self, text: str) -> list[int]:
        """Token ids for any string (never fails: every byte has a token)."""
        ids: list[int] = []
        cache, encode_chunk = self._cache, self._encode_chunk
        for piece in CHUNK.findall(text):  # chunks(text), without a list of its own
            chunk = piece.encode("utf-8")
            hit = cache.get(chunk)  # most chunks are common words: skip a call
            ids += hit if hit is not None else encode_chunk(chunk)
        return ids

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        return b"".join(self.pieces[int(i)] for i in ids)

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids``; a cut through a multi-byte character shows as U+FFFD."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def piece(self, i: int) -> str:
        """One token as readable text (a partial UTF-8 character shows its byte as <xx>)."""
        raw = self.pieces[int(i)]
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return "".join(chr(b) if b < 128 else f"<{b:02x}>" for b in raw)

    # -- the shipped file --------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """One merge per line: ``left right  # "piece"`` (the comment is for readers)."""
        path = Path(path)
        lines = ["# byte-level BPE merges, in the order learned (engine/bpe.py); token 256 is line 1"]
        for r, (a, b) in enumerate(self.merges):
            lines.append(f"{a} {b}  # {self.piece(N_BYTES + r)!r}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> BPE:
        merges = []
        for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            body = line.split("#", 1)[0].strip()
            if not body:
                continue
            parts = body.split()
            if len(parts) != 2 or not all(p.isdigit() for p in parts):
                raise ValueError(f"{Path(path).name}:{n}: expected two token ids, got {line!r}")
            merges.append((int(parts[0]), int(parts[1])))
        return cls(merges)


CORPUS = Path(__file__).resolve().parents[1] / "content" / "corpus"
MERGES_FILE = Path(__file__).resolve().parents[1] / "content" / "data" / "bpe_merges.txt"
VOCAB_SIZE = 1024


def shipped() -> BPE:
    """The tokenizer trained on the course corpus (content/data/bpe_merges.txt)."""
    return BPE.load(MERGES_FILE)


def corpus_texts(folder: str | Path = CORPUS) -> list[str]:
    """The corpus the merges are learned from: every line of every .txt file, sorted by name."""
    texts = []
    for path in sorted(Path(folder).glob("*.txt")):
        texts += [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts


def main() -> None:
    """Relearn the shipped merges: ``python -m engine.bpe`` (deterministic)."""
    bpe = BPE(train(corpus_texts(), VOCAB_SIZE))
    bpe.save(MERGES_FILE)
    print(f"{len(bpe.merges)} merges, vocabulary {len(bpe)} -> {MERGES_FILE}")


if __name__ == "__main__":
    main()
