"""Frame cost of the half-block canvas and of the engine.render kernels.

    python benchmarks/bench_render.py --json

Canvas: a 64x64 lab-like frame (quantised heatmap + scatter, every cell row different
from the previous frame) goes through ``PixelCanvas.update_pixels`` and ``render_line``
for all 32 rows, inside a headless Textual app. "cached" keeps the (top, bottom) style
cache warm; "uncached" clears it before every frame (what a canvas without the cache
pays within a frame); "naive_per_cell" builds a new Style per cell with no cache at
all; "unchanged" re-sends the same frame (no row is rebuilt); "shade" is the 16-colour
/ NO_COLOR mode. Kernels: median time of scatter / heatmap / image grid / quantise once
compiled; ``warm_up_s`` is the compile-or-cache-load time of all render kernels.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from rich.color import Color  # noqa: E402
from rich.segment import Segment  # noqa: E402
from rich.style import Style  # noqa: E402
from textual.app import App  # noqa: E402
from textual.strip import Strip  # noqa: E402

from engine import render as R  # noqa: E402
from tutor.widgets.pixels import PixelCanvas  # noqa: E402

EXT = (-2.0, 2.0, -2.0, 2.0)


def frames(n: int, size: int = 64) -> list[np.ndarray]:
    """``n`` different frames like the GAN lab's: D(x) heatmap + real/fake points."""
    rng = np.random.default_rng(0)
    grid = R.pixel_centres(EXT, size, size)
    real = rng.normal(size=(256, 2)).astype(np.float32) * 0.6
    out = []
    for k in range(n):
        d = np.tanh(grid[:, 0] * np.cos(k * 0.3) + grid[:, 1] * np.sin(k * 0.3))
        buf = R.quantize(R.heatmap(d.reshape(size, size), -1.0, 1.0), 16)
        R.scatter(buf, real, (255, 255, 255), EXT, radius=1, marker="dot")
        R.scatter(buf, real[:128] + k * 0.05, (255, 80, 80), EXT, radius=1, marker="plus")
        out.append(buf)
    return out


def median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def naive_rows(rgb: np.ndarray) -> list[Strip]:
    """The no-cache baseline: a new Style and Segment for every cell of every frame."""
    strips = []
    for r in range(0, rgb.shape[0], 2):
        top, bottom = rgb[r].tolist(), rgb[r + 1].tolist()
        strips.append(
            Strip(
                [
                    Segment("▀", Style(color=Color.from_rgb(*t), bgcolor=Color.from_rgb(*b)))
                    for t, b in zip(top, bottom)
                ]
            )
        )
    return strips


class BenchApp(App):
    def compose(self):
        yield PixelCanvas()


async def bench_canvas(repeats: int) -> dict:
    seq = frames(8)
    app = BenchApp()
    async with app.run_test(size=(80, 40)) as pilot:
        canvas = app.query_one(PixelCanvas)
        canvas.monochrome = False
        canvas.update_pixels(seq[0])
        await pilot.pause()
        rows = canvas.size.height
        state = {"i": 0}

        def frame(clear_styles: bool = False, same: bool = False) -> None:
            if not same:
                state["i"] += 1
            if clear_styles:
                canvas.clear_caches()
            canvas.update_pixels(seq[state["i"] % len(seq)])
            for y in range(rows):
                canvas.render_line(y)

        result = {
            "canvas_frame_ms_cached": median_ms(frame, repeats),
            "canvas_frame_ms_uncached": median_ms(lambda: frame(clear_styles=True), repeats),
            "canvas_frame_ms_unchanged": median_ms(lambda: frame(same=True), repeats),
            "naive_per_cell_frame_ms": median_ms(lambda: naive_rows(seq[1]), repeats),
        }
        canvas.monochrome = True
        result["canvas_frame_ms_shade"] = median_ms(frame, repeats)
        result["style_cache_size"] = len(canvas._styles)
        result["distinct_colours_per_frame"] = R.count_colors(seq[0])
    return result


def bench_kernels(repeats: int) -> dict:
    rng = np.random.default_rng(1)
    buf = R.canvas(64, 64)
    pts = rng.normal(size=(512, 2)).astype(np.float32)
    values = rng.normal(size=(64, 64)).astype(np.float32)
    images = rng.uniform(size=(16, 16, 16)).astype(np.float32)
    frame = R.heatmap(values, -2.0, 2.0)
    return {
        "scatter_512pts_r1_ms": median_ms(lambda: R.scatter(buf, pts, (255, 0, 0), EXT, radius=1), repeats),
        "heatmap_64x64_ms": median_ms(lambda: R.heatmap(values, -2.0, 2.0), repeats),
        "arrows_256_ms": median_ms(lambda: R.arrows(buf, pts[:256], -pts[:256], (0, 255, 0), EXT), repeats),
        "image_grid_16x16x16_ms": median_ms(lambda: R.image_grid(images), repeats),
        "quantize_64x64_ms": median_ms(lambda: R.quantize(frame, 16), repeats),
        "upscale_64x64_x2_ms": median_ms(lambda: R.upscale(frame, 2), repeats),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    R._warm_up()
    result = {"warm_up_s": round(time.perf_counter() - t0, 3)}
    result.update(bench_kernels(args.repeats))
    result.update(asyncio.run(bench_canvas(args.repeats)))
    result = {k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:32} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
