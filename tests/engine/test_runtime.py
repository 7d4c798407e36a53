"""Runtime configuration (no timing assertions: speed lives in benchmarks/)."""

import json
import os
import subprocess
import sys

import numba

from engine import kernels as K
from engine import runtime


def test_configured_layer_wait_policy_and_blas():
    cfg = runtime.configured()
    assert cfg["threading_layer"] == runtime.LAYER in ("omp", "workqueue")
    assert cfg["omp_wait_policy"] == "PASSIVE"
    assert cfg["parallel_kernels"] is True
    assert (
        cfg["blas_threads"] in (None, runtime.DEFAULT_BLAS_THREADS)
        or os.environ.get("GENAI_TUTOR_BLAS_THREADS")
        or os.environ.get("OPENBLAS_NUM_THREADS")
    )


def test_importing_an_engine_module_configures_before_numba():
    """In a fresh process with a clean environment, importing engine.nn alone is enough."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "NUMBA_THREADING_LAYER",
            "OMP_WAIT_POLICY",
            "OPENBLAS_NUM_THREADS",
            "GENAI_TUTOR_BLAS_THREADS",
        )
    }
    code = (
        "import json, os, engine.nn, numba; from engine import runtime; "
        "print(json.dumps([numba.config.THREADING_LAYER, os.environ['OMP_WAIT_POLICY'],"
        " runtime.configured()['blas_threads']]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    layer, policy, blas = json.loads(out)
    assert layer in ("omp", "workqueue") and policy == "PASSIVE"
    assert blas in (None, 1)


def test_kernels_are_cached_and_nogil_and_only_twins_are_parallel():
    dispatchers = [
        getattr(K, n) for n in dir(K) if isinstance(getattr(K, n), numba.core.registry.CPUDispatcher)
    ]
    dispatchers += [f for trio in K._SPECIALISED for f in trio]
    assert len(dispatchers) > 10
    parallel = {K.adam_step_parallel} | {trio[2] for trio in K._SPECIALISED}
    for d in dispatchers:
        assert bool(d.targetoptions.get("parallel")) == (d in parallel), d
        assert d.targetoptions.get("nogil") is True, d
        assert type(d._cache).__name__ == "FunctionCache", d


def test_warm_up_reports_progress_and_runs_registered():
    calls = []
    ran = []
    runtime.register_warmup("test.extra", lambda: ran.append(1))
    try:
        seconds = runtime.warm_up(lambda done, total, name: calls.append((done, total, name)))
    finally:
        runtime._WARMUPS.pop("test.extra")
    assert seconds >= 0.0 and ran == [1]
    names = [c[2] for c in calls]
    assert {"kernels", "nn", "test.extra"} <= set(names)
    total = calls[0][1]
    assert [c[0] for c in calls] == list(range(total + 1))
    assert calls[-1] == (total, total, "done")


def test_set_blas_threads_round_trip():
    before = runtime.blas_threads()
    if before is None:
        assert runtime.set_blas_threads(1) is False
        return
    try:
        assert runtime.set_blas_threads(2)
        assert runtime.blas_threads() == 2
    finally:
        runtime.set_blas_threads(before)


def test_a_bad_blas_thread_setting_is_one_warning_not_a_crash():
    from engine.runtime import DEFAULT_BLAS_THREADS, blas_threads_from_env

    assert blas_threads_from_env({"GENAI_TUTOR_BLAS_THREADS": "2"}) == (2, None)
    threads, problem = blas_threads_from_env({"GENAI_TUTOR_BLAS_THREADS": "abc"})
    assert threads == DEFAULT_BLAS_THREADS and "'abc'" in problem
    assert blas_threads_from_env({"OPENBLAS_NUM_THREADS": "0"})[1] is not None
    assert blas_threads_from_env({}) == (DEFAULT_BLAS_THREADS, None)
