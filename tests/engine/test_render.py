"""engine.render against plain-numpy references."""

from __future__ import annotations

import numpy as np
import pytest

from engine import render as R

EXT = (-2.0, 2.0, -1.0, 1.0)  # x spans 4, y spans 2


def ref_pixel(x, y, extent, h, w):
    """Plain reference of the documented mapping: y up, floor to the pixel."""
    xmin, xmax, ymin, ymax = extent
    return int(np.floor((ymax - y) / (ymax - ymin) * h)), int(np.floor((x - xmin) / (xmax - xmin) * w))


def painted(buf, bg=(0, 0, 0)):
    return {tuple(p) for p in np.argwhere((buf != np.array(bg, np.uint8)).any(axis=2))}


def test_canvas_fills_background():
    buf = R.canvas(3, 5, (1, 2, 3))
    assert buf.shape == (3, 5, 3) and buf.dtype == np.uint8
    assert (buf == [1, 2, 3]).all()


def test_scatter_places_single_pixels_where_the_reference_says():
    rng = np.random.default_rng(0)
    pts = rng.uniform([-1.99, -0.99], [1.99, 0.99], size=(20, 2)).astype(np.float32)
    for x, y in pts:
        buf = R.canvas(16, 32)
        R.scatter(buf, [[x, y]], (255, 0, 0), EXT)
        assert painted(buf) == {ref_pixel(x, y, EXT, 16, 32)}
        r, c = ref_pixel(x, y, EXT, 16, 32)
        assert tuple(buf[r, c]) == (255, 0, 0)


def test_scatter_corners_orientation_and_clipping():
    buf = R.canvas(8, 8)
    R.scatter(buf, [[-2.0, 0.999], [1.999, -0.999], [5.0, 5.0], [np.nan, 0.0]], (9, 9, 9), EXT)
    assert painted(buf) == {(0, 0), (7, 7)}  # top-left is (xmin, ymax); far/NaN points skipped


def test_scatter_per_point_colours_later_points_win():
    buf = R.canvas(4, 4)
    R.scatter(buf, [[0.1, 0.1], [0.1, 0.1], [-1.5, -0.9]], [(1, 1, 1), (2, 2, 2), (3, 3, 3)], EXT)
    assert tuple(buf[1, 2]) == (2, 2, 2) and tuple(buf[3, 0]) == (3, 3, 3)


@pytest.mark.parametrize(
    "marker, expected",
    [
        ("dot", {(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)}),
        ("plus", {(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)}),
        ("cross", {(0, 0), (-1, -1), (-1, 1), (1, -1), (1, 1)}),
    ],
)
def test_markers_have_distinct_shapes(marker, expected):
    buf = R.canvas(9, 9)
    R.scatter(buf, [[0.0, 0.0]], (255, 255, 255), (-1, 1, -1, 1), radius=1, marker=marker)
    assert painted(buf) == {(4 + dy, 4 + dx) for dy, dx in expected}


def test_ring_is_hollow():
    buf = R.canvas(11, 11)
    R.scatter(buf, [[0.0, 0.0]], (255, 255, 255), (-1, 1, -1, 1), radius=3, marker="ring")
    got = painted(buf)
    assert (5, 5) not in got and (5, 8) in got and (2, 5) in got


def test_pixel_centres_round_trip_to_their_own_pixels():
    h, w = 6, 10
    pts = R.pixel_centres(EXT, h, w)
    assert pts.shape == (h * w, 2) and pts.dtype == np.float32
    pix = np.floor(R.to_pixels(pts, EXT, h, w)).astype(int)
    rows, cols = np.divmod(np.arange(h * w), w)
    assert (pix[:, 0] == rows).all() and (pix[:, 1] == cols).all()


def test_heatmap_endpoints_midpoint_and_clipping():
    v = np.array([[0.0, 0.5, 1.0, -3.0, 7.0]], dtype=np.float32)
    for name, lut in R.PALETTES.items():
        out = R.heatmap(v, vmin=0.0, vmax=1.0, palette=name)
        assert tuple(out[0, 0]) == tuple(lut[0]) and tuple(out[0, 2]) == tuple(lut[-1])
        assert tuple(out[0, 3]) == tuple(lut[0]) and tuple(out[0, 4]) == tuple(lut[-1])
        k = int(0.5 * (len(lut) - 1) + 0.5)
        assert tuple(out[0, 1]) == tuple(lut[k])


def test_heatmap_matches_numpy_reference_and_origin():
    rng = np.random.default_rng(1)
    v = rng.normal(size=(7, 9)).astype(np.float32)
    out = R.heatmap(v, vmin=-1.0, vmax=1.0, palette="sequential")
    idx = np.rint(np.clip((v + 1.0) / 2.0, 0, 1) * 255).astype(int)
    assert np.array_equal(out, R.SEQUENTIAL[idx])
    assert np.array_equal(R.heatmap(v, -1.0, 1.0, "sequential", origin="lower"), out[::-1])


def test_heatmap_defaults_nan_and_flat():
    v = np.array([[1.0, np.nan], [3.0, np.inf]], dtype=np.float32)
    out = R.heatmap(v, palette="gray", nan_color=(255, 0, 255))
    assert tuple(out[0, 0]) == (0, 0, 0) and tuple(out[1, 0]) == (255, 255, 255)
    assert tuple(out[0, 1]) == (255, 0, 255) and tuple(out[1, 1]) == (255, 0, 255)
    flat = R.heatmap(np.full((2, 2), 4.0), palette="gray")
    assert (flat == R.GRAY[128]).all()


def test_palettes_have_monotonic_luminance():
    # the shade-glyph fallback (16 colours / NO_COLOR) still shows low vs high
    for lut in R.PALETTES.values():
        lum = lut.astype(float) @ [0.299, 0.587, 0.114]
        assert (np.diff(lum) >= -1.0).all()


def test_lines_horizontal_vertical_diagonal():
    buf = R.canvas(8, 8)
    ext = (0.0, 8.0, 0.0, 8.0)  # one data unit per pixel; pixel (r, c) has y = 8 - r
    R.lines(buf, [[0.5, 7.5], [6.5, 7.5]], [[7.5, 7.5], [6.5, 0.5]], (255, 255, 255), ext)
    got = painted(buf)
    assert {(0, c) for c in range(8)} <= got and {(r, 6) for r in range(8)} <= got
    assert len(got) == 15
    buf = R.canvas(8, 8)
    R.polyline(buf, [[0.5, 7.5], [7.5, 0.5]], (255, 255, 255), ext)
    assert painted(buf) == {(i, i) for i in range(8)}


def test_arrow_has_shaft_and_head_near_the_tip():
    buf = R.canvas(20, 20)
    ext = (0.0, 20.0, 0.0, 20.0)
    R.arrows(buf, [[2.5, 10.5]], [[14.0, 0.0]], (255, 255, 255), ext, head=3)
    got = painted(buf)
    assert {(9, c) for c in range(2, 17)} <= got  # the shaft, left to right
    barbs = got - {(9, c) for c in range(20)}
    assert barbs and all(c < 16 and abs(r - 9) <= 3 for r, c in barbs)
    assert any(r < 9 for r, _ in barbs) and any(r > 9 for r, _ in barbs)


def test_image_grid_layout_grayscale_and_signed_range():
    imgs = np.stack([np.full((2, 3), v, np.float32) for v in (-1.0, 0.0, 1.0)])
    out = R.image_grid(imgs, cols=2, pad=1, value_range=(-1, 1), pad_color=(7, 7, 7))
    assert out.shape == (1 + 2 * 3, 1 + 2 * 4, 3)
    ref = np.full(out.shape, 7, np.uint8)
    for k, level in enumerate((0, 128, 255)):
        r, c = 1 + (k // 2) * 3, 1 + (k % 2) * 4
        ref[r : r + 2, c : c + 3] = level
    assert np.array_equal(out, ref)


def test_image_grid_rgb_default_columns():
    rng = np.random.default_rng(2)
    imgs = rng.uniform(size=(5, 4, 4, 3)).astype(np.float32)
    out = R.image_grid(imgs, pad=0)
    assert out.shape == (2 * 4, 3 * 4, 3)  # ceil(sqrt(5)) = 3 columns, 2 rows
    ref = np.rint(imgs[4] * 255).astype(np.uint8)
    assert np.abs(out[4:8, 4:8].astype(int) - ref).max() <= 1


def test_upscale_and_resize_match_numpy():
    rng = np.random.default_rng(3)
    buf = rng.integers(0, 256, size=(3, 4, 3), dtype=np.uint8)
    assert np.array_equal(R.upscale(buf, 3), buf.repeat(3, axis=0).repeat(3, axis=1))
    out = R.resize_nearest(buf, 5, 7)
    ri, ci = (np.arange(5) * 3) // 5, (np.arange(7) * 4) // 7
    assert np.array_equal(out, buf[ri][:, ci])


def test_quantize_bounds_the_colour_count():
    rng = np.random.default_rng(4)
    buf = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    assert R.count_colors(buf) > 3000
    q = R.quantize(buf, 6)
    assert R.count_colors(q) <= 6**3
    assert np.abs(q.astype(int) - buf).max() <= 26  # half a step of 255/5
    levels = np.rint(np.arange(6) * 51.0)
    assert np.isin(q, levels).all()


def test_quantize_to_palette_picks_nearest_colour():
    rng = np.random.default_rng(5)
    buf = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    pal = R.SEQUENTIAL[::51]
    out = R.quantize_to_palette(buf, pal)
    d = ((buf[:, :, None, :].astype(int) - pal[None, None].astype(int)) ** 2).sum(-1)
    assert np.array_equal(out, pal[d.argmin(-1)])
    assert R.count_colors(out) <= len(pal)


def test_lines_reaching_far_outside_keep_their_visible_part():
    ext = (0.0, 8.0, 0.0, 8.0)
    buf = R.canvas(8, 8)
    R.lines(buf, [[-1e6, 4.5]], [[1e6, 4.5]], (255, 255, 255), ext)
    assert painted(buf) == {(3, c) for c in range(8)}
    buf = R.canvas(8, 8)
    R.arrows(buf, [[0.5, 7.5]], [[1e30, -1e30]], (255, 255, 255), ext)
    assert painted(buf) == {(i, i) for i in range(8)}
    buf = R.canvas(8, 8)
    R.lines(buf, [[-5.0, -5.0]], [[-1.0, 20.0]], (255, 255, 255), ext)
    assert painted(buf) == set()
