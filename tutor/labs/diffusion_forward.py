"""L06 lab `diffusion-forward`: drown a picture in noise and watch the model guess the noise.

Pick a training image and a timestep t. The lab shows x_t = √ᾱ_t x_0 + √(1-ᾱ_t) ε, the
noise ε that was added and the shipped model's prediction ε̂ with its error, and draws
the schedule: ᾱ_t (the picture's share) falling from 1 to 0, the model's error across t,
and a marker at the current t.
"""

from __future__ import annotations

import numpy as np
from textual.app import ComposeResult
from textual.widgets import Static

from tutor.labs.base import Knob, KnobPanel, LabScreen
from tutor.labs.imaging import blend, tile_grid, to_tiles
from tutor.widgets.pixels import PixelCanvas

T_VALUES = [0, 1, 5, 10, 25, 50, 100, 150, 200, 250, 300, 400, 500, 600, 700, 800, 900, 1000]
CHART_W, CHART_H = 52, 14
ERROR_TS = np.unique(np.round(np.geomspace(1, 1000, 26)).astype(int))
CURVE, ERR = (95, 175, 255), (255, 175, 95)  # data; the axes and the t marker follow the theme


class DiffusionForwardLab(LabScreen):
    LAB_ID = "diffusion-forward"
    LAB_TITLE = "Forward diffusion: from picture to static"
    KERNELS = ("diffusion", "render", "images")  # noising, the curves, the denoiser, the sprites
    PLAY = "Animate t"  # Space walks t up to 1000 and stops there
    autoplay = False  # open on the chosen t; Space animates
    STEP = "Next t"
    CODE = (
        "engine.diffusion:Schedule.__init__",
        "engine.diffusion:q_sample",
        "engine.diffusion:gaussian_fill",
        "engine.diffusion:Diffusion.predict_eps",
    )
    HELP_MD = """
**Top row**, left to right: the noisy picture **x_t**, the noise **ε** that was mixed in,
and the model's **guess ε̂** of that noise. All three are drawn on the same colour scale;
noise looks like coloured static.

The mix is one formula: **x_t = √ᾱ_t · x_0 + √(1 − ᾱ_t) · ε**. At t = 0 it is the clean
picture; at t = 1000 it is (almost) pure noise.

**The chart** shows the schedule. The solid line is **ᾱ_t**, the share of the picture that
survives at step t: it starts at 1 and falls fastest in the middle. The dotted line is the
model's **error** ‖ε̂ − ε‖² for this picture at each t (top of the chart = 1). The bar marks
the current t.

The error is large at tiny t (the noise is a faint whisper, hard to tell from detail)
and small at large t (there x_t is nearly all noise, so "the noise" is nearly x_t itself).
Training on every t teaches the model to find noise at every level, which is what
generation needs (lesson 7).

Keys: **Space** animates t from the current step to 1000, **s** one step of t,
**t** next timestep (Shift+T back, or select the knob and use ←/→), **i** another image,
**c** linear or cosine schedule, **d** sprites or digits, **e** fresh noise.
With the cosine schedule the model is asked at the linear-schedule step with the same ᾱ,
because the noise level, not the step number, is what it learned.
"""

    def knobs(self) -> list[Knob]:
        return [
            Knob("t", "Timestep t", T_VALUES, index=9, key="t", help="How far the noising has gone"),
            Knob("image", "Training image", list(range(12)), key="i", help="Which picture is noised"),
            Knob("schedule", "Schedule", ["linear", "cosine"], key="c", help="How ᾱ_t falls with t"),
            Knob(
                "dataset",
                "Dataset",
                ["sprites", "digits"],
                key="d",
                resets=True,
                help="Coloured sprites or handwritten digits",
            ),
        ]

    def compose_lab(self) -> ComposeResult:
        yield PixelCanvas(id="fwd-images")
        yield Static(
            " " + " ".join(f"{name:<16}" for name in ("x_t (noisy)", "noise ε added", "model's guess ε̂")),
            id="fwd-labels",
        )
        yield Static("", id="fwd-stats")
        yield PixelCanvas(id="fwd-chart")
        yield Static("[b]━[/b] ᾱ_t picture's share   [b]┅[/b] guess error   [b]│[/b] now", id="fwd-legend")

    # -- worker ---------------------------------------------------------------------
    def build(self) -> None:
        from engine import diffusion, diffusion_recipes
        from engine.weights import WeightsError

        dataset = self.knob_value("dataset")
        self.schedules = {k: diffusion.Schedule(k) for k in ("linear", "cosine")}
        self.dataset = dataset
        self.images = diffusion_recipes.load_dataset(dataset, first=12)  # draws only these
        self.note = ""
        try:
            self.model = diffusion_recipes.pretrained(dataset)
        except WeightsError as exc:
            self.model = None
            self.note = (
                f"{exc}; showing the forward process only (genai-tutor train diffusion --dataset {dataset})"
            )
        self._curve_key = None

    def advance(self) -> dict:
        """One frame of the animation: t moves to the next value; it stops at the end."""
        knob = self.knob("t")
        if knob.index >= len(knob.values) - 1:
            if self.playing:
                knob.index = 0  # Space again starts from a clean picture
            self.playing = False
            return {"steps": 0, "t_moved": True}
        knob.index += 1
        return {"steps": 1, "t_moved": True}

    def _mix(self, x0, eps, t, schedule):
        from engine import diffusion

        return diffusion.q_sample(self.schedules[schedule], x0, t, eps)

    def _model_t(self, t: int, schedule: str) -> int:
        """The model's (linear) timestep with the same ᾱ as step t of ``schedule``."""
        if schedule == "linear" or self.model is None:
            return t
        ab = self.model.schedule.alpha_bar
        return int(np.argmin(np.abs(ab - self.schedules[schedule].alpha_bar[t])))

    def _error(self, x0, eps, t, schedule) -> tuple[float, np.ndarray]:
        xt = self._mix(x0, eps, t, schedule)
        guess = self.model.predict_eps(xt, max(1, self._model_t(t, schedule)))
        return float(np.mean((guess - eps) ** 2)), guess

    def view(self, metrics: dict) -> dict:
        return dict(metrics, **self.compute())

    def release_lab(self) -> None:
        self.images = None

    def compute(self) -> dict:
        from engine import diffusion

        t, schedule = int(self.knob_value("t")), self.knob_value("schedule")
        image = self.images[int(self.knob_value("image"))]
        shape = image.shape
        flat = ((image.reshape(1, -1) - 0.5) / 0.5).astype(np.float32)  # model space [-1, 1]
        eps = np.empty(flat.size, np.float32)
        diffusion.gaussian_fill(eps, diffusion.seed_state(self.seed, int(self.knob_value("image"))))
        eps = eps.reshape(1, -1)
        xt = self._mix(flat, eps, t, schedule)
        guess, error = np.zeros_like(eps), None
        if self.model is not None and t > 0:
            error, guess = self._error(flat, eps, t, schedule)
        key = (self.dataset, int(self.knob_value("image")), self.seed, schedule)
        if self.model is not None and key != self._curve_key:
            self._curve = np.array([self._error(flat, eps, int(s), schedule)[0] for s in ERROR_TS])
            self._curve_key = key
        curve = self._curve if self.model is not None else None
        ab = self.schedules[schedule].alpha_bar
        return {
            "t": t,
            "schedule": schedule,
            "shape": shape,
            "xt": xt,
            "eps": eps,
            "guess": guess,
            "error": error,
            "alpha_bar": ab,
            "curve": curve,
            "note": self.note,
            "has_model": self.model is not None,
        }

    # -- UI ---------------------------------------------------------------------------
    def draw(self, frame: dict) -> None:

        v = frame
        if "xt" not in v:
            return
        if v.get("t_moved"):
            self.query_one("#knobs", KnobPanel).redraw()
        tiles = to_tiles(np.concatenate([v["xt"], v["eps"] / 2.0, v["guess"] / 2.0]), v["shape"])
        grid = tile_grid(tiles, cols=3, value_range=(-1.0, 1.0), bg=self.canvas_bg)
        self.query_one("#fwd-images", PixelCanvas).update_pixels(grid)
        t, ab = v["t"], v["alpha_bar"][v["t"]]
        lines = [
            f"t = {t}/1000 ({v['schedule']})  ᾱ_t = {ab:.3f}",
            f"picture × {np.sqrt(ab):.3f}  +  noise × {np.sqrt(1 - ab):.3f}",
        ]
        if v["error"] is not None:
            lines.append(f"guess error ‖ε̂−ε‖² = {v['error']:.3f} (guessing 0 scores ≈ 1)")
        elif not v["has_model"]:
            lines.append(v["note"])
        else:
            lines.append("t = 0: no noise added yet, nothing to guess")
        self.query_one("#fwd-stats", Static).update("\n".join(lines))
        self.query_one("#fwd-chart", PixelCanvas).update_pixels(self.chart(v))

    def headline(self, frame: dict) -> str:
        if "alpha_bar" not in frame:
            return ""
        t = frame["t"]
        out = f"t {t}/1000  ᾱ_t {frame['alpha_bar'][t]:.3f}"
        if frame.get("error") is not None:
            out += f"  error {frame['error']:.3f}"
        return out

    def chart(self, v: dict) -> np.ndarray:
        from engine import render

        buf = render.canvas(CHART_H, CHART_W, self.canvas_bg)
        axis = blend(self.canvas_bg, self.canvas_fg, 0.35)
        buf[-1, :] = axis
        buf[:, 0] = axis
        ts = np.linspace(0, 1000, CHART_W * 2)
        ab = v["alpha_bar"][np.round(ts).astype(int)]
        pts = np.stack([ts, ab], axis=1).astype(np.float32)
        self._plot(buf, pts, CURVE, line=True)
        if v["curve"] is not None:
            err = np.clip(v["curve"], 0.0, 1.0)
            pts = np.stack([ERROR_TS.astype(np.float32), err], axis=1).astype(np.float32)
            self._plot(buf, pts, ERR, line=False)
        col = int(round(v["t"] / 1000 * (CHART_W - 1)))
        buf[:, col] = self.canvas_fg
        return buf

    @staticmethod
    def _plot(buf, pts, color, line: bool) -> None:
        h, w = buf.shape[:2]
        cols = np.clip(np.round(pts[:, 0] / 1000.0 * (w - 1)).astype(int), 0, w - 1)
        rows = np.clip(np.round((1.0 - pts[:, 1]) * (h - 2)).astype(int), 0, h - 2)
        if line:
            for k in range(len(cols) - 1):
                r0, r1 = sorted((rows[k], rows[k + 1]))
                buf[r0 : r1 + 1, cols[k]] = color
        else:
            buf[rows, cols] = color

    def on_knob(self, knob: Knob) -> None:
        if knob.resets:
            self.action_reset()
        else:
            self.submit()
