"""The diffusion labs (L06 diffusion-forward, L07 denoising): Pilot flows and 80×24 snapshots.

They run on the shipped weights in content/weights (sprites and the 2-D ring).
Regenerate the snapshots after an intended change with --snapshot-update.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from textual.app import App

from tutor import labs
from tutor.app import TutorApp
from tutor.labs import denoising
from tutor.labs.base import LabScreen
from tutor.labs.denoising import DenoisingLab
from tutor.labs.diffusion_forward import DiffusionForwardLab

SIZE = (80, 24)


@pytest.fixture(autouse=True)
def paused_with_a_fixed_clock(monkeypatch):
    """Labs start paused; every clock read advances exactly 1 ms (stable timings)."""
    monkeypatch.setattr(LabScreen, "autoplay", False)
    ticks = itertools.count()
    monkeypatch.setattr(denoising, "_clock", lambda: next(ticks) * 1e-3)


def host(lab_cls):
    class Host(App):
        CSS_PATH = TutorApp.CSS_PATH

        def on_mount(self):
            self.push_screen(lab_cls())

    return Host()


def text(lab, selector) -> str:
    return str(lab.query_one(selector).render())


def test_both_labs_are_registered():
    assert labs.available("diffusion-forward") and labs.available("denoising")
    assert isinstance(labs.create("denoising"), DenoisingLab)


async def test_forward_lab_t_slider_moves_the_noise_level():
    app = host(DiffusionForwardLab)
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        assert lab.model is not None, "the shipped sprite model should load"
        assert lab.last_frame["t"] == 250
        first = lab.last_frame["xt"].copy()
        await pilot.press("t")  # the knob's key: next timestep
        await lab.wait_idle()
        assert lab.last_frame["t"] == 300
        assert "t = 300/1000" in text(lab, "#fwd-stats")
        assert not np.allclose(first, lab.last_frame["xt"])
        await pilot.press("left_square_bracket", "right_square_bracket", "left")  # select t, step back
        await lab.wait_idle()
        assert lab.last_frame["t"] == 250
        # large t: x_t is nearly the noise itself, and the guess is close to it
        for _ in range(8):
            await pilot.press("t")
        await lab.wait_idle()
        assert lab.last_frame["t"] == 1000
        assert lab.last_frame["error"] < 0.1
        await pilot.press("c")  # cosine schedule
        await lab.wait_idle()
        assert lab.last_frame["schedule"] == "cosine"


async def test_denoising_lab_scrub_and_sampler_switch():
    app = host(DenoisingLab)
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        assert lab.run["label"] == "DDIM 50"
        traj = lab.run["trajectory"]
        assert len(traj) == 51 and traj[0].t == 1000 and traj[-1].t == 0
        assert "step 50/50" in text(lab, "#den-stats")
        await pilot.press("left_square_bracket", "right_square_bracket", "left")  # scrub back 5 %
        await lab.wait_idle()
        assert lab.knob_value("scrub") == 95
        assert "step 48/50" in text(lab, "#den-stats")
        await pilot.press("m")  # DDIM -> DDPM
        await lab.wait_idle()
        assert lab.run["label"] == "DDPM 50"
        stats = text(lab, "#den-stats")
        assert "DDPM 50" in stats and "prev DDIM 50" in stats and "1 sample: GAN" in stats
        await pilot.press("n")  # steps dial: 50 -> 100
        await lab.wait_idle()
        assert lab.run["label"] == "DDPM 100" and len(lab.run["trajectory"]) == 101


async def test_denoising_lab_plays_the_film_and_steps_frames():
    app = host(DenoisingLab)
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        await pilot.press("space")  # play from the noise
        await lab.wait_idle()
        assert lab.playing and lab.frame is not None and lab.frame < 10  # rewound
        seen = set()
        for _ in range(1000):  # up to 20 s on a busy machine
            await pilot.pause(0.02)
            seen.add(lab.frame)
            if len(seen) > 3:
                break
        await pilot.press("space")
        await lab.wait_idle()
        frame = lab.frame
        assert len(seen) > 3 and not lab.playing  # the film moved on by itself
        await pilot.press("s")  # one frame further
        await lab.wait_idle()
        assert lab.frame == frame + 1


async def test_denoising_lab_compares_the_families():
    app = host(DenoisingLab)
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        await pilot.press("f")
        await lab.wait_idle()
        table = text(lab, "#den-stats")
        assert table.splitlines()[0].startswith("family")
        for name in ("diffusion", "VAE", "GAN"):
            row = next(line for line in table.splitlines() if name in line)
            assert "no weights" not in row, row
            assert "%" in row  # attribute accuracy on sprites
        assert lab.families["diffusion"]["copies"] == 0
        await pilot.press("g")  # show the VAE's grid
        await lab.wait_idle()
        assert text(lab, "#den-title").startswith("VAE samples")


async def test_denoising_lab_points_flow_on_the_ring():
    app = host(DenoisingLab)
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await lab.wait_idle()
        await pilot.press("d", "d")  # sprites -> digits -> ring
        await lab.wait_idle()
        assert lab.dataset == "ring"
        traj = lab.run["trajectory"]
        start = lab.model.to_data(traj[0].x)
        end = lab.model.to_data(traj[-1].x)
        radius = np.linalg.norm(end, axis=1)
        assert abs(np.median(radius) - 1.5) < 0.15  # the ring has radius 1.5
        assert np.std(np.linalg.norm(start, axis=1)) > np.std(radius)
        assert "on a mode" in text(lab, "#den-stats")


def test_snapshot_forward_lab(snap_compare):
    async def settle(pilot):
        await pilot.app.screen.wait_idle()

    assert snap_compare(host(DiffusionForwardLab), terminal_size=SIZE, run_before=settle)


def test_snapshot_denoising_lab(snap_compare):
    async def settle(pilot):
        await pilot.app.screen.wait_idle()
        await pilot.press("t", "t", "t", "t")  # wrap around to 15 % of the way
        await pilot.app.screen.wait_idle()

    assert snap_compare(host(DenoisingLab), terminal_size=SIZE, run_before=settle)
