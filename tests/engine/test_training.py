"""The shared training loops: chunking, progress, the mean loss and divergence."""

from __future__ import annotations

import math

import pytest

from engine import training


def test_in_chunks_covers_every_step_once_and_reports_progress():
    asked, seen = [], []
    results, seconds = training.in_chunks(
        lambda k: asked.append(k) or k * 10, 250, lambda done, total: seen.append((done, total)), chunk=100
    )
    assert asked == [100, 100, 50]
    assert results == [1000, 1000, 500]
    assert seen == [(100, 250), (200, 250), (250, 250)]
    assert seconds >= 0.0


def test_in_chunks_with_no_steps_does_nothing_and_refuses_a_bad_chunk():
    assert training.in_chunks(lambda k: pytest.fail("called"), 0)[0] == []
    with pytest.raises(ValueError, match="chunk"):
        training.in_chunks(lambda k: k, 5, chunk=0)


def test_mean_loss_is_the_mean_of_the_steps_and_flags_divergence():
    losses = iter([1.0, 2.0, 6.0])
    count = [0]

    def step():
        count[0] += 1
        return next(losses)

    out = training.mean_loss(step, 3, lambda: count[0])
    assert out == {"loss": 3.0, "steps": 3, "diverged": False}
    bad = training.mean_loss(lambda: math.nan, 2, lambda: 2)
    assert bad["diverged"] and math.isnan(bad["loss"])
    assert training.mean_loss(lambda: 1.0, 0, lambda: 0)["loss"] == 0.0
