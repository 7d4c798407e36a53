"""The labs: each "Try it" lab is a screen that drives one engine model.

Labs are registered here by id as "module:Class" strings and imported only when opened,
so the Home screen never pays for numpy, numba or the engine. A lab id that the course
names but that has no entry here shows as "coming soon" on its lesson's card.
"""

from __future__ import annotations

import importlib

from textual.screen import Screen

LABS: dict[str, str] = {}
LABS["diffusion-forward"] = "tutor.labs.diffusion_forward:DiffusionForwardLab"
LABS["denoising"] = "tutor.labs.denoising:DenoisingLab"
LABS["temperature"] = "tutor.labs.temperature:TemperatureLab"
LABS["vae"] = "tutor.labs.vae:VaeLab"
LABS["gan-2d"] = "tutor.labs.gan2d:GanLab"
LABS["image-tokens"] = "tutor.labs.image_tokens:ImageTokensLab"
LABS["clip"] = "tutor.labs.clip:ClipLab"
LABS["families"] = "tutor.labs.families:FamiliesLab"
LABS["art"] = "tutor.labs.art:ArtLab"
LABS["grounding"] = "tutor.labs.grounding:GroundingLab"
LABS["metrics"] = "tutor.labs.metrics:MetricsLab"
LABS["text-to-image"] = "tutor.labs.text_to_image:TextToImageLab"


def available(lab_id: str) -> bool:
    return lab_id in LABS


def create(lab_id: str) -> Screen:
    """A fresh screen for the lab (imports its module on first use)."""
    module_name, _, class_name = LABS[lab_id].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls()
