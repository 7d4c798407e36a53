"""2-D toy datasets and the learner's own points."""

import numpy as np
import pytest

from engine import data


@pytest.mark.parametrize("name", list(data.TOYS))
def test_toys_are_deterministic_float32_and_inside_the_view(name):
    a = data.toy(name, n=1000, seed=3)
    b = data.toy(name, n=1000, seed=3)
    c = data.toy(name, n=1000, seed=4)
    assert a.points.shape == (1000, 2) and a.points.dtype == np.float32
    np.testing.assert_array_equal(a.points, b.points)
    assert not np.array_equal(a.points, c.points)
    lo, hi = data.VIEW
    inside = np.all((a.points > lo) & (a.points < hi), axis=1)
    assert inside.mean() > 0.998


@pytest.mark.parametrize("name,k", [("ring", 8), ("grid", 25)])
def test_blob_toys_report_modes_and_std(name, k):
    toy = data.toy(name, n=5000, seed=0)
    assert toy.modes.shape == (k, 2) and toy.std > 0
    d = np.sqrt(((toy.points[:, None] - toy.modes[None]) ** 2).sum(-1))
    nearest = d.argmin(1)
    assert np.bincount(nearest, minlength=k).min() >= 5000 // k - 1
    assert d.min(1).max() < 6 * toy.std
    # per-axis spread matches the stated std
    offsets = toy.points - toy.modes[nearest]
    assert offsets.std(0) == pytest.approx([toy.std, toy.std], rel=0.1)


def test_ring_modes_lie_on_the_circle():
    toy = data.ring(n=16, radius=1.5)
    np.testing.assert_allclose(np.hypot(*toy.modes.T), 1.5, rtol=1e-6)


def test_continuous_toys_have_no_modes():
    for name in ("moons", "spiral", "line"):
        toy = data.toy(name, n=10)
        assert toy.modes is None and toy.std is None


def test_unknown_toy():
    with pytest.raises(ValueError, match="choose from"):
        data.toy("swissroll")


def test_from_points_validates():
    toy = data.from_points([[0, 1], [2, 3]])
    assert toy.points.dtype == np.float32 and toy.name == "custom"
    with pytest.raises(ValueError, match="shape"):
        data.from_points([1, 2, 3])
    with pytest.raises(ValueError, match="at least 2"):
        data.from_points([[0, 0]])
    with pytest.raises(ValueError, match="finite"):
        data.from_points([[0, 0], [np.nan, 1]])


def test_load_csv_with_header_and_comments(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("x,y\n# my points\n0.5, 1\n\n-1,2  # a comment\n3;4\n")
    toy = data.load_csv(path)
    np.testing.assert_array_equal(toy.points, [[0.5, 1], [-1, 2], [3, 4]])
    assert toy.name == "mine"


@pytest.mark.parametrize(
    "text,line,words",
    [
        ("0,0\n1,1\n2,banana\n", 3, "not two numbers"),
        ("0,0\n1,2,3\n", 2, "expected two numbers"),
        ("x,y\n0,0\nnan,1\n", 3, "not a finite point"),
        ("0,0\n5\n", 2, "expected two numbers"),
    ],
)
def test_load_csv_bad_line_is_named(tmp_path, text, line, words):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=f"bad.csv:{line}: .*") as err:
        data.load_csv(path)
    assert words in str(err.value)


def test_load_csv_missing_or_too_small(tmp_path):
    with pytest.raises(ValueError, match="cannot read"):
        data.load_csv(tmp_path / "nope.csv")
    path = tmp_path / "one.csv"
    path.write_text("x,y\n1,2\n")
    with pytest.raises(ValueError, match="at least 2 points"):
        data.load_csv(path)


def test_moons_bridge_links_the_two_moons():
    plain = data.toy("moons", 4000).points
    bridged = data.toy("moons-bridge", 4000).points
    # the middle of the bridge, between the moons' tips: empty without it
    centre = np.array([0.0, 0.0])
    near = lambda pts: (np.hypot(*(pts - centre).T) < 0.15).sum()  # noqa: E731
    assert near(plain) < 5 and near(bridged) > 30


def test_load_csv_refuses_what_is_not_a_regular_file(tmp_path):
    import os

    with pytest.raises(ValueError, match="not a regular file"):
        data.load_csv(tmp_path)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # opening a FIFO with no writer would block: must be refused first
    with pytest.raises(ValueError, match="not a regular file"):
        data.load_csv(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        data.load_csv("/dev/zero")


def test_load_csv_size_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "MAX_CSV_BYTES", 100)
    path = tmp_path / "big.csv"
    path.write_text("1,2\n" * 40)
    with pytest.raises(ValueError, match="limit is"):
        data.load_csv(path)


def test_load_csv_overflow_is_reported_with_its_line(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text("x,y\n0,0\n1e300,1\n")
    with pytest.raises(ValueError, match=r"huge.csv:3: '1e300,1' is too large"):
        data.load_csv(path)
    path.write_text("0,0\n1,1e400\n")
    with pytest.raises(ValueError, match="huge.csv:2: .*not a finite point"):
        data.load_csv(path)


def test_resolve_names_and_csv(tmp_path):
    assert data.resolve("ring").name == "ring"
    path = tmp_path / "letter.csv"
    path.write_text("0,0\n1,1\n2,0\n")
    toy = data.resolve(f"csv:{path}")
    assert toy.name == "letter" and len(toy.points) == 3
    assert data.dataset_label(f"csv:{path}") == "csv-letter"
    assert data.dataset_label("moons-bridge") == "moons-bridge"
    with pytest.raises(ValueError, match="csv:FILE"):
        data.resolve("swissroll")
    with pytest.raises(ValueError, match="needs a file name"):
        data.resolve("csv:")
