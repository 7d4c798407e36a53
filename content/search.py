"""Glossary search for the reference screen: a term is found by its name, an alias or any
word of its definition, so a learner who remembers only "velocity" still finds flow matching."""

from __future__ import annotations

import unicodedata

from content.schema import GlossaryEntry


def _fold(text: str) -> str:
    """Lower case without accents, so "Frechet" finds "Fréchet"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def search_glossary(
    entries: tuple[GlossaryEntry, ...] | list[GlossaryEntry], query: str
) -> list[GlossaryEntry]:
    """Entries matching every word of `query`, best first.

    An entry matches when each query word occurs in its term, an alias or its definition.
    Entries whose term or alias contains the whole query come first, then the rest, each
    group in alphabetical order. An empty query returns every entry alphabetically."""
    ordered = sorted(entries, key=lambda e: _fold(e.term))
    words = _fold(query).split()
    if not words:
        return ordered
    phrase = " ".join(words)
    named: list[GlossaryEntry] = []
    described: list[GlossaryEntry] = []
    for entry in ordered:
        names = " | ".join(_fold(n) for n in (entry.term, *entry.aliases))
        everything = names + " | " + _fold(entry.definition)
        if not all(word in everything for word in words):
            continue
        (named if phrase in names else described).append(entry)
    return named + described
