"""Read the course from its text files, checking every item as it goes.

The loader never raises for a bad content file. Each problem becomes a `Problem` with the
file, the line and a plain sentence; the broken item is left out and everything else
loads. `genai-tutor validate` prints those problems; the app shows a notice and carries on.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from pathlib import Path
from typing import TypeGuard, overload

from content.safe import has_control, visible
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
# A content file larger than this is a problem, not a hang: the longest real lesson is
# under 10 KB, and a 50 MB one took 2.7 GB of memory and never rendered.
MAX_FILE_BYTES = 1_000_000
_LAB_OPEN = re.compile(r"^:::\s*lab\s+(\S+)\s*$")
_LAB_CLOSE = re.compile(r"^:::\s*$")

# The keys each kind of table may hold; anything else is reported as a warning (a typo
# such as "explaination" would otherwise be silently ignored).
KNOWN_KEYS = {
    "course": {"title", "lessons", "labs", "exam"},
    "exam": {"per_lesson"},
    "syllabus": {"glossary_terms", "lesson"},
    "syllabus lesson": {"id", "title", "concepts"},
    "glossary": {"term"},
    "term": {"id", "term", "aliases", "definition"},
    "front matter": {"id", "title", "minutes", "concepts", "labs", "terms"},
    "cards": {"card"},
    "card": {"id", "front", "back", "concepts"},
    "quiz": {"question"},
    "question": {
        "id",
        "kind",
        "prompt",
        "choices",
        "answer",
        "answers",
        "explanation",
        "concepts",
        "applies",
    },
}


class _Reporter:
    """Collects problems; knows the content root so paths print short and stable."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def add(self, path: Path, line: int, message: str, severity: str = "error") -> None:
        try:
            shown = path.relative_to(self.root.parent)
        except ValueError:
            shown = path
        self.problems.append(Problem(visible(shown), line, visible(message), severity))

    def warn(self, path: Path, line: int, message: str) -> None:
        self.add(path, line, message, "warning")


def read_text(path: Path, report: _Reporter, missing: str = "file is missing") -> str | None:
    """The UTF-8 text of a content file, or None after reporting why it cannot be used.

    Only regular files are opened (a FIFO would block and a device never ends), and at
    most MAX_FILE_BYTES are read."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        report.add(path, 0, missing)
        return None
    except OSError as exc:
        report.add(path, 0, f"cannot read the file ({exc.strerror or exc})")
        return None
    if not stat.S_ISREG(info.st_mode):
        report.add(path, 0, "is not a regular file (a folder, FIFO or device); it was not read")
        return None
    if info.st_size > MAX_FILE_BYTES:
        report.add(path, 0, f"is {info.st_size:,} bytes; a content file may be at most {MAX_FILE_BYTES:,}")
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # swapped since the stat
                report.add(path, 0, "is not a regular file; it was not read")
                return None
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        report.add(path, 0, f"cannot read the file ({exc.strerror or exc})")
        return None
    if len(data) > MAX_FILE_BYTES:
        report.add(path, 0, f"is over {MAX_FILE_BYTES:,} bytes, the most a content file may hold")
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        report.add(path, line, f"is not valid UTF-8 (byte 0x{data[exc.start]:02x}); save it as UTF-8")
        return None


def _parse_toml(
    text: str, path: Path, report: _Reporter, first_line: int = 1, what: str = "broken TOML"
) -> dict | None:
    """tomllib.loads, reporting (not raising) a syntax error or nesting too deep to parse."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) + first_line - 1 if match else first_line
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        report.add(path, line, f"{what}: {reason}")
    except RecursionError:
        report.add(path, first_line, f"{what}: arrays or tables are nested too deeply to read")
    return None


def _read_toml(path: Path, report: _Reporter) -> tuple[dict | None, list[str]]:
    """Parse a TOML file; on failure report the line tomllib names and return None."""
    text = read_text(path, report)
    if text is None:
        return None, []
    return _parse_toml(text, path, report), text.splitlines()


def _unknown_keys(table: dict, kind: str, path: Path, line: int, report: _Reporter) -> None:
    extra = sorted(str(k) for k in table if k not in KNOWN_KEYS[kind])
    if extra:
        report.warn(
            path,
            line,
            f"unknown key{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))} "
            f"in the {kind} (known: {', '.join(sorted(KNOWN_KEYS[kind]))}); ignored",
        )


def _tables(data: dict, key: str, path: Path, report: _Reporter) -> list[tuple[int, dict | None]]:
    """The ``[[key]]`` array of tables as (index, table or None for a non-table item)."""
    value = data.get(key, [])
    if not isinstance(value, list):
        report.add(
            path,
            0,
            f"'{key}' must be written as [[{key}]] tables, one per item (found {type(value).__name__})",
        )
        return []
    return [(n, item if isinstance(item, dict) else None) for n, item in enumerate(value)]


@overload
def _text(value: str, path: Path, line: int, report: _Reporter) -> str: ...
@overload
def _text(value: object, path: Path, line: int, report: _Reporter) -> object: ...
def _text(value: object, path: Path, line: int, report: _Reporter) -> object:
    """A string with any control characters reported and shown as escapes; others unchanged.

    Control characters (ESC above all) in course text could drive the learner's terminal;
    they are a problem for `validate` and are never passed on raw."""
    if isinstance(value, str) and has_control(value):
        char = next(c for c in value if has_control(c))
        report.add(path, line, f"text holds a control character ({visible(char)}); it is shown as an escape")
        return visible(value)
    return value


def _table_lines(lines: list[str], header: str) -> list[int]:
    """1-based line numbers of every ``[[header]]`` in file order."""
    pattern = re.compile(r"^\s*\[\[\s*" + re.escape(header) + r"\s*\]\]")
    return [i + 1 for i, line in enumerate(lines) if pattern.match(line)]


def _key_line(lines: list[str], start: int, key: str) -> int:
    """Line of ``key =`` in the table whose header is on line `start` (falls back to `start`)."""
    pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
    for i in range(start, len(lines)):  # lines[start] is the line after the header
        if lines[i].lstrip().startswith("[[") and not pattern.match(lines[i]):
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


def _is_id(value: object) -> TypeGuard[str]:
    """An id is a non-empty string without control characters (it is stored and shown)."""
    return isinstance(value, str) and bool(value.strip()) and not has_control(value)


def load_syllabus(root: Path, report: _Reporter) -> Syllabus:
    path = root / "syllabus.toml"
    data, lines = _read_toml(path, report)
    data = data or {}
    _unknown_keys(data, "syllabus", path, 1, report)
    starts = _table_lines(lines, "lesson")
    lessons = []
    for n, item in _tables(data, "lesson", path, report):
        line = starts[n] if n < len(starts) else 0
        if item is None:
            report.add(path, line, "a syllabus lesson must be a table")
            continue
        _unknown_keys(item, "syllabus lesson", path, line, report)
        concepts = _strings(item.get("concepts"))
        if concepts is None or not all(_is_id(c) for c in concepts):
            report.add(path, line, "concepts of a syllabus lesson must be a list of concept ids")
            concepts = ()
        lessons.append(SyllabusLesson(visible(item.get("id", "")), visible(item.get("title", "")), concepts))
    terms = _strings(data.get("glossary_terms"))
    if terms is None:
        report.add(path, _key_line(lines, 0, "glossary_terms"), "glossary_terms must be a list of strings")
        terms = ()
    return Syllabus(tuple(lessons), tuple(visible(t) for t in terms))


# ---------------------------------------------------------------------------- glossary


def load_glossary(root: Path, report: _Reporter) -> tuple[GlossaryEntry, ...]:
    path = root / "glossary.toml"
    if not os.path.lexists(path):
        return ()
    data, lines = _read_toml(path, report)
    if data is None:
        return ()
    _unknown_keys(data, "glossary", path, 1, report)
    starts = _table_lines(lines, "term")
    entries: list[GlossaryEntry] = []
    seen: set[str] = set()
    for n, item in _tables(data, "term", path, report):
        line = starts[n] if n < len(starts) else 0
        if item is None:
            report.add(path, line, "a glossary entry must be a [[term]] table")
            continue
        _unknown_keys(item, "term", path, line, report)
        tid = item.get("id")
        if not _is_id(tid):
            report.add(path, line, "glossary entry has no id")
            continue
        term = _text(item.get("term"), path, _key_line(lines, line, "term"), report)
        definition = _text(item.get("definition"), path, _key_line(lines, line, "definition"), report)
        aliases = _strings(item.get("aliases"))
        ok = True
        if tid in seen:
            report.add(path, line, f"duplicate glossary id '{tid}'")
            ok = False
        if not isinstance(term, str) or not term.strip():
            report.add(path, line, f"glossary entry '{tid}' has no term")
            ok = False
        if not isinstance(definition, str) or not definition.strip():
            report.add(path, line, f"glossary entry '{tid}' has no definition")
            ok = False
        if aliases is None:
            report.add(
                path, _key_line(lines, line, "aliases"), f"aliases of '{tid}' must be a list of strings"
            )
            ok = False
        if not ok:
            continue
        assert aliases is not None and isinstance(term, str) and isinstance(definition, str)  # checked above
        aliases = tuple(_text(a, path, _key_line(lines, line, "aliases"), report) for a in aliases)
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
    meta = _parse_toml("\n".join(lines[1:end]), path, report, 2, "broken TOML in front matter")
    if meta is None:
        return None, "", 0
    return meta, "\n".join(lines[end + 1 :]), end + 2


def _check_concepts(items, known: set[str], path, line, what, report) -> tuple[str, ...] | None:
    concepts = _strings(items)
    if concepts is None:
        report.add(path, line, f"concepts of {what} must be a list of concept ids")
        return None
    bad = [c for c in concepts if c not in known]
    for concept in bad:
        report.add(path, line, f"unknown concept id '{concept}' in {what}")
    return None if bad else concepts


def _clean_body(body: str, body_line: int, path: Path, report: _Reporter) -> str:
    """The lesson body with control characters reported (at their line) and made visible."""
    if not has_control(body):
        return body
    for i, line in enumerate(body.splitlines()):
        if has_control(line):
            _text(line, path, body_line + i, report)
            break
    return visible(body)


def _load_lesson(folder: Path, ctx: dict, report: _Reporter) -> Lesson | None:
    path = folder / "lesson.md"
    text = read_text(path, report, "lesson.md is missing")
    if text is None:
        return None
    meta, body, body_line = _front_matter(path, text, report)
    if meta is None:
        return None
    mlines = text.splitlines()
    _unknown_keys(meta, "front matter", path, 1, report)
    lid, minutes = meta.get("id"), meta.get("minutes", 10)
    title = _text(meta.get("title"), path, _key_line(mlines, 1, "title"), report)
    if not _is_id(lid):
        report.add(path, 1, "lesson has no id in its front matter")
        return None
    if lid in ctx["ids"]:
        report.add(path, _key_line(mlines, 1, "id"), f"duplicate id '{lid}'")
        return None
    if not isinstance(title, str) or not title.strip():
        report.add(path, _key_line(mlines, 1, "title"), f"lesson '{lid}' has no title")
        return None
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 < minutes <= 600:
        report.add(path, _key_line(mlines, 1, "minutes"), "minutes must be a whole number from 1 to 600")
        minutes = 10
    concepts = (
        _check_concepts(
            meta.get("concepts"),
            ctx["concepts"],
            path,
            _key_line(mlines, 1, "concepts"),
            f"lesson '{lid}'",
            report,
        )
        or ()
    )
    labs = _strings(meta.get("labs"))
    if labs is None:
        report.add(path, _key_line(mlines, 1, "labs"), "labs must be a list of lab ids")
        labs = ()
    for lab in labs:
        if lab not in ctx["labs"]:
            report.add(
                path,
                _key_line(mlines, 1, "labs"),
                f"unknown lab id '{lab}' (known: {', '.join(sorted(ctx['labs']))})",
            )
    labs = tuple(lab for lab in labs if lab in ctx["labs"])
    terms = _strings(meta.get("terms"))
    if terms is None:
        report.add(path, _key_line(mlines, 1, "terms"), "terms must be a list of glossary ids")
        terms = ()
    for term in terms:
        if term not in ctx["glossary"]:
            report.add(path, _key_line(mlines, 1, "terms"), f"unknown glossary id '{term}'")
    terms = tuple(t for t in terms if t in ctx["glossary"])
    body = _clean_body(body, body_line, path, report)
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
    return Lesson(
        lid, folder.name, title.strip(), minutes, body, concepts, labs, terms, tuple(blocks), cards, questions
    )


def _identified_items(path: Path, kind: str, table: str, ctx: dict, report: _Reporter):
    """The ``[[table]]`` items of a cards or quiz file that have an id, as (item, id, is a
    duplicate, lines of the file, the item's first line); every item without one (or
    that is not a table) is reported and skipped. Nothing when the file is absent or
    cannot be read (reported by ``_read_toml``)."""
    if not os.path.lexists(path):
        return
    data, lines = _read_toml(path, report)
    if data is None:
        return
    _unknown_keys(data, kind, path, 1, report)
    starts = _table_lines(lines, table)
    for n, item in _tables(data, table, path, report):
        line = starts[n] if n < len(starts) else 0
        if item is None:
            report.add(path, line, f"a {table} must be a [[{table}]] table")
            continue
        _unknown_keys(item, table, path, line, report)
        iid = item.get("id")
        if not _is_id(iid):
            report.add(path, line, f"{table} has no id")
            continue
        duplicate = iid in ctx["ids"]
        if duplicate:
            report.add(path, _key_line(lines, line, "id"), f"duplicate id '{iid}'")
        yield item, iid, duplicate, lines, line


def _load_cards(path: Path, lesson_id: str, ctx: dict, report: _Reporter) -> tuple[Card, ...]:
    cards = []
    for item, cid, duplicate, lines, line in _identified_items(path, "cards", "card", ctx, report):
        ok = not duplicate
        front = _text(item.get("front"), path, _key_line(lines, line, "front"), report)
        back = _text(item.get("back"), path, _key_line(lines, line, "back"), report)
        if not isinstance(front, str) or not front.strip():
            report.add(path, line, f"card '{cid}' has no front")
            ok = False
        if not isinstance(back, str) or not back.strip():
            report.add(path, line, f"card '{cid}' has no back")
            ok = False
        concepts = _check_concepts(
            item.get("concepts"),
            ctx["concepts"],
            path,
            _key_line(lines, line, "concepts"),
            f"card '{cid}'",
            report,
        )
        if concepts is None or not ok:
            continue
        assert isinstance(front, str) and isinstance(back, str)  # checked above
        ctx["ids"].add(cid)
        cards.append(Card(cid, lesson_id, front.strip(), back.strip(), concepts))
    return tuple(cards)


def _check_choices(item: dict, qid: str, kind: str, at, path, report) -> tuple[str, ...] | None:
    choices = _strings(item.get("choices"))
    low = 2 if kind == "single" else 3
    if not choices or not low <= len(choices) <= 6:
        report.add(path, at("choices"), f"question '{qid}' ({kind}) needs {low} to 6 choices")
        return None
    if len(set(choices)) != len(choices):
        report.add(path, at("choices"), f"question '{qid}' repeats a choice")
        return None
    return tuple(_text(c, path, at("choices"), report) for c in choices)


def _check_answer(item: dict, qid: str, kind: str, choices, at, path, report) -> dict | None:
    """The kind-specific answer fields, or None after reporting what is wrong."""
    if kind == "single":
        answer = item.get("answer")
        if choices is not None and (
            not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer < len(choices)
        ):
            report.add(
                path,
                at("answer"),
                f"answer index {answer!r} is out of range for question '{qid}' "
                f"(choices are numbered 0 to {len(choices) - 1})",
            )
            return None
        return {"answer": answer}
    if kind == "multi":
        answers = item.get("answers")
        if (
            not isinstance(answers, list)
            or not answers
            or not all(isinstance(a, int) and not isinstance(a, bool) for a in answers)
        ):
            report.add(
                path, at("answers"), f"question '{qid}' (multi) needs answers = a list of choice indices"
            )
            return None
        if choices is None:
            return None
        bad = [a for a in answers if not 0 <= a < len(choices)]
        if bad or len(set(answers)) != len(answers):
            report.add(
                path,
                at("answers"),
                f"answer index {bad[0] if bad else answers} is out of range or repeated "
                f"in question '{qid}' (choices are numbered 0 to {len(choices) - 1})",
            )
            return None
        return {"answers": tuple(sorted(answers))}
    if kind == "truefalse":
        answer = item.get("answer")
        if not isinstance(answer, bool):
            report.add(path, at("answer"), f"question '{qid}' (truefalse) needs answer = true or false")
            return None
        return {"answer": answer}
    if kind == "gap":
        answers = _strings(item.get("answers"))
        if not answers or not all(a.strip() for a in answers):
            report.add(
                path, at("answers"), f"question '{qid}' (gap) needs answers = a list of accepted strings"
            )
            return None
        return {"answers": tuple(_text(a, path, at("answers"), report) for a in answers)}
    return {}


def _check_question(item: dict, qid: str, where, report) -> dict | None:
    """Check one question's fields, reporting every problem; the fields for `Question` or None."""
    path, lines, line = where
    kind = item.get("kind")
    at = lambda key: _key_line(lines, line, key)  # noqa: E731 - a short local helper reads best here
    ok = True
    prompt = _text(item.get("prompt"), path, at("prompt"), report)
    explanation = _text(item.get("explanation"), path, at("explanation"), report)
    if not isinstance(prompt, str) or not prompt.strip():
        report.add(path, line, f"question '{qid}' has no prompt")
        ok = False
    if not isinstance(explanation, str) or not explanation.strip():
        report.add(path, line, f"question '{qid}' is missing its explanation")
        ok = False
    if not isinstance(kind, str) or kind not in QUESTION_KINDS:
        report.add(
            path,
            at("kind"),
            f"unknown kind '{kind}' in question '{qid}' (use one of: {', '.join(QUESTION_KINDS)})",
        )
        return None
    if kind == "gap" and isinstance(prompt, str) and "___" not in prompt:
        report.add(path, at("prompt"), f"question '{qid}' (gap) must mark the gap with ___ in its prompt")
        ok = False
    fields: dict = {"kind": kind}
    choices = None
    if kind in ("single", "multi", "order"):
        choices = _check_choices(item, qid, kind, at, path, report)
        ok = ok and choices is not None
        fields["choices"] = choices
    answer = _check_answer(item, qid, kind, choices, at, path, report)
    if not ok or answer is None:
        return None
    assert isinstance(prompt, str) and isinstance(explanation, str)  # checked above
    fields.update(answer, prompt=prompt.strip(), explanation=explanation.strip())
    return fields


def _load_questions(path: Path, lesson_id: str, ctx: dict, report: _Reporter) -> tuple[Question, ...]:
    questions = []
    for item, qid, duplicate, lines, line in _identified_items(path, "quiz", "question", ctx, report):
        fields = _check_question(item, qid, (path, lines, line), report)
        concepts = _check_concepts(
            item.get("concepts"),
            ctx["concepts"],
            path,
            _key_line(lines, line, "concepts"),
            f"question '{qid}'",
            report,
        )
        applies = item.get("applies", False)
        if not isinstance(applies, bool):
            report.add(path, _key_line(lines, line, "applies"), f"applies of '{qid}' must be true or false")
            continue
        if duplicate or fields is None or concepts is None:
            continue
        ctx["ids"].add(qid)
        questions.append(Question(id=qid, lesson_id=lesson_id, concepts=concepts, applies=applies, **fields))
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
        text = read_text(path, report)  # regular files only, size-capped, UTF-8 checked
        if text is None:
            continue
        meta, body, body_line = _front_matter(path, text, report)
        if meta is None:
            continue
        lines = text.splitlines()
        pid, title, summary = meta.get("id"), meta.get("title"), meta.get("summary", "")
        if not isinstance(pid, str) or not _PAGE_ID.match(pid):
            report.add(
                path,
                _key_line(lines, 1, "id"),
                "reference page needs an id of lower-case letters, digits and -",
            )
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


def _course_meta(root: Path, report: _Reporter) -> tuple[dict, list[str], list[str], dict[str, str], int]:
    """course.toml checked: (meta, its lines, lesson folder names, labs, exam per lesson)."""
    path = root / "course.toml"
    meta, mlines = _read_toml(path, report)
    meta = meta or {}
    _unknown_keys(meta, "course", path, 1, report)
    labs_table = meta.get("labs", {})
    if not isinstance(labs_table, dict):
        report.add(path, _key_line(mlines, 0, "labs"), 'labs must be a [labs] table of id = "title"')
        labs_table = {}
    labs = {}
    for key, value in labs_table.items():
        if not isinstance(value, str) or not _is_id(key):
            report.add(path, _key_line(mlines, 0, key), f"lab '{key}' must have a title string")
            continue
        labs[key] = str(_text(value, path, _key_line(mlines, 0, key), report))
    slugs = _strings(meta.get("lessons"))
    if slugs is None:
        report.add(path, _key_line(mlines, 0, "lessons"), "lessons must be a list of lesson folder names")
        slugs = ()
    exam = meta.get("exam", {})
    per_lesson = 3
    if not isinstance(exam, dict):
        report.add(path, _key_line(mlines, 0, "exam"), "exam must be an [exam] table")
    else:
        _unknown_keys(exam, "exam", path, _find_line(mlines, "[exam]"), report)
        value = exam.get("per_lesson", 3)
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 100:
            per_lesson = value
        else:
            report.add(
                path,
                _key_line(mlines, 0, "per_lesson"),
                "exam per_lesson must be a whole number from 1 to 100",
            )
    return meta, mlines, list(slugs), labs, per_lesson


def _safe_slug(slug: str) -> bool:
    """A lesson folder is a plain name inside lessons/ (no path separators, no ..)."""
    return (
        bool(slug)
        and slug not in (".", "..")
        and "/" not in slug
        and "\\" not in slug
        and not has_control(slug)
    )


def load_course(root: Path | str | None = None) -> Course:
    """Load the whole course. Problems are collected in `course.problems`, never raised."""
    root = Path(root) if root is not None else DEFAULT_ROOT
    report = _Reporter(root)
    syllabus = load_syllabus(root, report)
    meta, mlines, slugs, labs, per_lesson = _course_meta(root, report)
    glossary = load_glossary(root, report)
    ctx = {
        "concepts": set(syllabus.concept_ids),
        "labs": labs,
        "glossary": {entry.id for entry in glossary},
        "ids": set(),
    }
    lessons = []
    for slug in slugs:
        folder = root / "lessons" / slug
        if not _safe_slug(slug) or not folder.is_dir():
            report.add(
                root / "course.toml", _find_line(mlines, slug), f"lesson folder '{slug}' does not exist"
            )
            continue
        try:
            lesson = _load_lesson(folder, ctx, report)
        except RecursionError:
            report.add(folder / "lesson.md", 0, "nests too deeply to load")
            lesson = None
        if lesson is not None:
            lessons.append(lesson)
    reference = load_reference(root, report)
    title = _text(
        meta.get("title", "genai-tutor"), root / "course.toml", _key_line(mlines, 0, "title"), report
    )
    if not isinstance(title, str) or not title.strip():
        report.add(root / "course.toml", _key_line(mlines, 0, "title"), "title must be a string")
        title = "genai-tutor"
    if lessons and not any(len(lesson.questions) >= per_lesson for lesson in lessons):
        report.add(
            root / "course.toml",
            _find_line(mlines, "per_lesson"),
            f"the final exam cannot be drawn: no lesson has {per_lesson} quiz question(s) (exam per_lesson)",
        )
    return Course(
        title=title,
        lessons=tuple(lessons),
        glossary=glossary,
        labs=labs,
        exam_per_lesson=per_lesson,
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
