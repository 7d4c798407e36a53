"""What a learner sees when something is wrong: broken content, a corrupt progress file,
unknown ids on the command line. And the command palette's entries."""

from __future__ import annotations

from content import load_course
from tests.content.test_loader import GOOD_QUESTION, make_course
from tutor.cli import main
from tutor.screens.home import HomeScreen


async def test_broken_content_item_is_skipped_with_a_notice(make_app, tmp_path):
    root = make_course(
        tmp_path / "course",
        quiz=GOOD_QUESTION
        + GOOD_QUESTION.replace("L01-q01", "L01-q02").replace('kind = "single"', 'kind = "essay"'),
    )
    course = load_course(root)
    app = make_app(course=course)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        messages = [n.message for n in app._notifications]
        assert any("1 problem" in m and "unknown kind 'essay'" in m for m in messages), messages
        assert [q.id for q in course.questions] == ["L01-q01"]


async def test_corrupt_progress_file_is_moved_aside_and_reported(make_app, tutor_home):
    (tutor_home / "progress.db").write_bytes(b"this is not a database" * 100)
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        moved = app.store.recovered_from
        assert moved is not None and moved.exists()
        assert moved.read_bytes().startswith(b"this is not a database")
        assert any(str(moved) in n.message for n in app._notifications)


def test_unknown_command_and_lesson_id_exit_2_with_one_line(capsys):
    for argv in (["frobnicate"], ["lesson", "L99"], ["quiz", "nope"]):
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code
        assert code == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "L01" in err or "choose from" in err, err


async def test_command_palette_lists_lessons_review_quiz_and_theme(make_app):
    from tutor.palette import entries

    app = make_app()
    async with app.run_test(size=(80, 24)):
        titles = [entry.title for entry in entries(app)]
    assert "Review flashcards" in titles and "Final exam" in titles
    assert any(t.startswith("Lesson L04") for t in titles)
    assert any(t.startswith("Quiz L04") for t in titles)
    assert any("theme" in t.lower() for t in titles)
