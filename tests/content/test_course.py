"""The shipped course: coverage of the syllabus and the minimum counts, so an edit can't drop them."""

from __future__ import annotations

import re

import pytest

from content import load_course, missing_glossary_terms
from content.schema import QUESTION_KINDS
from quizzes.session import build_exam

COURSE = load_course()


def body_words(body: str) -> int:
    return len(body.split())


def test_course_is_clean_and_complete():
    assert COURSE.problems == ()
    assert len(COURSE.lessons) >= 13
    assert len(COURSE.cards) >= 230
    assert len(COURSE.questions) >= 210
    assert COURSE.uncovered_concepts() == []
    assert missing_glossary_terms(COURSE) == []


@pytest.mark.parametrize("lesson", COURSE.lessons, ids=lambda lesson: lesson.id)
def test_each_lesson_meets_the_bar(lesson):
    syllabus = {s.id: s for s in COURSE.syllabus.lessons}[lesson.id]
    assert set(syllabus.concepts) <= set(lesson.concepts)
    # Issue 12 grew L03, L10 and L12 (post-training, compute, the product rule, CLIP guidance,
    # the RAG worked example), so the ceiling rose from 1500 to 2200 words.
    assert 700 <= body_words(lesson.body) <= 2200
    assert "## What you will learn" in lesson.body and "## Key ideas" in lesson.body
    assert "## Further reading" in lesson.body
    assert len(lesson.cards) >= 10
    assert len(lesson.questions) >= 12
    assert {q.kind for q in lesson.questions} == set(QUESTION_KINDS)
    assert sum(q.applies for q in lesson.questions) * 3 >= len(lesson.questions)
    for fence in re.findall(r"```[^\n]*\n(.*?)```", lesson.body, flags=re.S):
        assert max(len(line) for line in fence.splitlines()) <= 70, lesson.id


def test_every_glossary_term_is_linked_from_a_lesson():
    linked = {term for lesson in COURSE.lessons for term in lesson.terms}
    assert {entry.id for entry in COURSE.glossary} <= linked


def test_final_exam_is_balanced():
    exam = build_exam(COURSE, seed=7)
    assert len(exam) >= 30
    per_lesson = {}
    for question in exam:
        per_lesson[question.lesson_id] = per_lesson.get(question.lesson_id, 0) + 1
    assert set(per_lesson) == {lesson.id for lesson in COURSE.lessons}
    assert min(per_lesson.values()) >= 2


# Key facts as of 2026-11-29 (issue 12): each must stay in the lesson that teaches it, and the
# errors the review found must not come back. Sources are named in the lessons' Further reading.
FACTS = {
    "L01": ["loss", "weights", "w = 1 + 0.05 × 16 = 1.8", "5.76"],
    "L02": [
        "Christiano et al. introduced it in 2017",
        "Stiennon et al. applied it to summarising text in 2020",
        "InstructGPT (Ouyang et al., 2022)",
        "lower bound on the log-likelihood",
        "≈ 0.51",
        "≈ 0.37",
    ],
    "L03": [
        "Π p(x_t | x_<t)",
        "0.84 × 0.90",
        "≈ 0.76",
        "**Post-training**",
        "verifiable rewards",
        "DPO",
        "mixed precision",
        "distributed training",
        "TPUs",
    ],
    "L05": [
        "768 numbers",
        "does *not* depend on the",
        "about 2.32",
        "about 1.81",
        "**latent arithmetic**",
        "**disentanglement**",
        "augmented",
        "perceptual loss",
    ],
    "L06": ["transformer over patches"],
    "L07": ["**flow matching**", "rectified flow", "ε − x₀", "1 to 4 steps", "SDXL-Turbo", "DiT"],
    "L08": ["ChatGPT, Claude and Gemini", "retired from ChatGPT in February 2026", "*causal*"],
    "L09": ["**modality gap**", "0.31", "about 0.88", "2.5", "in principle, unrelated"],
    "L10": [
        "**cross-attention**",
        "77 × 768",
        "**CLIP guidance**",
        "away from the unconditional guess",
        "its w is s − 1",
        "= 0.9",
        "autoregressive model",
    ],
    "L11": ["benchmark", "model-as-judge", "arenas", "0.25 + 0.04 = 0.29", "**FID-lite**"],
    "L12": [
        "November 2025",
        "**Prompt injection.**",
        "≈ 0.99",
        "≈ 0.36",
        "≈ 0.35",
        "0.68, 0.79 and 0.68",
        "[D1] Refunds within 30 days",
        "**A poisoned document.**",
        "**Nothing relevant is found.**",
    ],
    "L13": ["settled with Udio", "Warner with Suno"],
}
WRONG = {
    "L05": ["256 pixel values", "the dice don't depend on"],
    "L08": ["GPT-4o, Claude and Gemini", "and the other way round"],
    "L09": ["■0.90"],
    "L10": ["a target in the shared space"],
    "L07": ["somewhere between 20 and 1000 steps"],
    "L06": ["usually a U-Net"],
    "L12": ["is being argued in court"],
}


@pytest.mark.parametrize("lesson_id", sorted(FACTS))
def test_lesson_states_its_key_facts(lesson_id):
    body = " ".join(COURSE.lesson(lesson_id).body.split())
    for fact in FACTS[lesson_id]:
        assert " ".join(fact.split()) in body, f"{lesson_id} lost the fact {fact!r}"
    for wrong in WRONG.get(lesson_id, []):
        assert wrong not in body, f"{lesson_id} says {wrong!r} again"


def test_rag_worked_example_arithmetic():
    """The cosines printed in L12's worked example, recomputed."""
    import math

    def cos(a, b):
        dot = sum(x * y for x, y in zip(a, b))
        return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))

    docs = {"D1": (0.9, 0.1, 0.2), "D2": (0.1, 0.9, 0.1), "D3": (0.2, 0.1, 0.9)}
    question, gift_cards, poisoned = (0.8, 0.2, 0.1), (0.3, 0.4, 0.3), (0.9, 0.1, 0.1)
    assert [round(cos(question, d), 2) for d in docs.values()] == [0.99, 0.36, 0.35]
    assert max(docs, key=lambda k: cos(question, docs[k])) == "D1"
    assert [round(cos(gift_cards, d), 2) for d in docs.values()] == [0.68, 0.79, 0.68]
    assert round(cos(question, poisoned), 2) == 0.99 and cos(question, poisoned) >= cos(question, docs["D1"])
