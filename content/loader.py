"""Read the course from its text files, checking every item as it goes.

The loader never raises for a bad content file. Each problem becomes a `Problem` with the
file, the line and a plain sentence; the broken item is left out and everything else
loads. `genai-tutor validate` prints those problems; the app shows a notice and carries on.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from content.schema import (
    QUESTION_KINDS,
    Card,
    Course,
    GlossaryEntry,
    LabBlock,
    Lesson,
    Problem,
    Question,
    ReferencePage,
    Syllabus,
    SyllabusLesson,
)

DEFAULT_ROOT = Path(__file__).resolve().parent
_LAB_OPEN = re.compile(r"^:::\s*lab\s+(\S+)\s*$")
_LAB_CLOSE = re.compile(r"^:::\s*$")


class _Reporter:
    """Collects problems; knows the content root so paths print short and stable."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def add(self, path: Path, line: int, message: str) -> None:
        try:
            shown = path.relative_to(self.root.parent)
        except ValueError:
            shown = path
        self.problems.append(Problem(str(shown), line, message))


def _read_toml(path: Path, report: _Reporter) -> tuple[dict | None, list[str]]:
    """Parse a TOML file; on failure report the line tomllib names and return None."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        report.add(path, 0, "file is missing")
        return None, []
    except (OSError, UnicodeDecodeError) as exc:
        report.add(path, 0, f"cannot read the file ({exc})")
        return None, []
    try:
        return tomllib.loads(text), text.splitlines()
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) if match else 0
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        report.add(path, line, f"broken TOML: {reason}")
        return None, []


def _table_lines(lines: list[str], header: str) -> list[int]:
    """1-based line numbers of every ``[[header]]`` in file order."""
    pattern = re.compile(r"^\s*\[\[\s*" + re.escape(header) + r"\s*\]\]")
    return [i + 1 for i, line in enumerate(lines) if pattern.match(line)]


def _key_line(lines: list[str], start: int, key: str) -> int:
    """Line of ``key =`` in the table whose header is on line `start` (falls back to `start`)."""
    pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
    for i in range(start, len(lines)):  # lines[start] is the line after the header
        if lines[i].lstrip().startswith("[") and not pattern.match(lines[i]):
            if lines[i].lstrip().startswith("[["):
                break
        if pattern.match(lines[i]):
            return i + 1
    return start


def _strings(value, default=()) -> tuple[str, ...] | None:
    if value is None:
        return tuple(default)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def body_parts(body: str) -> list[str | LabBlock]:
    """Split a lesson body into Markdown chunks and lab blocks, in reading order."""
    parts: list[str | LabBlock] = []
    chunk: list[str] = []
    lines = body.splitlines()
    i = 0
    while i < len(lines):
        match = _LAB_OPEN.match(lines[i])
        if match:
            end = i + 1
            while end < len(lines) and not _LAB_CLOSE.match(lines[end]):
                end += 1
            if chunk:
                parts.append("\n".join(chunk))
                chunk = []
            parts.append(LabBlock(match.group(1), "\n".join(lines[i + 1 : end]).strip()))
            i = end + 1
            continue
        chunk.append(lines[i])
        i += 1
    if chunk:
        parts.append("\n".join(chunk))
    return [p for p in parts if not (isinstance(p, str) and not p.strip())]


# ---------------------------------------------------------------------------- syllabus


def load_syllabus(root: Path, report: _Reporter) -> Syllabus:
    data, _ = _read_toml(root / "syllabus.toml", report)
    data = data or {}
    lessons = tuple(
        SyllabusLesson(str(item.get("id", "")), str(item.get("title", "")), tuple(item.get("concepts", ())))
        for item in data.get("lesson", [])
    )
    return Syllabus(lessons, tuple(data.get("glossary_terms", ())))


# ---------------------------------------------------------------------------- glossary


def load_glossary(root: Path, report: _Reporter) -> tuple[GlossaryEntry, ...]:
    path = root / "glossary.toml"
    if not path.exists():
        return ()
    data, lines = _read_toml(path, report)
    if data is None:
        return ()
    starts = _table_lines(lines, "term")
    entries: list[GlossaryEntry] = []
    seen: set[str] = set()
    for n, item in enumerate(data.get("term", [])):
        line = starts[n] if n < len(starts) else 0
        tid, term, definition = item.get("id"), item.get("term"), item.get("definition")
        aliases = _strings(item.get("aliases"))
        if not isinstance(tid, str) or not tid:
            report.add(path, line, "glossary entry has no id")
            continue
        if tid in seen:
            report.add(path, line, f"duplicate glossary id '{tid}'")
            continue
        if not isinstance(term, str) or not term.strip():
            report.add(path, line, f"glossary entry '{tid}' has no term")
            continue
        if not isinstance(definition, str) or not definition.strip():
            report.add(path, line, f"glossary entry '{tid}' has no definition")
            continue
        if aliases is None:
            report.add(path, _key_line(lines, line, "aliases"), f"aliases of '{tid}' must be a list of strings")
            continue
        seen.add(tid)
        entries.append(GlossaryEntry(tid, term.strip(), definition.strip(), aliases))
    return tuple(entries)


# ---------------------------------------------------------------------------- lessons


def _front_matter(path: Path, text: str, report: _Reporter) -> tuple[dict | None, str, int]:
    """Return (front matter, body, line number where the body starts)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "+++":
        report.add(path, 1, "lesson must start with TOML front matter between +++ lines")
        return None, "", 0
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "+++")
    except StopIteration:
        report.add(path, 1, "front matter is not closed with a +++ line")
        return None, "", 0
    try:
        meta = tomllib.loads("\n".join(lines[1:end]))
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) + 1 if match else 1
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        report.add(path, line, f"broken TOML in front matter: {reason}")
        return None, "", 0
    return meta, "\n".join(lines[end + 1 :]), end + 2


def _check_concepts(items, known: set[str], path, line, what, report) -> tuple[str, ...] | None:
    concepts = _strings(items)
    if concepts is None:
        report.add(path, line, f"concepts of {what} must be a list of concept ids")
        return None
    for concept in concepts:
        if concept not in known:
            report.add(path, line, f"unknown concept id '{concept}' in {what}")
            return None
    return concepts


def _load_lesson(folder: Path, ctx: dict, report: _Reporter) -> Lesson | None:
    path = folder / "lesson.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        report.add(path, 0, "lesson.md is missing")
        return None
    meta, body, body_line = _front_matter(path, text, report)
    if meta is None:
        return None
    mlines = text.splitlines()
    lid, title, minutes = meta.get("id"), meta.get("title"), meta.get("minutes", 10)
    if not isinstance(lid, str) or not lid:
        report.add(path, 1, "lesson has no id in its front matter")
        return None
    if lid in ctx["ids"]:
        report.add(path, _key_line(mlines, 1, "id"), f"duplicate id '{lid}'")
        return None
    if not isinstance(title, str) or not title.strip():
        report.add(path, _key_line(mlines, 1, "title"), f"lesson '{lid}' has no title")
        return None
    if not isinstance(minutes, int) or minutes <= 0:
        report.add(path, _key_line(mlines, 1, "minutes"), "minutes must be a positive whole number")
        minutes = 10
    concepts = _check_concepts(meta.get("concepts"), ctx["concepts"], path, _key_line(mlines, 1, "concepts"),
                               f"lesson '{lid}'", report) or ()
    labs = _strings(meta.get("labs")) or ()
    for lab in labs:
        if lab not in ctx["labs"]:
            report.add(path, _key_line(mlines, 1, "labs"), f"unknown lab id '{lab}' (known: {', '.join(sorted(ctx['labs']))})")
    labs = tuple(lab for lab in labs if lab in ctx["labs"])
    terms = _strings(meta.get("terms")) or ()
    for term in terms:
        if term not in ctx["glossary"]:
            report.add(path, _key_line(mlines, 1, "terms"), f"unknown glossary id '{term}'")
    terms = tuple(t for t in terms if t in ctx["glossary"])
    blocks = []
    open_line = None
    for i, line in enumerate(body.splitlines()):
        match = _LAB_OPEN.match(line)
        if match:
            if open_line is not None:
                report.add(path, body_line + open_line, "lab block is not closed with a ::: line")
            open_line = i
            if match.group(1) not in ctx["labs"]:
                report.add(path, body_line + i, f"unknown lab id '{match.group(1)}'")
        elif _LAB_CLOSE.match(line):
            open_line = None
    if open_line is not None:
        report.add(path, body_line + open_line, "lab block is not closed with a ::: line")
    for part in body_parts(body):
        if isinstance(part, LabBlock) and part.lab_id in ctx["labs"]:
            blocks.append(part)
    ctx["ids"].add(lid)
    cards = _load_cards(folder / "cards.toml", lid, ctx, report)
    questions = _load_questions(folder / "quiz.toml", lid, ctx, report)
    return Lesson(lid, folder.name, title.strip(), minutes, body, concepts, labs, terms, tuple(blocks), cards, questions)


def _load_cards(path: Path, lesson_id: str, ctx: dict, report: _Reporter) -> tuple[Card, ...]:
    if not path.exists():
        return ()
    data, lines = _read_toml(path, report)
    if data is None:
        return ()
    starts = _table_lines(lines, "card")
    cards = []
    for n, item in enumerate(data.get("card", [])):
        line = starts[n] if n < len(starts) else 0
        cid = item.get("id")
        if not isinstance(cid, str) or not cid:
            report.add(path, line, "card has no id")
            continue
        if cid in ctx["ids"]:
            report.add(path, _key_line(lines, line, "id"), f"duplicate id '{cid}'")
            continue
        front, back = item.get("front"), item.get("back")
        if not isinstance(front, str) or not front.strip():
            report.add(path, line, f"card '{cid}' has no front")
            continue
        if not isinstance(back, str) or not back.strip():
            report.add(path, line, f"card '{cid}' has no back")
            continue
        concepts = _check_concepts(item.get("concepts"), ctx["concepts"], path, _key_line(lines, line, "concepts"),
                                   f"card '{cid}'", report)
        if concepts is None:
            continue
        ctx["ids"].add(cid)
        cards.append(Card(cid, lesson_id, front.strip(), back.strip(), concepts))
    return tuple(cards)


def _check_question(item: dict, qid: str, where, report) -> dict | None:
    """Check one question's kind-specific fields; return the fields for `Question` or None."""
    path, lines, line = where
    kind = item.get("kind")
    at = lambda key: _key_line(lines, line, key)  # noqa: E731 - a short local helper reads best here
    if kind not in QUESTION_KINDS:
        report.add(path, at("kind"), f"unknown kind '{kind}' in question '{qid}' (use one of: {', '.join(QUESTION_KINDS)})")
        return None
    prompt, explanation = item.get("prompt"), item.get("explanation")
    if not isinstance(prompt, str) or not prompt.strip():
        report.add(path, line, f"question '{qid}' has no prompt")
        return None
    if not isinstance(explanation, str) or not explanation.strip():
        report.add(path, line, f"question '{qid}' is missing its explanation")
        return None
    fields: dict = {"kind": kind, "prompt": prompt.strip(), "explanation": explanation.strip()}
    choices = _strings(item.get("choices"))
    if kind in ("single", "multi", "order"):
        low = 2 if kind == "single" else 3
        if not choices or not low <= len(choices) <= 6:
            report.add(path, at("choices"), f"question '{qid}' ({kind}) needs {low} to 6 choices")
            return None
        if len(set(choices)) != len(choices):
            report.add(path, at("choices"), f"question '{qid}' repeats a choice")
            return None
        fields["choices"] = choices
    if kind == "single":
        answer = item.get("answer")
        if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer < len(choices):
            report.add(path, at("answer"), f"answer index {answer!r} is out of range for question '{qid}' "
                       f"(choices are numbered 0 to {len(choices) - 1})")
            return None
        fields["answer"] = answer
    elif kind == "multi":
        answers = item.get("answers")
        if (not isinstance(answers, list) or not answers
                or not all(isinstance(a, int) and not isinstance(a, bool) for a in answers)):
            report.add(path, at("answers"), f"question '{qid}' (multi) needs answers = a list of choice indices")
            return None
        bad = [a for a in answers if not 0 <= a < len(choices)]
        if bad or len(set(answers)) != len(answers):
            report.add(path, at("answers"), f"answer index {bad[0] if bad else answers} is out of range or repeated "
                       f"in question '{qid}' (choices are numbered 0 to {len(choices) - 1})")
            return None
        fields["answers"] = tuple(sorted(answers))
    elif kind == "truefalse":
        answer = item.get("answer")
        if not isinstance(answer, bool):
            report.add(path, at("answer"), f"question '{qid}' (truefalse) needs answer = true or false")
            return None
        fields["answer"] = answer
    elif kind == "gap":
        answers = _strings(item.get("answers"))
        if not answers or not all(a.strip() for a in answers):
            report.add(path, at("answers"), f"question '{qid}' (gap) needs answers = a list of accepted strings")
            return None
        if "___" not in prompt:
            report.add(path, at("prompt"), f"question '{qid}' (gap) must mark the gap with ___ in its prompt")
            return None
        fields["answers"] = answers
    return fields


def _load_questions(path: Path, lesson_id: str, ctx: dict, report: _Reporter) -> tuple[Question, ...]:
    if not path.exists():
        return ()
    data, lines = _read_toml(path, report)
    if data is None:
        return ()
    starts = _table_lines(lines, "question")
    questions = []
    for n, item in enumerate(data.get("question", [])):
        line = starts[n] if n < len(starts) else 0
        qid = item.get("id")
        if not isinstance(qid, str) or not qid:
            report.add(path, line, "question has no id")
            continue
        if qid in ctx["ids"]:
            report.add(path, _key_line(lines, line, "id"), f"duplicate id '{qid}'")
            continue
        fields = _check_question(item, qid, (path, lines, line), report)
        if fields is None:
            continue
        concepts = _check_concepts(item.get("concepts"), ctx["concepts"], path, _key_line(lines, line, "concepts"),
                                   f"question '{qid}'", report)
        if concepts is None:
            continue
        ctx["ids"].add(qid)
        questions.append(Question(id=qid, lesson_id=lesson_id, concepts=concepts,
                                  applies=bool(item.get("applies", False)), **fields))
    return tuple(questions)


# ---------------------------------------------------------------------------- reference shelf

_PAGE_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
FENCE_WIDTH = 70  # diagrams must fit the reader, which is narrower than an 80-column terminal


def _wide_fence_lines(body: str) -> list[int]:
    """0-based body line numbers of fenced-code lines wider than FENCE_WIDTH."""
    wide, inside = [], False
    for i, line in enumerate(body.splitlines()):
        if line.lstrip().startswith("```"):
            inside = not inside
        elif inside and len(line) > FENCE_WIDTH:
            wide.append(i)
    return wide


def load_reference(root: Path, report: _Reporter) -> tuple[ReferencePage, ...]:
    """The pages under ``reference/`` (FAQ, timeline, cheat sheets), in file-name order.

    Each is a ``.md`` file with TOML front matter (id, title, optional summary) like a
    lesson. A broken page is reported and left out; the folder itself is optional."""
    folder = root / "reference"
    if not folder.is_dir():
        return ()
    pages: list[ReferencePage] = []
    seen: set[str] = set()
    for path in sorted(folder.glob("*.md")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            report.add(path, 0, f"cannot read the file ({exc})")
            continue
        meta, body, body_line = _front_matter(path, text, report)
        if meta is None:
            continue
        lines = text.splitlines()
        pid, title, summary = meta.get("id"), meta.get("title"), meta.get("summary", "")
        if not isinstance(pid, str) or not _PAGE_ID.match(pid):
            report.add(path, _key_line(lines, 1, "id"), "reference page needs an id of lower-case letters, digits and -")
            continue
        if pid in seen:
            report.add(path, _key_line(lines, 1, "id"), f"duplicate reference page id '{pid}'")
            continue
        if not isinstance(title, str) or not title.strip():
            report.add(path, _key_line(lines, 1, "title"), f"reference page '{pid}' has no title")
            continue
        if not isinstance(summary, str):
            report.add(path, _key_line(lines, 1, "summary"), f"summary of '{pid}' must be a string")
            continue
        if not body.strip():
            report.add(path, body_line, f"reference page '{pid}' has no text")
            continue
        for i in _wide_fence_lines(body):
            report.add(path, body_line + i, f"diagram line is wider than {FENCE_WIDTH} columns")
        seen.add(pid)
        pages.append(ReferencePage(pid, title.strip(), body.strip(), summary.strip()))
    return tuple(pages)


# ---------------------------------------------------------------------------- course


def load_course(root: Path | str | None = None) -> Course:
    """Load the whole course. Problems are collected in `course.problems`, never raised."""
    root = Path(root) if root is not None else DEFAULT_ROOT
    report = _Reporter(root)
    syllabus = load_syllabus(root, report)
    meta, mlines = _read_toml(root / "course.toml", report)
    meta = meta or {}
    labs = {str(k): str(v) for k, v in meta.get("labs", {}).items()}
    glossary = load_glossary(root, report)
    ctx = {
        "concepts": set(syllabus.concept_ids),
        "labs": labs,
        "glossary": {entry.id for entry in glossary},
        "ids": set(),
    }
    lessons = []
    for slug in meta.get("lessons", []):
        folder = root / "lessons" / str(slug)
        if not folder.is_dir():
            report.add(root / "course.toml", _find_line(mlines, str(slug)), f"lesson folder '{slug}' does not exist")
            continue
        lesson = _load_lesson(folder, ctx, report)
        if lesson is not None:
            lessons.append(lesson)
    exam = meta.get("exam", {}).get("per_lesson", 3)
    reference = load_reference(root, report)
    return Course(
        title=str(meta.get("title", "genai-tutor")),
        lessons=tuple(lessons),
        glossary=glossary,
        labs=labs,
        exam_per_lesson=int(exam) if isinstance(exam, int) else 3,
        syllabus=syllabus,
        problems=tuple(report.problems),
        reference=reference,
    )


def _find_line(lines: list[str], needle: str) -> int:
    return next((i + 1 for i, line in enumerate(lines) if needle in line), 0)


def missing_glossary_terms(course: Course) -> list[str]:
    """Syllabus glossary terms with no glossary entry (matching term or alias, ignoring case)."""
    have = {name.casefold() for entry in course.glossary for name in (entry.term, *entry.aliases)}
    return [term for term in course.syllabus.glossary_terms if term.casefold() not in have]


def validate(root: Path | str | None = None) -> list[Problem]:
    """Every problem in the course files under `root` (the installed course by default)."""
    return list(load_course(root).problems)
