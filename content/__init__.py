"""The course as data: lessons, flashcards, quiz questions, glossary, and their checker.

`load_course()` reads everything and never raises for a bad file; `validate()` lists the
problems. Neither imports anything from the app layer.
"""

from content.loader import (
    DEFAULT_ROOT,
    body_parts,
    load_course,
    missing_glossary_terms,
    validate,
)
from content.schema import (
    Card,
    Course,
    GlossaryEntry,
    LabBlock,
    Lesson,
    Problem,
    Question,
    ReferencePage,
)
from content.search import search_glossary

__all__ = [
    "DEFAULT_ROOT",
    "Card",
    "Course",
    "GlossaryEntry",
    "LabBlock",
    "Lesson",
    "Problem",
    "Question",
    "ReferencePage",
    "body_parts",
    "load_course",
    "missing_glossary_terms",
    "search_glossary",
    "validate",
]
