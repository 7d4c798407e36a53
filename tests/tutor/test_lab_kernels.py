"""Every lab declares the engine warm-ups its first frame needs, and they exist."""

import importlib

import pytest

from engine import runtime
from tutor import labs


@pytest.mark.parametrize("lab_id", sorted(labs.LABS))
def test_each_lab_names_registered_warm_ups(lab_id):
    module_name, _, class_name = labs.LABS[lab_id].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not cls.WARM_UP:
        return
    assert cls.KERNELS, f"{lab_id} would compile every kernel in the engine"
    runtime._import_engine_modules(cls.KERNELS)
    assert set(cls.KERNELS) <= set(runtime.registered()), lab_id
