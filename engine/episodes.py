"""Reading episodes: documents, a question, and an answer that must be copied from a document.

The transformer learns to *read its context* from generated text like::

    Document: The capital of Drosmia is Velkor. Tamsin keeps a goat called Orbel.
    Document: People in Kesh speak Lumari.
    Question: What is the capital of Drosmia?
    Answer: Velkor

Every name and fact is invented by code (syllables drawn with a seeded generator), so no
memory can answer: the only way to lower the loss on " Velkor" is to find the document
sentence about "the capital of Drosmia" and copy what follows. Other documents are
distractors with the same kinds of sentences about other subjects.

Names are split between training and testing by a hash of their spelling: test episodes
use only names that training never draws, so the test measures reading, not recall.

Mixed in are *closed-book* questions (no document) about facts stated in the course's own
corpus ("What is the capital of France?"), found in its text by `corpus_facts`, and plain
corpus paragraphs, so the model also stays a language model of ordinary text.
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

SYLLABLES = [
    "ka",
    "vel",
    "dor",
    "mi",
    "sa",
    "ran",
    "tho",
    "lu",
    "bek",
    "zan",
    "ori",
    "fen",
    "gal",
    "ti",
    "mor",
    "ne",
    "qua",
    "ris",
    "pel",
    "un",
    "yar",
    "ost",
    "bri",
    "ce",
    "dal",
    "ev",
    "hu",
    "jor",
    "kel",
    "lim",
    "nav",
    "ope",
    "rus",
    "sil",
    "tav",
    "vo",
    "wen",
    "xi",
    "zel",
    "ar",
    "bo",
    "cim",
    "dra",
    "es",
    "fal",
    "gri",
    "hol",
    "in",
]

# (kind of subject, fact sentence, question, kind of answer). {s} = subject, {a} = answer.
RELATIONS = [
    ("place", "The capital of {s} is {a}.", "What is the capital of {s}?", "town"),
    ("place", "People in {s} speak {a}.", "What language do people in {s} speak?", "word"),
    ("place", "The river {a} flows through {s}.", "Which river flows through {s}?", "word"),
    ("place", "The leader of {s} is {a}.", "Who is the leader of {s}?", "person"),
    ("place", "The old name of {s} was {a}.", "What was the old name of {s}?", "town"),
    ("person", "{s} lives in {a}.", "Where does {s} live?", "town"),
    ("person", "{s} was born in {a}.", "Where was {s} born?", "town"),
    ("person", "{s} has a cat called {a}.", "What is the name of the cat of {s}?", "word"),
    ("person", "The best friend of {s} is {a}.", "Who is the best friend of {s}?", "person"),
    ("person", "{s} works at a shop called {a}.", "Where does {s} work?", "word"),
    ("person", "{s} is {a} years old.", "How old is {s}?", "number"),
    ("place", "{s} has {a} bridges.", "How many bridges does {s} have?", "number"),
]

# Closed-book facts the corpus states again and again (subject, answer in groups 1, 2).
CORPUS_PATTERNS = [
    (re.compile(r"The capital of ([A-Z][a-z]+) is ([A-Z][a-z]+)\."), "What is the capital of {s}?"),
    (re.compile(r"People in ([A-Z][a-z]+) speak ([A-Z][a-z]+)\."), "What language do people in {s} speak?"),
]


@dataclass(frozen=True)
class Episode:
    documents: tuple[str, ...]  # in the order shown; empty for a closed-book question
    question: str
    answer: str
    gold: int  # index of the document holding the answer (-1: none)
    more: tuple[tuple[str, str], ...] = ()  # training only: further (question, answer) pairs

    def prompt(self, documents: tuple[str, ...] | None = None) -> str:
        """The text the model reads before answering (``documents`` overrides the shown ones)."""
        docs = self.documents if documents is None else documents
        return "".join(f"Document: {d}\n" for d in docs) + f"Question: {self.question}\nAnswer:"

    def completion(self) -> str:
        """What the model should write: a space, the answer, and a newline that ends it."""
        return f" {self.answer}\n"


def is_test_name(name: str) -> bool:
    """One name in five is reserved for testing (a fixed hash of its spelling)."""
    return zlib.crc32(name.encode()) % 5 == 0


class Generator:
    """A seeded stream of episodes; ``split`` is "train" or "test" (disjoint names).

    The defaults draw every name from `SYLLABLES` and write documents of facts only: the
    held-out test episodes are always drawn that way. Training can widen both:

    * ``free``: the share of names spelled from ``pieces`` (1 to 5 of them, joined and
      capitalised; the tokenizer's alphabetic pieces, say) instead of syllables, so copying
      is learned for any token and any length of name, not only for syllable shapes;
    * ``chatter``: the chance that a document also holds one of ``filler`` (ordinary
      sentences that state no fact asked about) before, between or after its facts, so an
      answer in a document is sometimes followed by more text, not by the document's end.

    With ``free`` and ``chatter`` at 0 nothing extra is drawn: the stream is unchanged.
    """

    def __init__(
        self,
        seed: int,
        split: str = "train",
        pieces: Sequence[str] = (),
        free: float = 0.0,
        filler: Sequence[str] = (),
        chatter: float = 0.0,
    ):
        if split not in ("train", "test"):
            raise ValueError("split must be 'train' or 'test'")
        if (free and not pieces) or (chatter and not filler):
            raise ValueError("free names need pieces and chatter needs filler sentences")
        self.rng = random.Random(f"episodes-{seed}-{split}")
        self.test = split == "test"
        self.pieces, self.free = [p.strip().lower() for p in pieces if p.strip().isalpha()], free
        self.filler, self.chatter = list(filler), chatter

    def name(self, syllables: tuple[int, int] = (2, 3)) -> str:
        while True:
            if self.free and self.rng.random() < self.free:
                n = self.rng.randint(1, 5)
                word = "".join(self.rng.choice(self.pieces) for _ in range(n)).capitalize()
            else:
                n = self.rng.randint(*syllables)
                word = "".join(self.rng.choice(SYLLABLES) for _ in range(n)).capitalize()
            if is_test_name(word) == self.test:
                return word

    def value(self, kind: str) -> str:
        if kind == "number":
            return str(self.rng.randint(2, 99))
        return self.name((2, 3))

    def fact(self, subjects: dict[str, str], used: set[tuple[str, str]]) -> tuple[str, str, str]:
        """One (sentence, question, answer) about a fresh subject/relation pair."""
        while True:
            kind, sentence, question, answer_kind = self.rng.choice(RELATIONS)
            subject = subjects.setdefault(kind, self.name())
            if (subject, question) in used:
                subjects.pop(kind)
                continue
            used.add((subject, question))
            answer = self.value(answer_kind)
            return sentence.format(s=subject, a=answer), question.format(s=subject), answer

    def fact_about(
        self, relation: tuple[str, str, str, str], subjects: dict[str, str], used: set[tuple[str, str]]
    ) -> tuple[str, str, str]:
        """One (sentence, question, answer) of a given relation about a fresh subject (which
        the document's later sentences of the same kind share)."""
        kind, sentence, question, answer_kind = relation
        subject = self.name()
        while (subject, question) in used:
            subject = self.name()
        subjects[kind] = subject
        used.add((subject, question))
        answer = self.value(answer_kind)
        return sentence.format(s=subject, a=answer), question.format(s=subject), answer

    def document(
        self, used: set[tuple[str, str]], relation: tuple[str, str, str, str] | None = None
    ) -> list[tuple[str, str, str]]:
        """One or two facts; sentences about the same kind of subject share it. With
        ``relation``, the first fact is of that relation (about a subject of its own)."""
        subjects: dict[str, str] = {}
        n = self.rng.randint(1, 2)
        if relation is None:
            return [self.fact(subjects, used) for _ in range(n)]
        return [self.fact_about(relation, subjects, used)] + [self.fact(subjects, used) for _ in range(n - 1)]

    def text(self, sentences: list[str]) -> str:
        """A document's text: its fact sentences, and with probability ``chatter`` one
        filler sentence at a random place among them."""
        if self.chatter and self.rng.random() < self.chatter:
            sentences = list(sentences)
            sentences.insert(self.rng.randint(0, len(sentences)), self.rng.choice(self.filler))
        return " ".join(sentences)

    def episode(self, max_docs: int = 3, max_questions: int = 1, hard: float = 0.0) -> Episode:
        """Documents and a question; with ``max_questions`` > 1, up to that many questions
        about different facts of the documents (more answers to learn from one reading).

        With probability ``hard`` every document opens with the same relation about a
        different subject ("The capital of X is ..." in each): the distractors a retriever
        brings back, which only the subject's name tells apart.
        """
        used: set[tuple[str, str]] = set()
        n_docs = self.rng.randint(1, max_docs)
        relation = None
        if hard > 0 and self.rng.random() < hard:
            relation = self.rng.choice(RELATIONS)
            n_docs = max(2, n_docs)
        docs = [self.document(used, relation) for _ in range(n_docs)]
        facts = [(i, f) for i, d in enumerate(docs) for f in d]
        picks = self.rng.sample(facts, min(len(facts), self.rng.randint(1, max_questions)))
        gold, (_, question, answer) = picks[0]
        texts = tuple(self.text([f[0] for f in d]) for d in docs)
        return Episode(texts, question, answer, gold, tuple((q, a) for _, (_, q, a) in picks[1:]))


def corpus_facts(paragraphs: list[str]) -> list[tuple[str, str, str]]:
    """(question, answer, sentence) for facts the corpus states, each once, sorted."""
    found: dict[str, tuple[str, str]] = {}
    for text in paragraphs:
        for pattern, question in CORPUS_PATTERNS:
            for match in pattern.finditer(text):
                subject, answer = match.groups()
                found.setdefault(question.format(s=subject), (answer, match.group()))
    return sorted((q, a, s) for q, (a, s) in found.items())


def filler_sentences(paragraphs: list[str], words: tuple[int, int] = (3, 12)) -> list[str]:
    """Short plain sentences of the corpus (``words`` long), each once, sorted: text to put
    around a document's facts. Sentences in the episodes' own format (Question:, Answer:,
    Document:) or with a digit are left out."""
    found = set()
    for text in paragraphs:
        for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
            n = len(sentence.split())
            if (
                words[0] <= n <= words[1]
                and sentence[-1:] in ".!?"
                and sentence[:1].isupper()
                and sentence.isascii()
                and not re.search(r"\d|Question|Answer|Document", sentence)
            ):
                found.add(sentence)
    return sorted(found)


def closed_book(question: str, answer: str) -> Episode:
    return Episode((), question, answer, -1)


def atlas(seed: int, n: int) -> list[tuple[str, list[tuple[str, str]]]]:
    """``n`` documents of invented facts (test-split names: the model never trained on
    them), each with the (question, answer) pairs it can answer: a world to ask about."""
    gen = Generator(seed, "test")
    used: set[tuple[str, str]] = set()
    out = []
    for _ in range(n):
        facts = gen.document(used)
        out.append((" ".join(f[0] for f in facts), [(f[1], f[2]) for f in facts]))
    return out
