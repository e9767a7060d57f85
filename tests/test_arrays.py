"""Arrays from anywhere (fusednet._arrays): ops and the model's entry points take NumPy arrays,
DLPack tensors (PyTorch; any __dlpack__ object) and buffers without copies, update writable
tensors in place, refuse read-only exports for in-place arguments, and hand results back in the
caller's kind. CUDA DLPack arrays with device="cuda" run on their device memory (the CudaArray
cases: a real GPU or the host mock, tools/netcuda_mock/run_module.sh)."""

import array
import tracemalloc

import numpy as np
import pytest

import fusednet as fnet
from checks import cuda_only
from fusednet import _core, ops
from fusednet._checks import as_f32

torch = pytest.importorskip("torch", reason="the DLPack producer used here is PyTorch")


class DLPackOnly:
    """An array known only through __dlpack__ (no __array__, no buffer), as a foreign library's
    would be; `read_only` exports it flagged read-only (DLPack 1.0)."""

    def __init__(self, a):
        self.a = a

    def __dlpack__(self, **kw):
        return self.a.__dlpack__(**kw)

    def __dlpack_device__(self):
        return self.a.__dlpack_device__()


def read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return DLPackOnly(a)


class FakeCudaArray:
    """Claims CUDA memory: the host paths must refuse it before exporting anything."""

    shape = (2, 2)

    def __dlpack_device__(self):
        return (2, 0)

    def __dlpack__(self, **kw):
        raise AssertionError("a host path exported a CUDA array")


def t32(rng, *shape):
    return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))


# ---- zero-copy inputs ----------------------------------------------------------------------------
def test_float32_tensor_is_viewed_not_copied(rng):
    t = t32(rng, 4, 5)
    a = as_f32(t, "x")
    assert a.ctypes.data == t.data_ptr() and a.shape == (4, 5)
    buf = array.array("f", [1.0, 2.0, 3.0])
    b = as_f32(buf, "x")
    b_addr, _ = buf.buffer_info()
    assert b.ctypes.data == b_addr


def test_matmul_on_a_large_tensor_allocates_only_the_result(rng):
    """The issue's 64 MiB case, scaled: a 16 MiB float32 tensor must not be copied."""
    a = torch.ones(2048, 2048)
    b = torch.ones(2048, 1)
    tracemalloc.start()
    try:
        c = ops.matmul(a, b)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"{peak} bytes traced for an 8 KiB result"
    assert float(c[0, 0]) == 2048.0


def test_other_dtypes_are_converted_once(rng):
    a = torch.from_numpy(rng.standard_normal((3, 4)))  # float64
    b = torch.from_numpy(rng.standard_normal((4, 2)))
    c = ops.matmul(a, b)
    assert isinstance(c, torch.Tensor) and c.dtype == torch.float32
    np.testing.assert_allclose(c.numpy(), (a @ b).numpy(), rtol=1e-5, atol=1e-5)


def test_non_contiguous_tensor_views(rng):
    a = t32(rng, 6, 4).T  # (4, 6), Fortran order
    b = t32(rng, 6, 3)[:, ::2]  # strided columns
    want = a.double() @ b.double()
    np.testing.assert_allclose(ops.matmul(a, b).numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


# ---- results in the caller's kind ----------------------------------------------------------------
def test_tensor_in_tensor_out_numpy_otherwise(rng):
    x, w, b = t32(rng, 5, 3), t32(rng, 3, 2), t32(rng, 2)
    y = ops.linear(x, w, b, activation="relu")
    assert isinstance(y, torch.Tensor)
    want = torch.relu(x.double() @ w.double() + b.double())
    np.testing.assert_allclose(y.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.from_dlpack(y), y.numpy())  # results export again
    assert type(ops.linear(x.numpy(), w, b)) is np.ndarray  # mixed kinds: NumPy
    assert type(ops.relu([1.0, -1.0])) is np.ndarray
    assert type(ops.relu(array.array("f", [1.0, -1.0]))) is np.ndarray
    assert type(ops.relu(DLPackOnly(np.ones(3, np.float32)))) is np.ndarray  # no from_dlpack
    assert isinstance(ops.sigmoid_backward(x, x), torch.Tensor)
    assert isinstance(ops.softmax(x), torch.Tensor)
    assert isinstance(ops.bias_grad(x), torch.Tensor)
    assert isinstance(ops.argmax(x), torch.Tensor)
    loss, grad = ops.mse(x, torch.zeros(5, 3))
    assert isinstance(grad, torch.Tensor) and isinstance(loss, float)
    np.testing.assert_allclose(grad.numpy(), 2 * x.numpy() / 15, rtol=1e-6)
    _, dlogits = ops.softmax_cross_entropy(x, torch.tensor([0, 1, 2, 0, 1]))
    assert isinstance(dlogits, torch.Tensor)


def test_parameters_count_as_tensors(rng):
    w = torch.nn.Parameter(t32(rng, 3, 2), requires_grad=False)
    assert isinstance(ops.matmul(t32(rng, 4, 3), w), torch.Tensor)


def test_tensor_requiring_grad_gets_a_clear_error(rng):
    x = t32(rng, 2, 2).requires_grad_()
    with pytest.raises(TypeError, match=r"x: could not read the Tensor through DLPack.*detach"):
        ops.relu(x)


def test_cuda_array_with_device_cpu_is_refused():
    with pytest.raises(ValueError, match=r"a: expected an array in host memory.*cuda:0"):
        ops.matmul(FakeCudaArray(), np.ones((2, 2), np.float32))
    with pytest.raises(ValueError, match=r"param: expected an array in host memory"):
        ops.sgd_(FakeCudaArray(), np.ones((2, 2), np.float32), lr=0.1)


# ---- in place and out= ---------------------------------------------------------------------------
def test_optimizer_steps_update_cpu_tensors_in_place(rng):
    p, g = t32(rng, 7, 3), t32(rng, 7, 3)
    m, v = torch.zeros(7, 3), torch.zeros(7, 3)
    pn, mn, vn = p.numpy().copy(), np.zeros((7, 3), np.float32), np.zeros((7, 3), np.float32)
    ptr = p.data_ptr()
    assert ops.adam_(p, g, m, v, step=1, lr=0.1) is p
    ops.adam_(pn, g.numpy(), mn, vn, step=1, lr=0.1)
    assert p.data_ptr() == ptr
    np.testing.assert_array_equal(p.numpy(), pn)
    np.testing.assert_array_equal(m.numpy(), mn)
    np.testing.assert_array_equal(v.numpy(), vn)
    vel = torch.zeros(7, 3)
    before = p.clone()
    ops.sgd_(p, g, vel, lr=0.5, momentum=0.9)
    np.testing.assert_array_equal(vel.numpy(), g.numpy())
    np.testing.assert_array_equal(p.numpy(), (before - 0.5 * g).numpy())


def test_in_place_on_writable_buffers(rng):
    p = array.array("f", [1.0, 2.0])
    ops.sgd_(p, np.array([1.0, 1.0]), lr=0.5)
    assert list(p) == [0.5, 1.5]


def test_out_takes_tensors_and_is_returned_as_given(rng):
    a, b = t32(rng, 4, 3), t32(rng, 3, 5)
    out = torch.empty(4, 5)
    assert ops.matmul(a, b, out=out) is out
    np.testing.assert_allclose(out.numpy(), (a.double() @ b.double()).numpy(), atol=1e-5)
    x = t32(rng, 6)
    y = torch.empty(6)
    assert ops.relu(x, out=y) is y
    np.testing.assert_array_equal(y.numpy(), torch.relu(x).numpy())
    ops.relu(x, out=x)  # in place on the tensor itself
    np.testing.assert_array_equal(x.numpy(), y.numpy())
    db = torch.empty(5)
    assert ops.bias_grad(out, out=db) is db
    np.testing.assert_allclose(db.numpy(), out.double().sum(0).numpy(), atol=1e-5)
    lin = torch.empty(4, 5)
    assert ops.linear(a, b, out=lin) is lin


def test_in_place_refuses_other_dtypes_and_read_only_exports(rng):
    g = np.ones(4, np.float32)
    with pytest.raises(TypeError, match=r"param: expected dtype float32 .*never copied.*float64"):
        ops.sgd_(torch.zeros(4, dtype=torch.float64), g, lr=0.1)
    ro = read_only(np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=r"param: expected a writable array, got a read-only"):
        ops.sgd_(ro, g, lr=0.1)
    with pytest.raises(ValueError, match=r"out: expected a writable array, got a read-only"):
        ops.relu(g, out=read_only(np.zeros(4, np.float32)))
    with pytest.raises(ValueError, match=r"out: expected a writable array, got a read-only"):
        ops.matmul(
            np.ones((2, 2), np.float32), g.reshape(2, 2), out=read_only(np.eye(2, dtype=np.float32))
        )
    with pytest.raises(TypeError, match=r"v: expected a numpy.ndarray of float32, got list"):
        ops.adam_(np.zeros(4, np.float32), g, np.zeros(4, np.float32), [0.0] * 4, step=1)


def test_read_only_inputs_are_read_not_written(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    ro = read_only(x)
    y = ops.relu(ro)
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    np.testing.assert_array_equal(ro.a, x)
    w = read_only(np.eye(4, dtype=np.float32))
    np.testing.assert_allclose(ops.matmul(ro, w), x)
    p = np.zeros(4, np.float32)
    ops.sgd_(p, read_only(np.ones(4, np.float32)), lr=1.0)  # a read-only grad is fine
    np.testing.assert_array_equal(p, -np.ones(4))


# ---- model entry points --------------------------------------------------------------------------
def test_model_entry_points_take_tensors(rng):
    x = t32(rng, 64, 4)
    y = torch.from_numpy((x.numpy().sum(1) > 0).astype(np.int64))
    model = fnet.Sequential(
        [fnet.layers.Dense(8, activation="relu", input_shape=(4,)), fnet.layers.Dense(2)],
        device="cpu",
        seed=0,
    )
    model.compile(
        optimizer="adam",
        loss=fnet.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    hist = model.fit(x, y, epochs=2, batch_size=16, verbose=0, validation_data=(x, y))
    assert len(hist.history["loss"]) == 2
    pred = model.predict(x)
    assert isinstance(pred, torch.Tensor) and pred.shape == (64, 2)
    np.testing.assert_array_equal(pred.numpy(), model.predict(x.numpy()))
    assert isinstance(model(x), torch.Tensor)
    np.testing.assert_array_equal(model(x).numpy(), pred.numpy())
    loss, acc = model.evaluate(x, y, verbose=0)
    assert loss == pytest.approx(model.evaluate(x.numpy(), y.numpy(), verbose=0)[0])
    weights = [torch.from_numpy(w) * 0 for w in model.get_weights()]
    model.set_weights(weights)
    assert all((w == 0).all() for w in model.get_weights())


def test_model_refuses_a_tensor_requiring_grad_clearly(rng):
    model = fnet.Sequential([fnet.layers.Dense(2, input_shape=(3,))], device="cpu", seed=0)
    with pytest.raises(TypeError, match=r"x: could not read the Tensor through DLPack"):
        model.predict(t32(rng, 4, 3).requires_grad_())


# ---- CUDA DLPack arrays used in place (a GPU or the host mock) -----------------------------------
def cuda_array(host):
    host = np.ascontiguousarray(host, dtype=np.float32)
    d = _core.CudaArray(list(host.shape))
    d.copy_from(host)
    return d


@cuda_only
def test_cuda_arrays_run_in_place_on_the_device(device, rng):
    p, g = rng.standard_normal((2, 50)).astype(np.float32)
    m, v = np.zeros(50, np.float32), np.zeros(50, np.float32)
    dp, dg, dm, dv = cuda_array(p), cuda_array(g), cuda_array(m), cuda_array(v)
    assert ops.adam_(dp, dg, dm, dv, step=3, lr=0.1, device="cuda") is dp
    ops.adam_(p, g, m, v, step=3, lr=0.1)  # the CPU kernel on host copies
    np.testing.assert_allclose(dp.numpy(), p, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dm.numpy(), m, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(dg.numpy(), g)  # the gradient is read, never written
    vel = cuda_array(np.zeros(50, np.float32))
    ops.sgd_(dp, dg, vel, lr=0.5, momentum=0.9, device="cuda")
    np.testing.assert_allclose(vel.numpy(), g, rtol=1e-6)


@cuda_only
def test_cuda_arrays_ops_return_device_results(device, rng):
    x, w, b = t32(rng, 5, 3).numpy(), t32(rng, 3, 4).numpy(), t32(rng, 4).numpy()
    dx, dw, db = cuda_array(x), cuda_array(w), cuda_array(b)
    y = ops.linear(dx, dw, db, activation="tanh", device="cuda")
    assert isinstance(y, _core.CudaArray) and y.shape == (5, 4)
    np.testing.assert_allclose(y.numpy(), np.tanh(x @ w + b), rtol=1e-4, atol=1e-5)
    c = ops.matmul(dx, dw, device="cuda")
    np.testing.assert_allclose(c.numpy(), x @ w, rtol=1e-4, atol=1e-5)
    out = _core.CudaArray([3, 3])
    assert ops.matmul(dx, dx, trans_a=True, out=out, device="cuda") is out
    np.testing.assert_allclose(out.numpy(), x.T @ x, rtol=1e-4, atol=1e-5)
    r = ops.relu(dx, device="cuda")
    np.testing.assert_array_equal(r.numpy(), np.maximum(x, 0))
    dy = cuda_array(np.ones_like(x))
    dr = ops.sigmoid_backward(dy, dx, device="cuda")
    s = 1 / (1 + np.exp(-x.astype(np.float64)))
    np.testing.assert_allclose(dr.numpy(), s * (1 - s), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(dy.numpy(), np.ones_like(x))  # dx is never written over dy
    np.testing.assert_array_equal(dx.numpy(), x)
    sm = ops.softmax(dx, device="cuda")
    np.testing.assert_allclose(sm.numpy().sum(1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(ops.bias_grad(dx, device="cuda").numpy(), x.sum(0), rtol=1e-5)


@cuda_only
def test_cuda_arrays_are_checked(device, rng):
    dx = cuda_array(np.ones((2, 2), np.float32))
    with pytest.raises(ValueError, match=r"b: expected a CUDA array like the other arguments"):
        ops.matmul(dx, np.ones((2, 2), np.float32), device="cuda")
    with pytest.raises(ValueError, match=r"a: expected an array in host memory"):
        ops.matmul(dx, dx)  # device="cpu"
    with pytest.raises(ValueError, match=r"a: expected a 2-D array, got shape \(3,\)"):
        ops.matmul(cuda_array(np.ones(3)), dx, device="cuda")
    with pytest.raises(ValueError, match=r"dy: expected the shape of x \(2, 2\), got \(4,\)"):
        ops.relu_backward(cuda_array(np.ones(4)), dx, device="cuda")
    ro = _core.CudaArray([2, 2], read_only=True)
    with pytest.raises(ValueError, match=r"param: expected a writable array, got a read-only"):
        ops.sgd_(ro, dx, lr=0.1, device="cuda")
    with pytest.raises(ValueError, match=r"grad: expected shape \(2, 2\)"):
        ops.sgd_(dx, cuda_array(np.ones(3, np.float32)), lr=0.1, device="cuda")
    # the bindings themselves refuse device memory on the CPU column
    with pytest.raises(ValueError, match=r"x: a CUDA array, expected host memory with device=cpu"):
        _core.activation_forward(
            _core.DLPackArray(dx, "x"), np.empty((2, 2), np.float32), _core.Activation.relu
        )
