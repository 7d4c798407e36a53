"""The course as data: frozen dataclasses that the loader builds and everything else reads.

Nothing here knows about files or terminals. Ids are explicit strings written by authors
and stay stable across edits, because learners' progress is stored against them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

QUESTION_KINDS = ("single", "multi", "truefalse", "gap", "order")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a content file, said plainly, with where it is.

    An "error" leaves something out of the course (or would have crashed the app); a
    "warning" (an unknown key, most often a typo) changes nothing that loads."""

    file: str
    line: int
    message: str
    severity: str = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        tag = "" if self.is_error else "warning: "
        return f"{self.file}:{self.line}: {tag}{self.message}"


@dataclass(frozen=True)
class Card:
    id: str
    lesson_id: str
    front: str
    back: str
    concepts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Question:
    """A quiz question. Which fields matter depends on `kind`:

    single:    choices, answer (index of the right choice)
    multi:     choices, answers (indices of every right choice)
    truefalse: answer (bool)
    gap:       answers (accepted strings); the prompt holds ``___``
    order:     choices, written in the correct order (the quiz shuffles them)
    """

    id: str
    lesson_id: str
    kind: str
    prompt: str
    explanation: str
    choices: tuple[str, ...] = ()
    answer: int | bool | None = None
    answers: tuple = ()
    concepts: tuple[str, ...] = ()
    applies: bool = False


@dataclass(frozen=True)
class LabBlock:
    """A ``::: lab ID`` block in a lesson body: the lab to open and what to try there."""

    lab_id: str
    text: str


@dataclass(frozen=True)
class Lesson:
    id: str
    slug: str
    title: str
    minutes: int
    body: str
    concepts: tuple[str, ...] = ()
    labs: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    lab_blocks: tuple[LabBlock, ...] = ()
    cards: tuple[Card, ...] = ()
    questions: tuple[Question, ...] = ()


@dataclass(frozen=True)
class GlossaryEntry:
    id: str
    term: str
    definition: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReferencePage:
    """A page of the reference shelf (FAQ, timeline, cheat sheet ...): Markdown with a stable id."""

    id: str
    title: str
    body: str
    summary: str = ""


@dataclass(frozen=True)
class SyllabusLesson:
    id: str
    title: str
    concepts: tuple[str, ...]


@dataclass(frozen=True)
class Syllabus:
    lessons: tuple[SyllabusLesson, ...]
    glossary_terms: tuple[str, ...]

    @property
    def concept_ids(self) -> tuple[str, ...]:
        return tuple(c for lesson in self.lessons for c in lesson.concepts)


@dataclass(frozen=True)
class Course:
    title: str
    lessons: tuple[Lesson, ...]
    glossary: tuple[GlossaryEntry, ...]
    labs: dict[str, str]
    exam_per_lesson: int
    syllabus: Syllabus
    problems: tuple[Problem, ...] = ()
    reference: tuple[ReferencePage, ...] = ()
    _index: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        index: dict[str, object] = {}
        for lesson in self.lessons:
            index[lesson.id] = lesson
            for card in lesson.cards:
                index[card.id] = card
            for question in lesson.questions:
                index[question.id] = question
        for entry in self.glossary:
            index["glossary:" + entry.id] = entry
        object.__setattr__(self, "_index", index)

    def lesson(self, lesson_id: str) -> Lesson:
        found = self._index.get(lesson_id)
        if not isinstance(found, Lesson):
            raise KeyError(lesson_id)
        return found

    def card(self, card_id: str) -> Card:
        found = self._index.get(card_id)
        if not isinstance(found, Card):
            raise KeyError(card_id)
        return found

    def question(self, question_id: str) -> Question:
        found = self._index.get(question_id)
        if not isinstance(found, Question):
            raise KeyError(question_id)
        return found

    def reference_page(self, page_id: str) -> ReferencePage:
        for page in self.reference:
            if page.id == page_id:
                return page
        raise KeyError(page_id)

    def term(self, term_id: str) -> GlossaryEntry:
        found = self._index.get("glossary:" + term_id)
        if not isinstance(found, GlossaryEntry):
            raise KeyError(term_id)
        return found

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems that left something out (warnings excluded)."""
        return tuple(p for p in self.problems if p.is_error)

    @property
    def cards(self) -> tuple[Card, ...]:
        return tuple(c for lesson in self.lessons for c in lesson.cards)

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(q for lesson in self.lessons for q in lesson.questions)

    def uncovered_concepts(self) -> list[str]:
        """Syllabus concept ids not yet both explained by a lesson and tested by a card or question."""
        explained = {c for lesson in self.lessons for c in lesson.concepts}
        tested = {c for item in self.cards + self.questions for c in item.concepts}
        return [c for c in self.syllabus.concept_ids if c not in explained or c not in tested]
