"""VAE: training speed, the shipped models' reconstruction error, and a latent-map picture.

    python benchmarks/bench_vae.py --json [--png /tmp/vae_latent_map.png]

For each dataset: median training steps/second (batch 128, Adam over encoder+decoder),
and for the shipped weights the reconstruction error on the whole training set (BCE in
nats per image, KL in nats, MSE per pixel of the mean reconstruction). The digits
model's 2-D latent map (16x16 decodes over [-2.5, 2.5]^2) is written as a PNG with a tiny
private zlib writer (this file only).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import sys
import time
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from engine import render, runtime, vae  # noqa: E402
from engine.weights import WeightsError  # noqa: E402


def _png(path: str, rgb: np.ndarray) -> None:
    rgb = np.ascontiguousarray(rgb, np.uint8)
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    with open(path, "wb") as f:
        f.write(
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b"")
        )


def speed(dataset: str, seconds: float = 1.0, repeats: int = 3) -> float:
    model = vae.VAE(vae.VaeConfig(dataset))
    model.train(5)
    rates = []
    for _ in range(repeats):
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            model.train(10)
            n += 10
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--png", default="/tmp/vae_latent_map.png")
    args = ap.parse_args()
    runtime.warm_up()
    out = {"runtime": runtime.configured()}
    for dataset in vae.DATASETS:
        row = {"train_steps_per_s": round(speed(dataset), 1)}
        try:
            model = vae.pretrained(dataset)
            row.update({k: round(v, 4) for k, v in model.evaluate().items()})
            if dataset == "digits" and args.png:
                tiles = np.repeat(model.latent_map(16, 2.5), 3, axis=3)
                grid = render.image_grid(tiles, cols=16, pad=1, pad_color=(60, 60, 60))
                _png(args.png, render.upscale(grid, 4))
                row["latent_map_png"] = args.png
        except WeightsError as exc:
            row["pretrained"] = str(exc)
        out[dataset] = row
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
