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


LOW_BANDWIDTH = False


def _run_app(start: tuple[str, str] | None = None) -> int:
    """Run the tutor. Exit 0 after a quit; 1 with one line on stderr when the progress
    file cannot be used (StoreError) or after a crash (the report's path is printed)."""
    from content.safe import visible
    from quizzes.store import StoreError
    from tutor.app import TutorApp, crash_message, write_crash_report

    try:
        app = TutorApp(start=start, low_bandwidth=LOW_BANDWIDTH or None)
        app.run()
    except StoreError as error:
        print(visible(f"genai-tutor: {error}"), file=sys.stderr)
        return 1
    except Exception as error:  # any crash: a short line and a report, never a traceback
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


def cmd_lab(args: argparse.Namespace) -> int:
    from tutor import labs

    if not labs.available(args.lab_id):
        return _usage_error(f"unknown lab '{args.lab_id}' (choose from {', '.join(sorted(labs.LABS))})")
    return _run_app(("lab", args.lab_id))


def cmd_quiz(args: argparse.Namespace) -> int:
    if getattr(args, "plain", False):
        return cmd_quiz_plain(args)
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
    from content.bank import bank_report, bank_warnings
    from content.loader import DEFAULT_ROOT
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
    bank = bank_report(course)
    warnings = bank_warnings(course, args.path if args.path is not None else DEFAULT_ROOT)
    errors = course.errors
    if args.json:
        # json.dumps escapes every control character (ensure_ascii), so no raw ESC.
        print(
            json.dumps(
                {
                    "lessons": len(course.lessons),
                    "cards": len(course.cards),
                    "questions": len(course.questions),
                    "glossary": len(course.glossary),
                    "problems": [
                        {"file": p.file, "line": p.line, "message": p.message, "severity": p.severity}
                        for p in course.problems
                    ],
                    "uncovered_concepts": uncovered,
                    "missing_glossary_terms": missing_terms,
                    "bank": bank,
                },
                indent=2,
            )
        )
    else:
        for problem in course.problems:
            print(visible(problem))
        loader_warnings = len(course.problems) - len(errors)
        print(
            f"{len(course.lessons)} lessons, {len(course.cards)} cards, {len(course.questions)} questions, "
            f"{len(course.glossary)} glossary terms; {len(errors)} problems"
            + (f", {loader_warnings} warnings" if loader_warnings else "")
        )
        if uncovered:
            print(visible(f"concepts not yet both explained and tested: {', '.join(uncovered)}"))
        if missing_terms:
            print(visible(f"syllabus glossary terms without an entry: {', '.join(missing_terms)}"))
        for warning in warnings:
            print(visible(f"warning: {warning}"))
        print(
            f"quiz bank: the keyed option is the longest in {bank['longest_is_keyed']} of "
            f"{bank['single_choice']} single-choice questions "
            f"({100 * bank['longest_is_keyed_share']:.0f} %, limit "
            f"{100 * bank['longest_is_keyed_limit']:.0f} %); multi-select with every right "
            f"answer first: {len(bank['multi_all_right_first'])}"
        )
    return 1 if errors else 0


def _plain_store():
    from quizzes.store import Store

    return Store.open()


def cmd_quiz_plain(args: argparse.Namespace) -> int:
    """`quiz L03 --plain` / `quiz exam --plain`: the quiz as plain lines on stdin/stdout."""
    from content import load_course
    from quizzes.session import QuizSession
    from tutor import plain

    course = load_course()
    if args.lesson_id.lower() == "exam":
        with _plain_store() as store:
            session = plain.exam_session(course, store, plain._utc_now)
            return plain.run_quiz(session, sys.stdin, sys.stdout, "Final exam")
    lesson_id = _check_lesson_id(args.lesson_id)
    if lesson_id is None:
        return EXIT_USAGE
    lesson = course.lesson(lesson_id)
    if not lesson.questions:
        return _usage_error(f"{lesson_id} has no quiz questions")
    with _plain_store() as store:
        session = QuizSession(list(lesson.questions), store, "lesson")
        return plain.run_quiz(session, sys.stdin, sys.stdout, f"{lesson_id} quiz: {lesson.title}")


def cmd_review(args: argparse.Namespace) -> int:
    if not getattr(args, "plain", False):
        return _run_app(("review", ""))
    from content import load_course
    from tutor import plain

    with _plain_store() as store:
        return plain.run_review(load_course(), store, sys.stdin, sys.stdout)


def cmd_stats(args: argparse.Namespace) -> int:
    """`stats --json`: the Stats screen's figures as one JSON object; without --json, a
    short plain summary."""
    from content import load_course
    from quizzes.stats import study_stats

    with _plain_store() as store:
        figures = study_stats(load_course(), store)
    if args.json:
        print(json.dumps(figures.to_json(), indent=2))
        return 0
    week = figures.retention[-1]
    retention = "no reviews yet" if week.retention is None else f"{100 * week.retention:.0f} %"
    print(
        f"due today {figures.forecast[0]}, next 7 days {sum(figures.forecast[:7])}, "
        f"next 30 days {sum(figures.forecast)}"
    )
    print(
        f"reviews {figures.reviews_total}; true retention this week: {retention} "
        f"(desired {figures.desired_retention})"
    )
    print(
        f"time studied {figures.seconds_studied // 60} min; weakest concepts: "
        f"{', '.join(figures.weakest) or 'none studied yet'}"
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """`export cards FILE --format anki|csv` and `export progress FILE`."""
    from pathlib import Path

    from content import load_course
    from quizzes import transfer
    from quizzes.session import study_deck

    path = Path(args.file)
    if not path.parent.exists():
        return _usage_error(f"folder '{path.parent}' does not exist")
    with _plain_store() as store:
        if args.what == "progress":
            counts = transfer.export_progress(store, path)
            print(
                f"saved a progress backup to {path}: {counts['review_log']} reviews, "
                f"{counts['quiz_answer']} quiz answers, {counts['card_state']} cards studied"
            )
            return 0
        deck = study_deck(load_course(), store)
    writer = transfer.export_anki if args.format == "anki" else transfer.export_csv
    count = writer(deck, path)
    print(f"exported {count} cards to {path} ({args.format})")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """`import progress FILE` (replaces progress; the old progress is saved first) and
    `import cards FILE` (own cards from TSV, as the "My cards" deck)."""
    from datetime import datetime
    from pathlib import Path

    from quizzes import transfer
    from quizzes.store import BackupError

    path = Path(args.file)
    if not path.is_file():
        return _usage_error(f"'{path}' is not a file")
    with _plain_store() as store:
        if args.what == "cards":
            added, updated, errors = transfer.import_own_cards(store, path)
            for error in errors:
                print(error, file=sys.stderr)
            print(
                f"imported {added} new and {updated} updated cards into 'My cards'; "
                f"{len(errors)} bad line(s) skipped"
            )
            return 1 if errors else 0
        keep = store.path.with_name(f"progress-before-import-{datetime.now():%Y%m%dT%H%M%S}.json")
        transfer.export_progress(store, keep)
        try:
            counts = transfer.import_progress(store, path)
        except BackupError as error:
            print(f"genai-tutor: cannot import {path}: {error}", file=sys.stderr)
            return 1
    print(
        f"restored {counts['review_log']} reviews and {counts['quiz_answer']} quiz answers "
        f"from {path}; your previous progress was saved to {keep}"
    )
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    """`settings` lists the study settings; `settings KEY VALUE` changes one."""
    from quizzes.settings import DEFAULTS, load_settings, save_setting

    with _plain_store() as store:
        if args.key is None:
            current = load_settings(store)
            for key in DEFAULTS:
                print(f"{key} = {str(getattr(current, key)).lower()}")
            return 0
        if args.value is None:
            return _usage_error(
                f"give a value for {args.key}, e.g. 'genai-tutor settings {args.key} "
                f"{str(DEFAULTS.get(args.key, '')).lower()}'"
            )
        try:
            value = save_setting(store, args.key, args.value)
        except ValueError as error:
            return _usage_error(str(error))
    print(f"{args.key} = {str(value).lower()}")
    return 0


def add_study_commands(sub) -> None:
    """The stats, settings, export and import subcommands."""
    p = sub.add_parser("settings", help="show study settings, or set one: 'settings new_per_day 10'")
    p.add_argument("key", nargs="?", default=None)
    p.add_argument("value", nargs="?", default=None)
    p.set_defaults(handler=cmd_settings)
    p = sub.add_parser("stats", help="study statistics: due forecast, retention, heatmap, mastery")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=cmd_stats)
    p = sub.add_parser("export", help="'export cards FILE --format anki|csv' or 'export progress FILE'")
    p.add_argument("what", choices=["cards", "progress"])
    p.add_argument("file")
    p.add_argument(
        "--format",
        choices=["anki", "csv"],
        default="anki",
        help="for cards: Anki plain-text notes (default) or CSV",
    )
    p.set_defaults(handler=cmd_export)
    p = sub.add_parser("import", help="'import progress FILE' (a backup) or 'import cards FILE' (TSV)")
    p.add_argument("what", choices=["cards", "progress"])
    p.add_argument("file")
    p.set_defaults(handler=cmd_import)


# ------------------------------------------------------------------ headless labs


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="genai-tutor",
        description="A terminal tutor for how generative AI works. With no command, opens the tutor.",
    )
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("genai-tutor")
    except PackageNotFoundError:
        ours = "unknown (not installed)"
    parser.add_argument("--version", action="version", version=f"genai-tutor {ours}")
    parser.add_argument(
        "--low-bandwidth",
        action="store_true",
        help="fewer frames and colours in the labs, for slow links (also GENAI_TUTOR_LOW_BANDWIDTH=1)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    sub.add_parser("run", help="open the tutor (the default)")
    p = sub.add_parser("lesson", help="open the tutor at a lesson, e.g. 'genai-tutor lesson L03'")
    p.add_argument("lesson_id")
    p = sub.add_parser("lab", help="open a lab straight away, e.g. 'genai-tutor lab gan-2d'")
    p.add_argument("lab_id")
    p = sub.add_parser("review", help="review the flashcards that are due")
    p.add_argument("--plain", action="store_true", help="plain lines for screen readers and scripts")
    p = sub.add_parser(
        "quiz", help="take a lesson's quiz ('genai-tutor quiz L03') or the final exam ('quiz exam')"
    )
    p.add_argument("lesson_id")
    p.add_argument("--plain", action="store_true", help="plain lines for screen readers and scripts")
    p = sub.add_parser("validate", help="check the course files and report problems as file:line: message")
    p.add_argument("path", nargs="?", default=None, help="a course folder (default: the installed course)")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    add_study_commands(sub)
    from tutor.serve_cli import add_serve_command

    add_serve_command(sub, _Parser)

    from tutor import headless

    headless.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    global LOW_BANDWIDTH
    LOW_BANDWIDTH = bool(args.low_bandwidth)
    command = args.command or "run"
    if command == "run":
        return _run_app()
    if command == "review":
        return cmd_review(args)
    handlers = {"lesson": cmd_lesson, "lab": cmd_lab, "quiz": cmd_quiz, "validate": cmd_validate}
    if command in handlers:
        return handlers[command](args)
    return args.handler(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
