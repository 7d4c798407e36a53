"""Fused numba primitives for training tiny models on the CPU.

Matmuls are not here: they go to BLAS through ``np.matmul(a, b, out=buf)`` (see nn.py).
Everything else in a training step is one pass over memory in a cached, GIL-releasing
kernel (declared with ``runtime.kernel``); where the work can be large (a wide batch's
activations, Adam over a big buffer) a ``prange`` twin (``runtime.parallel_kernel``) runs
above a measured size, through ``runtime.launch``:

* ``bias_act_forward``  z += b ; a = f(z)                       (one pass)
* ``act_backward``      dz = da * f'(z) ; db = sum_rows(dz)     (one pass)
* ``mse_loss``, ``bce_with_logits``, ``least_squares``: loss value and its gradient
* ``adam_step``, ``sgd_step``: one update over a whole flat parameter buffer

Conventions: arrays are float32 and C-contiguous; 2-D arrays are (batch, features);
scalars are Python floats/ints (this keeps one compiled signature per kernel).
Loss kernels return ``scale * mean(loss)`` and write ``scale * d(mean loss)/d(pred)``
into ``grad``; ``scale`` lets a caller flip or weight a loss without another pass.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from . import runtime
from .runtime import kernel, parallel_kernel, register_warmup

# Activation codes (ints, so kernels branch on a constant instead of a Python object).
IDENTITY, RELU, LEAKY_RELU, SILU, TANH, SIGMOID = range(6)
ACTIVATIONS = {
    "identity": IDENTITY,
    "relu": RELU,
    "leaky_relu": LEAKY_RELU,
    "silu": SILU,
    "tanh": TANH,
    "sigmoid": SIGMOID,
}

# float32 constants: a bare Python float would promote the arithmetic to float64.
_F = np.float32
ZERO, HALF, ONE = _F(0.0), _F(0.5), _F(1.0)

# tanh(x) as an odd rational minimax approximation p(x)/q(x) (degrees 13/6), the
# published constants of Eigen's float tanh; max error ~2e-7 (a few float32 ulp).
# Unlike libm's tanh/exp (not vectorised by numba without SVML: 10-20 ns each),
# it is multiply-adds and one division, so the loops vectorise.
_TANH_CLAMP = _F(7.90531110763549805)  # tanh rounds to +-1 in float32 beyond this
_A13, _A11, _A9, _A7 = (
    _F(-2.76076847742355e-16),
    _F(2.00018790482477e-13),
    _F(-8.60467152213735e-11),
    _F(5.12229709037114e-08),
)
_A5, _A3, _A1 = _F(1.48572235717979e-05), _F(6.37261928875436e-04), _F(4.89352455891786e-03)
_B6, _B4, _B2, _B0 = (
    _F(1.19825839466702e-06),
    _F(1.18534705686654e-04),
    _F(2.26843463243900e-03),
    _F(4.89352518554385e-03),
)


@kernel
def fast_tanh(x):
    """float32 tanh, vectorisable (see the constants above)."""
    x = min(max(x, -_TANH_CLAMP), _TANH_CLAMP)
    x2 = x * x
    p = (((((_A13 * x2 + _A11) * x2 + _A9) * x2 + _A7) * x2 + _A5) * x2 + _A3) * x2 + _A1
    q = ((_B6 * x2 + _B4) * x2 + _B2) * x2 + _B0
    return x * p / q


@kernel
def fast_sigmoid(x):
    """sigmoid(x) = (1 + tanh(x/2)) / 2 in float32 (absolute error ~1e-7)."""
    return HALF + HALF * fast_tanh(HALF * x)


@kernel
def _act(z, act, slope):
    if act == RELU:
        return z if z > ZERO else ZERO
    if act == LEAKY_RELU:
        return z if z > ZERO else slope * z
    if act == SILU:
        return z * fast_sigmoid(z)
    if act == TANH:
        return fast_tanh(z)
    if act == SIGMOID:
        return fast_sigmoid(z)
    return z


@kernel
def _act_grad(z, a, act, slope):
    """f'(z), using the stored output a = f(z) where that is cheaper."""
    if act == RELU:
        return ONE if z > ZERO else ZERO
    if act == LEAKY_RELU:
        return ONE if z > ZERO else slope
    if act == SILU:
        s = fast_sigmoid(z)
        return s * (ONE + z * (ONE - s))
    if act == TANH:
        return ONE - a * a
    if act == SIGMOID:
        return a * (ONE - a)
    return ONE


def _specialise(act: int):
    """Kernels with the activation frozen in as a constant.

    A branch on a run-time ``act`` inside the element loop stops vectorisation
    (measured 7x slower), so each activation gets its own compiled loops; numba's
    cache keys them by the captured constant.
    """

    @kernel
    def forward(z, b, a, slope):
        if a.shape != z.shape or b.shape[0] != z.shape[1]:
            raise ValueError("bias_act_forward: shapes of z, b, a do not match")
        s = _F(slope)
        n, m = z.shape
        for i in range(n):
            for j in range(m):
                v = z[i, j] + b[j]
                z[i, j] = v
                a[i, j] = _act(v, act, s)

    @parallel_kernel
    def forward_parallel(z, b, a, slope):
        if a.shape != z.shape or b.shape[0] != z.shape[1]:
            raise ValueError("bias_act_forward: shapes of z, b, a do not match")
        s = _F(slope)
        n, m = z.shape
        for i in prange(n):
            for j in range(m):
                v = z[i, j] + b[j]
                z[i, j] = v
                a[i, j] = _act(v, act, s)

    @kernel
    def backward(da, z, a, slope, dz, db, accumulate):
        if z.shape != da.shape or a.shape != da.shape or dz.shape != da.shape or db.shape[0] != da.shape[1]:
            raise ValueError("act_backward: shapes of da, z, a, dz, db do not match")
        s = _F(slope)
        n, m = da.shape
        if not accumulate:
            db[:] = ZERO
        for i in range(n):
            for j in range(m):
                g = da[i, j] * _act_grad(z[i, j], a[i, j], act, s)
                dz[i, j] = g
                db[j] += g

    @runtime.twin_of(forward, forward_parallel)
    def forward_twin(z, b, a, slope):
        if a.shape != z.shape or b.shape[0] != z.shape[1]:
            raise ValueError("bias_act_forward: shapes of z, b, a do not match")
        z += b
        a[...] = _act_numpy(z, act, _F(slope))

    @runtime.twin_of(backward)
    def backward_twin(da, z, a, slope, dz, db, accumulate):
        if z.shape != da.shape or a.shape != da.shape or dz.shape != da.shape or db.shape[0] != da.shape[1]:
            raise ValueError("act_backward: shapes of da, z, a, dz, db do not match")
        g = da * _act_grad_numpy(z, a, act, _F(slope))
        dz[...] = g
        if accumulate:
            db += g.sum(axis=0, dtype=np.float32)
        else:
            db[:] = g.sum(axis=0, dtype=np.float32)

    return forward, backward, forward_parallel


def _sigmoid_numpy(z):
    return HALF + HALF * np.tanh(HALF * z)


def _act_numpy(z, act: int, slope):
    """The activations in plain numpy (float32 in, float32 out): the twins' f(z)."""
    if act == RELU:
        return np.maximum(z, ZERO)
    if act == LEAKY_RELU:
        return np.where(z > ZERO, z, slope * z)
    if act == SILU:
        return z * _sigmoid_numpy(z)
    if act == TANH:
        return np.tanh(z)
    if act == SIGMOID:
        return _sigmoid_numpy(z)
    return z


def _act_grad_numpy(z, a, act: int, slope):
    if act == RELU:
        return (z > ZERO).astype(np.float32)
    if act == LEAKY_RELU:
        return np.where(z > ZERO, ONE, slope).astype(np.float32)
    if act == SILU:
        s = _sigmoid_numpy(z)
        return s * (ONE + z * (ONE - s))
    if act == TANH:
        return ONE - a * a
    if act == SIGMOID:
        return a * (ONE - a)
    return np.ones_like(z)


_SPECIALISED = [_specialise(code) for code in range(len(ACTIVATIONS))]


# Sizes (elements) from which the parallel twin runs. The rule: the serial pass must
# take >= ~100 us, 3-5x what waking a sleeping (PASSIVE) OpenMP worker costs. Serial
# cost per element from ``python benchmarks/bench_scaling.py --thresholds`` (2 cores):
# Adam ~0.45 ns, bias + SiLU ~1 ns.
BIAS_ACT_PARALLEL_MIN = 128 * 1024
ADAM_PARALLEL_MIN = 256 * 1024


def bias_act_forward(z, b, a, act: int, slope: float = 0.2) -> None:
    """z[i, j] += b[j]; a[i, j] = f(z[i, j]). ``a`` may be ``z`` itself."""
    kernels = _SPECIALISED[act]
    runtime.launch(kernels[2], kernels[0], z.size, BIAS_ACT_PARALLEL_MIN, z, b, a, slope)


def act_backward(da, z, a, act: int, slope: float, dz, db, accumulate: bool) -> None:
    """dz = da * f'(z); db (+)= column sums of dz. ``dz`` may be ``da`` itself."""
    _SPECIALISED[act][1](da, z, a, slope, dz, db, accumulate)


# ----------------------------------------------------------------------------- losses


@kernel
def mse_loss(pred, target, grad, scale):
    """mean((pred - target)^2) over all elements; grad = 2 (pred - target) / N."""
    if target.shape != pred.shape or grad.shape != pred.shape:
        raise ValueError("mse_loss: pred, target and grad shapes differ")
    n, m = pred.shape
    inv = 1.0 / (n * m)
    total = 0.0
    for i in range(n):
        for j in range(m):
            d = pred[i, j] - target[i, j]
            total += float(d) * float(d)
            grad[i, j] = scale * 2.0 * inv * d
    return scale * total * inv


@runtime.twin_of(mse_loss)
def _mse_loss_twin(pred, target, grad, scale):
    if target.shape != pred.shape or grad.shape != pred.shape:
        raise ValueError("mse_loss: pred, target and grad shapes differ")
    inv = 1.0 / pred.size
    d = pred - target
    grad[...] = scale * 2.0 * inv * d
    return scale * float(np.sum(d.astype(np.float64) ** 2)) * inv


@kernel
def bce_with_logits(logits, target, grad, scale):
    """Binary cross-entropy of sigmoid(logits) against targets in [0, 1], mean.

    Stable form: max(x, 0) - x*y + log(1 + exp(-|x|)); never overflows, so huge
    logits give a finite loss. grad = (sigmoid(x) - y) / N.
    """
    if target.shape != logits.shape or grad.shape != logits.shape:
        raise ValueError("bce_with_logits: logits, target and grad shapes differ")
    n, m = logits.shape
    inv = 1.0 / (n * m)
    total = 0.0
    for i in range(n):
        for j in range(m):
            x = float(logits[i, j])
            y = float(target[i, j])
            e = math.exp(-abs(x))
            total += max(x, 0.0) - x * y + math.log1p(e)
            sig = 1.0 / (1.0 + e) if x >= 0.0 else e / (1.0 + e)
            grad[i, j] = scale * inv * (sig - y)
    return scale * total * inv


@runtime.twin_of(bce_with_logits)
def _bce_with_logits_twin(logits, target, grad, scale):
    if target.shape != logits.shape or grad.shape != logits.shape:
        raise ValueError("bce_with_logits: logits, target and grad shapes differ")
    x, y = logits.astype(np.float64), target.astype(np.float64)
    inv = 1.0 / x.size
    e = np.exp(-np.abs(x))
    total = float(np.sum(np.maximum(x, 0.0) - x * y + np.log1p(e)))
    grad[...] = scale * inv * (np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e)) - y)
    return scale * total * inv


@kernel
def least_squares(pred, target, grad, scale):
    """Least-squares GAN loss 0.5 * mean((pred - target)^2) for a scalar target."""
    if grad.shape != pred.shape:
        raise ValueError("least_squares: pred and grad shapes differ")
    n, m = pred.shape
    inv = 1.0 / (n * m)
    total = 0.0
    for i in range(n):
        for j in range(m):
            d = float(pred[i, j]) - target
            total += d * d
            grad[i, j] = scale * inv * d
    return scale * 0.5 * total * inv


@runtime.twin_of(least_squares)
def _least_squares_twin(pred, target, grad, scale):
    if grad.shape != pred.shape:
        raise ValueError("least_squares: pred and grad shapes differ")
    inv = 1.0 / pred.size
    d = pred.astype(np.float64) - target
    grad[...] = scale * inv * d
    return scale * 0.5 * float(np.sum(d * d)) * inv


# ------------------------------------------------------------------------- optimizers


@kernel
def adam_step(p, g, m, v, lr, beta1, beta2, eps, weight_decay, t):
    """One Adam step (t >= 1) over flat buffers, decoupled weight decay (AdamW).

    m = b1 m + (1-b1) g ; v = b2 v + (1-b2) g^2
    p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)  [+ lr * wd * p]
    """
    if g.shape != p.shape or m.shape != p.shape or v.shape != p.shape:
        raise ValueError("adam_step: p, g, m, v shapes differ")
    step = _F(lr / (1.0 - beta1**t))
    inv_sqrt_bc2 = _F(1.0 / math.sqrt(1.0 - beta2**t))
    decay = _F(1.0 - lr * weight_decay)
    b1, c1, b2, c2 = _F(beta1), _F(1.0 - beta1), _F(beta2), _F(1.0 - beta2)
    e = _F(eps)
    for i in range(p.shape[0]):
        gi = g[i]
        mi = b1 * m[i] + c1 * gi
        vi = b2 * v[i] + c2 * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] = p[i] * decay - step * mi / (math.sqrt(vi) * inv_sqrt_bc2 + e)


@parallel_kernel
def adam_step_parallel(p, g, m, v, lr, beta1, beta2, eps, weight_decay, t):
    """``adam_step`` with the elements shared over threads (same result, bit for bit)."""
    if g.shape != p.shape or m.shape != p.shape or v.shape != p.shape:
        raise ValueError("adam_step: p, g, m, v shapes differ")
    step = _F(lr / (1.0 - beta1**t))
    inv_sqrt_bc2 = _F(1.0 / math.sqrt(1.0 - beta2**t))
    decay = _F(1.0 - lr * weight_decay)
    b1, c1, b2, c2 = _F(beta1), _F(1.0 - beta1), _F(beta2), _F(1.0 - beta2)
    e = _F(eps)
    for i in prange(p.shape[0]):
        gi = g[i]
        mi = b1 * m[i] + c1 * gi
        vi = b2 * v[i] + c2 * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] = p[i] * decay - step * mi / (math.sqrt(vi) * inv_sqrt_bc2 + e)


@runtime.twin_of(adam_step, adam_step_parallel)
def _adam_step_twin(p, g, m, v, lr, beta1, beta2, eps, weight_decay, t):
    if g.shape != p.shape or m.shape != p.shape or v.shape != p.shape:
        raise ValueError("adam_step: p, g, m, v shapes differ")
    step = _F(lr / (1.0 - beta1**t))
    inv_sqrt_bc2 = _F(1.0 / math.sqrt(1.0 - beta2**t))
    decay = _F(1.0 - lr * weight_decay)
    m *= _F(beta1)
    m += _F(1.0 - beta1) * g
    v *= _F(beta2)
    v += _F(1.0 - beta2) * g * g
    p *= decay
    p -= step * m / (np.sqrt(v) * inv_sqrt_bc2 + _F(eps))


def adam(p, g, m, v, lr, beta1, beta2, eps, weight_decay, t) -> None:
    """``adam_step``, on every compute thread when the buffer is large enough."""
    runtime.launch(
        adam_step_parallel,
        adam_step,
        p.shape[0],
        ADAM_PARALLEL_MIN,
        p,
        g,
        m,
        v,
        lr,
        beta1,
        beta2,
        eps,
        weight_decay,
        t,
    )


@kernel
def sgd_step(p, g, buf, lr, momentum, weight_decay):
    """p -= lr * (g + wd p), with heavy-ball momentum buf = mu buf + g when mu > 0."""
    if g.shape != p.shape or buf.shape != p.shape:
        raise ValueError("sgd_step: p, g, buf shapes differ")
    rate, mu, wd = _F(lr), _F(momentum), _F(weight_decay)
    if momentum > 0.0:
        for i in range(p.shape[0]):
            gi = mu * buf[i] + g[i] + wd * p[i]
            buf[i] = gi
            p[i] -= rate * gi
    else:
        for i in range(p.shape[0]):
            p[i] -= rate * (g[i] + wd * p[i])


@runtime.twin_of(sgd_step)
def _sgd_step_twin(p, g, buf, lr, momentum, weight_decay):
    if g.shape != p.shape or buf.shape != p.shape:
        raise ValueError("sgd_step: p, g, buf shapes differ")
    rate, mu, wd = _F(lr), _F(momentum), _F(weight_decay)
    if momentum > 0.0:
        buf *= mu
        buf += g + wd * p
        p -= rate * buf
    else:
        p -= rate * (g + wd * p)


# ------------------------------------------------------------------------ utilities


@kernel
def all_finite(x):
    """True when no element of the flat array is NaN or +-inf."""
    for i in range(x.shape[0]):  # noqa: SIM110 - a numba kernel: a loop, not all() over a generator
        if not math.isfinite(x[i]):
            return False
    return True


@runtime.twin_of(all_finite)
def _all_finite_twin(x):
    return bool(np.isfinite(x).all())


def warm_up_activations(*names: str) -> None:
    """Compile (or load) the bias+activation kernels of the named activations: forward,
    backward, and the parallel twin when more than one thread can run it.

    Each activation is its own set of compiled loops (see ``_specialise``), so a family's
    warm-up names only the activations its models use: a lab opened cold compiles those
    and nothing else (the others compile at their first use)."""
    f = np.float32
    z = np.ones((2, 3), f)
    a = np.empty_like(z)
    b = np.zeros(3, f)
    g = np.empty_like(z)
    for name in names:
        act = ACTIVATIONS[name]
        bias_act_forward(z, b, a, act, 0.2)
        act_backward(z, z, a, act, 0.2, g, b, False)
        if runtime.parallel_possible():
            _SPECIALISED[act][2](z, b, a, 0.2)


def _warm_up() -> None:
    """What every model uses: the output layer's identity and Adam. Losses and hidden
    activations compile in the warm-ups of the families that use them."""
    f = np.float32
    warm_up_activations("identity")
    p = np.zeros(4, f)
    adam_step(p, p.copy(), p.copy(), p.copy(), 1e-3, 0.9, 0.999, 1e-8, 0.0, 1)
    if runtime.parallel_possible():
        adam_step_parallel(p, p.copy(), p.copy(), p.copy(), 1e-3, 0.9, 0.999, 1e-8, 0.0, 1)
    sgd_step(p, p.copy(), p.copy(), 1e-3, 0.9, 0.0)
    all_finite(p)


register_warmup("kernels", _warm_up)
