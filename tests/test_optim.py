"""Optimizer steps (sgd_, adam_) against the float64 references in reference_optim.py over
several steps, against torch.optim when importable, thread-count bit identity, and errors; on
every device (the `device` fixture) where the test says so."""

import numpy as np
import pytest

import checks
import fusednet as fnet
import reference_optim as ref
from fusednet import ops

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
    dict(lr=1e-2, weight_decay=0.1),  # L2
    dict(lr=1e-2, weight_decay=0.1, decoupled=True),  # AdamW
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
        pytest.fail(
            f"{what}: max abs err {err.max():.3e}, worst at {i}: got {got[i]!r}, want {want[i]!r}"
        )


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
    # Empty views at the start of live buffers: returned as they are, nothing around them written
    # (every variant: momentum, nesterov, decay, AdamW), and the arguments are still checked.
    bufs = [np.full(8, 7.0, np.float32) for _ in range(4)]
    p, g, a, b = (buf[:0].reshape(0, 3) for buf in bufs)
    assert ops.sgd_(p, g, a, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1) is p
    assert ops.sgd_(p, g, lr=0.1) is p
    assert ops.adam_(p, g, a, b, step=3, weight_decay=0.1) is p
    assert ops.adam_(p, g, a, b, step=3, weight_decay=0.1, decoupled=True) is p
    assert all((buf == 7.0).all() for buf in bufs)
    with pytest.raises(ValueError, match="step"):
        ops.adam_(p, g, a, b, step=0)
    with pytest.raises(ValueError, match="velocity"):
        ops.sgd_(p, g, lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="m"):
        ops.adam_(p, g, np.zeros((0, 4), np.float32), b, step=1)


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
                ops.adam_(
                    p, g, a, b, step=step, lr=1e-2, weight_decay=0.1, decoupled=which == "adamw"
                )
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
    targs = dict(
        lr=cfg.get("lr", 1e-3),
        betas=(cfg.get("beta1", 0.9), cfg.get("beta2", 0.999)),
        eps=cfg.get("eps", 1e-7),
        weight_decay=cfg.get("weight_decay", 0.0),
    )
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
    with pytest.raises(
        ValueError,
        match=r"param: expected a C-contiguous array \(it is updated "
        r"in place",
    ):
        ops.adam_(p[::2], g[::2], m[::2], v[::2], step=1)
    with pytest.raises(ValueError, match=r"v: expected a C-contiguous"):
        ops.adam_(
            p.reshape(3, 4),
            g.reshape(3, 4),
            m.reshape(3, 4),
            np.zeros((4, 3), np.float32).T,
            step=1,
        )
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


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(step=0), r"step: expected an integer >= 1.*got 0"),
        (dict(step=-3), r"step: expected an integer >= 1.*got -3"),
        (dict(step=1, lr=-1.0), r"lr: expected a finite number >= 0.0, got -1.0"),
        (dict(step=1, lr=float("nan")), r"lr: expected a finite number"),
        (dict(step=1, beta1=1.0), r"beta1: expected a finite number \[0.0, 1.0\), got 1.0"),
        (dict(step=1, beta2=-0.1), r"beta2: expected a finite number \[0.0, 1.0\)"),
        (dict(step=1, eps=-1e-8), r"eps: expected a finite number >= 0.0"),
        (dict(step=1, weight_decay=float("inf")), r"weight_decay: expected a finite number"),
    ],
)
def test_adam_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ops.adam_(*adam_args(), **kwargs)


def test_adam_step_must_be_an_integer():
    with pytest.raises(TypeError, match=r"step: expected an integer >= 1, got float"):
        ops.adam_(*adam_args(), step=1.5)
    ops.adam_(*adam_args(), step=np.int64(3))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            dict(lr=0.1, momentum=0.9),
            r"velocity: expected a float32 array of shape \(6,\) when "
            r"momentum > 0",
        ),
        (dict(lr=0.1, nesterov=True), r"nesterov: expected momentum > 0"),
        (dict(lr=-0.1), r"lr: expected a finite number >= 0.0"),
        (dict(lr=0.1, momentum=-0.5), r"momentum: expected a finite number >= 0.0"),
        (dict(lr=0.1, weight_decay=-1.0), r"weight_decay: expected a finite number >= 0.0"),
    ],
)
def test_sgd_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ops.sgd_(np.zeros(6, np.float32), np.zeros(6, np.float32), **kwargs)


def test_core_checks_again(device):
    """The bindings refuse what the Python layer would, before either column: nothing bad
    reaches a kernel."""
    p, g, m, v = adam_args()
    dev = fnet._core.Device.__members__[device]
    with pytest.raises(ValueError, match=r"step: expected an integer >= 1"):
        fnet._core.adam_step(p, g, m, v, 0, 1e-3, 0.9, 0.999, 1e-7, 0.0, False, dev)
    with pytest.raises(ValueError, match=r"velocity: required when momentum != 0"):
        fnet._core.sgd_step(p, g, None, 0.1, 0.9, False, 0.0, dev)
    with pytest.raises(ValueError, match=r"m: expected a C-contiguous"):
        fnet._core.adam_step(
            p, g, np.zeros(12, np.float32)[::2], v, 1, 1e-3, 0.9, 0.999, 1e-7, 0.0, False, dev
        )
    with pytest.raises(TypeError, match=r"grad: expected dtype float32"):
        fnet._core.adam_step(
            p, g.astype(np.float64), m, v, 1, 1e-3, 0.9, 0.999, 1e-7, 0.0, False, dev
        )
    with pytest.raises(ValueError, match=r"misalign: expected 0..3 floats, got -1"):
        fnet._core.sgd_step(p, g, None, 0.1, 0.0, False, 0.0, dev, misalign=-1)


def test_misalign_is_a_cuda_hook():
    p, g, m, v = adam_args()
    with pytest.raises(ValueError, match=r"misalign: a CUDA test hook, expected 0 on the CPU"):
        fnet._core.adam_step(p, g, m, v, 1, misalign=1)


# ---- every device, with the tolerances of the former CUDA tests (checks.assert_close) ----------
@pytest.mark.parametrize("n", [1, 3, 4, 1001, 100003])
@pytest.mark.parametrize("decoupled", [False, True])
def test_adam_matches_float64_on_device(device, rng, n, decoupled):
    p = rng.standard_normal(n).astype(np.float32)
    m = np.zeros(n, np.float32)
    v = np.zeros(n, np.float32)
    state = ref.new_state(p, "m", "v")
    for step in range(1, 4):
        g = rng.standard_normal(n).astype(np.float32)
        ops.adam_(
            p, g, m, v, step=step, lr=1e-2, weight_decay=0.1, decoupled=decoupled, device=device
        )
        ref.adam(state, g, step=step, lr=1e-2, weight_decay=0.1, decoupled=decoupled)
    checks.assert_close(p, state["param"], 1e-5, 1e-6, "adam param")
    checks.assert_close(m, state["m"], 1e-5, 1e-7, "adam m")
    checks.assert_close(v, state["v"], 1e-5, 1e-7, "adam v")


@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.9, False), (0.9, True)])
@pytest.mark.parametrize("n", [1, 5, 1003])
def test_sgd_matches_float64_on_device(device, rng, momentum, nesterov, n):
    p = rng.standard_normal(n).astype(np.float32)
    vel = np.zeros(n, np.float32) if momentum else None
    state = ref.new_state(p, "velocity")
    cfg = dict(lr=0.1, momentum=momentum, nesterov=nesterov, weight_decay=0.01)
    for _ in range(3):
        g = rng.standard_normal(n).astype(np.float32)
        ops.sgd_(p, g, vel, **cfg, device=device)
        ref.sgd(state, g, **cfg)
    checks.assert_close(p, state["param"], 1e-5, 1e-6, "sgd param")


def test_contiguity_and_errors_on_device(device, rng):
    # In-place arrays are updated where they are, on every device: a strided param is refused
    # (a copy would be updated instead), as are bad dtypes and steps; empty arrays are fine.
    base = rng.standard_normal(2002).astype(np.float32)
    g = rng.standard_normal(1001).astype(np.float32)
    with pytest.raises(ValueError, match=r"param: expected a C-contiguous array"):
        ops.sgd_(base[::2], g, lr=0.5, device=device)
    with pytest.raises(TypeError, match="param: expected dtype float32"):
        ops.adam_(np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3), step=1, device=device)
    z = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="step: expected an integer >= 1.*got 0"):
        ops.adam_(z, z, z.copy(), z.copy(), step=0, device=device)
    with pytest.raises(ValueError, match="velocity: expected"):
        ops.sgd_(z, z, lr=0.1, momentum=0.9, device=device)
    e = np.zeros(0, np.float32)
    ops.sgd_(e, e, e.copy(), lr=0.1, momentum=0.9, device=device)
    ops.adam_(e, e, e.copy(), e.copy(), step=1, device=device)


def test_argument_checks_on_device(device):
    z = np.zeros(4, np.float32)
    m = z.copy()
    with pytest.raises(ValueError, match="m and v: expected separate arrays"):
        ops.adam_(z.copy(), z, m, m, step=1, device=device)
    with pytest.raises(ValueError, match="beta1: expected a finite number"):
        ops.adam_(z.copy(), z, z.copy(), z.copy(), step=1, beta1=1.0, device=device)
    with pytest.raises(ValueError, match="lr: expected a finite number"):
        ops.sgd_(z.copy(), z, lr=-1.0, device=device)
    with pytest.raises(ValueError, match="nesterov: expected momentum > 0"):
        ops.sgd_(z.copy(), z, lr=0.1, nesterov=True, device=device)


def test_without_weight_decay_infinite_params_stay_infinite_on_device(device):
    # weight_decay=0 adds no 0 * p term (as the CPU): an infinite parameter stays infinite, not NaN.
    p = np.array([np.inf, -np.inf, 0.5, 1.0, 2.0], np.float32)
    g = np.array([0.1, -0.2, 0.3, 0.4, 0.5], np.float32)
    for dev in (device, "cpu"):
        q = p.copy()
        ops.adam_(q, g, np.zeros(5, np.float32), np.zeros(5, np.float32), step=1, device=dev)
        assert np.isinf(q[:2]).all() and np.isfinite(q[2:]).all(), q
    q1, q2 = p.copy(), p.copy()
    ops.sgd_(q1, g, lr=0.1, device=device)
    ops.sgd_(q2, g, lr=0.1)
    checks.assert_same_special(q1, q2, 1e-6, 1e-7, "sgd")


@checks.cuda_only
@pytest.mark.parametrize("n", [3, 1001])
def test_scalar_path_matches_float64_on_cuda(device, rng, n):
    # misalign=1 puts every device buffer 4 bytes past 16-byte alignment: the scalar kernels.
    cuda = fnet._core.Device.cuda
    for decoupled, wd in [(False, 0.0), (False, 0.1), (True, 0.1)]:
        p = rng.standard_normal(n).astype(np.float32)
        g = rng.standard_normal(n).astype(np.float32)
        state = {
            "param": p.astype(np.float64),
            "m": (rng.standard_normal(n) * 0.1),
            "v": rng.random(n),
        }
        m, v = state["m"].astype(np.float32), state["v"].astype(np.float32)
        state["m"], state["v"] = m.astype(np.float64), v.astype(np.float64)
        ref.adam(state, g, step=3, lr=1e-2, weight_decay=wd, decoupled=decoupled)
        for misalign in (0, 1):
            pp, mm, vv = p.copy(), m.copy(), v.copy()
            fnet._core.adam_step(
                pp, g, mm, vv, 3, 1e-2, 0.9, 0.999, 1e-7, wd, decoupled, cuda, misalign=misalign
            )
            for got, what in ((pp, "param"), (mm, "m"), (vv, "v")):
                checks.assert_close(
                    got, state[what], 1e-5, 1e-6, f"adam {what} misalign={misalign} wd={wd}"
                )
    for momentum, nesterov in [(0.0, False), (0.9, True)]:
        p = rng.standard_normal(n).astype(np.float32)
        g = rng.standard_normal(n).astype(np.float32)
        vel = rng.standard_normal(n).astype(np.float32)
        state = {"param": p.astype(np.float64), "velocity": vel.astype(np.float64)}
        ref.sgd(state, g, lr=0.1, momentum=momentum, nesterov=nesterov, weight_decay=0.01)
        for misalign in (0, 1):
            pp, vv = p.copy(), vel.copy()
            fnet._core.sgd_step(
                pp,
                g,
                vv if momentum else None,
                0.1,
                momentum,
                nesterov,
                0.01,
                cuda,
                misalign=misalign,
            )
            checks.assert_close(pp, state["param"], 1e-5, 1e-6, f"sgd p misalign={misalign}")
            if momentum:
                checks.assert_close(vv, state["velocity"], 1e-5, 1e-6, f"sgd v misalign={misalign}")
