"""Optimizer steps (sgd_, adam_) against the float64 references in reference_optim.py over
several steps, against torch.optim when importable, thread-count bit identity, and errors."""
import numpy as np
import pytest

import fusednet as fnet
from fusednet import ops

import reference_optim as ref

# 1, primes, around the 8/16-lane vectors and the 4096-element blocks, past the parallel threshold
SIZES = [0, 1, 7, 8, 9, 15, 16, 17, 31, 4095, 4097, 70001]

SGD_CONFIGS = [
    dict(lr=0.1),
    dict(lr=0.05, weight_decay=0.01),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.1, momentum=0.9, nesterov=True),
    dict(lr=0.03, momentum=0.5, nesterov=True, weight_decay=0.1),
]
ADAM_CONFIGS = [
    dict(lr=1e-3),
    dict(lr=1e-2, beta1=0.8, beta2=0.99, eps=1e-8),
    dict(lr=1e-2, weight_decay=0.1),                    # L2
    dict(lr=1e-2, weight_decay=0.1, decoupled=True),    # AdamW
    dict(lr=3e-3, beta1=0.0, beta2=0.5, eps=1e-3, weight_decay=0.5, decoupled=True),
]


def cfg_id(cfg):
    return "-".join(f"{k}={v}" for k, v in cfg.items())


def assert_close(got, want, what, rtol=1e-5, atol=2e-6):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    err = np.abs(got - want)
    bound = atol + rtol * np.abs(want)
    if want.size and not np.all(err <= bound):
        i = np.unravel_index(np.argmax(err - bound), err.shape)
        pytest.fail(f"{what}: max abs err {err.max():.3e}, worst at {i}: got {got[i]!r}, "
                    f"want {want[i]!r}")


def grads(rng, shape, steps):
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(steps)]


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("cfg", SGD_CONFIGS, ids=cfg_id)
def test_sgd_matches_reference(n, cfg, cpu_isa, rng):
    p = rng.standard_normal(n).astype(np.float32)
    vel = np.zeros_like(p)
    state = ref.new_state(p, "velocity")
    for g in grads(rng, n, 4):
        out = ops.sgd_(p, g, vel, **cfg)
        assert out is p
        ref.sgd(state, g, **cfg)
    assert_close(p, state["param"], "param")
    if cfg.get("momentum"):
        assert_close(vel, state["velocity"], "velocity")
    else:
        assert not vel.any()  # untouched without momentum


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("cfg", ADAM_CONFIGS, ids=cfg_id)
def test_adam_matches_reference(n, cfg, cpu_isa, rng):
    p = rng.standard_normal(n).astype(np.float32)
    m, v = np.zeros_like(p), np.zeros_like(p)
    state = ref.new_state(p, "m", "v")
    for step, g in enumerate(grads(rng, n, 5), start=1):
        assert ops.adam_(p, g, m, v, step=step, **cfg) is p
        ref.adam(state, g, step=step, **cfg)
    assert_close(m, state["m"], "m")
    assert_close(v, state["v"], "v")
    assert_close(p, state["param"], "param")


def test_adam_late_step_bias_correction(rng):
    """Large step counts: the bias corrections (double) tend to 1 without losing precision."""
    p = rng.standard_normal(100).astype(np.float32)
    m = rng.standard_normal(100).astype(np.float32) * 0.1
    v = rng.random(100).astype(np.float32) * 0.01
    state = {"param": p.astype(np.float64), "m": m.astype(np.float64), "v": v.astype(np.float64)}
    g = rng.standard_normal(100).astype(np.float32)
    for step in (1000, 10**6, 2**40):
        ops.adam_(p, g, m, v, step=step, lr=1e-3)
        ref.adam(state, g, step=step, lr=1e-3)
    assert_close(p, state["param"], "param")


def test_any_shape(rng):
    p = rng.standard_normal((3, 5, 7)).astype(np.float32)
    flat = p.ravel().copy()
    g = rng.standard_normal(p.shape).astype(np.float32)
    m, v, m2, v2 = (np.zeros_like(p) for _ in range(4))
    ops.adam_(p, g, m, v, step=1)
    ops.adam_(flat, g.ravel(), m2.ravel(), v2.ravel(), step=1)
    assert np.array_equal(p.ravel(), flat)


def test_grad_any_layout_and_dtype(rng):
    p0 = rng.standard_normal((20, 30)).astype(np.float32)
    g = rng.standard_normal((30, 20)).astype(np.float32).T  # Fortran-ordered view
    want = p0.copy()
    ops.sgd_(want, np.ascontiguousarray(g), lr=0.1)
    negative_strides = np.ascontiguousarray(g[::-1])[::-1]
    for grad in [g, negative_strides, np.ascontiguousarray(g).astype(np.float64)]:
        p = p0.copy()
        ops.sgd_(p, grad, lr=0.1)
        assert np.array_equal(p, want)


def test_zero_dimensional(rng):
    p, g = np.array(1.5, np.float32), np.array(0.25, np.float32)
    m, v = np.zeros((), np.float32), np.zeros((), np.float32)
    state = ref.new_state(p, "m", "v")
    ops.adam_(p, g, m, v, step=1, lr=0.1)
    ref.adam(state, g, step=1, lr=0.1)
    assert p.shape == ()
    assert_close(p, state["param"], "param")
    with pytest.raises(ValueError, match=r"grad: expected shape \(\).*got \(1,\)"):
        ops.adam_(p, np.ones(1), m, v, step=1)


def test_zero_size():
    p = np.zeros((0, 3), np.float32)
    ops.adam_(p, p.copy(), np.zeros_like(p), np.zeros_like(p), step=1)
    ops.sgd_(p, p.copy(), np.zeros_like(p), lr=0.1, momentum=0.9)


@pytest.mark.parametrize("which", ["sgd", "adam", "adamw"])
def test_thread_count_does_not_change_bits(which, threads, cpu_isa, rng):
    n = 300007
    p0 = rng.standard_normal(n).astype(np.float32)
    gs = grads(rng, n, 2)
    results = []
    for t in (1, 2):
        threads(t)
        p, a, b = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
        for step, g in enumerate(gs, start=1):
            if which == "sgd":
                ops.sgd_(p, g, a, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)
            else:
                ops.adam_(p, g, a, b, step=step, lr=1e-2, weight_decay=0.1,
                          decoupled=which == "adamw")
        results.append((p, a, b))
    for x, y in zip(*results):
        assert np.array_equal(x, y)


# ---- against PyTorch (an extra, independent check) ---------------------------------------------

@pytest.mark.parametrize("cfg", SGD_CONFIGS[1:], ids=cfg_id)
def test_sgd_matches_torch(cfg, rng):
    torch = pytest.importorskip("torch")
    p = rng.standard_normal(1001).astype(np.float32)
    vel = np.zeros_like(p)
    tp = torch.tensor(p.copy(), requires_grad=True)
    opt = torch.optim.SGD([tp], **cfg)
    for g in grads(rng, 1001, 4):
        ops.sgd_(p, g, vel, **cfg)
        tp.grad = torch.from_numpy(g.copy())
        opt.step()
    assert_close(p, tp.detach().numpy(), "param vs torch")


@pytest.mark.parametrize("cfg", ADAM_CONFIGS, ids=cfg_id)
def test_adam_matches_torch(cfg, rng):
    torch = pytest.importorskip("torch")
    cfg = dict(cfg)
    decoupled = cfg.pop("decoupled", False)
    targs = dict(lr=cfg.get("lr", 1e-3), betas=(cfg.get("beta1", 0.9), cfg.get("beta2", 0.999)),
                 eps=cfg.get("eps", 1e-7), weight_decay=cfg.get("weight_decay", 0.0))
    p = rng.standard_normal(1001).astype(np.float32)
    m, v = np.zeros_like(p), np.zeros_like(p)
    tp = torch.tensor(p.copy(), requires_grad=True)
    opt = (torch.optim.AdamW if decoupled else torch.optim.Adam)([tp], **targs)
    for step, g in enumerate(grads(rng, 1001, 5), start=1):
        ops.adam_(p, g, m, v, step=step, decoupled=decoupled, **cfg)
        tp.grad = torch.from_numpy(g.copy())
        opt.step()
    assert_close(p, tp.detach().numpy(), "param vs torch")
    assert_close(m, opt.state[tp]["exp_avg"].numpy(), "m vs torch")
    assert_close(v, opt.state[tp]["exp_avg_sq"].numpy(), "v vs torch")


# ---- errors ------------------------------------------------------------------------------------

def adam_args(n=6):
    return [np.zeros(n, np.float32) for _ in range(4)]


def test_inplace_dtype_is_refused_not_copied():
    p, g, m, v = adam_args()
    with pytest.raises(TypeError, match=r"param: expected dtype float32 .*never copied.*float64"):
        ops.adam_(p.astype(np.float64), g, m, v, step=1)
    with pytest.raises(TypeError, match=r"m: expected dtype float32.*float16"):
        ops.adam_(p, g, m.astype(np.float16), v, step=1)
    with pytest.raises(TypeError, match=r"v: expected a numpy.ndarray of float32, got list"):
        ops.adam_(p, g, m, list(v), step=1)
    with pytest.raises(TypeError, match=r"velocity: expected dtype float32"):
        ops.sgd_(p, g, np.zeros(6), lr=0.1, momentum=0.9)


def test_inplace_must_be_contiguous_and_writable():
    p, g, m, v = adam_args(12)
    with pytest.raises(ValueError, match=r"param: expected a C-contiguous array \(it is updated "
                                         r"in place"):
        ops.adam_(p[::2], g[::2], m[::2], v[::2], step=1)
    with pytest.raises(ValueError, match=r"v: expected a C-contiguous"):
        ops.adam_(p.reshape(3, 4), g.reshape(3, 4), m.reshape(3, 4),
                  np.zeros((4, 3), np.float32).T, step=1)
    with pytest.raises(ValueError, match=r"velocity: expected a C-contiguous"):
        ops.sgd_(p[:6], g[:6], v[::2], lr=0.1, momentum=0.9)
    p.flags.writeable = False
    with pytest.raises(ValueError, match=r"param: expected a writable array"):
        ops.adam_(p, g, m, v, step=1)


def test_shape_mismatch():
    p, g, m, v = adam_args()
    with pytest.raises(ValueError, match=r"grad: expected shape \(6,\).*got \(5,\)"):
        ops.adam_(p, g[:5], m, v, step=1)
    with pytest.raises(ValueError, match=r"m: expected shape \(6,\).*got \(2, 3\)"):
        ops.adam_(p, g, m.reshape(2, 3), v, step=1)
    with pytest.raises(ValueError, match=r"velocity: expected shape \(6,\).*got \(7,\)"):
        ops.sgd_(p, g, np.zeros(7, np.float32), lr=0.1, momentum=0.9)


def test_overlapping_state_is_refused():
    buf = np.zeros(12, np.float32)
    p, g = np.zeros(6, np.float32), np.zeros(6, np.float32)
    with pytest.raises(ValueError, match=r"m and v: expected separate arrays"):
        ops.adam_(p, g, buf[:6], buf[3:9], step=1)
    with pytest.raises(ValueError, match=r"param and velocity: expected separate arrays"):
        ops.sgd_(p, g, p, lr=0.1, momentum=0.9)


@pytest.mark.parametrize("kwargs, match", [
    (dict(step=0), r"step: expected an integer >= 1.*got 0"),
    (dict(step=-3), r"step: expected an integer >= 1.*got -3"),
    (dict(step=1, lr=-1.0), r"lr: expected a finite number >= 0.0, got -1.0"),
    (dict(step=1, lr=float("nan")), r"lr: expected a finite number"),
    (dict(step=1, beta1=1.0), r"beta1: expected a finite number \[0.0, 1.0\), got 1.0"),
    (dict(step=1, beta2=-0.1), r"beta2: expected a finite number \[0.0, 1.0\)"),
    (dict(step=1, eps=-1e-8), r"eps: expected a finite number >= 0.0"),
    (dict(step=1, weight_decay=float("inf")), r"weight_decay: expected a finite number"),
])
def test_adam_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ops.adam_(*adam_args(), **kwargs)


def test_adam_step_must_be_an_integer():
    with pytest.raises(TypeError, match=r"step: expected an integer >= 1, got float"):
        ops.adam_(*adam_args(), step=1.5)
    ops.adam_(*adam_args(), step=np.int64(3))


@pytest.mark.parametrize("kwargs, match", [
    (dict(lr=0.1, momentum=0.9), r"velocity: expected a float32 array of shape \(6,\) when "
                                 r"momentum > 0"),
    (dict(lr=0.1, nesterov=True), r"nesterov: expected momentum > 0"),
    (dict(lr=-0.1), r"lr: expected a finite number >= 0.0"),
    (dict(lr=0.1, momentum=-0.5), r"momentum: expected a finite number >= 0.0"),
    (dict(lr=0.1, weight_decay=-1.0), r"weight_decay: expected a finite number >= 0.0"),
])
def test_sgd_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ops.sgd_(np.zeros(6, np.float32), np.zeros(6, np.float32), **kwargs)


def test_core_checks_again():
    """The bindings refuse what the Python layer would: nothing bad reaches a kernel."""
    p, g, m, v = adam_args()
    with pytest.raises(ValueError, match=r"step: expected an integer >= 1"):
        fnet._core.adam_step(p, g, m, v, 0, 1e-3, 0.9, 0.999, 1e-7, 0.0, False)
    with pytest.raises(ValueError, match=r"velocity: required when momentum != 0"):
        fnet._core.sgd_step(p, g, None, 0.1, 0.9, False, 0.0)
    with pytest.raises(ValueError, match=r"m: expected a C-contiguous"):
        fnet._core.adam_step(p, g, np.zeros(12, np.float32)[::2], v, 1, 1e-3, 0.9, 0.999, 1e-7,
                             0.0, False)
    with pytest.raises(TypeError, match=r"grad: expected dtype float32"):
        fnet._core.adam_step(p, g.astype(np.float64), m, v, 1, 1e-3, 0.9, 0.999, 1e-7, 0.0,
                             False)
