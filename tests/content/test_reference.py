"""The reference pages load and are checked like lessons; the glossary search is plain data."""

from __future__ import annotations

import shutil

from content import DEFAULT_ROOT, load_course, search_glossary
from content.schema import GlossaryEntry

ENTRIES = (
    GlossaryEntry(
        "flow-matching", "flow matching", "Predict the velocity along a straight path.", ("rectified flow",)
    ),
    GlossaryEntry("fid", "FID", "Fréchet distance between feature statistics.", ()),
    GlossaryEntry("velocity-term", "velocity", "A made-up term whose name is the query.", ()),
)


def test_search_by_definition_word_alias_and_accent():
    assert [e.id for e in search_glossary(ENTRIES, "straight")] == ["flow-matching"]
    assert [e.id for e in search_glossary(ENTRIES, "RECTIFIED")] == ["flow-matching"]
    assert [e.id for e in search_glossary(ENTRIES, "frechet")] == ["fid"]
    # a match in the name ranks before a match in the definition
    assert [e.id for e in search_glossary(ENTRIES, "velocity")] == ["velocity-term", "flow-matching"]
    assert search_glossary(ENTRIES, "velocity nonsense") == []
    assert [e.term for e in search_glossary(ENTRIES, "  ")] == ["FID", "flow matching", "velocity"]


def test_shipped_reference_pages_and_real_glossary():
    course = load_course()
    assert course.problems == ()
    assert [p.id for p in course.reference] == [
        "faq",
        "timeline",
        "prompting",
        "responsible-use",
        "next-steps",
    ]
    found = [e.id for e in search_glossary(course.glossary, "cross-attention")]
    assert found[0] == "cross-attention"
    assert "modality-gap" in [e.id for e in search_glossary(course.glossary, "separate regions")]


def test_bad_reference_pages_are_reported_and_skipped(tmp_path):
    root = tmp_path / "content"
    shutil.copytree(
        DEFAULT_ROOT, root, ignore=shutil.ignore_patterns("weights", "data", "corpus", "__pycache__")
    )
    ref = root / "reference"
    (ref / "90-wide.md").write_text('+++\nid = "wide"\ntitle = "Wide"\n+++\n```\n' + "x" * 71 + "\n```\n")
    (ref / "91-dup.md").write_text('+++\nid = "faq"\ntitle = "Again"\n+++\ntext\n')
    (ref / "92-noid.md").write_text('+++\ntitle = "No id"\n+++\ntext\n')
    (ref / "93-nofront.md").write_text("# no front matter\n")
    course = load_course(root)
    messages = [str(p) for p in course.problems]
    assert any("90-wide.md:6" in m and "wider than 70" in m for m in messages), messages
    assert any("91-dup.md" in m and "duplicate reference page id 'faq'" in m for m in messages)
    assert any("92-noid.md" in m and "needs an id" in m for m in messages)
    assert any("93-nofront.md:1" in m and "front matter" in m for m in messages)
    assert [p.id for p in course.reference] == [
        "faq",
        "timeline",
        "prompting",
        "responsible-use",
        "next-steps",
        "wide",
    ]
