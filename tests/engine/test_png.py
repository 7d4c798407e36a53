"""engine.png: the zlib PNG writer, checked by reading the file back."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from engine import png


def test_round_trip(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    path = png.write_png(tmp_path / "a.png", rgb)
    blob = path.read_bytes()
    assert (
        blob.startswith(png.SIGNATURE)
        and b"IHDR" in blob
        and blob.endswith(b"IEND" + (zlib.crc32(b"IEND") & 0xFFFFFFFF).to_bytes(4, "big"))
    )
    assert np.array_equal(png.read_png(path), rgb)


def test_scale_repeats_pixels(tmp_path):
    rgb = np.array([[[255, 0, 0], [0, 0, 255]]], np.uint8)
    back = png.read_png(png.write_png(tmp_path / "b.png", rgb, scale=3))
    assert back.shape == (3, 6, 3)
    assert np.array_equal(back[:, :3], np.tile([255, 0, 0], (3, 3, 1)))


def test_rejects_wrong_arrays():
    with pytest.raises(ValueError, match="uint8"):
        png.encode_png(np.zeros((2, 2, 3), np.float32))


def test_reader_rejects_other_files(tmp_path):
    (tmp_path / "x.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="not a PNG"):
        png.read_png(tmp_path / "x.png")
