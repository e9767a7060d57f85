"""Regression tests of a hostile-input sweep (issue 15): overlapping optimizer arguments,
hyperparameters that do not fit float32, layer sizes that overflow, misaligned float32 arrays,
save leftovers and permissions, and hostile model files."""

import numpy as np
import pytest

import fusednet as fnet
from fusednet import ops

# ---- 1. grad overlapping param ----------------------------------------------------------------


@pytest.mark.parametrize("shift", [1, 17, -1])
def test_grad_partially_overlapping_param_is_refused(device, shift):
    buf = np.arange(1, 1002, dtype=np.float32)
    p, g = (buf[1:], buf[:-1]) if shift == 1 else (buf[:-1], buf[1:])
    if shift == 17:
        p, g = buf[17:], buf[:-17]
    before = buf.copy()
    with pytest.raises(ValueError, match="grad and param: expected separate arrays"):
        ops.sgd_(p, g, lr=0.5, device=device)
    m, v = np.zeros_like(p), np.zeros_like(p)
    with pytest.raises(ValueError, match="grad and param: expected separate arrays"):
        ops.adam_(p, g, m, v, step=1, device=device)
    np.testing.assert_array_equal(buf, before)  # nothing written


def test_grad_overlapping_optimizer_state_is_refused(device):
    buf = np.zeros(201, np.float32)
    p = np.ones(100, np.float32)
    m, v = buf[:100], np.zeros(100, np.float32)
    with pytest.raises(ValueError, match="grad and m: expected separate arrays"):
        ops.adam_(p, buf[1:101], m, v, step=1, device=device)
    with pytest.raises(ValueError, match="grad and velocity: expected separate arrays"):
        ops.sgd_(p, buf[1:101], m, lr=0.1, momentum=0.9, device=device)


def test_core_binding_refuses_grad_overlap_too(device):
    buf = np.arange(1, 1002, dtype=np.float32)
    dev = fnet._core.Device.cpu if device == "cpu" else fnet._core.Device.cuda
    with pytest.raises(ValueError, match="param and grad: expected separate arrays"):
        fnet._core.sgd_step(buf[1:], buf[:-1], None, 0.5, device=dev)


def test_grad_that_is_param_itself_still_works(device):
    # The very same memory reads each element before writing it: p -= lr p, exactly.
    p = np.linspace(-2, 2, 1001).astype(np.float32)
    want = p - np.float32(0.25) * p
    ops.sgd_(p, p, lr=0.25, device=device)
    np.testing.assert_array_equal(p, want)


# ---- 2. hyperparameters used in float32 -------------------------------------------------------


def test_adam_beta_near_one_stays_finite(device):
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(1000).astype(np.float32)
    g = (rng.choice([-1.0, 1.0], 1000) * rng.uniform(0.5, 2.0, 1000)).astype(np.float32)
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    for step in range(1, 4):
        ops.adam_(p, g, m, v, step=step, lr=1e-3, beta1=0.999999999, beta2=1 - 1e-9, device=device)
    assert np.isfinite(p).all()
    # m_hat = g and v_hat = g^2 for a constant gradient: each step moves p by lr * sign(g)
    moved = p0.astype(np.float64) - p
    np.testing.assert_allclose(moved, 3e-3 * np.sign(g), rtol=1e-3, atol=1e-6)


def test_adam_steps_match_float64(device):
    # The bias corrections 1 - beta^t are computed from the double betas (as PyTorch does).
    rng = np.random.default_rng(1)
    n = 4097
    p = np.zeros(n, np.float32)  # p is then the steps themselves: no rounding of a larger p
    m, v = np.zeros_like(p), np.zeros_like(p)
    p64, m64, v64 = np.zeros(n), np.zeros(n), np.zeros(n)
    b1, b2, lr, eps = 0.9, 0.999, 1e-2, 1e-7
    for t in range(1, 4):
        g = rng.standard_normal(n).astype(np.float32)
        ops.adam_(p, g, m, v, step=t, lr=lr, beta1=b1, beta2=b2, eps=eps, device=device)
        m64 = b1 * m64 + (1 - b1) * g
        v64 = b2 * v64 + (1 - b2) * g.astype(np.float64) ** 2
        p64 -= lr * (m64 / (1 - b1**t)) / (np.sqrt(v64 / (1 - b2**t)) + eps)
    # a few float32 roundings per step, each step at most about lr in size
    err = np.abs(p - p64) / (3 * lr)
    assert np.all(err <= 1e-6), float(np.max(err))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda p, g, d: ops.sgd_(p, g, lr=1e300, device=d), "lr: expected a number that fits"),
        (
            lambda p, g, d: fnet._core.sgd_step(p, g, None, 1e300, device=fnet._core.Device.cpu),
            "lr: expected a value that fits in float32",
        ),
        (
            lambda p, g, d: ops.adam_(
                p,
                g,
                np.zeros_like(p),
                np.zeros_like(p),
                step=1,
                lr=1e30,
                beta1=1 - 1e-12,
                device=d,
            ),
            r"lr / \(1 - beta1\*\*step\)",
        ),
        (
            lambda p, g, d: ops.adam_(
                p, g, np.zeros_like(p), np.zeros_like(p), step=1, eps=1e39, device=d
            ),
            "eps: expected a number that fits in float32",
        ),
        (
            lambda p, g, d: ops.adam_(
                p,
                g,
                np.zeros_like(p),
                np.zeros_like(p),
                step=1,
                lr=1e20,
                weight_decay=1e20,
                decoupled=True,
                device=d,
            ),
            r"1 - lr \* weight_decay",
        ),
    ],
)
def test_hyperparameters_beyond_float32_are_refused(device, call, match):
    p = np.ones(10, np.float32)
    g = np.ones(10, np.float32)
    with pytest.raises(ValueError, match=match):
        call(p, g, device)
    np.testing.assert_array_equal(p, 1.0)


def test_keras_adam_with_beta_near_one_trains_finite():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = rng.standard_normal((64, 1)).astype(np.float32)
    model = fnet.Sequential([fnet.layers.Dense(1, input_shape=(4,))], seed=0, device="cpu")
    model.compile(fnet.optimizers.Adam(beta_1=0.999999999, beta_2=1 - 1e-9), "mse")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())


@pytest.mark.parametrize(
    "make",
    [
        lambda: fnet.optimizers.SGD(learning_rate=1e300),
        lambda: fnet.optimizers.Adam(epsilon=1e39),
        lambda: fnet.optimizers.AdamW(weight_decay=1e40),
    ],
)
def test_keras_optimizer_values_beyond_float32_are_refused(make):
    with pytest.raises(ValueError, match="fits in float32"):
        make()


# ---- 3. layer sizes that overflow -------------------------------------------------------------


@pytest.mark.parametrize(
    "layers",
    [
        lambda: [fnet.layers.Dense(2**62, use_bias=False, input_shape=(4,))],
        lambda: [fnet.layers.Dense(2**62, input_shape=(4,))],
        lambda: [fnet.layers.Dense(2**31, input_shape=(2**33,))],
        lambda: [fnet.layers.Dense(2**60 - 1, use_bias=True, input_shape=(1,))],
    ],
)
def test_layer_sizes_that_overflow_are_refused(layers):
    with pytest.raises(ValueError, match="too many parameters"):
        fnet.Sequential(layers(), device="cpu")


def test_core_net_refuses_overflowing_sizes():
    spec = fnet._core.DenseSpec(4, 2**62, use_bias=False)
    with pytest.raises(ValueError, match="layer 0: too many parameters"):
        fnet._core.Net([spec], 0.0, 0)


# ---- 4. misaligned float32 arrays -------------------------------------------------------------


def _misaligned(shape, offset=3, dtype=np.float32, fill=None, seed=0):
    """A C-contiguous array whose data starts `offset` bytes into a byte buffer (not aligned)."""
    n = int(np.prod(shape))
    item = np.dtype(dtype).itemsize
    raw = np.zeros(n * item + 16, np.uint8)
    a = np.ndarray(shape, dtype, raw.data, offset)
    assert not a.flags.aligned
    if fill is None:
        fill = np.random.default_rng(seed).standard_normal(shape)
    a[...] = fill
    return a


def test_misaligned_inputs_give_the_aligned_results(device):
    x = _misaligned((1000,))
    want = np.tanh(np.array(x, np.float64))
    np.testing.assert_allclose(ops.tanh(x, device=device), want, rtol=2e-6, atol=1e-6)
    a, b = _misaligned((33, 17), seed=1), _misaligned((17, 9), offset=1, seed=2)
    np.testing.assert_allclose(
        ops.matmul(a, b, device=device),
        np.array(a, np.float64) @ np.array(b, np.float64),
        rtol=1e-5,
        atol=1e-5,
    )
    bias = _misaligned((9,), offset=2, seed=3)
    np.testing.assert_allclose(
        ops.linear(a, b, bias, activation="relu", device=device),
        np.maximum(np.array(a, np.float64) @ np.array(b, np.float64) + bias, 0),
        rtol=1e-5,
        atol=1e-5,
    )
    labels = _misaligned((33,), offset=4, dtype=np.int64, fill=np.arange(33) % 9)
    loss, _ = ops.softmax_cross_entropy(a[:, :9], labels, device=device)
    loss_aligned, _ = ops.softmax_cross_entropy(np.array(a[:, :9]), np.array(labels), device=device)
    assert loss == loss_aligned
    np.testing.assert_array_equal(
        ops.bias_grad(a, device=device), ops.bias_grad(np.array(a), device=device)
    )


def test_misaligned_outputs_and_inplace_arrays(device):
    x = np.random.default_rng(4).standard_normal(1000).astype(np.float32)
    out = _misaligned((1000,), offset=1, fill=0)
    assert ops.sigmoid(x, out=out, device=device) is out
    np.testing.assert_array_equal(out, ops.sigmoid(x, device=device))
    a = np.random.default_rng(5).standard_normal((20, 30)).astype(np.float32)
    b = np.random.default_rng(6).standard_normal((30, 10)).astype(np.float32)
    c = _misaligned((20, 10), offset=2, fill=1.0)
    ops.matmul(a, b, out=c, beta=1.0, device=device)
    np.testing.assert_array_equal(c, ops.matmul(a, b, device=device) + np.float32(1.0))
    db = _misaligned((30,), offset=3, fill=0)
    assert ops.bias_grad(a, out=db, device=device) is db
    np.testing.assert_array_equal(db, ops.bias_grad(a, device=device))
    # optimizer state updated in place through aligned copies
    p, m, v = (_misaligned((777,), offset=k, seed=k) for k in (1, 2, 3))
    m[...] = 0
    v[...] = 0
    g = _misaligned((777,), offset=3, seed=9)
    p2, m2, v2 = np.array(p), np.zeros(777, np.float32), np.zeros(777, np.float32)
    ops.adam_(p, g, m, v, step=1, device=device)
    ops.adam_(p2, np.array(g), m2, v2, step=1, device=device)
    for got, want in ((p, p2), (m, m2), (v, v2)):
        np.testing.assert_array_equal(got, want)
    vel, vel2 = _misaligned((777,), offset=1, fill=0), np.zeros(777, np.float32)
    ops.sgd_(p, g, vel, lr=0.1, momentum=0.9, device=device)
    ops.sgd_(p2, np.array(g), vel2, lr=0.1, momentum=0.9, device=device)
    np.testing.assert_array_equal(p, p2)
    np.testing.assert_array_equal(vel, vel2)


def test_model_takes_misaligned_data():
    rng = np.random.default_rng(7)
    x = _misaligned((40, 5), offset=1, seed=7)
    y = _misaligned((40,), offset=4, dtype=np.int64, fill=rng.integers(0, 3, 40))
    model = fnet.Sequential([fnet.layers.Dense(3, input_shape=(5,))], seed=0, device="cpu")
    model.compile("sgd", fnet.losses.SparseCategoricalCrossentropy(from_logits=True))
    twin = fnet.Sequential([fnet.layers.Dense(3, input_shape=(5,))], seed=0, device="cpu")
    twin.compile("sgd", fnet.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    twin.fit(np.array(x), np.array(y), epochs=2, batch_size=8, verbose=0)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.predict(x), twin.predict(np.array(x)))


def test_core_refuses_misaligned_arrays_with_a_clear_error():
    x = _misaligned((100,))
    with pytest.raises(ValueError, match="x: expected an aligned array.*offset by 3 bytes"):
        fnet._core.all_finite(x)
    out = np.zeros(100, np.float32)
    with pytest.raises(ValueError, match="expected an aligned array"):
        fnet._core.activation_forward(x, out, fnet._core.Activation.tanh, 0.0)


# ---- 5. save leftovers and permissions ----------------------------------------------------------


def _small_model():
    model = fnet.Sequential([fnet.layers.Dense(3, input_shape=(4,))], seed=0, device="cpu")
    model.compile("adam", "mse")
    return model


def _dead_pid():
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_save_removes_temporaries_of_dead_saves_of_the_same_target(tmp_path):
    target = tmp_path / "m.fnet"
    dead = _dead_pid()
    stale = tmp_path / f".fusednet-m.fnet.{dead}.abcdef.tmp"
    stale.write_bytes(b"x" * 1000)
    other_target = tmp_path / f".fusednet-other.fnet.{dead}.abcdef.tmp"
    other_target.write_bytes(b"x")
    import os

    alive = tmp_path / f".fusednet-m.fnet.{os.getppid()}.abcdef.tmp"  # a live process's save
    alive.write_bytes(b"x")
    _small_model().save(target)
    assert target.exists()
    assert not stale.exists()
    assert other_target.exists() and alive.exists()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([target.name, other_target.name, alive.name])
    fnet.load_model(target, device="cpu")


def test_saved_file_has_the_mode_of_a_plain_open(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        _small_model().save(tmp_path / "a.fnet")
        with open(tmp_path / "plain", "wb"):
            pass
        mode = stat.S_IMODE(os.stat(tmp_path / "a.fnet").st_mode)
        assert mode == stat.S_IMODE(os.stat(tmp_path / "plain").st_mode) == 0o644
        os.chmod(tmp_path / "a.fnet", 0o640)  # replacing a file keeps its mode, as open() does
        _small_model().save(tmp_path / "a.fnet")
        assert stat.S_IMODE(os.stat(tmp_path / "a.fnet").st_mode) == 0o640
    finally:
        os.umask(old)


# ---- 6. hostile model files -------------------------------------------------------------------


def _arrays(model):
    import io
    import json

    with np.load(io.BytesIO(_bytes(model))) as z:
        data = {k: z[k] for k in z.files}
    return json.loads(bytes(data.pop("header")).decode()), data


def _bytes(model):
    from fusednet import io as fio

    return fio.model_to_bytes(model)


def _file(header, data):
    import io
    import json

    buf = io.BytesIO()
    np.savez(buf, header=np.frombuffer(json.dumps(header).encode(), np.uint8), **data)
    return buf.getvalue()


def _load(header, data):
    from fusednet import io as fio

    return fio.model_from_bytes(_file(header, data), device="cpu")


def test_loader_names_missing_entries():
    header, data = _arrays(_small_model())
    no_config = dict(header)
    del no_config["config"]
    with pytest.raises(ValueError, match="the header has no 'config' entry"):
        _load(no_config, data)
    no_params = dict(data)
    del no_params["params"]
    with pytest.raises(ValueError, match="without a 'params' array"):
        _load(header, no_params)
    bad_layer = {**header, "config": {**header["config"], "layers": [{"class_name": "Dense"}]}}
    with pytest.raises(ValueError, match="a layer in a saved model: expected an object"):
        _load(bad_layer, data)
    no_counters = {k: v for k, v in header.items() if k != "counters"}
    with pytest.raises(ValueError, match="has no 'counters' entry"):
        _load(no_counters, data)


def test_loader_refuses_deeply_nested_header():
    from fusednet import io as fio

    deep = b'{"format": "fusednet.model", "config": ' + b"[" * 100000 + b"]" * 100000 + b"}"
    buf = __import__("io").BytesIO()
    np.savez(buf, header=np.frombuffer(deep, np.uint8))
    with pytest.raises(ValueError, match="nested too deeply"):
        fio.model_from_bytes(buf.getvalue(), device="cpu")


def test_loader_checks_sizes_before_allocating():
    header, data = _arrays(_small_model())
    huge = {**header}
    huge["config"] = {**header["config"], "layers": [dict(d) for d in header["config"]["layers"]]}
    for d in huge["config"]["layers"]:
        if d["class_name"] == "Dense":
            d["config"] = {**d["config"], "units": 2**40}
    with pytest.raises(ValueError, match="parameter count does not match"):
        _load(huge, data)
    # an unbuilt model with a huge layer is described, not allocated
    unbuilt = {**huge, "built": False, "counters": None}
    model = _load(unbuilt, {})
    assert not model.built


@pytest.mark.parametrize("key, dtype", [("params", np.complex64), ("opt_m", np.int32)])
def test_loader_refuses_arrays_of_the_wrong_dtype(key, dtype):
    model = _small_model()
    model.fit(np.ones((8, 4), np.float32), np.ones((8, 3), np.float32), epochs=1, verbose=0)
    header, data = _arrays(model)
    assert key in data
    data[key] = data[key].astype(dtype)
    with pytest.raises(ValueError, match=f"'{key}' has dtype"):
        _load(header, data)
