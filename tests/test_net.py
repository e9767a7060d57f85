"""The one Net on every device: device-resident training (the Net on device="cuda",
Sequential(device="cuda"), model.to) against the CPU net. The CPU net's own behaviour is tested
through the model (test_model*.py); its CUDA backend's host logic also by tools/netcuda_mock.

Three groups:
- on a GPU: CUDA training against CPU training on the same seed and batches (stated tolerances:
  the kernels sum in a different order, so results agree to float rounding, not bit for bit),
  evaluate / predict, the streamed data fallback, dropout masks, model.to round trips, save/load;
  they skip with the reason when there is no device;
- everywhere: the clear errors when CUDA is not compiled or there is no device;
- everywhere: the Python side of the CUDA path (host mirrors of the arenas in CudaNet, model.to,
  save/load, optimizer state, tape) run against a stand-in CUDA net that keeps its "device" arenas
  in a CPU Net and hands out copies only; with it, "cuda" training must equal CPU training bit for
  bit, which proves every mirror upload/download is where it must be.
"""

import numpy as np
import pytest

import fusednet as fnet
from fusednet import _core, _cuda_net, losses, optimizers
from fusednet import layers as L

CUDA = fnet.backends()["cuda"]


def needs_gpu(test):
    """A CUDA case (marked `cuda`): skips with the reason where there is no usable device."""
    skip = pytest.mark.skipif(
        not CUDA["available"], reason=f"CUDA not available: {CUDA.get('reason')}"
    )
    return pytest.mark.cuda(skip(test))


# CPU vs CUDA (exact FP32 matmul): after a few epochs of SGD the weights agree to ~1e-6 relative;
# Adam normalises tiny gradient differences, so it gets an absolute tolerance of half an lr-step
# (lr = 1e-3).
SGD_TOL = dict(rtol=1e-4, atol=1e-5)
ADAM_TOL = dict(rtol=1e-3, atol=5e-4)
OUT_TOL = dict(rtol=1e-4, atol=1e-5)


def _data(rng, n=203, d=12, classes=5):
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.integers(0, classes, n)
    return x, y


def _atol(key):
    """Absolute tolerance of a history/evaluate figure: an accuracy moves in steps of one
    (weighted) sample, and a sample near a decision boundary may flip between devices."""
    return 0.05 if "acc" in key else 1e-6


def _model(device, kind="sparse", opt=None, dropout=0.0, seed=7, d=12):
    layers = [L.Dense(16, activation="relu", input_shape=(d,))]
    if dropout:
        layers.append(L.Dropout(dropout))
    layers.append(L.Dense(8, activation="tanh"))
    if kind == "sparse":
        layers.append(L.Dense(5, activation="softmax"))
        loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
    elif kind == "bce":
        layers.append(L.Dense(5, activation="sigmoid"))
        loss, metrics = "binary_crossentropy", ["binary_accuracy"]
    elif kind == "cce":
        layers.append(L.Dense(5))
        loss = losses.CategoricalCrossentropy(from_logits=True)
        metrics = ["categorical_accuracy"]
    else:
        layers.append(L.Dense(5))
        loss, metrics = "mse", ["mae", "mse"]
    m = fnet.Sequential(layers, device=device, seed=seed)
    m.compile(optimizer=opt or optimizers.SGD(0.05, momentum=0.9), loss=loss, metrics=metrics)
    return m


def _targets(kind, y, rng):
    if kind == "sparse":
        return y
    if kind == "cce":
        return np.eye(5, dtype=np.float32)[y]
    if kind == "bce":
        return (rng.random((len(y), 5)) > 0.5).astype(np.float32)
    return rng.standard_normal((len(y), 5)).astype(np.float32)


def _assert_close(a_list, b_list, tol, what):
    for i, (a, b) in enumerate(zip(a_list, b_list)):
        err = np.abs(a - b)
        k = np.unravel_index(np.argmax(err), err.shape) if err.size else ()
        assert np.allclose(a, b, **tol), (
            f"{what}[{i}]: max abs err {err.max():.3g} at {k} ({a[k]} vs {b[k]}), tol {tol}"
        )


# ==== on a GPU ====================================================================================


@needs_gpu
@pytest.mark.parametrize("kind", ["sparse", "bce", "cce", "mse"])
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_cuda_fit_matches_cpu_fit(kind, opt, rng):
    x, y = _data(rng)
    t = _targets(kind, y, rng)
    sw = rng.random(len(x)).astype(np.float32) + 0.5
    make = (
        (lambda: optimizers.SGD(0.05, momentum=0.9))
        if opt == "sgd"
        else (lambda: optimizers.Adam(1e-3))
    )
    fnet.set_float32_matmul_precision("highest")
    cpu, gpu = _model("cpu", kind, make()), _model("cuda", kind, make())
    assert gpu.device == "cuda"
    for a, b in zip(cpu.get_weights(), gpu.get_weights()):  # same seed -> same initial weights
        assert np.array_equal(a, b)
    hc = cpu.fit(x, t, batch_size=32, epochs=3, verbose=0, sample_weight=sw, validation_split=0.2)
    hg = gpu.fit(x, t, batch_size=32, epochs=3, verbose=0, sample_weight=sw, validation_split=0.2)
    _assert_close(
        cpu.get_weights(), gpu.get_weights(), SGD_TOL if opt == "sgd" else ADAM_TOL, "weights"
    )
    for k in hc.history:
        np.testing.assert_allclose(
            hc.history[k], hg.history[k], rtol=1e-4, atol=_atol(k), err_msg=k
        )
    assert cpu.optimizer.iterations == gpu.optimizer.iterations == 3 * 6
    ec = cpu.evaluate(x, t, verbose=0, return_dict=True)
    eg = gpu.evaluate(x, t, verbose=0, return_dict=True)
    for k in ec:
        assert ec[k] == pytest.approx(eg[k], rel=1e-4, abs=_atol(k)), k
    _assert_close(
        [cpu.predict(x, batch_size=50)], [gpu.predict(x, batch_size=50)], OUT_TOL, "predict"
    )


@needs_gpu
def test_cuda_wide_batches_match_cpu(rng):
    # Batches of 512 rows into 300 inputs: few output tiles and a long K (dW = x^T dz runs over
    # the batch), so the device GEMMs split K and sum the slices in a second pass.
    x = rng.standard_normal((1024, 300)).astype(np.float32)
    y = rng.integers(0, 10, 1024)
    ms = []
    for device in ("cpu", "cuda"):
        m = fnet.Sequential(
            [L.Dense(64, activation="relu", input_shape=(300,)), L.Dense(10, activation="softmax")],
            seed=5,
            device=device,
        )
        m.compile(
            optimizer=optimizers.SGD(0.05, momentum=0.9), loss="sparse_categorical_crossentropy"
        )
        m.fit(x, y, batch_size=512, epochs=2, verbose=0, shuffle=False)
        ms.append(m)
    _assert_close(ms[0].get_weights(), ms[1].get_weights(), SGD_TOL, "weights")
    _assert_close([ms[0].predict(x)], [ms[1].predict(x)], OUT_TOL, "predict")


@needs_gpu
def test_cuda_dropout_masks_and_shuffles_match_cpu(rng):
    x, y = _data(rng)
    cpu, gpu = _model("cpu", dropout=0.5), _model("cuda", dropout=0.5)
    # Masks: the same training forward on both (a different mask would differ grossly).
    _assert_close(
        [cpu.forward(x[:40], training=True)],
        [gpu.forward(x[:40], training=True)],
        OUT_TOL,
        "training forward",
    )
    cpu.fit(x, y, batch_size=16, epochs=2, verbose=0)  # shuffled batches, dropout
    gpu.fit(x, y, batch_size=16, epochs=2, verbose=0)
    _assert_close(cpu.get_weights(), gpu.get_weights(), SGD_TOL, "weights")
    assert cpu._net.train_forwards == gpu._net.train_forwards
    assert cpu._net.epochs_shuffled == gpu._net.epochs_shuffled


@needs_gpu
def test_cuda_streamed_fallback_equals_resident(rng):
    x, y = _data(rng)
    a, b, c = _model("cuda"), _model("cuda"), _model("cuda")
    for m in (b, c):
        m._net.max_resident_bytes = 0  # rows gathered on the host, copied chunk by chunk
    c._net.stream_chunk_bytes = 1  # one batch per chunk: both slots reused many times
    hs = [m.fit(x, y, batch_size=32, epochs=2, verbose=0, validation_split=0.1) for m in (a, b, c)]
    # With a callback: one C++ call per epoch, the data held on the device between them.
    cb = [fnet.callbacks.Callback()]
    hs += [
        m.fit(x, y, batch_size=16, epochs=2, verbose=0, validation_split=0.1, callbacks=cb)
        for m in (a, b, c)
    ]
    for m in (b, c):
        for wa, wb in zip(a.get_weights(), m.get_weights()):
            assert np.array_equal(wa, wb)
    assert hs[0].history == hs[1].history == hs[2].history
    assert hs[3].history == hs[4].history == hs[5].history
    pa = a.predict(x, batch_size=64)
    assert np.array_equal(pa, b.predict(x, batch_size=64))
    assert np.array_equal(pa, c.predict(x, batch_size=64))


@needs_gpu
def test_cuda_batch_hook_equals_no_hook(rng):
    x, y = _data(rng)
    a, b = _model("cuda"), _model("cuda")
    a.fit(x, y, batch_size=16, epochs=2, verbose=0)
    seen = []

    class Batches(fnet.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(logs["loss"])

    b.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[Batches()])
    assert len(seen) == 2 * 13 and all(np.isfinite(seen))
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert np.array_equal(wa, wb)


@needs_gpu
def test_cuda_progress_bar_fit_equals_quiet_fit(rng, capsys):
    x, y = _data(rng)
    a, b = _model("cuda"), _model("cuda")
    ha = a.fit(x, y, batch_size=16, epochs=2, verbose=0)
    hb = b.fit(x, y, batch_size=16, epochs=2, verbose=1)  # throttled batch hooks
    out = capsys.readouterr()
    assert "loss" in out.out + out.err
    assert ha.history == hb.history
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert np.array_equal(wa, wb)


@needs_gpu
def test_cuda_explicit_loop_and_tape_match_cpu(rng):
    x, y = _data(rng)
    models = {d: _model(d, opt=optimizers.Adam(1e-3)) for d in ("cpu", "cuda")}
    for m in models.values():
        for s in range(0, 64, 16):
            out = m.forward(x[s : s + 16])
            _, dout = m.loss(out, y[s : s + 16])
            m.backward(dout)
            m.update_weights()
        with fnet.GradientTape() as tape:
            loss = losses.SparseCategoricalCrossentropy()(y[:16], m(x[:16], training=True))
        grads = tape.gradient(loss, m.trainable_variables)
        m.optimizer.apply_gradients(zip(grads, m.trainable_variables))
    _assert_close(models["cpu"].get_weights(), models["cuda"].get_weights(), ADAM_TOL, "weights")
    _assert_close(models["cpu"].gradients, models["cuda"].gradients, ADAM_TOL, "gradients")


@needs_gpu
def test_cuda_to_round_trip_and_save_load(rng, tmp_path):
    x, y = _data(rng)
    ref = _model("cpu", opt=optimizers.Adam(1e-3))
    ref.fit(x, y, batch_size=32, epochs=2, verbose=0)

    m = _model("cpu", opt=optimizers.Adam(1e-3))
    m.fit(x, y, batch_size=32, epochs=1, verbose=0)
    v0 = m.trainable_variables[0]
    state = m.optimizer.state_dict()
    assert m.to("cuda") is m and m.device == "cuda"
    assert m.trainable_variables[0] is v0
    moved = m.optimizer.state_dict()
    for k in state["state"]:
        assert np.array_equal(state["state"][k], moved["state"][k])
    assert moved["iterations"] == state["iterations"]
    m.fit(x, y, batch_size=32, epochs=1, verbose=0)  # continues with the moved Adam state
    _assert_close(ref.get_weights(), m.get_weights(), ADAM_TOL, "weights after to('cuda')")
    m.to("cpu")
    assert m.device == "cpu" and np.array_equal(v0.numpy(), m.get_weights()[0])

    g = _model("cuda", opt=optimizers.Adam(1e-3))
    g.fit(x, y, batch_size=32, epochs=1, verbose=0)
    path = tmp_path / "m.fnet"
    g.save(path)
    h = fnet.load_model(path)  # device="auto" -> cuda here
    assert h.device == "cuda"
    assert np.array_equal(g.predict(x), h.predict(x))
    g.fit(x, y, batch_size=32, epochs=1, verbose=0)
    h.fit(x, y, batch_size=32, epochs=1, verbose=0)
    for a, b in zip(g.get_weights(), h.get_weights()):
        assert np.array_equal(a, b)


# ==== errors, everywhere ==========================================================================

SPEC = [_core.DenseSpec(4, 3)]


@pytest.mark.skipif(CUDA["available"], reason="a CUDA device is present")
def test_netcuda_without_cuda_raises_clear_error():
    with pytest.raises(RuntimeError, match=r"CUDA not (compiled|available)"):
        _core.Net(SPEC, 0.0, 0, _core.Device.cuda)


@pytest.mark.skipif(CUDA["available"], reason="a CUDA device is present")
def test_sequential_cuda_without_device_raises_with_reason():
    with pytest.raises(ValueError, match=r"device='cuda': CUDA is not available here \(.+\)"):
        fnet.Sequential([L.Dense(3, input_shape=(4,))], device="cuda", seed=0)
    m = fnet.Sequential([L.Dense(3, input_shape=(4,))], device="auto", seed=0)
    assert m.device == "cpu"


@pytest.mark.skipif(CUDA["available"], reason="a CUDA device is present")
def test_to_cuda_without_device_raises_and_keeps_the_model(rng):
    m = fnet.Sequential([L.Dense(3, input_shape=(4,))], device="cpu", seed=0)
    m.compile("sgd", "mse")
    w = m.get_weights()
    with pytest.raises(ValueError, match=r"CUDA is not available here"):
        m.to("cuda")
    assert m.device == "cpu"
    assert m.to("cpu") is m and m.to("auto") is m
    for a, b in zip(w, m.get_weights()):
        assert np.array_equal(a, b)
    m.fit(rng.standard_normal((8, 4)), rng.standard_normal((8, 3)), verbose=0)


def test_bad_device_name():
    with pytest.raises(ValueError, match=r"device: expected 'auto', 'cpu' or 'cuda', got 'gpu'"):
        fnet.Sequential([L.Dense(3, input_shape=(4,))], device="gpu")
    m = fnet.Sequential([L.Dense(3, input_shape=(4,))], device="cpu")
    with pytest.raises(ValueError, match=r"got 'tpu'"):
        m.to("tpu")


# ==== the Python side of the CUDA path, with a stand-in device ====================================


class FakeNetCuda:
    """A CUDA net's interface over a CPU Net whose arenas are only ever exchanged as COPIES, as
    with device memory. Sequential(device='cuda') on it must train bit-identically to the CPU
    path."""

    def __init__(self, layers, input_dropout, seed):
        self._n = _core.Net(layers, input_dropout, seed, _core.Device.cpu)
        self.max_resident_bytes = -1
        self.stream_chunk_bytes = 8 << 20
        self.holds = []  # the hold_data calls, in order

    def hold_data(self, hold):
        self.holds.append(hold)

    def __getattr__(self, name):  # plain values and methods with copy semantics
        if name in (
            "num_params",
            "num_stats",
            "stats_offset",
            "input_width",
            "output_width",
            "seed",
            "has_optimizer",
            "num_optimizer_states",
            "kernel_offset",
            "bias_offset",
            "fused",
            "compile",
            "compiled",
            "set_optimizer",
            "apply_update",
            "forward",
            "forward_output",
            "output",
            "loss",
            "backward",
            "train_epoch",
            "fit",
            "evaluate",
            "predict",
        ):
            return getattr(self._n, name)
        raise AttributeError(name)

    def _counter(c):  # noqa: N805 -- a property factory used in the class body
        return property(lambda self: getattr(self._n, c), lambda self, v: setattr(self._n, c, v))

    step = _counter("step")
    train_forwards = _counter("train_forwards")
    epochs_shuffled = _counter("epochs_shuffled")
    del _counter

    def get_params(self):
        return np.array(self._n.params)

    def set_params(self, a):
        self._n.params[...] = a

    def get_grads(self):
        return np.array(self._n.grads)

    def set_grads(self, a):
        self._n.grads[...] = a

    def get_optimizer_state(self, i):
        return np.array(self._n.optimizer_state(i))

    def set_optimizer_state(self, i, a):
        self._n.optimizer_state(i)[...] = a

    def get_stats(self):
        return np.array(self._n.stats)

    def set_stats(self, a):
        self._n.stats[...] = a

    def get_output_grad(self):
        return np.array(self._n.output_grad())

    def set_output_grad(self, a):
        self._n.output_grad()[...] = a


@pytest.fixture
def fake_cuda(monkeypatch):
    info = dict(_core.cuda_info(), available=True, reason="")
    monkeypatch.setattr(_core, "cuda_info", lambda: info)
    monkeypatch.setattr(_cuda_net, "_device_net", FakeNetCuda)


@pytest.mark.parametrize("kind", ["sparse", "mse"])
def test_mirrors_fit_evaluate_predict_bit_identical(fake_cuda, kind, rng):
    x, y = _data(rng)
    t = _targets(kind, y, rng)
    a, b = _model("cpu", kind, dropout=0.3), _model("cuda", kind, dropout=0.3)
    assert b.device == "cuda" and type(b._net).__name__ == "CudaNet"
    ha = a.fit(x, t, batch_size=16, epochs=2, verbose=0, validation_split=0.2)
    hb = b.fit(x, t, batch_size=16, epochs=2, verbose=0, validation_split=0.2)
    assert ha.history == hb.history
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert np.array_equal(wa, wb)
    assert a.evaluate(x, t, verbose=0) == b.evaluate(x, t, verbose=0)
    assert np.array_equal(a.predict(x), b.predict(x))
    # A write through a Variable / set_weights reaches the device before the next call.
    for m in (a, b):
        m.trainable_variables[0].assign(np.zeros((12, 16)))
        m.fit(x, t, batch_size=16, epochs=1, verbose=0, callbacks=[fnet.callbacks.Callback()])
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert np.array_equal(wa, wb)


def test_fit_with_callbacks_holds_the_data_and_releases_it(fake_cuda, rng):
    x, y = _data(rng)
    m = _model("cuda")
    m.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[fnet.callbacks.Callback()])
    assert m._net._d.holds == [True, False]

    class Boom(fnet.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        m.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[Boom()])
    assert m._net._d.holds == [True, False, True, False]
    m.fit(x, y, batch_size=16, epochs=1, verbose=0)  # one C++ call: nothing to hold
    assert len(m._net._d.holds) == 4


def test_mirrors_explicit_loop_tape_and_optimizer_state(fake_cuda, rng):
    x, y = _data(rng)
    ms = [_model(d, opt=optimizers.Adam(1e-2)) for d in ("cpu", "cuda")]
    for m in ms:
        for s in range(0, 48, 16):
            out = m.forward(x[s : s + 16])
            _, dout = m.loss(out, y[s : s + 16])
            m.backward(dout * 0.5)  # a user-changed delta must be what backward uses
            m.update_weights()
        with fnet.GradientTape() as tape:
            loss = losses.SparseCategoricalCrossentropy()(y[:16], m(x[:16], training=True))
        grads = tape.gradient(loss, m.trainable_variables)
        m.optimizer.apply_gradients(zip(grads, m.trainable_variables))
    a, b = ms
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert np.array_equal(wa, wb)
    for ga, gb in zip(a.gradients, b.gradients):
        assert np.array_equal(ga, gb)
    sa, sb = a.optimizer.state_dict(), b.optimizer.state_dict()
    assert sa["iterations"] == sb["iterations"] == 4
    for k in sa["state"]:
        assert np.array_equal(sa["state"][k], sb["state"][k])


def test_mirrors_to_round_trip_and_save_load(fake_cuda, rng, tmp_path):
    x, y = _data(rng)
    ref = _model("cpu", opt=optimizers.Adam(1e-2), dropout=0.2)
    ref.fit(x, y, batch_size=32, epochs=3, verbose=0)

    m = _model("cpu", opt=optimizers.Adam(1e-2), dropout=0.2)
    v0 = m.trainable_variables[0]
    m.fit(x, y, batch_size=32, epochs=1, verbose=0)
    m.to("cuda")
    assert m.device == "cuda" and m.trainable_variables[0] is v0
    m.fit(x, y, batch_size=32, epochs=1, verbose=0)
    path = tmp_path / "m.fnet"
    m.save(path)
    h = fnet.load_model(path)  # device "auto" -> "cuda" with the stand-in
    assert h.device == "cuda"
    m.to("cpu")
    assert m.device == "cpu" and np.array_equal(v0.numpy(), m.get_weights()[0])
    m.fit(x, y, batch_size=32, epochs=1, verbose=0)
    h.fit(x, y, batch_size=32, epochs=1, verbose=0)
    for wr, wm, wh in zip(ref.get_weights(), m.get_weights(), h.get_weights()):
        assert np.array_equal(wr, wm)
        assert np.array_equal(wr, wh)
    assert ref.optimizer.iterations == m.optimizer.iterations == h.optimizer.iterations
