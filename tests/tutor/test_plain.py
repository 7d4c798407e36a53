"""Plain mode driven through stdin/stdout like a script or a screen reader would: no
Textual, no escape codes, answers of every kind, the score, and the attempt in the store."""

import os
import re
import subprocess
import sys
from pathlib import Path

from content import load_course
from quizzes.store import Store

ROOT = Path(__file__).resolve().parents[2]


class Driver:
    """Runs `python -m tutor ARGS` and answers each prompt after reading the text above it."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tutor", *args],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=os.environ.copy(),
            text=True,
            bufsize=1,
        )
        self.transcript = ""

    def until_prompt(self) -> str:
        """Everything printed up to the next "> " prompt (or the end)."""
        seen = ""
        while not seen.endswith("> "):
            char = self.proc.stdout.read(1)
            if not char:
                break
            seen += char
        self.transcript += seen
        return seen

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def finish(self) -> tuple[int, str]:
        self.proc.stdin.close()
        rest = self.proc.stdout.read()
        self.transcript += rest
        return self.proc.wait(timeout=60), self.transcript


def shown_options(text: str) -> list[str]:
    return re.findall(r"^  \d\. (.*)$", text, flags=re.MULTILINE)


def correct_answer(question, block: str, typo: bool) -> str:
    """What a learner who knows the answer types, with options numbered as shown."""
    shown = shown_options(block)
    number = {choice: str(shown.index(choice) + 1) for choice in shown}
    if question.kind == "single":
        return number[question.choices[question.answer]]
    if question.kind == "multi":
        return ",".join(number[question.choices[i]] for i in question.answers)
    if question.kind == "truefalse":
        return "true" if question.answer else "f"
    if question.kind == "order":
        return ",".join(number[choice] for choice in question.choices)
    word = question.answers[0]
    return word[:-2] + word[-1] + word[-2] if typo else word  # swap the last two letters


def test_quiz_l04_plain_answers_every_kind_and_is_saved(tutor_home):
    lesson = load_course().lesson("L04")
    by_prompt = {q.prompt: q for q in lesson.questions}
    driver = Driver("quiz", "L04", "--plain")
    kinds, wrong, typos = set(), None, 0
    while True:
        block = driver.until_prompt()
        if "Retry the ones you missed?" in block or not block.endswith("> "):
            break
        match = re.search(r"Question \d+ of \d+ \(L04, [^)]*\)\n(.*)\n", block)
        question = by_prompt[match.group(1)]
        if question.kind == "single" and wrong is None:
            wrong = question  # one wrong answer, to see the marks and the missed list
            right = question.choices[question.answer]
            driver.send(str(next(i + 1 for i, c in enumerate(shown_options(block)) if c != right)))
        else:
            use_typo = question.kind == "gap" and len(question.answers[0]) >= 5 and not typos
            typos += use_typo
            driver.send(correct_answer(question, block, use_typo))
        kinds.add(question.kind)
    driver.send("n")
    code, out = driver.finish()
    assert code == 0, out
    assert kinds == {"single", "multi", "truefalse", "gap", "order"}
    total = len(lesson.questions)
    assert f"Score: {total - 1} of {total}" in out
    assert "[wrong]" in out and "[missed]" in out
    assert f"1. {wrong.prompt}" in out and wrong.explanation in out  # missed: text + why
    assert typos == 1 and "Accepted, mind the spelling" in out
    assert "\x1b" not in out
    with Store.open(tutor_home / "progress.db") as store:
        attempts = store.attempts("lesson")
        assert len(attempts) == 1 and attempts[0].lesson_id == "L04"
        assert attempts[0].finished_at is not None
        assert (attempts[0].right, attempts[0].answered) == (total - 1, total)


def test_plain_input_errors_help_and_leaving(tutor_home):
    driver = Driver("quiz", "exam", "--plain")
    block = driver.until_prompt()
    assert "Final exam" in block
    driver.send("?")
    assert "one answer" in driver.until_prompt()
    driver.send("")  # an empty line is not an answer of any kind: asked again
    assert re.search(r"Type the missing|Give option numbers|Answer true or false", driver.until_prompt())
    driver.send("q")
    code, out = driver.finish()
    assert code == 0 and "Saved:" in out and "\x1b" not in out
    with Store.open(tutor_home / "progress.db") as store:
        assert store.unfinished_attempt("exam") is not None


def test_plain_review_grades_and_undoes(tutor_home):
    result = subprocess.run(
        [sys.executable, "-m", "tutor", "review", "--plain"],
        cwd=ROOT,
        input="\n3\n\n1\n\nu\n\n4\nq\n",
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Front:" in result.stdout and "Back:" in result.stdout and "Undone:" in result.stdout
    assert "\x1b" not in result.stdout
    with Store.open(tutor_home / "progress.db") as store:
        assert [r[1] for r in store.review_log()] == [3, 4]
