"""Five families on one dataset: round-robin by time, the frame, saving each family."""

import math

import numpy as np
import pytest

from engine import data, families


def test_frame_is_identity_inside_the_view_and_fits_other_data():
    ring = data.toy("ring", 256)
    assert families.frame_for(ring.points) == families.Frame()
    far = ring.points * np.float32(40) + np.float32(1000)
    frame = families.frame_for(far)
    model = frame.to_model(far)
    assert np.abs(model).max() == pytest.approx(1.6, rel=1e-4)
    np.testing.assert_allclose(frame.to_data(model), far, rtol=1e-5)
    assert frame.log_det == pytest.approx(2 * math.log(frame.scale))


def test_nll_in_data_space_shifts_by_the_frame_jacobian():
    """Same points at two scales: same model-space training, NLL apart by 2 log 10."""
    base = data.toy("ring", 512).points * np.float32(3)  # outside the view
    a = families.Families(data.from_points(base), families=("autoregressive",))
    b = families.Families(data.from_points(base * np.float32(10)), families=("autoregressive",))
    for fam in (a, b):
        fam.members["autoregressive"].train_for(0.0)  # 5 identical steps
    np.testing.assert_allclose(a.points, b.points, atol=1e-5)
    assert b.nll("autoregressive") - a.nll("autoregressive") == pytest.approx(2 * math.log(10), abs=1e-3)


def test_round_robin_gives_every_family_the_same_time():
    fam = families.Families(
        data.toy("ring", 512), chunk_seconds=0.02, families=("autoregressive", "vae", "flow")
    )
    fam.train(0.2)
    spent = [m.seconds for m in fam.members.values()]
    assert min(spent) >= 0.2 and max(spent) < 0.2 + 0.3  # one chunk over at most
    assert all(m.steps > 0 for m in fam.members.values())
    for _ in range(6):  # the least-trained goes next (however long each chunk turned out)
        least = min(fam.members.values(), key=lambda m: m.seconds).family
        assert fam.train_chunk() == least


def test_table_rows_have_every_measure():
    fam = families.Families(data.toy("ring", 512), families=families.FAMILIES)
    for m in fam.members.values():
        m.train_for(0.0)
    rows = fam.table(n=256)
    assert [r["family"] for r in rows] == list(families.FAMILIES)
    for r in rows:
        assert {
            "samples_per_s",
            "precision",
            "coverage",
            "mmd",
            "modes_covered",
            "nll",
            "steps",
            "train_seconds",
        } <= set(r)
        assert 0 <= r["precision"] <= 1 and 0 <= r["coverage"] <= 1 and r["mmd"] >= 0
        assert r["modes_total"] == 8
        assert (r["nll"] is not None) == (r["family"] in families.EXACT_LIKELIHOOD)


@pytest.mark.parametrize("family", families.FAMILIES)
def test_each_family_saves_and_loads(tmp_path, family):
    toy = data.from_points(data.toy("moons", 256).points * np.float32(5))
    model, frame, _ = families.train_one(family, toy, 3, seed=2)
    path = families.save(family, model, frame, tmp_path / f"{family}.npz", dataset="x")
    back, back_frame, meta = families.load(family, path, frame.to_model(toy.points))
    assert back_frame == frame and meta["dataset"] == "x"
    np.testing.assert_array_equal(
        families.model_sample(family, back, 16, seed=3), families.model_sample(family, model, 16, seed=3)
    )


def test_unknown_family():
    with pytest.raises(ValueError, match="choose from"):
        families.Families(data.toy("ring", 64), families=("pixelcnn",))


def _row(family, precision, coverage, sps, nll=None, modes=None):
    return {
        "family": family,
        "precision": precision,
        "coverage": coverage,
        "samples_per_s": sps,
        "nll": nll,
        "modes_covered": modes,
        "modes_total": 8 if modes else None,
        "mmd": 0.0,
        "steps": 10,
        "diverged": False,
    }


def test_what_to_notice_follows_the_numbers():
    rows = [
        _row("autoregressive", 0.95, 0.95, 20000, nll=-0.4),
        _row("gan", 0.90, 0.45, 1e6, modes=5),
        _row("vae", 0.40, 0.60, 1e5),
        _row("diffusion", 0.88, 0.86, 800),
        _row("flow", 0.70, 0.75, 9000, nll=0.3),
    ]
    notes = families.what_to_notice(rows)
    assert notes[0].startswith("gan: sharp but incomplete") and "5 of 8 modes" in notes[0]
    assert notes[1].startswith("vae: blurry")
    assert notes[2].startswith("diffusion samples 1250x slower than gan")
    assert "autoregressive -0.40 and flow 0.30" in notes[3]
    # when every family is alike there is nothing to point at but the likelihoods
    same = [_row(f, 0.9, 0.9, 1000) for f in families.FAMILIES]
    assert families.what_to_notice(same) == []
