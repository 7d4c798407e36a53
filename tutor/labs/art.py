"""L01 lab `art`: seeded generative art, where the seed *is* the picture.

A small random network (engine/art.py, a CPPN) paints every pixel from its x, y, its
distance from the centre and a latent vector. The seed decides every weight. The lab
shows the picture, its recipe line and the seed; the knobs change palette, symmetry,
zoom, complexity and activation; Space drifts the latent vector (the picture flows and
comes back after one loop); `c` forgets everything, redraws from the recipe text alone
and compares the two pictures byte for byte; `x` saves the picture as a PNG.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tutor.labs.base import Knob, LabScreen
from tutor.widgets.pixels import PixelCanvas

PIXELS_W, PIXELS_H = 52, 32  # the canvas: 52 cells wide, 16 rows of half blocks
DRIFT_FPS = 12  # frames per second while drifting
SPEEDS = [1, 2, 4, 8]  # drift steps per frame
ZOOMS = [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0]
DEPTHS = [1, 2, 3, 4, 5, 6, 8]
WIDTHS = [4, 8, 12, 16, 24, 32]
SAVE_SIZE = 512  # pixels a side of the PNG that `x` saves
FIRST_SEED = 42

HELP = """\
Every pixel of this picture is painted by a small **random network** (a *CPPN*). It is
given the pixel's **x** and **y**, its **distance from the centre**, and a short list of
numbers, the **latent vector**, that is the same for every pixel. It answers with a
colour. Nothing is trained: the **seed** chooses every weight, so the seed *is* the
picture.

- **Same seed, same picture.** `c` throws the network away, rebuilds it from the
  recipe text alone, redraws, and compares the two pictures byte for byte. It also
  draws the *next* seed and tells you how many pixels differ.
- **e** moves to the next seed, **E** back. Each seed is a new picture in the same style.
- **The recipe** under the picture is everything that decides it. Paste it into
  `genai-tutor art --recipe …` and you get the same picture as a PNG, at any size.
- **Knobs**: **p** palette, **m** symmetry (mirror, four-way, or a kaleidoscope),
  **z** zoom, **d** depth and **w** width (more layers and units: more intricate
  shapes, a different network, so a different picture), **a** activation (sin makes
  waves, tanh smooth edges, gauss blobs; mix uses all three), **t** drift speed.
- **Space** drifts the latent vector around a closed loop: the picture flows and,
  after one loop (t from 0 to 239), comes back exactly. **s** moves one step.
- **x** saves the picture as a 512×512 PNG in your data folder.

This is why image generators show you a seed: with the same model, the same settings
and the same seed, the same random numbers come out, so the same image does. (On a
different computer a handful of pixels may round differently in the last digit.)
"""


def recipe_lines(text: str, width: int) -> list[str]:
    """The recipe line broken after commas so that no line is longer than ``width``."""
    lines, line = [], ""
    for part in text.split(","):
        piece = part if not line else f",{part}"
        if line and len(line) + len(piece) > width:
            lines.append(line + ",")
            line = part
        else:
            line += piece
    return [*lines, line]


class ArtLab(LabScreen):
    LAB_ID = "art"
    LAB_TITLE = "Seeds and determinism: generative art"
    HELP_MD = HELP
    CODE = (
        "engine.art:network",
        "engine.art:latent",
        "engine.art:coordinates",
        "engine.art:fold",
        "engine.art:activate",
        "engine.art:outputs",
        "engine.art:colour",
        "engine.art:format_recipe",
        "engine.art:parse_recipe",
    )
    PLAY = "Drift"
    STEP = "Drift step"
    WARM_UP = False  # numpy only: no kernels to compile
    autoplay = False  # start still, so "same seed again" has a picture to compare

    DEFAULT_CSS = """
    #art-canvas { width: 52; height: 16; }
    #art-recipe { height: 2; width: 52; }
    #art-check { height: 3; width: 52; }
    """

    BINDINGS = [
        Binding(
            "c",
            "same_again",
            "Same seed again",
            id="art.check",
            tooltip="Redraw from the recipe alone and compare byte for byte",
        ),
        Binding(
            "E",
            "previous_seed",
            "Seed back",
            id="art.seed_back",
            show=False,
            tooltip="Go back to the previous seed",
        ),
        Binding(
            "x",
            "save_png",
            "Save PNG",
            id="art.save",
            show=False,
            tooltip="Save the picture as a PNG in your data folder",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.seed = FIRST_SEED
        self.t = 0
        self.shown: np.ndarray | None = None
        self.check: dict | None = None  # the last "same seed again" result
        self._next_frame_at = 0.0

    def knobs(self) -> list[Knob]:
        from engine import art

        return [
            Knob(
                "palette",
                "Palette",
                list(art.PALETTES),
                key="p",
                help="The colours: five palettes, or rgb (three outputs as red, green, blue)",
            ),
            Knob(
                "symmetry",
                "Symmetry",
                list(art.SYMMETRIES),
                key="m",
                help="Fold the plane first: mirror, four-way, or a kaleidoscope",
            ),
            Knob(
                "zoom",
                "Zoom",
                ZOOMS,
                index=ZOOMS.index(1.0),
                key="z",
                help="Magnify the pattern (shapes get bigger)",
            ),
            Knob(
                "depth",
                "Depth (layers)",
                DEPTHS,
                index=DEPTHS.index(4),
                key="d",
                resets=True,
                help="Hidden layers of the network: more layers, more intricate shapes",
            ),
            Knob(
                "width",
                "Width (units)",
                WIDTHS,
                index=WIDTHS.index(16),
                key="w",
                resets=True,
                help="Units per layer: more units, more detail",
            ),
            Knob(
                "activation",
                "Activation",
                list(art.ACTIVATIONS),
                key="a",
                help="sin: waves, tanh: smooth edges, gauss: blobs, mix: all three",
            ),
            Knob(
                "speed",
                "Drift speed",
                SPEEDS,
                key="t",
                help="Steps along the latent loop per frame while drifting",
            ),
        ]

    def compose_lab(self) -> ComposeResult:
        yield PixelCanvas(id="art-canvas")
        yield Static("", id="art-recipe")
        yield Static("", id="art-check")

    # -- the recipe --------------------------------------------------------------------
    def recipe(self) -> Any:
        """The recipe the knobs, the seed and the drift position describe."""
        from engine import art

        return art.Recipe(
            seed=self.seed,
            palette=self.knob_value("palette"),
            symmetry=self.knob_value("symmetry"),
            zoom=float(self.knob_value("zoom")),
            depth=int(self.knob_value("depth")),
            width=int(self.knob_value("width")),
            activation=self.knob_value("activation"),
            t=self.t,
        )

    # -- worker ------------------------------------------------------------------------
    def build(self) -> None:
        """A new network for the seed and the complexity (the picture itself is drawn
        by `view`, so palette, symmetry and zoom change without a new network)."""
        from engine import art

        self.model = art.network(self.recipe())

    def advance(self) -> dict:
        """One drift frame: the latent moves `speed` steps along its loop."""
        from engine import art

        if self.playing:  # the drift's own pace, slept outside the lock
            wait = self._next_frame_at - _clock()
            if wait > 0:
                return {"steps": 0, "_wait": min(wait, 0.1)}
            self._next_frame_at = _clock() + 1.0 / DRIFT_FPS
        self.t = (self.t + int(self.knob_value("speed"))) % art.DRIFT_STEPS
        return {"steps": 1}

    def view(self, metrics: dict) -> dict:
        from engine import art

        if self.model is None:
            return dict(metrics)
        recipe = self.recipe()
        if self.model.key != (recipe.seed, recipe.depth, recipe.width):
            self.build()  # the seed or the complexity changed
        pixels = art.render(recipe, PIXELS_H, PIXELS_W, net=self.model)
        self.shown = pixels
        return dict(
            metrics,
            pixels=pixels,
            recipe=art.format_recipe(recipe),
            t=recipe.t,
            fingerprint=art.fingerprint(pixels),
        )

    def same_again(self) -> dict:
        """Worker: redraw from the recipe text alone (a fresh network) and compare."""
        from dataclasses import replace

        from engine import art

        if self.shown is None or self.model is None:
            return {}
        text = art.format_recipe(self.recipe())
        again = art.render(art.parse_recipe(text), PIXELS_H, PIXELS_W)
        same = again.tobytes() == self.shown.tobytes()
        differing = int(np.count_nonzero((again != self.shown).any(axis=2)))
        other_seed = (self.seed + 1) % 2**32
        other = art.render(replace(art.parse_recipe(text), seed=other_seed), PIXELS_H, PIXELS_W)
        moved = float((other != again).any(axis=2).mean())
        return {
            "same": same,
            "bytes": again.nbytes,
            "differing": differing,
            "fingerprint": art.fingerprint(again),
            "other_seed": other_seed,
            "other_differs": moved,
        }

    def save(self) -> dict:
        """Worker: the current picture at SAVE_SIZE pixels, as a PNG in the data folder."""
        from content.paths import user_file
        from engine import art, png

        recipe = self.recipe()
        pixels = art.render(recipe, SAVE_SIZE)
        path = user_file("art", f"art_seed{recipe.seed}_{SAVE_SIZE}px_{art.fingerprint(pixels)}.png")
        png.write_png(path, pixels)
        return {"saved": str(path), "recipe": art.format_recipe(recipe)}

    def release_lab(self) -> None:
        self.shown = None

    # -- UI ----------------------------------------------------------------------------
    def draw(self, frame: dict) -> None:
        if "pixels" not in frame:
            return
        pixels = frame["pixels"]
        levels = 8 if self.wire.low_bandwidth else 32
        step = 255.0 / (levels - 1)  # fewer colours on the wire; the picture is unchanged
        shown = (np.rint(np.rint(pixels / step) * step)).astype(np.uint8)
        if self.wire.low_bandwidth and self.playing:  # drifting on a slow link: 2x2 blocks
            shown = np.repeat(np.repeat(shown[::2, ::2], 2, axis=0), 2, axis=1)
        self.query_one("#art-canvas", PixelCanvas).update_pixels(shown)
        self.query_one("#art-recipe", Static).update("\n".join(recipe_lines(frame["recipe"], 52)))
        check = self.check
        self._show_check(check if check and check["fingerprint"] == frame["fingerprint"] else None, frame)

    def _show_check(self, result: dict | None, frame: dict) -> None:
        lines = [
            f"seed {self.seed} · t {frame.get('t', self.t)} · fingerprint {frame.get('fingerprint', '')}"
        ]
        if result is None:
            lines.append("c same seed again · space drift · h explain")
        elif result["same"]:
            lines.append(f"same seed again: identical, all {result['bytes']:,} bytes match")
            lines.append(
                f"(seed {result['other_seed']} differs in "
                f"{100 * result['other_differs']:.0f} % of the pixels)"
            )
        else:
            lines.append(f"same seed again: {result['differing']} pixels differ!")
        self.query_one("#art-check", Static).update("\n".join(lines))

    # -- actions -----------------------------------------------------------------------
    def action_same_again(self) -> None:
        def then(result: dict) -> None:
            if not result:
                return
            self.check = result
            self._show_check(result, self.last_frame)
            if not result["same"]:
                self.notice(f"the redraw differs in {result['differing']} pixels", "warning")

        self.submit(self.same_again, then=then)

    def action_save_png(self) -> None:
        def then(result: dict) -> None:
            self.notice(f"saved {result['saved']}")

        self.submit(self.save, then=then)

    def action_new_seed(self) -> None:
        self.seed = (self.seed + 1) % 2**32
        self._seed_changed()

    def action_previous_seed(self) -> None:
        self.seed = (self.seed - 1) % 2**32
        self._seed_changed()

    def _seed_changed(self) -> None:
        self._message = ""
        self.submit()  # `view` draws the network for the new seed
        self._show_status()

    def action_reset(self) -> None:
        """Back to the start of the drift loop, with the network drawn afresh."""
        self.t = 0
        super().action_reset()

    def on_knob(self, knob: Knob) -> None:
        """Every knob only redraws: `view` draws a new network when depth or width
        changed, and keeps the drift position."""
        self.submit()


def _clock() -> float:
    import time

    return time.monotonic()
