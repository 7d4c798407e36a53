"""L05 lab `vae`: squeeze pictures into two numbers, then walk the latent plane.

Four views share one big canvas (key m): the latent map (a 5x5 grid of pictures decoded
across the plane, with a cursor), inputs above their reconstructions, interpolations
between pairs of inputs, and samples from the prior. The zoom on the right always shows
the picture decoded at the cursor (i j k l move it). Training runs live (space) with a
β knob; the reconstruction and KL terms are drawn as they change.
"""

from __future__ import annotations

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from tutor.labs.base import Knob, LabScreen
from tutor.labs.imaging import GUTTER, quantize_keeping, tile_grid
from tutor.widgets.charts import MetricSparkline
from tutor.widgets.pixels import PixelCanvas

GRID = 5  # tiles per side of the main canvas
TILE = 8  # tile size in pixels (sprites are averaged down from 16)
EXTENT = 2.0  # the map covers [-EXTENT, EXTENT]^2 of the latent plane
CURSOR_STEP = 0.25
CURSOR_LIMIT = 3.0
VIEWS = ["map", "reconstruct", "interpolate", "prior"]
BETAS = [0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
STEPS_PER_WORK = {"digits": 10, "sprites": 4}
CURSOR = (255, 80, 80)

CAPTIONS = {  # at most 16 characters a line (the info column's width)
    "map": "map: decoded at\nz₁ → and z₂ ↑,\n−2 … +2",
    "reconstruct": "rows: inputs,\nthen their\nreconstructions",
    "interpolate": "rows: input A\nto input B\nin 5 steps",
    "prior": "z ~ N(0, I)\ndecoded;\nn: new draws",
}


def to_tiles(images: np.ndarray) -> np.ndarray:
    """(N, h, w, c) in [0, 1] -> (N, TILE, TILE, 3): grey to RGB, 16 px averaged to 8."""
    x = np.asarray(images, np.float32)
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    f = x.shape[1] // TILE
    if f > 1:
        n, h, w, c = x.shape
        x = x.reshape(n, TILE, f, TILE, f, c).mean(axis=(2, 4))
    return np.ascontiguousarray(x)


def zoom(image: np.ndarray) -> np.ndarray:
    """One decoded image as a 16x16 RGB buffer (digits doubled, sprites as they are)."""
    from engine import render

    x = image if image.shape[-1] == 3 else np.repeat(image, 3, axis=-1)
    buf = render.image_grid(x[None], cols=1, pad=0)
    return render.upscale(buf, 16 // buf.shape[0]) if buf.shape[0] < 16 else buf


class VaeLab(LabScreen):
    LAB_ID = "vae"
    LAB_TITLE = "The VAE lab: compress, then recreate"
    KERNELS = ("vae", "render")  # the image VAE and drawing
    CODE = (
        "engine.vae:VAE.train",
        "engine.vae:VAE.loss",
        "engine.vae:reparameterise",
        "engine.vae:reparameterise_backward",
        "engine.vae:VAE.latent_map",
        "engine.vae:VAE.reconstruct",
        "engine.vae:VAE.interpolate",
        "engine.vae:VAE.sample",
    )
    HELP_MD = """
The **encoder** squeezes each picture into just **two numbers** (z₁, z₂), a point on the
*latent plane*; the **decoder** turns any point back into a picture.

**Big canvas** (m switches the view):
- **map**: a 5×5 grid of pictures decoded at evenly spaced points of the plane, from
  −2 to +2 on each axis. The red cross is your **cursor**: move it with **i j k l**. The
  zoom on the right is the picture decoded exactly at the cursor: tweak the idea, decode it.
- **reconstruct**: a row of inputs, and under it what came back after the squeeze.
- **interpolate**: each row walks in a straight line from input A's point to input B's.
- **prior**: points drawn at random from N(0, I), the bell curve the map is pulled towards.

**Curves** at the bottom: **recon**, how badly pictures come back (binary cross-entropy,
nats per picture; lower is better), and **KL**, how far the encoder's points stray from
N(0, I). Training (space) lowers **recon + β·KL**.

**β** (b) weighs the KL term. High β: a tidy, well-filled map but blurrier pictures.
Low β: sharper pictures, but gaps in the map where nothing sensible decodes. Try
**f** (weights: scratch) with β = 4 and with β = 0.25 and compare the maps.

Keys: **m** view, **i j k l** cursor, **b** β, **n** other inputs, **d** digits/sprites,
**f** weights: yours, shipped or scratch, **space** train, **s** one step, **r** reset.
"""

    DEFAULT_CSS = """
    #vae-row { height: 1fr; }
    #vae-view { width: 44; }
    #vae-right { width: 17; height: 1fr; padding-left: 1; }
    #vae-zoom { width: 16; height: 8; }
    #vae-info { height: 1fr; }
    """

    BINDINGS = [
        Binding(
            "i", "move_cursor(0, 1)", "Cursor ↑", id="vae.up", show=False, tooltip="Move the map cursor up"
        ),
        Binding(
            "k",
            "move_cursor(0, -1)",
            "Cursor ↓",
            id="vae.down",
            show=False,
            tooltip="Move the map cursor down",
        ),
        Binding(
            "j",
            "move_cursor(-1, 0)",
            "Cursor ←",
            id="vae.left",
            show=False,
            tooltip="Move the map cursor left",
        ),
        Binding(
            "l",
            "move_cursor(1, 0)",
            "Cursor →",
            id="vae.right",
            show=False,
            tooltip="Move the map cursor right",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.cursor = np.zeros(2, np.float32)
        self.note = ""
        self._fresh = False
        self.inputs = None

    def on_mount(self) -> None:
        super().on_mount()
        # six columns more for the pictures and their gutters (inline: the app's CSS sets 26)
        self.query_one("#lab-side").styles.width = 19

    def knobs(self) -> list[Knob]:
        return [
            Knob(
                "view", "View", VIEWS, key="m", help="Map, reconstructions, interpolations or prior samples"
            ),
            Knob(
                "beta",
                "β (KL weight)",
                BETAS,
                index=BETAS.index(1.0),
                key="b",
                help="Weight of the KL term while training",
            ),
            Knob(
                "inputs",
                "Inputs / samples",
                list(range(1, 11)),
                key="n",
                help="Which inputs (or prior draws) are shown",
            ),
            Knob(
                "dataset",
                "Dataset",
                ["digits", "sprites"],
                key="d",
                resets=True,
                help="Handwritten digits or coloured sprites",
            ),
            self.weights_knob("f"),
        ]

    def compose_lab(self) -> ComposeResult:
        with Horizontal(id="vae-row"):
            yield PixelCanvas(id="vae-view")
            with Vertical(id="vae-right"):
                yield PixelCanvas(id="vae-zoom")
                yield Static("", id="vae-info")
                yield MetricSparkline("recon", fmt="{:.2f}", id="vae-recon")
                yield MetricSparkline("KL   ", fmt="{:.2f}", id="vae-kl")

    # -- worker -----------------------------------------------------------------------
    def build(self) -> None:
        from engine import vae
        from engine.weights import WeightsError

        dataset = self.knob_value("dataset")
        beta = float(self.knob_value("beta"))
        self.note = ""
        model = None
        path = self.weights_file(f"vae_{dataset}.npz")
        if path is not None:
            try:
                model = vae.VAE.load(path)
            except WeightsError as exc:
                self.note = "no usable weights:\nfrom scratch"
                self.weights_label = "weights: untrained"
                self.tell(
                    f"{exc}. Training from scratch instead "
                    f"(genai-tutor train vae --dataset {dataset} makes your own).",
                    "warning",
                )
        if model is None:
            model = vae.VAE(vae.VaeConfig(dataset=dataset, seed=self.seed))
        model.set_beta(beta)
        order = np.random.default_rng(5).permutation(len(model.data))  # varied first inputs
        self.inputs = model.data[order[: 10 * GRID * 2]].reshape((-1,) + model.image_shape)
        self.model = model
        self.first = model.evaluate(model.data[order[:512]])
        self._fresh = True

    def advance(self) -> dict:
        n = STEPS_PER_WORK[self.model.config.dataset]
        out = self.model.train(n)
        return {
            "recon": out["recon"],
            "kl": out["kl"],
            "steps": n,
            **({"diverged": True} if out.get("diverged") else {}),
        }

    def release_lab(self) -> None:
        self.inputs = None

    # -- what the canvas shows ----------------------------------------------------------
    def _input_set(self, count: int) -> np.ndarray:
        k = int(self.knob_value("inputs")) - 1
        return self.inputs[(np.arange(count) + k * count) % len(self.inputs)]

    def view(self, metrics: dict) -> dict:
        """Worker: decode everything the current view and the zoom need."""
        m, view = self.model, self.knob_value("view")
        if m is None:
            return dict(metrics)
        if view == "map":
            tiles = m.latent_map(GRID, EXTENT)
        elif view == "reconstruct":
            x = self._input_set(2 * GRID)
            rec = m.reconstruct(x)
            tiles = np.concatenate([x[:GRID], rec[:GRID], x[GRID:], rec[GRID:]])
        elif view == "interpolate":
            x = self._input_set(2 * GRID)
            tiles = np.concatenate([m.interpolate(x[2 * r], x[2 * r + 1], GRID) for r in range(GRID)])
        else:
            tiles = m.sample(GRID * GRID, seed=int(self.knob_value("inputs")))
        cursor = self.cursor.copy()
        at = m.decode(cursor[None])[0]
        frame = dict(metrics, view=view, tiles=tiles, at=at, cursor=cursor, note=self.note)
        if self._fresh:
            self._fresh = False
            frame["first"] = dict(self.first)
        return frame

    # -- UI ---------------------------------------------------------------------------
    def draw(self, frame: dict) -> None:
        from engine import render

        if "tiles" not in frame:
            return
        tiles = to_tiles(frame["tiles"])
        bg = self.canvas_bg
        if frame["view"] == "reconstruct":  # a gap between the two input/reconstruction pairs
            blank = np.broadcast_to(np.float32(bg) / 255.0, (GRID,) + tiles.shape[1:])
            tiles = np.concatenate([tiles[: 2 * GRID], blank, tiles[2 * GRID :]])
        levels = 16 if self.wire.low_bandwidth else 32
        buf = quantize_keeping(tile_grid(tiles, cols=GRID, bg=bg), levels, bg)
        if frame["view"] == "map":
            self._mark(buf, frame["cursor"])
        self.query_one("#vae-view", PixelCanvas).update_pixels(buf)
        self.query_one("#vae-zoom", PixelCanvas).update_pixels(render.quantize(zoom(frame["at"]), levels))
        z = frame["cursor"]
        lines = [
            f"at z=({z[0]:+.2f},",
            f"     {z[1]:+.2f})",
            "i j k l: move",
            "",
            *CAPTIONS[frame["view"]].split("\n"),
        ]
        if frame.get("note"):
            lines += ["", frame["note"]]
        self.query_one("#vae-info", Static).update("\n".join(lines))
        if "recon" in frame:
            self.query_one("#vae-recon", MetricSparkline).push(frame["recon"])
            self.query_one("#vae-kl", MetricSparkline).push(frame["kl"])
        elif "first" in frame:  # a new model: start the curves again
            for name, key in (("#vae-recon", "recon"), ("#vae-kl", "kl")):
                line = self.query_one(name, MetricSparkline)
                line.data.clear()
                line.push(frame["first"][key])

    def headline(self, frame: dict) -> str:
        recon = self.query_one("#vae-recon", MetricSparkline).data
        kl = self.query_one("#vae-kl", MetricSparkline).data
        z = frame.get("cursor")
        parts = [
            f"recon {recon[-1]:.2f}" if recon else "",
            f"KL {kl[-1]:.2f}" if kl else "",
            f"z=({z[0]:+.2f},{z[1]:+.2f})" if z is not None else "",
        ]
        return "  ".join(p for p in parts if p)

    @staticmethod
    def _mark(buf: np.ndarray, z: np.ndarray) -> None:
        """A small cross on the map where the cursor is (if it is inside the map)."""
        span = (GRID - 1) * (TILE + GUTTER)
        col = TILE / 2 + (z[0] + EXTENT) / (2 * EXTENT) * span
        row = TILE / 2 + (EXTENT - z[1]) / (2 * EXTENT) * span
        r, c = int(round(row - 0.5)), int(round(col - 0.5))
        h, w = buf.shape[:2]
        for dr, dc in ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)):
            if 0 <= r + dr < h and 0 <= c + dc < w:
                buf[r + dr, c + dc] = CURSOR

    def action_move_cursor(self, dx: int, dy: int) -> None:
        self.cursor = np.clip(
            self.cursor + CURSOR_STEP * np.array([dx, dy], np.float32), -CURSOR_LIMIT, CURSOR_LIMIT
        ).astype(np.float32)
        self.submit()

    def on_knob(self, knob: Knob) -> None:
        """β applies live, views redraw, others reset."""
        if knob.resets:
            self.action_reset()
        elif knob.name == "beta":
            beta = float(knob.value)
            self.submit(lambda: self.model.set_beta(beta) if self.model is not None else None)
        else:
            self.submit()
