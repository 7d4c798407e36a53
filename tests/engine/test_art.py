"""engine.art: the seeded CPPN painter against a plain float64 reference, determinism
(in one process and across two), the recipe line's round trip and its error messages."""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine import art, png

ROOT = Path(__file__).resolve().parents[2]


def reference_outputs(r: art.Recipe, height: int, width: int) -> np.ndarray:
    """The CPPN written out plainly in float64: pixel grid, fold, one layer at a time,
    each unit's function chosen by the activation's rule, tanh squashed to (0, 1)."""
    net = art.network(r)
    unit = min(height, width) / 2
    out = np.empty((height, width, 3))
    angle = 2 * math.pi * r.t / art.DRIFT_STEPS
    z = math.cos(angle) * net.loop[0] + math.sin(angle) * net.loop[1]
    funcs = {"sin": np.sin, "tanh": np.tanh, "gauss": lambda a: 2 * np.exp(-a * a) - 1}
    for row in range(height):
        for col in range(width):
            x = (col + 0.5 - width / 2) / unit / r.zoom
            y = (height / 2 - row - 0.5) / unit / r.zoom
            if r.symmetry in ("mirror", "quad"):
                x = abs(x)
            if r.symmetry == "quad":
                y = abs(y)
            if r.symmetry.startswith("radial"):
                k = int(r.symmetry[-1])
                rad, a = math.hypot(x, y), (math.atan2(y, x) + math.pi / 2) % (2 * math.pi / k)
                a = abs(a - math.pi / k)
                x, y = rad * math.sin(a), rad * math.cos(a)
            h = np.array([x, y, math.hypot(x, y)]) * art.INPUT_SCALE
            for i, (w, b) in enumerate(net.layers[:-1]):
                a = h @ w + b + (z @ net.latent_in if i == 0 else 0)
                if r.activation == "mix":
                    third = [round(len(a) * k / 3) for k in range(4)]
                    h = np.concatenate(
                        [
                            funcs[name](a[third[k] : third[k + 1]])
                            for k, name in enumerate(("sin", "tanh", "gauss"))
                        ]
                    )
                else:
                    h = funcs[r.activation](a)
            w, b = net.layers[-1]
            out[row, col] = 0.5 + 0.5 * np.tanh(h @ w + b)
    return out


@pytest.mark.parametrize(
    "recipe",
    [
        art.Recipe(seed=3, depth=2, width=7, t=17),
        art.Recipe(seed=11, activation="sin", symmetry="quad", zoom=0.5, depth=3, width=5),
        art.Recipe(seed=5, activation="gauss", symmetry="radial-5", zoom=2.0, depth=1, width=4),
        art.Recipe(seed=8, activation="tanh", symmetry="mirror", depth=5, width=9, t=239),
    ],
)
def test_outputs_match_the_float64_reference(recipe):
    got = art.outputs(recipe, 9, 14)  # not square, odd height: the grid is tested too
    assert got.shape == (9, 14, 3) and got.dtype == np.float32
    np.testing.assert_allclose(got, reference_outputs(recipe, 9, 14), atol=2e-5)


def test_chunks_do_not_change_the_picture(monkeypatch):
    r = art.Recipe(seed=9)
    whole = art.render(r, 40, 30)
    monkeypatch.setattr(art, "CHUNK_ROWS", 7 * 30)  # 7 rows a chunk, the last one short
    np.testing.assert_allclose(art.outputs(r, 40, 30), reference_outputs(r, 40, 30), atol=2e-5)
    assert np.abs(art.render(r, 40, 30).astype(int) - whole).max() <= 1


def test_colour_rgb_and_palette():
    values = np.array([[[0.0, 0.0, 1.0], [1.0, 1.0, 0.5]]], np.float32)
    np.testing.assert_array_equal(art.colour(values, "rgb"), [[[0, 0, 255], [255, 255, 128]]])
    mono = art.colour(values, "mono")  # output 0 picks the colour, output 1 shades it
    np.testing.assert_array_equal(mono, [[[5, 5, 5], [250, 250, 250]]])  # 8 * 0.6, 250 * 1.0
    table = art.palette_table("ember")
    np.testing.assert_allclose(table[0], art.PALETTE_STOPS["ember"][0])
    np.testing.assert_allclose(table[-1], art.PALETTE_STOPS["ember"][-1])


def test_same_recipe_same_bytes_and_a_fresh_network_each_time():
    r = art.Recipe(seed=42, palette="neon", symmetry="radial-8")
    first = art.render(r, 48)
    assert first.dtype == np.uint8 and first.shape == (48, 48, 3)
    assert art.render(replace(r), 48).tobytes() == first.tobytes()
    assert art.render(r, 48, net=art.network(r)).tobytes() == first.tobytes()
    assert art.fingerprint(first) == art.fingerprint(art.render(r, 48))
    other_net = art.network(replace(r, seed=1))  # a net of another seed is not used
    assert art.render(r, 48, net=other_net).tobytes() == first.tobytes()


def test_different_seeds_differ():
    pictures = [art.render(art.Recipe(seed=s), 32) for s in range(8)]
    for i in range(8):
        for j in range(i + 1, 8):
            changed = (pictures[i] != pictures[j]).any(axis=2).mean()
            assert changed > 0.5, (i, j, changed)
    assert len({art.fingerprint(p) for p in pictures}) == 8


def test_every_setting_changes_the_picture():
    base = art.Recipe(seed=4)
    picture = art.render(base, 32)
    for change in (
        dict(palette="ocean"),
        dict(symmetry="quad"),
        dict(zoom=2.0),
        dict(depth=5),
        dict(width=12),
        dict(activation="sin"),
        dict(t=60),
    ):
        assert not np.array_equal(art.render(replace(base, **change), 32), picture), change


def test_symmetries_are_exact():
    for seed in (1, 2):
        mirror = art.render(art.Recipe(seed=seed, symmetry="mirror"), 20, 32)
        np.testing.assert_array_equal(mirror, mirror[:, ::-1])
        quad = art.render(art.Recipe(seed=seed, symmetry="quad"), 20, 32)
        np.testing.assert_array_equal(quad, quad[::-1, ::-1])
        np.testing.assert_array_equal(quad, quad[:, ::-1])


def test_radial_fold_repeats_every_wedge():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=200).astype(np.float32), rng.normal(size=200).astype(np.float32)
    for k in (3, 5, 8):
        turn = 2 * math.pi / k
        xr = (x * math.cos(turn) - y * math.sin(turn)).astype(np.float32)
        yr = (x * math.sin(turn) + y * math.cos(turn)).astype(np.float32)
        a, b = art.fold(x, y, f"radial-{k}"), art.fold(xr, yr, f"radial-{k}")
        np.testing.assert_allclose(a, b, atol=1e-4)
        np.testing.assert_allclose(np.hypot(*a), np.hypot(x, y), rtol=1e-5)  # radius kept


def test_drift_moves_a_little_and_closes_its_loop():
    r = art.Recipe(seed=6)
    net = art.network(r)
    assert art.drift(r, art.DRIFT_STEPS) == r and art.drift(r, -1).t == art.DRIFT_STEPS - 1
    np.testing.assert_allclose(art.latent(net, art.DRIFT_STEPS), art.latent(net, 0), atol=1e-12)
    step = np.abs(art.outputs(art.drift(r), 32, 32) - art.outputs(r, 32, 32)).mean()
    far = np.abs(art.outputs(art.drift(r, 60), 32, 32) - art.outputs(r, 32, 32)).mean()
    assert 0 < step < far / 5  # one step is a small move


def test_any_size_shows_the_same_picture():
    """The shorter side always spans -1..1: a 2x larger render, averaged down, is close."""
    r = art.Recipe(seed=7, activation="tanh", depth=2)
    small = art.outputs(r, 24, 36)
    large = art.outputs(r, 48, 72).reshape(24, 2, 36, 2, 3).mean(axis=(1, 3))
    assert np.abs(small - large).mean() < 0.02
    coords = art.coordinates(r, 4, 8)
    assert coords[:, 1].max() == pytest.approx(0.75 * art.INPUT_SCALE)  # 4 rows: y in ±0.75
    assert coords[:, 0].max() == pytest.approx(1.75 * art.INPUT_SCALE)


def test_recipe_round_trips():
    rng = np.random.default_rng(1)
    for _ in range(200):
        r = art.Recipe(
            seed=int(rng.integers(0, 2**32)),
            palette=str(rng.choice(art.PALETTES)),
            symmetry=str(rng.choice(art.SYMMETRIES)),
            zoom=float(rng.uniform(*art.ZOOMS)),
            depth=int(rng.integers(1, 9)),
            width=int(rng.integers(2, 65)),
            activation=str(rng.choice(art.ACTIVATIONS)),
            t=int(rng.integers(0, art.DRIFT_STEPS)),
        )
        text = art.format_recipe(r)
        assert art.parse_recipe(text) == r
        assert art.format_recipe(art.parse_recipe(text)) == text
    assert (
        art.format_recipe(art.Recipe())
        == "art1:seed=42,pal=ember,sym=none,zoom=1,depth=4,width=16,act=mix,t=0"
    )


def test_partial_recipes_take_the_defaults():
    assert art.parse_recipe("pal=ocean, sym=quad") == art.Recipe(palette="ocean", symmetry="quad")
    assert art.parse_recipe("  art1:SEED=7 ") == art.Recipe(seed=7)
    assert art.parse_recipe("zoom=2", base=art.Recipe(seed=3)) == art.Recipe(seed=3, zoom=2.0)


@pytest.mark.parametrize(
    "text, says",
    [
        ("", "the recipe is empty"),
        ("art1:", "the recipe is empty"),
        ("art2:seed=1", "reads 'art1:' recipes"),
        ("seed", "'seed' is not a setting: write name=value"),
        ("seed=", "is not a setting"),
        ("seed=1,,pal=ocean", "'' is not a setting"),
        ("colour=red", "unknown setting 'colour' (the settings are seed, pal, sym"),
        ("seed=1,seed=2", "seed is given twice"),
        ("seed=abc", "seed='abc' is not a whole number"),
        ("seed=-1", "seed must be a whole number from 0 to 4294967295"),
        ("seed=4294967296", "seed must be"),
        ("pal=pink", "palette 'pink' is not one of ember, ocean, forest, neon, mono, rgb"),
        ("sym=radial-4", "symmetry 'radial-4' is not one of"),
        ("act=relu", "activation 'relu' is not one of mix, sin, tanh, gauss"),
        ("zoom=big", "zoom='big' is not a number"),
        ("zoom=nan", "is not a finite number"),
        ("zoom=0", "zoom must be a number from 0.05 to 20"),
        ("depth=0", "depth must be a whole number from 1 to 8"),
        ("width=65", "width must be a whole number from 2 to 64"),
        ("t=240", "t must be a whole number from 0 to 239"),
        ("depth=2.5", "depth='2.5' is not a whole number"),
    ],
)
def test_bad_recipes_say_what_is_wrong(text, says):
    with pytest.raises(art.RecipeError) as exc:
        art.parse_recipe(text)
    assert says in str(exc.value)


def test_bad_recipe_objects_and_sizes_are_refused():
    with pytest.raises(art.RecipeError, match="zoom must be"):
        art.Recipe(zoom=1)  # a whole number where a float belongs
    with pytest.raises(art.RecipeError, match="depth must be"):
        art.Recipe(depth=True)
    with pytest.raises(art.RecipeError, match="1 to 8192 pixels a side"):
        art.render(art.Recipe(), 0)


def _cli_png(tmp_path: Path, name: str, *args: str) -> bytes:
    out = tmp_path / name
    env = {"GENAI_TUTOR_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "tutor", "art", *args, "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return out.read_bytes()


def test_the_same_recipe_gives_byte_identical_pngs_in_two_processes(tmp_path):
    recipe = "art1:seed=42,pal=neon,sym=radial-5,zoom=1.5,depth=5,width=12,act=mix,t=33"
    first = _cli_png(tmp_path, "a.png", "--recipe", recipe, "--size", "64")
    second = _cli_png(tmp_path, "b.png", "--recipe", recipe, "--size", "64")
    assert first == second
    here = art.render(art.parse_recipe(recipe), 64)  # and the same as this process draws
    np.testing.assert_array_equal(png.read_png(tmp_path / "a.png"), here)
