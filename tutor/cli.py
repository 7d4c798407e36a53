"""The `genai-tutor` command: start the tutor, check the course, drive the labs headless.

Argument errors print one line with the valid choices and exit with code 2. Heavy modules
(textual, numpy, numba) are imported only by the command that needs them, so
`genai-tutor validate` and `--help` stay quick.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (with the valid choices) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        from content.safe import visible  # the message quotes what was typed

        self.exit(EXIT_USAGE, visible(f"{self.prog}: error: {message}") + "\n")


def _usage_error(message: str) -> int:
    from content.safe import visible

    print(visible(f"genai-tutor: error: {message}"), file=sys.stderr)
    return EXIT_USAGE


# ------------------------------------------------------------------ study commands


def _run_app(start: tuple[str, str] | None = None) -> int:
    """Run the tutor. Exit 0 after a quit; 1 with one line on stderr when the progress
    file cannot be used (StoreError) or after a crash (the report's path is printed)."""
    from content.safe import visible
    from quizzes.store import StoreError
    from tutor.app import TutorApp, crash_message, write_crash_report

    try:
        app = TutorApp(start=start)
        app.run()
    except StoreError as error:
        print(visible(f"genai-tutor: {error}"), file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - any crash: a short line and a report, never a traceback
        print(crash_message(error, write_crash_report(error)), file=sys.stderr)
        return 1
    if app.crash_line is not None:
        print(app.crash_line, file=sys.stderr)
    return 1 if app.return_code else 0


def _check_lesson_id(lesson_id: str) -> str | None:
    from content import load_course

    ids = [lesson.id for lesson in load_course().lessons]
    if lesson_id.upper() in ids:
        return lesson_id.upper()
    _usage_error(f"unknown lesson id '{lesson_id}' (choose from {', '.join(ids)})")
    return None


def cmd_lesson(args: argparse.Namespace) -> int:
    lesson_id = _check_lesson_id(args.lesson_id)
    return EXIT_USAGE if lesson_id is None else _run_app(("lesson", lesson_id))


def cmd_quiz(args: argparse.Namespace) -> int:
    if args.lesson_id.lower() == "exam":
        return _run_app(("exam", ""))
    lesson_id = _check_lesson_id(args.lesson_id)
    return EXIT_USAGE if lesson_id is None else _run_app(("quiz", lesson_id))


def cmd_validate(args: argparse.Namespace) -> int:
    """Check a course folder. Every string printed passes the sanitising gate: the point
    of `validate` is to vet a course someone else wrote, so its own messages must not
    carry that course's escape sequences to the terminal."""
    from pathlib import Path

    from content import load_course, missing_glossary_terms
    from content.safe import visible

    if args.path is not None and not Path(args.path, "course.toml").is_file():
        message = f"'{args.path}' is not a course folder (it has no course.toml)"
        if args.json:
            print(json.dumps({"error": message}, indent=2))
            return EXIT_USAGE
        return _usage_error(visible(message))
    course = load_course(args.path)
    uncovered = course.uncovered_concepts()
    missing_terms = missing_glossary_terms(course)
    errors = course.errors
    if args.json:
        # json.dumps escapes every control character (ensure_ascii), so no raw ESC.
        print(json.dumps({
            "lessons": len(course.lessons),
            "cards": len(course.cards),
            "questions": len(course.questions),
            "glossary": len(course.glossary),
            "problems": [{"file": p.file, "line": p.line, "message": p.message, "severity": p.severity}
                         for p in course.problems],
            "uncovered_concepts": uncovered,
            "missing_glossary_terms": missing_terms,
        }, indent=2))
    else:
        for problem in course.problems:
            print(visible(problem))
        warnings = len(course.problems) - len(errors)
        print(f"{len(course.lessons)} lessons, {len(course.cards)} cards, {len(course.questions)} questions, "
              f"{len(course.glossary)} glossary terms; {len(errors)} problems"
              + (f", {warnings} warnings" if warnings else ""))
        if uncovered:
            print(visible(f"concepts not yet both explained and tested: {', '.join(uncovered)}"))
        if missing_terms:
            print(visible(f"syllabus glossary terms without an entry: {', '.join(missing_terms)}"))
    return 1 if errors else 0


# ------------------------------------------------------------------ headless labs

def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="genai-tutor",
        description="A terminal tutor for how generative AI works. With no command, opens the tutor.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    sub.add_parser("run", help="open the tutor (the default)")
    p = sub.add_parser("lesson", help="open the tutor at a lesson, e.g. 'genai-tutor lesson L03'")
    p.add_argument("lesson_id")
    sub.add_parser("review", help="review the flashcards that are due")
    p = sub.add_parser("quiz", help="take a lesson's quiz ('genai-tutor quiz L03') or the final exam ('quiz exam')")
    p.add_argument("lesson_id")
    p = sub.add_parser("validate", help="check the course files and report problems as file:line: message")
    p.add_argument("path", nargs="?", default=None, help="a course folder (default: the installed course)")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    from tutor import headless

    headless.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command or "run"
    if command == "run":
        return _run_app()
    if command == "review":
        return _run_app(("review", ""))
    handlers = {"lesson": cmd_lesson, "quiz": cmd_quiz, "validate": cmd_validate}
    if command in handlers:
        return handlers[command](args)
    return args.handler(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
