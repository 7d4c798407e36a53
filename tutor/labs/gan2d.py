"""GAN lab: a forger (generator) against a detective (discriminator) on 2-D points.

The engine (engine.gan) does the maths; this screen trains it in the lab worker, shows
D(x) as the background with real and fake points on top, and lets the learner change
every hyperparameter, step either network alone, and draw or load their own data.
"""

from __future__ import annotations

import math
import time
from dataclasses import fields

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Input, Static

from engine import data as datasets
from engine.gan import GAN, PRESETS, GANConfig
from tutor.labs import gan2d_view as view
from tutor.labs.base import Knob, KnobPanel, LabScreen
from tutor.labs.imaging import blend, save_drawn_points
from tutor.widgets.charts import LineChart
from tutor.widgets.pixels import PixelCanvas, _place

OWN = "your points"
CHUNK = 30  # rounds per work() while playing (~10-20 ms at the default sizes)
EVAL_EVERY = 10  # while playing, coverage and KL/JS every this many chunks
LRS = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 1e-2, 3e-2, 0.05, 0.1, 1.0, 10.0]
LIVE = ("loss", "g_lr", "d_lr", "k_d", "k_g", "g_optimizer", "d_optimizer", "batch")

HELP_MD = """\
Two small neural networks play a game on the flat square you see.

* The **forger** (the *generator*, G) turns random noise into points. Its points are
  the **magenta crosses** (x): the fakes.
* The **detective** (the *discriminator*, D) looks at any spot and says how "real" it
  thinks a point there would be. The real data are the **green rings** (o).
* The **background colour** is the detective's opinion D(x) at every spot: **pale
  orange** means "looks real", **dark blue** means "looks fake", grey means "can't tell".
  (Without colours: real points are solid blocks █, fakes are blank holes.)

Each round the detective learns from real and fake points (d steps only the detective),
then the forger moves its points towards where the detective says "real" (g steps only
the forger; s does one full round; space plays). Press **a** to see arrows: the push
each fake point gets from the detective.

Watch the charts: the losses swing rather than settle, because each player's progress
makes the other's job harder. When the forger is winning, D accuracy drops towards 50 %.

**Mode collapse**: the forger finds one or two spots that fool the detective and puts
all its points there. The loss can look calm while "modes 2/8" says most blobs are
missing. Try the presets with **p**: "healthy", "mode collapse" and "discriminator too
strong" (the detective wins so clearly that the forger's gradient vanishes).

**Your own data**: press **o**, move the yellow cursor with the arrow keys, Enter adds a
point, Backspace removes the last one, then space trains on them. **l** loads a CSV
file of `x,y` lines (the view runs from -2 to 2 on both axes).

Numbers: *modes n/N* counts blobs that got a fair share of good fakes; *high-quality*
is the share of fakes within 3 standard deviations of a blob; *KL* and *JS* compare
where real and fake points fall on a 20x20 grid (0 = the same).
"""


class GanCanvas(PixelCanvas):
    """The picture; focusable in draw mode, where it moves a cursor and adds points.

    Gradient arrows are glyphs laid over the pixel cells (`set_glyphs`): the pixels'
    own rows stay cached as the canvas keeps them, and only rows whose glyphs changed
    are refreshed. A glyph's cell keeps the mean colour of its two pixels behind it."""

    BINDINGS = [
        Binding("up", "screen.move_cursor(0, 1)", "Up", show=False),
        Binding("down", "screen.move_cursor(0, -1)", "Down", show=False),
        Binding("left", "screen.move_cursor(-1, 0)", "Left", show=False),
        Binding("right", "screen.move_cursor(1, 0)", "Right", show=False),
        Binding("enter", "screen.add_point", "Add point"),
        Binding("backspace", "screen.remove_point", "Undo point"),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.glyphs: dict[int, dict[int, str]] = {}
        """{cell row: {column: glyph}} drawn over the pixels."""

    def set_glyphs(self, glyphs: dict[tuple[int, int], str]) -> None:
        rows: dict[int, dict[int, str]] = {}
        for (row, col), glyph in glyphs.items():
            rows.setdefault(row, {})[col] = glyph
        if rows == self.glyphs:
            return
        changed = {r for r in set(rows) | set(self.glyphs) if rows.get(r) != self.glyphs.get(r)}
        self.glyphs = rows
        if self._keys is None or not self.is_mounted:
            return
        y_pad, src_y = _place(self._keys.shape[0], self.size.height)
        for row in changed:
            y = row - src_y + y_pad
            if 0 <= y < self.size.height:
                self.refresh(Region(0, y, self.size.width, 1))

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        if not self.glyphs or self._keys is None or self._pixels is None:
            return strip
        rows, cols = self._keys.shape
        width = self.size.width
        y_pad, src_y = _place(rows, self.size.height)
        marks = self.glyphs.get(y - y_pad + src_y)
        if not marks:
            return strip
        x_pad, src_x = _place(cols, width)
        row = y - y_pad + src_y
        for col, glyph in sorted(marks.items()):
            x = x_pad + col - src_x
            if 0 <= x < width and 0 <= col < cols:
                cell = Segment(glyph, self._glyph_style(row, col))
                strip = Strip.join([strip.crop(0, x), Strip([cell], 1), strip.crop(x + 1, width)])
        return strip

    def _glyph_style(self, row: int, col: int) -> Style:
        """Bold black or white (whichever reads) on the mean of the cell's two pixels;
        in shade mode the canvas's own colours."""
        if self.shade_mode:
            return (self._base or self.rich_style) + Style(bold=True)
        pair = self._pixels[2 * row : 2 * row + 2, col].astype(np.float32).mean(axis=0)
        light = pair @ np.array([0.299, 0.587, 0.114], np.float32) > 140
        back = Color.from_rgb(*(int(v) for v in pair))
        return Style(
            bold=True, color=Color.from_rgb(0, 0, 0) if light else Color.from_rgb(*view.ARROW), bgcolor=back
        )


class CsvInput(Input):
    BINDINGS = [Binding("escape", "screen.close_csv", "Cancel")]


class GanLab(LabScreen):
    LAB_ID = "gan-2d"
    LAB_TITLE = "GAN lab: forger vs detective"
    KERNELS = ("gan", "render")  # training, D(x) heatmap and drawing
    HELP_MD = HELP_MD
    CODE = (
        "engine.gan:GAN.train",
        "engine.gan:GAN.step_d",
        "engine.gan:GAN.step_g",
        "engine.gan:GAN.discriminator_grid",
        "engine.gan:GAN.sample",
    )

    BINDINGS = [  # kept out of the footer (full at 80 columns); the stats column lists them
        Binding(
            "d", "step_net('d')", "Step D", id="gan.step_d", show=False, tooltip="One discriminator step"
        ),
        Binding("g", "step_net('g')", "Step G", id="gan.step_g", show=False, tooltip="One generator step"),
        Binding(
            "a", "toggle_arrows", "Arrows", id="gan.arrows", show=False, tooltip="Generator gradient arrows"
        ),
        Binding("o", "draw_mode", "Draw", id="gan.draw", show=False, tooltip="Draw your own points"),
        Binding("l", "open_csv", "Load CSV", id="gan.csv", show=False, tooltip="Load x,y points"),
    ]

    DEFAULT_CSS = """
    #gan-top { height: 18; }
    #gan-canvas { width: 36; height: 18; }
    #gan-stats { width: 1fr; height: 18; padding: 0 0 0 1; }
    #gan-chart { height: 1fr; min-height: 3; }
    #gan-csv { display: none; height: 1; margin: 1 0 0 0; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.points: list[tuple[float, float]] = []
        self.cursor = (view.snap(0.0), view.snap(0.0))
        self.arrows = False
        self.evaluation: dict = {}
        self._chunks = 0
        self._mono = False
        self._shown: dict = {}
        self._fresh = True
        self._base_frame = view.frame(None, np.zeros((0, 2), np.float32), None)
        self._glyphs: dict[tuple[int, int], str] = {}
        self._losses: tuple[float | None, float | None] = (None, None)
        self._speed = (time.monotonic(), 0, 0.0)  # (time, iteration, iterations/s)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#knobs", KnobPanel).focus()

    # ------------------------------------------------------------------ knobs

    def knobs(self) -> list[Knob]:
        d = GANConfig()
        lr = lambda v: f"{v:g}"  # noqa: E731

        def knob(name, label, values, default, **kw):
            return Knob(name, label, list(values), index=list(values).index(default), **kw)

        return [
            knob(
                "preset",
                "Preset",
                [*PRESETS, "custom"],
                "healthy",
                key="p",
                help="A ready-made setting that shows one behaviour",
            ),
            knob("dataset", "Dataset", [*datasets.TOYS, OWN], d.dataset, key="t", resets=True),
            knob("loss", "Loss", ["non-saturating", "minimax", "least-squares"], d.loss, key="f"),
            knob("g_lr", "G learning rate", LRS, d.g_lr, fmt=lr),
            knob("d_lr", "D learning rate", LRS, d.d_lr, fmt=lr),
            knob("k_d", "D steps per round", [1, 2, 3, 5, 10], d.k_d),
            knob("k_g", "G steps per round", [1, 2, 3, 5, 10], d.k_g),
            knob("g_optimizer", "G optimizer", ["adam", "sgd"], d.g_optimizer),
            knob("d_optimizer", "D optimizer", ["adam", "sgd"], d.d_optimizer),
            knob("batch", "Batch size", [16, 32, 64, 128, 256], d.batch),
            knob("noise_dim", "Noise dimensions", [1, 2], d.noise_dim, resets=True),
            knob("noise", "Noise", ["gaussian", "uniform"], d.noise, resets=True),
            knob("g_layers", "G hidden layers", [1, 2, 3, 4], d.g_layers, resets=True),
            knob("g_width", "G width", [8, 16, 32, 64, 128], d.g_width, resets=True),
            knob("d_layers", "D hidden layers", [1, 2, 3, 4], d.d_layers, resets=True),
            knob("d_width", "D width", [8, 16, 32, 64, 128], d.d_width, resets=True),
            knob(
                "activation", "Activation", ["leaky_relu", "relu", "tanh", "silu"], d.activation, resets=True
            ),
        ]

    def config(self) -> GANConfig:
        names = {f.name for f in fields(GANConfig)}
        kw = {k.name: k.value for k in self.knob_list if k.name in names}
        if kw["dataset"] == OWN:
            kw["dataset"] = "custom"
        # fields without a knob (e.g. the pool size) come from the chosen preset
        preset = self.knob_value("preset")
        return GANConfig.preset(preset if preset in PRESETS else "healthy", **kw, seed=self.seed)

    def preset_values(self, name: str) -> dict | None:
        if name not in PRESETS:
            return None
        target = GANConfig.preset(name)
        return {
            k.name: getattr(target, k.name)
            for k in self.knob_list
            if k.name not in ("preset", "dataset") and hasattr(target, k.name)
        }

    def on_knob(self, knob: Knob) -> None:
        if knob.name == "dataset":
            self._set_drawing(knob.value == OWN)
        if knob.resets or knob.name == "preset":
            self.action_reset()
        elif knob.name in LIVE:
            live = {knob.name: knob.value}
            self.submit(lambda: self._set_live(live))

    def _set_live(self, live: dict) -> dict:
        if self.model is not None:
            self.model.set_live(**live)
        return {}

    # ------------------------------------------------------------------ worker side

    def build(self) -> None:
        config = self.config()
        self._chunks, self._fresh, self.evaluation = 0, True, {}
        if config.dataset == "custom" and len(self.points) < 2:
            self.model = None
            return
        points = np.asarray(self.points, np.float32) if config.dataset == "custom" else None
        self.model = GAN(config, points=points)
        with np.errstate(all="ignore"):
            self.evaluation = self.model.evaluate()

    def advance(self) -> dict:
        return self._train("round")

    def _train(self, which: str) -> dict:
        gan = self.model
        if gan is None:
            self.playing = False
            return {"steps": 0}
        before = gan.iteration
        with np.errstate(all="ignore"):  # overflow ends as the calm "diverged" pause
            if which == "d":
                gan.step_d()
            elif which == "g":
                gan.step_g()
            else:
                gan.train(CHUNK if self.playing else 1)
            self._chunks += 1
            self._measure(gan.iteration)
            if not gan.diverged and (not self.playing or self._chunks % EVAL_EVERY == 0):
                self.evaluation = gan.evaluate()
        done = gan.iteration - before
        out = {"steps": done, "diverged": gan.diverged, "trained": True}
        if not gan.diverged:  # losses not computed yet are NaN: leave them out
            out.update(
                {k: v for k, v in gan.status().items() if k in ("d_loss", "g_loss") and math.isfinite(v)}
            )
        return out

    def view(self, metrics: dict) -> dict:
        """Worker: the picture and the numbers, copied out of the model."""
        gan = self.model
        frame = dict(
            metrics,
            fresh=self._fresh,
            evaluation=dict(self.evaluation),
            iteration=gan.iteration if gan is not None else 0,
            acc_real=gan.acc_real if gan is not None else None,
            acc_fake=gan.acc_fake if gan is not None else None,
        )
        self._fresh = False
        levels = 8 if self.wire.low_bandwidth else 16
        if gan is None:
            self._base_frame = view.frame(
                None,
                np.zeros((0, 2), np.float32),
                None,
                mono=self._mono,
                bg=blend(self.canvas_bg, self.canvas_fg, 0.07),
            )
            self._glyphs = {}
        elif not gan.diverged:
            with np.errstate(all="ignore"):
                grid = gan.discriminator_grid(view.SIDE)
                self._base_frame = view.frame(
                    grid, gan.real[: view.N_REAL], gan.sample(view.N_FAKE), self._mono, levels=levels
                )
                self._glyphs = (
                    view.arrow_glyphs(*gan.generator_gradients(view.N_ARROWS)) if self.arrows else {}
                )
        frame["picture"] = self._base_frame
        frame["glyphs"] = self._glyphs
        return frame

    def _measure(self, iteration: int) -> None:
        """Rounds per second over the last second of play (0 while paused)."""
        now = time.monotonic()
        then, it_then, rate = self._speed
        if not self.playing or iteration < it_then:
            self._speed = (now, iteration, 0.0)
        elif now - then >= 1.0:
            self._speed = (now, iteration, (iteration - it_then) / (now - then))

    def release_lab(self) -> None:
        self._base_frame = view.frame(None, np.zeros((0, 2), np.float32), None)
        self.evaluation = {}

    # ------------------------------------------------------------------ layout and frames

    def compose_lab(self) -> ComposeResult:
        with Horizontal(id="gan-top"):
            yield GanCanvas(self._base_frame, id="gan-canvas")
            yield Static(id="gan-stats")
        yield LineChart(("D loss", "G loss"), id="gan-chart", history=200)
        yield CsvInput(placeholder="CSV of x,y: a path, Enter loads, Esc cancels", id="gan-csv", compact=True)

    def draw(self, frame: dict) -> None:
        chart = self.query_one("#gan-chart", LineChart)
        if frame.get("fresh"):
            chart.clear()
            self._losses = (None, None)
        if "d_loss" in frame and "g_loss" in frame and frame.get("trained"):
            chart.push({"D loss": frame["d_loss"], "G loss": frame["g_loss"]})
            self._losses = (frame["d_loss"], frame["g_loss"])
        self._shown = frame
        self._show_canvas()
        self._show_stats()

    @property
    def mono(self) -> bool:
        """Whether the canvas draws shade glyphs (16 colours or NO_COLOR)."""
        return self.query_one("#gan-canvas", GanCanvas).shade_mode

    def _show_canvas(self) -> None:
        self._mono = self.mono
        buf = self._shown.get("picture", self._base_frame)
        if self.drawing:
            buf = view.with_cursor(buf, self.points, self.cursor, self._mono)
        canvas = self.query_one("#gan-canvas", GanCanvas)
        canvas.update_pixels(buf)
        canvas.set_glyphs({} if self.drawing else self._shown.get("glyphs", {}))

    def headline(self, frame: dict) -> str:
        return view.headline(
            evaluation=frame.get("evaluation", {}), d_loss=self._losses[0], g_loss=self._losses[1]
        )

    def _show_stats(self) -> None:
        f = self._shown
        text = view.stats_text(
            iteration=f.get("iteration", 0),
            rate=self._speed[2] if self.playing else 0.0,
            evaluation=f.get("evaluation", {}),
            acc_real=f.get("acc_real"),
            acc_fake=f.get("acc_fake"),
            arrows=self.arrows,
            drawing=self.drawing,
            n_points=len(self.points),
            mono=self._mono,
        )
        self.query_one("#gan-stats", Static).update(text)

    def _show_status(self) -> None:
        # the base's rate counts iterations; this lab shows rounds/s in its own column
        self._rate = 0.0
        super()._show_status()

    # ------------------------------------------------------------------ actions

    def action_step_net(self, which: str) -> None:
        self.playing = False
        self.submit(lambda: self._counted(self._train(which)))
        self._show_status()

    def _counted(self, metrics: dict) -> dict:
        self.iterations += int(metrics.pop("steps", 0))
        return metrics

    def action_toggle_arrows(self) -> None:
        self.arrows = not self.arrows
        self.submit()

    # draw mode: the learner's own points ------------------------------------------

    @property
    def drawing(self) -> bool:
        return self.knob_value("dataset") == OWN

    def _set_drawing(self, on: bool) -> None:
        canvas = self.query_one("#gan-canvas", GanCanvas)
        canvas.can_focus = on
        if on:
            canvas.focus()
            self.notice("draw: arrows move, Enter adds, Backspace undoes, space trains")
        else:
            if canvas.has_focus:
                self.query_one("#knobs", KnobPanel).focus()
            if self._message.startswith("draw:"):
                self._message = ""

    def action_draw_mode(self) -> None:
        knob = next(k for k in self.knob_list if k.name == "dataset")
        if knob.value == OWN:
            self._set_drawing(True)
            self._show_status()
            return
        self.change_knob(knob, knob.values.index(OWN) - knob.index)

    def action_move_cursor(self, dx: int, dy: int) -> None:
        step = (datasets.VIEW[1] - datasets.VIEW[0]) / view.SIDE
        self.cursor = (view.snap(self.cursor[0] + dx * step), view.snap(self.cursor[1] + dy * step))
        self._show_canvas()

    def action_add_point(self) -> None:
        self.points.append(self.cursor)
        self._points_changed()

    def action_remove_point(self) -> None:
        if self.points:
            self.points.pop()
            self._points_changed()

    def _points_changed(self) -> None:
        save_drawn_points(self.points)  # the families lab (L02) can train on them too
        self._show_canvas()
        self._show_stats()
        if len(self.points) >= 2 or self.model is not None:
            self.action_reset()  # new data: start again on it

    # loading a CSV -------------------------------------------------------------------

    def action_open_csv(self) -> None:
        box = self.query_one("#gan-csv", CsvInput)
        box.value = ""
        self.query_one("#gan-chart").display = False  # the box takes the chart's rows
        box.display = True
        box.focus()

    def action_close_csv(self) -> None:
        box = self.query_one("#gan-csv", CsvInput)
        box.display = False
        self.query_one("#gan-chart").display = True
        self.query_one("#knobs", KnobPanel).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        path = event.value.strip()
        if not path:
            return
        self.notice(f"reading {path} …")
        self.submit(lambda: self._read_csv(path), then=self._csv_read)

    def _read_csv(self, path: str) -> dict:
        """Worker: read the file (size-capped, regular files only, by the engine)."""
        try:
            toy = datasets.load_csv(path)
        except (ValueError, OSError, MemoryError) as exc:
            return {"csv_error": str(exc) or type(exc).__name__}
        return {"csv_points": [(float(x), float(y)) for x, y in toy.points], "csv_name": toy.name}

    def _csv_read(self, result: dict) -> None:
        box = self.query_one("#gan-csv", CsvInput)
        if "csv_points" not in result:  # the data and model stay as they were
            box.value = ""
            self.notice(result.get("csv_error") or result.get("error", "could not read the file"), "warning")
            return
        self.points = result["csv_points"]
        save_drawn_points(self.points)
        lo, hi = datasets.VIEW
        outside = sum(1 for x, y in self.points if max(abs(x), abs(y)) > hi)
        self.action_close_csv()
        knob = self.knob("dataset")
        if knob.value != OWN:
            self.change_knob(knob, knob.values.index(OWN) - knob.index)
        else:
            self.action_reset()
            self._set_drawing(True)
        self.notice(
            f"loaded {len(self.points)} points from {result['csv_name']}"
            + (f" ({outside} outside the view)" if outside else "")
        )
