"""Seeded fuzzing of the real course files: load_course never raises or hangs, nothing it
returns carries a raw control character, and the app starts (and opens a lesson, the
glossary, the review and the exam) on a sample of the mutated courses that load (ten:
each start takes seconds, so all of them would not fit the default suite).

The course is the real one cut to three lessons (01, 03, 04: plain text, the language
model lab, a GAN lab) so that 320 full loads fit the default suite's time budget; every
mutation is applied to one of its real files, then the file is restored.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from pathlib import Path

import pytest

from content import DEFAULT_ROOT, load_course
from content.safe import has_control

SEED = 20261129
MUTATIONS = 320
APP_SAMPLE = 10  # mutated courses the app is started on (a start, exam and review: seconds each)
LESSON_SAMPLE = 3  # of those, how many also open a lesson (Markdown rendering is the slow part)
LESSONS = ["01-what-is-a-generative-model", "03-language-models", "04-gans"]
PAYLOADS_TOML = [
    "\\u001b]52;c;cHduZWQ=\\u0007",
    "\\u001b[2J",
    "[/bold]",
    "[@click=app.quit]x[/]",
    "[$accent]y",
    "\\u009b31m",
    "\\u007f",
]
PAYLOADS_RAW = ["\x1b]52;c;cHduZWQ=\x07", "\x1b[2J", "[/bold]", "[@click=app.quit]x[/]", "\x9b31m", "\x00"]
WRONG_VALUES = [
    "5",
    "-1",
    "[]",
    "{ a = 1 }",
    "true",
    "[1, [2]]",
    '"x"',
    "[[]]",
    "1.5",
    "inf",
    "nan",
    "2026-11-29",
    "[{ id = 3 }]",
    '""',
    "99999999999",
]


@contextmanager
def time_limit(seconds: float):
    """Fail (instead of hanging the suite) if the block runs longer than `seconds`."""

    def alarm(*_):
        raise TimeoutError(f"load_course took over {seconds} s (a hang?)")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def make_small_course(root: Path) -> Path:
    root.mkdir(parents=True)
    for name in ("syllabus.toml", "glossary.toml"):
        shutil.copy(DEFAULT_ROOT / name, root / name)
    text = (DEFAULT_ROOT / "course.toml").read_text()
    start, end = text.index("lessons = ["), text.index("]", text.index("lessons = ["))
    (root / "course.toml").write_text(
        text[:start] + f"lessons = {LESSONS!r}".replace("'", '"') + text[end + 1 :]
    )
    for slug in LESSONS:
        shutil.copytree(DEFAULT_ROOT / "lessons" / slug, root / "lessons" / slug)
    return root


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _lines_with_values(text: str) -> list[int]:
    return [
        i for i, line in enumerate(text.splitlines()) if "=" in line and not line.lstrip().startswith("#")
    ]


def mutate(rng: random.Random, root: Path) -> tuple[str, Path]:
    """Apply one random mutation to one real file of the course under `root`."""
    target = rng.choice(_files(root))
    data = target.read_bytes()
    text = data.decode("utf-8")
    lines = text.splitlines()
    kind = rng.choice(
        [
            "flip",
            "utf8",
            "truncate",
            "delete",
            "wrong-type",
            "table-kind",
            "deep",
            "inject",
            "inject",
            "fifo",
            "device",
            "folder",
            "huge",
            "duplicate",
            "drop-line",
            "exam",
            "slug",
        ]
    )
    if kind == "flip":
        blob = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            blob[rng.randrange(len(blob))] = rng.randrange(256)
        target.write_bytes(bytes(blob))
    elif kind == "utf8":
        at = rng.randrange(len(data))
        target.write_bytes(data[:at] + rng.choice([b"\xff\xfe", b"\xc3", b"\xed\xa0\x80"]) + data[at:])
    elif kind == "truncate":
        target.write_bytes(data[: rng.randrange(len(data))])
    elif kind == "delete":
        target.unlink()
    elif kind == "wrong-type":
        i = rng.choice(_lines_with_values(text) or [0])
        key = lines[i].split("=")[0] if "=" in lines[i] else "x "
        lines[i] = f"{key}= {rng.choice(WRONG_VALUES)}"
        target.write_text("\n".join(lines) + "\n")
    elif kind == "table-kind":
        swaps = [
            ("[[card]]", "[card]"),
            ("[[question]]", "[question]"),
            ("[[term]]", "[term]"),
            ("[[lesson]]", "[lesson]"),
            ("[labs]", "labs = 5\n[x]"),
            ("[exam]", "exam = [1]\n[y]"),
            ("lessons = [", "lessons = 5\nz = ["),
            ("concepts = [", "concepts = 5\nzz = ["),
        ]
        old, new = rng.choice([s for s in swaps if s[0] in text] or swaps)
        target.write_text(text.replace(old, new, 1))
    elif kind == "deep":
        depth = rng.choice([200, 1000, 5000])
        value = "[" * depth + "]" * depth
        if target.name == "lesson.md":
            target.write_text(text.replace("+++\n", f"+++\ndeep = {value}\n", 1))
        else:
            target.write_text(f"deep = {value}\n" + text)
    elif kind == "inject":
        if target.suffix == ".md":
            at = rng.randrange(len(text))
            target.write_text(text[:at] + rng.choice(PAYLOADS_RAW) + text[at:])
        else:
            quoted = [i for i, line in enumerate(lines) if '= "' in line]
            i = rng.choice(quoted or [0])
            lines[i] = lines[i].replace('= "', '= "' + rng.choice(PAYLOADS_TOML), 1)
            target.write_text("\n".join(lines) + "\n")
    elif kind == "fifo":
        target.unlink()
        os.mkfifo(target)
    elif kind == "device":
        target.unlink()
        target.symlink_to(rng.choice(["/dev/zero", "/dev/urandom"]))
    elif kind == "folder":
        target.unlink()
        target.mkdir()
    elif kind == "huge":
        target.write_text(text + ("padding line of a far too long file\n" * 35_000))
    elif kind == "duplicate":
        target.write_text(text + "\n" + text[text.find("[[") :] if "[[" in text else text + text)
    elif kind == "drop-line":
        if lines:
            del lines[rng.randrange(len(lines))]
        target.write_text("\n".join(lines) + "\n")
    elif kind == "exam":
        course = root / "course.toml"
        target = course
        course.write_text(
            course.read_text().replace("per_lesson = 3", f"per_lesson = {rng.choice([0, 50, -2])}")
        )
    elif kind == "slug":
        course = root / "course.toml"
        target = course
        course.write_text(
            course.read_text().replace(f'"{LESSONS[0]}"', rng.choice(['"../../etc"', '"/etc"', '"."', '""']))
        )
    return kind, target


def restore(target: Path, original: Path) -> None:
    if target.is_symlink() or target.is_file() or _is_fifo(target):
        target.unlink()
    elif target.is_dir():
        target.rmdir()
    shutil.copy(original, target)


def _is_fifo(path: Path) -> bool:
    try:
        return path.is_fifo()
    except OSError:
        return False


def _strings(value, depth=0):
    """Every string inside a loaded course (dataclasses, tuples, dicts)."""
    if isinstance(value, str):
        yield value
    elif is_dataclass(value):
        for f in fields(value):
            if not f.name.startswith("_"):
                yield from _strings(getattr(value, f.name), depth + 1)
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _strings(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, depth + 1)
            yield from _strings(item, depth + 1)


@pytest.fixture(scope="module")
def fuzz_results(tmp_path_factory):
    """Run every mutation once; returns [(kind, file, course)] for the app tests."""
    base = tmp_path_factory.mktemp("fuzz")
    pristine = make_small_course(base / "pristine")
    root = make_small_course(base / "course")
    assert load_course(root).errors == ()
    rng = random.Random(SEED)
    results = []
    for n in range(MUTATIONS):
        kind, target = mutate(rng, root)
        try:
            with time_limit(20):
                course = load_course(root)
        except Exception as exc:  # the point: report any exception with its mutation
            pytest.fail(f"mutation {n} ({kind} on {target.relative_to(root)}) made load_course raise {exc!r}")
        finally:
            for path in {target, root / "course.toml"}:
                restore(path, pristine / path.relative_to(root))
        results.append((kind, str(target.relative_to(root)), course))
    return results


def test_load_course_never_raises_hangs_or_passes_a_control_character_on(fuzz_results):
    assert len(fuzz_results) == MUTATIONS
    kinds = {kind for kind, _, _ in fuzz_results}
    assert {"utf8", "wrong-type", "deep", "inject", "fifo", "device", "huge", "table-kind"} <= kinds
    for kind, name, course in fuzz_results:
        for text in _strings(course):
            assert not has_control(text), (kind, name, repr(text)[:120])
    broken = sum(bool(course.errors) for _, _, course in fuzz_results)
    assert broken > MUTATIONS // 3  # the mutations really break things, and are reported


def _app_sample(results) -> list:
    """Injections and wrong types first (they once crashed the app), then others, seeded."""
    loads = [r for r in results if r[2].lessons]
    first = sorted(
        (r for r in loads if r[0] in ("inject", "table-kind", "wrong-type", "exam")),
        key=lambda r: not r[1].endswith("lesson.md"),
    )
    rest = [r for r in loads if r not in first]
    random.Random(SEED).shuffle(rest)
    return (first[: APP_SAMPLE * 3 // 4] + rest)[:APP_SAMPLE]


async def test_the_app_starts_on_a_sample_of_mutated_courses(fuzz_results, make_app):
    """A sample, not all 320: each start with an exam and a review takes a few seconds."""
    from tutor.screens.home import HomeScreen

    sample = _app_sample(fuzz_results)
    assert len(sample) == APP_SAMPLE
    lessons_left = LESSON_SAMPLE
    for kind, name, course in sample:
        app = make_app(course=course)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, HomeScreen), (kind, name)
            await pilot.press("x")
            await pilot.pause()
            await pilot.press("escape", "r", "space")
            await pilot.pause()
            await pilot.press("escape")
            if name.endswith("lesson.md") and lessons_left:
                lessons_left -= 1
                app.open_lesson(course.lessons[0].id)
                await pilot.pause()
                await pilot.press("g")
                await pilot.pause()
        app.store.close()
