"""Acceptance: the shipped sprite diffusion model (content/weights/diffusion_sprites.npz).

DDIM at 50 steps: at least 90 % of 64 samples are recognised (valid shape and colour) by
the engine's sprite classifier, and none is a copy of a training image. DDPM at all
1000 steps is held to the same bar on the same number of samples. The model is
attribute-conditioned; ``sample`` draws the attributes from the seed and uses the
recipe's classifier-free guidance scale.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine import diffusion_recipes as recipes
from engine import image_metrics as im

N = 64


@pytest.fixture(scope="module")
def model():
    return recipes.pretrained("sprites")


@pytest.fixture(scope="module")
def train_images():
    return recipes.load_dataset("sprites")


@pytest.mark.parametrize("sampler, steps", [("ddim", 50), ("ddpm", 1000)])
def test_shipped_sprite_model_quality(model, train_images, sampler, steps):
    samples, _ = model.sample(N, steps=steps, sampler=sampler, seed=0)
    images = np.clip(samples, 0.0, 1.0)
    assert images.shape == (N, 16, 16, 3)
    accuracy = im.attribute_accuracy(images)
    assert accuracy >= 0.9, f"{sampler}-{steps}: attribute accuracy {accuracy:.2f}"
    copies = int(np.sum(im.copies(images, train_images)))
    assert copies == 0, f"{sampler}-{steps}: {copies} samples copy a training image"


@pytest.mark.parametrize("sampler, steps", [("ddim", 50), ("ddpm", 1000)])
def test_shipped_sprite_model_makes_no_copies(model, train_images, sampler, steps):
    samples, _ = model.sample(N, steps=steps, sampler=sampler, seed=0)
    assert int(np.sum(im.copies(np.clip(samples, 0.0, 1.0), train_images))) == 0


def test_shipped_weights_record_their_recipe(model):
    recipe = recipes.RECIPES["sprites"]
    assert model.info["dataset"] == "sprites" and model.steps == recipe["steps"]
    for field in (
        "shape",
        "hidden",
        "layers",
        "emb",
        "lr",
        "batch",
        "ema",
        "skip",
        "schedule",
        "cond",
        "p_uncond",
        "guidance",
    ):
        assert getattr(model.config, field) == getattr(recipe["config"], field), field


def test_shipped_2d_and_digit_models_load():
    ring = recipes.pretrained("ring")
    points, _ = ring.sample(800, steps=50, sampler="ddim", seed=0)
    quality = recipes.evaluate(ring, "ring", samples=points)
    assert quality["modes_covered"] == 8 and quality["high_quality"] > 0.8
    digits = recipes.pretrained("digits")
    images, _ = digits.sample(8, steps=20, seed=0)
    assert images.shape == (8, 8, 8, 1)
