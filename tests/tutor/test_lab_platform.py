"""Every lab on the one platform: leaving while frames are in flight never crashes, and
Help lists every key that works in the lab."""

from __future__ import annotations

import gc
import weakref

import pytest

from tutor import labs
from tutor.labs.base import LabScreen

SIZE = (80, 24)
LAB_IDS = sorted(labs.LABS)


async def open_play_and_leave(lab_id: str, make_app, rounds: int) -> None:
    """Open the lab, play it, leave it with frames in flight, `rounds` times in a row."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        first: LabScreen | None = None
        closed: list[weakref.ref] = []
        for round_ in range(rounds):
            app.open_lab(lab_id)
            await pilot.pause()
            lab = app.screen
            assert isinstance(lab, LabScreen)
            if round_ == 0:
                first = lab
                await lab.wait_idle()  # compile / load once
            if lab.PLAY and not lab.playing:
                await pilot.press("space")
            await pilot.pause(0.05 if round_ % 2 else 0.2)  # frames in flight
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, LabScreen)
            closed.append(weakref.ref(lab))
            del lab
        await pilot.pause(0.3)  # late frames arrive at closed screens
        assert first is not None and first.model is None  # released after leaving
        del first
        for _ in range(50):  # each worker thread ends its loop, then the screen can go
            gc.collect()
            if all(ref() is None for ref in closed):
                break
            await pilot.pause(0.1)
        alive = sum(ref() is not None for ref in closed)
        assert alive == 0, f"{alive} of {rounds} closed {lab_id} screens are still reachable"
    assert app.return_code in (None, 0)


@pytest.mark.parametrize("lab_id", LAB_IDS)
async def test_open_play_and_leave_three_times(lab_id, make_app):
    """The default run: every lab, three rounds (odd and even pauses both happen)."""
    await open_play_and_leave(lab_id, make_app, rounds=3)


@pytest.mark.slow
@pytest.mark.parametrize("lab_id", LAB_IDS)
async def test_open_play_and_leave_twenty_times(lab_id, make_app):
    """The lab-platform issue's check: twenty rounds in a row per lab (about 4 minutes for
    every lab on 2 cores, so it runs with `-m slow`)."""
    await open_play_and_leave(lab_id, make_app, rounds=20)


@pytest.mark.parametrize("lab_id", LAB_IDS)
async def test_help_lists_every_active_binding(lab_id, make_app):
    from tutor.screens.help import HelpScreen

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.open_lab(lab_id)
        await pilot.pause()
        lab = app.screen
        await lab.wait_idle()
        expected = {
            b.tooltip or b.description
            for _, b, enabled, _ in lab.active_bindings.values()
            if enabled and (b.tooltip or b.description)
        }
        await pilot.press("f1")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        text = help_screen.markdown
        missing = sorted(d for d in expected if d not in text)
        assert missing == [], f"Help in {lab_id} does not list {missing}"
