"""L02 lab `families`: five generative families on the same 2-D points, side by side.

The engine (engine.families) trains an autoregressive model, a GAN, a VAE, a diffusion
model and a normalizing flow on one dataset, round-robin by CPU time, so each gets the
same budget. This screen shows five small canvases (each family's samples over the
data), the same numbers under each, and a "what to notice" panel written from those
numbers (engine.families.what_to_notice).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static

from engine import render as R
from engine.data import VIEW
from tutor.labs.base import Knob, LabScreen
from tutor.labs.imaging import blend, drawn_points_path
from tutor.widgets.pixels import PixelCanvas

FAMILIES = ("autoregressive", "gan", "vae", "diffusion", "flow")
TITLES = {"autoregressive": "AR", "gan": "GAN", "vae": "VAE", "diffusion": "diffusion", "flow": "flow"}
OWN = "your CSV"
DRAWN = "your GAN-lab drawing"
DATASETS = ["ring", "moons", "moons-bridge", "spiral", OWN, DRAWN]
BUDGETS = [2, 5, 10, 20, 40]  # seconds of one core per family
DEFAULT_BUDGET = 10
SIDE = 10  # pixels per canvas side: 10 columns x 5 rows
EXTENT = (VIEW[0], VIEW[1], VIEW[0], VIEW[1])
N_DATA, N_SHOW, N_MEASURE = 300, 160, 512
DATA, SAMPLE, EMPTY = (85, 95, 110), (250, 80, 250), (20, 20, 26)
CHUNK_SECONDS = 0.03

HELP_MD = """\
Five ways to make new points that look like the data, trained **on the same points
for the same time**: each family gets the same CPU seconds, one after another
(round-robin), while you watch.

Each small square is one family: **grey** dots are the data, **magenta** dots the
family's own samples (without colours: the samples are the brightest cells).

| family | makes a sample by |
| --- | --- |
| AR | picking an x bin, then a y bin given x (two softmaxes, like a language model picking words) |
| GAN | one pass of a generator trained to fool a discriminator |
| VAE | decoding a random latent point (plus the decoder's noise) |
| diffusion | 50 denoising steps from pure noise |
| flow | running an invertible map backwards from a Gaussian |

The numbers under each square:

* **st**: training steps so far (a step costs different time in each family).
* **smp/s**: samples drawn per second. Diffusion pays for its many steps here.
* **prec** (precision): the share of samples that land near the data. Blurry models score low.
* **cov** (coverage): the share of the data that has a sample nearby. Models that drop
  parts (modes) score low.
* **MMD**: one distance between the sample cloud and the data (0 = the same).
* **modes**: for the ring, how many of the 8 blobs got a fair share of good samples.
* **NLL**: only the flow and the autoregressive model can say exactly how likely a
  point is; this is the average negative log-likelihood of fresh points (lower is better).

Keys: **Space** trains (it stops when every family has used the budget), **s** one
chunk, **t** dataset, **b** budget per family, **e** a new seed, **r** start again,
**l** loads your own points from a CSV file of `x,y` lines (for example the points you
drew in the GAN lab, saved as CSV); they are moved and scaled into the square.
The panel at the bottom points at what the numbers show right now.
"""


def canvas_frame(
    data: np.ndarray, samples: np.ndarray | None, mono: bool = False, bg: tuple[int, int, int] = EMPTY
) -> np.ndarray:
    """One family's square on `bg` (the lab passes a shade of its theme's background): the
    data in grey, its samples in magenta on top.

    ``mono`` (16 colours or NO_COLOR: one shade glyph per cell from the luminance): black
    background, data mid grey, samples white, so the samples are the brightest cells."""
    buf = R.canvas(SIDE, SIDE, (0, 0, 0) if mono else bg)
    R.scatter(buf, data, (110, 110, 110) if mono else DATA, EXTENT)
    if samples is not None:
        R.scatter(buf, samples, (255, 255, 255) if mono else SAMPLE, EXTENT)
    return buf


def _compact(value: float) -> str:
    """A rate in at most 5 characters: 832, 17k, 1.6M."""
    if value >= 1e6:
        return f"{value / 1e6:.1f}M"
    if value >= 1e4:
        return f"{value / 1e3:.0f}k"
    return f"{value:.0f}"


def column_text(row: dict | None) -> str:
    """The numbers under one canvas, 7 lines of at most 10 characters."""
    if row is None:
        return "st      0\nsmp/s   -\nprec    -\ncov     -\nMMD     -\nmodes   -\nNLL     -"
    modes = "-" if row.get("modes_total") is None else f"{row['modes_covered']}/{row['modes_total']}"
    rate = "-" if row["steps"] == 0 else _compact(row["samples_per_s"])
    nll = "-" if row.get("nll") is None else f"{row['nll']:.2f}"
    lines = [
        f"st {row['steps']:>6}",
        f"smp/s{rate:>5}",
        f"prec {row['precision']:>5.2f}",
        f"cov  {row['coverage']:>5.2f}",
        f"MMD {row['mmd']:>6.4f}"[:10],
        f"modes{modes:>5}",
        f"NLL {nll:>6}",
    ]
    if row.get("diverged"):
        lines[0] = "diverged"
    return "\n".join(lines)


class CsvInput(Input):
    BINDINGS: ClassVar[list] = [Binding("escape", "screen.close_csv", "Cancel")]


class FamiliesLab(LabScreen):
    LAB_ID = "families"
    LAB_TITLE = "Five families, one dataset"
    KERNELS = (
        "autoregressive",
        "gan",
        "vae",
        "diffusion",
        "flow",
        "metrics",
        "render",
    )  # five families, their measures
    HELP_MD = HELP_MD
    PLAY = "Train"
    STEP = "Train a chunk"
    CODE = (
        "engine.families:Families.train_chunk",
        "engine.families:Member.train_for",
        "engine.families:evaluate_with_samples",
        "engine.families:what_to_notice",
        "engine.metrics:precision_coverage",
        "engine.metrics:mmd",
    )

    BINDINGS: ClassVar[list] = [
        Binding(
            "l",
            "open_csv",
            "Load CSV",
            id="families.csv",
            show=False,
            tooltip="Train on your own x,y points from a CSV file",
        )
    ]

    DEFAULT_CSS = """
    FamiliesLab #lab-side { width: 22; }
    #fam-row { height: 13; }
    .fam-col { width: 10; height: 13; margin: 0 1 0 0; }
    .fam-title { height: 1; width: 10; text-style: bold; }
    .fam-canvas { width: 10; height: 5; }
    .fam-nums { height: 7; width: 10; }
    #fam-notes { height: 1fr; border-top: hkey $panel-lighten-2; }
    #fam-csv { display: none; height: 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._rows: dict[str, dict] = {}
        self._pictures: dict[str, np.ndarray] = {}
        self._data_show = np.zeros((0, 2), np.float32)
        self._samples: dict[str, np.ndarray] = {}
        self.points: np.ndarray | None = None  # the learner's CSV points
        self.points_name = ""
        self._mono = False
        self._pictures_key: tuple = (False, EMPTY)  # (mono, square colour) of _pictures

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#fam-csv", CsvInput).display = False
        self.query_one("#knobs").focus()

    def knobs(self) -> list[Knob]:
        return [
            Knob(
                "dataset",
                "Dataset",
                list(DATASETS),
                key="t",
                resets=True,
                help="The points every family learns",
            ),
            Knob(
                "budget",
                "Budget s/family",
                list(BUDGETS),
                key="b",
                index=BUDGETS.index(DEFAULT_BUDGET) if DEFAULT_BUDGET in BUDGETS else len(BUDGETS) - 1,
                fmt=lambda v: f"{v:g} s",
                help="CPU seconds of training for each family",
            ),
        ]

    # ------------------------------------------------------------------ worker side

    def build(self) -> None:
        from engine import data, families

        name = self.knob_value("dataset")
        if name == OWN:
            if self.points is None:
                self.model = None
                self.tell("Press l to load a CSV file of x,y points first.")
                return
            toy, test = data.from_points(self.points, self.points_name), None  # NLL on them
        elif name == DRAWN:
            path = drawn_points_path()
            try:
                toy, test = data.load_csv(str(path)), None
            except (ValueError, OSError):
                self.model = None
                self.tell("Draw some points in the GAN lab first (L04, key o), then come back.")
                return
        else:
            toy = data.toy(name, 2048, seed=self.seed)
            test = data.toy(name, 2048, seed=self.seed + 1000).points
        self.model = families.Families(toy, seed=self.seed, chunk_seconds=CHUNK_SECONDS, test=test)
        self._data_show = self.model.points[:N_DATA]  # drawn in the model's square
        self._rows, self._pictures, self._samples = {}, {}, {}
        for family in FAMILIES:  # the untrained start: what each draws at step 0
            self._look(family)

    def _look(self, family: str) -> None:
        row, samples = self.model.look(family, N_MEASURE, seed=1)
        self._rows[family] = row
        samples = self.model.frame.to_model(samples[:N_SHOW])
        self._samples[family] = samples
        self._pictures[family] = canvas_frame(self._data_show, samples, *self._pictures_key)

    def advance(self) -> dict:
        if self.model is None:
            self.playing = False
            return {"steps": 0}
        family = self.model.train_chunk(budget=float(self.knob_value("budget")))
        if family is None:
            self.playing = False
            self.tell(
                "Every family has used its budget: compare the numbers (b raises the budget, r starts again)."
            )
            return {"steps": 0}
        before = self._rows[family]["steps"]
        self._look(family)
        return {
            "steps": self._rows[family]["steps"] - before,
            "family": family,
            "diverged": bool(self._rows[family]["diverged"]),
        }

    def view(self, metrics: dict) -> dict:
        from engine import families

        budget = float(self.knob_value("budget"))
        if self.model is None:
            return {"rows": {}, "pictures": {}, "notes": [], "budget": budget, "spent": {}, "family": None}
        spent = {f: m.seconds for f, m in self.model.members.items()}
        key = (self._mono, self.square_colour())
        if key != self._pictures_key:  # the colour mode or the theme changed: redraw
            self._pictures_key = key
            self._pictures = {f: canvas_frame(self._data_show, s, *key) for f, s in self._samples.items()}
        rows = [dict(self._rows[f]) for f in FAMILIES if f in self._rows]
        trained = [r for r in rows if r["steps"] > 0]
        return {
            "rows": {r["family"]: r for r in rows},
            "pictures": dict(self._pictures),
            "notes": families.what_to_notice(trained) if len(trained) == len(FAMILIES) else [],
            "budget": budget,
            "spent": spent,
            "family": metrics.get("family"),
        }

    def square_colour(self) -> tuple[int, int, int]:
        """The data square: the theme's background, a shade towards its text colour, so
        the square's edges show in dark and light themes alike."""
        return blend(self.canvas_bg, self.canvas_fg, 0.07)

    def release_lab(self) -> None:
        self._rows, self._pictures, self._samples = {}, {}, {}

    # ------------------------------------------------------------------ layout and frames

    def compose_lab(self) -> ComposeResult:
        blank = canvas_frame(np.zeros((0, 2), np.float32), None)
        with Horizontal(id="fam-row"):
            for family in FAMILIES:
                with Vertical(classes="fam-col"):
                    yield Static(TITLES[family], classes="fam-title", id=f"fam-title-{family}")
                    yield PixelCanvas(blank, classes="fam-canvas", id=f"fam-canvas-{family}")
                    yield Static(column_text(None), classes="fam-nums", id=f"fam-nums-{family}")
        yield Static("", id="fam-notes")
        yield CsvInput(placeholder="CSV of x,y: a path, Enter loads, Esc cancels", id="fam-csv", compact=True)

    # ------------------------------------------------------------------ the learner's CSV

    def action_open_csv(self) -> None:
        box = self.query_one("#fam-csv", CsvInput)
        box.value = ""
        box.display = True
        box.focus()

    def action_close_csv(self) -> None:
        self.query_one("#fam-csv", CsvInput).display = False
        self.query_one("#knobs").focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        path = event.value.strip()
        if path:
            self.notice(f"reading {path} …")
            self.submit(lambda: self._read_csv(path), then=self._csv_read)

    def _read_csv(self, path: str) -> dict:
        """Worker: read the file (regular files only, size-capped: engine.data.load_csv)."""
        from engine import data

        try:
            toy = data.load_csv(path)
        except (ValueError, OSError, MemoryError) as exc:
            return {"csv_error": str(exc) or type(exc).__name__}
        return {"csv_points": toy.points, "csv_name": toy.name}

    def _csv_read(self, result: dict) -> None:
        if "csv_points" not in result:  # the data and the models stay as they were
            self.query_one("#fam-csv", CsvInput).value = ""
            self.notice(result.get("csv_error") or "could not read the file", "warning")
            return
        self.points, self.points_name = result["csv_points"], result["csv_name"]
        self.action_close_csv()
        knob = self.knob("dataset")
        if knob.value != OWN:
            self.change_knob(knob, knob.values.index(OWN) - knob.index)
        else:
            self.action_reset()
        self.notice(f"loaded {len(self.points)} points from {self.points_name}")

    def draw(self, frame: dict) -> None:
        rows, pictures = frame.get("rows", {}), frame.get("pictures", {})
        spent, budget = frame.get("spent", {}), frame.get("budget", 0.0)
        mono = self.query_one(f"#fam-canvas-{FAMILIES[0]}", PixelCanvas).shade_mode
        if mono != self._mono:  # the worker draws the next pictures for it
            self._mono = mono
            self.submit()
        for family in FAMILIES:
            if family in pictures:
                self.query_one(f"#fam-canvas-{family}", PixelCanvas).update_pixels(pictures[family])
            self.query_one(f"#fam-nums-{family}", Static).update(column_text(rows.get(family)))
            mark = "▸" if frame.get("family") == family else " "
            self.query_one(f"#fam-title-{family}", Static).update(f"{mark}{TITLES[family]}")
        notes = frame.get("notes") or []
        if notes:
            body = "\n".join(f"• {n}" for n in notes)
        elif any(r.get("steps") for r in rows.values()):
            body = "Training… the notes appear once every family has trained."
        else:
            body = (
                "Untrained: each family draws its starting guess. Press Space: every "
                "family gets the same seconds, in turn."
            )
        used = min(spent.values(), default=0.0)
        self.query_one("#fam-notes", Static).update(
            f"[b]What to notice[/b]  ({min(used, budget):.1f} of {budget:g} s each)\n{body}"
        )
