"""Batch / layer normalization: the kernels (fusednet.ops, every CPU ISA and CUDA) against float64
references and PyTorch, and the BatchNormalization / LayerNormalization / Normalization layers in
a model: training vs inference, moving statistics, training against the same net in PyTorch,
determinism across thread counts, save/load."""

import os

import numpy as np
import pytest

import fusednet as fnet
import reference_norm as ref
from fusednet import layers as L

SHAPES = [(1, 3), (7, 5), (64, 33), (130, 300), (513, 70)]  # 300 > one column block, 513 rows


def _data(rng, shape, scale=3.0):
    return (rng.standard_normal(shape) * scale + rng.standard_normal(shape[1:]) * 2).astype(
        np.float32
    )


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_matches_reference(shape, affine, device, cpu_isa, rng):
    x = _data(rng, shape)
    n = shape[1]
    g = rng.standard_normal(n).astype(np.float32) if affine else None
    b = rng.standard_normal(n).astype(np.float32) if affine else None
    mm = rng.standard_normal(n).astype(np.float32)
    mv = rng.random(n).astype(np.float32) + 0.5
    mm0, mv0 = mm.copy(), mv.copy()
    y, mean, invstd = fnet.ops.batch_norm(x, g, b, mm, mv, momentum=0.9, device=device)
    want, _, (wm, wv) = ref.batch_norm(x, g, b, 1e-3, True, mm0, mv0, momentum=0.9)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=2e-5)
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(invstd, 1 / np.sqrt(x.astype(np.float64).var(0) + 1e-3), rtol=1e-6)
    np.testing.assert_allclose(mm, wm, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(mv, wv, rtol=1e-6, atol=1e-6)
    dy = rng.standard_normal(shape).astype(np.float32)
    dx, dg, db = fnet.ops.batch_norm_backward(dy, x, mean, invstd, g, device=device)
    wdx, wdg, wdb = ref.batch_norm_backward(dy, x, g, 1e-3, True)
    scale = np.abs(wdx).max() + 1
    np.testing.assert_allclose(dx, wdx, rtol=1e-4, atol=2e-5 * scale)
    np.testing.assert_allclose(dg, wdg, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(db, wdb, rtol=1e-5, atol=1e-4)
    # Inference: the moving statistics, an affine map.
    y2, _, inv2 = fnet.ops.batch_norm(x, g, b, mm, mv, training=False, device=device)
    want2, _, _ = ref.batch_norm(x, g, b, 1e-3, False, mm, mv)
    np.testing.assert_allclose(y2, want2, rtol=1e-5, atol=2e-5)
    dx2, dg2, db2 = fnet.ops.batch_norm_backward(dy, x, mm, inv2, g, training=False, device=device)
    wdx2, wdg2, wdb2 = ref.batch_norm_backward(dy, x, g, 1e-3, False, mv, mm)
    np.testing.assert_allclose(dx2, wdx2, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dg2, wdg2, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(db2, wdb2, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("shape", SHAPES + [(0, 4)])
def test_batch_norm_sums_match_reference(shape, device, cpu_isa, rng):
    """The column sums data-parallel ranks add up (synchronized BatchNormalization)."""
    from fusednet import _core

    dev = _core.Device.__members__[device]
    x = _data(rng, shape)
    n = shape[1]
    s = _core._batch_norm_sums(x, None, None, 0.0, None, None, device=dev)
    assert s.dtype == np.float64 and s.shape == (n,)
    np.testing.assert_allclose(s, ref.batch_norm_sums(x), rtol=1e-12, atol=1e-9)
    count = max(len(x), 1)
    q = _core._batch_norm_sums(x, None, s, count, None, None, device=dev)
    want = ref.batch_norm_sums(x, center=s / count)
    np.testing.assert_allclose(q, want, rtol=1e-12, atol=1e-9)
    mean = (s / count).astype(np.float32)
    invstd = (1 / np.sqrt(q / count + 1e-3)).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    g = _core._batch_norm_sums(x, dy, None, 0.0, mean, invstd, device=dev)
    assert g.shape == (2 * n,)
    np.testing.assert_allclose(
        g, ref.batch_norm_sums(x, dy, mean=mean, invstd=invstd), rtol=1e-5, atol=1e-4
    )
    if len(x) >= 2:  # two shards' sums add up to the whole batch's
        k = len(x) // 2
        for args in ((None, 0.0), (s, count)):
            parts = [
                _core._batch_norm_sums(p, None, *args, None, None, device=dev)
                for p in (x[:k], x[k:])
            ]
            whole = s if args[0] is None else q
            np.testing.assert_allclose(parts[0] + parts[1], whole, rtol=1e-12, atol=1e-9)
    with pytest.raises(ValueError, match="sum: expected shape"):
        _core._batch_norm_sums(x, None, np.zeros(n + 1), 1.0, None, None, device=dev)
    with pytest.raises(ValueError, match="count: expected > 0 with sum, got 0"):
        _core._batch_norm_sums(x, None, s, 0.0, None, None, device=dev)
    with pytest.raises(ValueError, match="mean, invstd: required with dy"):
        _core._batch_norm_sums(x, dy, None, 0.0, None, None, device=dev)
    with pytest.raises(ValueError, match="sum: only without dy"):
        _core._batch_norm_sums(x, dy, s, count, mean, invstd, device=dev)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_reference(shape, affine, device, cpu_isa, rng):
    x = _data(rng, shape)
    n = shape[1]
    g = rng.standard_normal(n).astype(np.float32) if affine else None
    b = rng.standard_normal(n).astype(np.float32) if affine else None
    y, mean, rstd = fnet.ops.layer_norm(x, g, b, epsilon=1e-3, device=device)
    np.testing.assert_allclose(y, ref.layer_norm(x, g, b, 1e-3), rtol=1e-5, atol=3e-5)
    dy = rng.standard_normal(shape).astype(np.float32)
    dx, dg, db = fnet.ops.layer_norm_backward(dy, x, mean, rstd, g, device=device)
    wdx, wdg, wdb = ref.layer_norm_backward(dy, x, g, 1e-3)
    np.testing.assert_allclose(dx, wdx, rtol=1e-4, atol=3e-5 * (np.abs(wdx).max() + 1))
    np.testing.assert_allclose(dg, wdg, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(db, wdb, rtol=1e-5, atol=1e-4)


def test_norm_kernels_against_torch(rng):
    torch = pytest.importorskip("torch")
    x = _data(rng, (96, 40))
    # BatchNorm1d: torch's momentum is 1 - Keras's, and its running_var is unbiased.
    bn = torch.nn.BatchNorm1d(40, eps=1e-3, momentum=0.1).double()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(rng.standard_normal(40)))
        bn.bias.copy_(torch.tensor(rng.standard_normal(40)))
    g, b = (
        bn.weight.detach().numpy().astype(np.float32),
        bn.bias.detach().numpy().astype(np.float32),
    )
    mm, mv = np.zeros(40, np.float32), np.ones(40, np.float32)
    y, _, _ = fnet.ops.batch_norm(x, g, b, mm, mv, momentum=0.9)
    yt = bn.train()(torch.tensor(x, dtype=torch.float64))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-5, atol=2e-5)
    np.testing.assert_allclose(mm, bn.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    n = len(x)
    biased_running = 0.9 + 0.1 * (bn.running_var.numpy() - 0.9) / 0.1 * (n - 1) / n
    np.testing.assert_allclose(mv, biased_running, rtol=1e-5)
    ye, _, _ = fnet.ops.batch_norm(x, g, b, mm, mv, training=False)
    with torch.no_grad():
        bn.running_var.copy_(torch.tensor(mv, dtype=torch.float64))
    np.testing.assert_allclose(
        ye, bn.eval()(torch.tensor(x, dtype=torch.float64)).detach().numpy(), rtol=1e-5, atol=2e-5
    )
    ln = torch.nn.LayerNorm(40, eps=1e-3).double()
    with torch.no_grad():
        ln.weight.copy_(torch.tensor(g, dtype=torch.float64))
        ln.bias.copy_(torch.tensor(b, dtype=torch.float64))
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    yt = ln(xt)
    dy = rng.standard_normal(x.shape)
    yt.backward(torch.tensor(dy))
    y, mean, rstd = fnet.ops.layer_norm(x, g, b)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-5, atol=3e-5)
    dx, dg, db = fnet.ops.layer_norm_backward(dy.astype(np.float32), x, mean, rstd, g)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dg, ln.weight.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(db, ln.bias.grad.numpy(), rtol=1e-5, atol=1e-4)


def test_norm_kernels_bitwise_across_threads(threads, rng):
    x = _data(rng, (700, 200))
    dy = rng.standard_normal(x.shape).astype(np.float32)
    g = rng.standard_normal(200).astype(np.float32)
    outs = []
    for t in (1, 2, 3):
        threads(t)
        mm, mv = np.zeros(200, np.float32), np.ones(200, np.float32)
        y, m, s = fnet.ops.batch_norm(x, g, g, mm, mv)
        bwd = fnet.ops.batch_norm_backward(dy, x, m, s, g)
        ly, lm, lr = fnet.ops.layer_norm(x, g, g)
        lbwd = fnet.ops.layer_norm_backward(dy, x, lm, lr, g)
        outs.append([y, m, s, mm, mv, *bwd, ly, lm, lr, *lbwd])
    for other in outs[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(outs[0], other))


def test_norm_ops_bad_arguments():
    x = np.ones((4, 3), np.float32)
    with pytest.raises(ValueError, match="x: expected a 2-D array"):
        fnet.ops.batch_norm(np.ones(3))
    with pytest.raises(ValueError, match="gamma: expected shape \\(3,\\)"):
        fnet.ops.batch_norm(x, np.ones(4))
    with pytest.raises(ValueError, match="epsilon: expected a number > 0"):
        fnet.ops.layer_norm(x, epsilon=0)
    with pytest.raises(ValueError, match="momentum: expected a number in \\[0, 1\\]"):
        fnet.ops.batch_norm(x, momentum=1.5)
    with pytest.raises(ValueError, match="required with training=False"):
        fnet.ops.batch_norm(x, training=False)
    with pytest.raises(ValueError, match="give both or neither"):
        fnet.ops.batch_norm(x, moving_mean=np.zeros(3, np.float32))
    with pytest.raises(TypeError):
        fnet.ops.batch_norm(x, None, None, np.zeros(3), np.ones(3))  # float64: not in place
    with pytest.raises(ValueError, match="at least one row"):
        fnet.ops.batch_norm(np.ones((0, 3), np.float32))
    with pytest.raises(ValueError, match="dy: expected shape"):
        fnet.ops.layer_norm_backward(np.ones((2, 3)), x, np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match="device"):
        fnet.ops.layer_norm(x, device="tpu")


# ---- the layers in a model -----------------------------------------------------------------------
def _bn_model(seed=0, device="cpu", momentum=0.9, optimizer=None):
    m = fnet.Sequential(
        [
            L.Input(shape=(12,)),
            L.Dense(16),
            L.BatchNormalization(momentum=momentum),
            L.ReLU(),
            L.Dense(16, activation="tanh"),
            L.LayerNormalization(),
            L.Dense(4),
            L.Activation("softmax"),
        ],
        seed=seed,
        device=device,
    )
    m.compile(
        optimizer or fnet.optimizers.SGD(0.1), "sparse_categorical_crossentropy", ["accuracy"]
    )
    return m


def _xy(rng, n=96):
    x = rng.standard_normal((n, 12)).astype(np.float32)
    y = (np.abs(x[:, :4]).argmax(1)).astype(np.int64)
    return x, y


def test_batch_norm_training_vs_inference(rng):
    m = _bn_model()
    x, y = _xy(rng)
    bn = m.layers[2]
    assert [v.name for v in bn.weights] == [
        "batch_normalization/gamma",
        "batch_normalization/beta",
        "batch_normalization/moving_mean",
        "batch_normalization/moving_variance",
    ] or [v.name.split("/")[1] for v in bn.weights] == [
        "gamma",
        "beta",
        "moving_mean",
        "moving_variance",
    ]
    assert [v.trainable for v in bn.weights] == [True, True, False, False]
    np.testing.assert_array_equal(bn.moving_variance.numpy(), np.ones(16))
    h = x @ m.layers[1].kernel.numpy() + m.layers[1].bias.numpy()
    m.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    # One training step: the moving statistics moved by Keras's rule from the batch's.
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.1 * h.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.9 + 0.1 * h.var(0), rtol=1e-5)
    # Inference uses them and does not move them; evaluate and predict agree.
    before = [w.copy() for w in m.get_weights()]
    p = m.predict(x, verbose=0)
    loss = m.evaluate(x, y, verbose=0)[0]
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))
    want = -np.log(p[np.arange(len(y)), y]).mean()
    assert abs(loss - want) < 1e-5
    # training=True uses the batch statistics (a different output) and moves the moving ones.
    mean_before = bn.moving_mean.numpy()
    assert not np.allclose(m(x, training=True), p, atol=1e-4)
    assert not np.array_equal(bn.moving_mean.numpy(), mean_before)
    np.testing.assert_array_equal(m(x, training=False), m.predict(x, verbose=0))


def _torch_net(torch, m):
    """The same net in PyTorch (float64), weights copied from m."""
    w = m.get_weights()
    lin1, bn, lin2, ln, lin3 = (
        torch.nn.Linear(12, 16),
        torch.nn.BatchNorm1d(16, eps=1e-3, momentum=0.1),
        torch.nn.Linear(16, 16),
        torch.nn.LayerNorm(16, eps=1e-3),
        torch.nn.Linear(16, 4),
    )
    net = torch.nn.Sequential(lin1, bn, torch.nn.ReLU(), lin2, torch.nn.Tanh(), ln, lin3).double()
    T = lambda a: torch.tensor(np.asarray(a), dtype=torch.float64)  # noqa: E731
    with torch.no_grad():
        lin1.weight.copy_(T(w[0]).T), lin1.bias.copy_(T(w[1]))
        bn.weight.copy_(T(w[2])), bn.bias.copy_(T(w[3]))
        lin2.weight.copy_(T(w[6]).T), lin2.bias.copy_(T(w[7]))
        ln.weight.copy_(T(w[8])), ln.bias.copy_(T(w[9]))
        lin3.weight.copy_(T(w[10]).T), lin3.bias.copy_(T(w[11]))
    return net, bn, lin1


def test_bn_ln_net_trains_as_pytorch_50_steps(rng):
    torch = pytest.importorskip("torch")
    m = _bn_model(seed=4)
    x, y = _xy(rng)
    net, bn, lin1 = _torch_net(torch, m)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.tensor(y)
    moving_mean, moving_var = np.zeros(16), np.ones(16)
    batches = [slice(i, i + 32) for i in range(0, len(x), 32)]
    for _ in range(50 // len(batches) + 1):
        for s in batches:
            with torch.no_grad():  # Keras's moving statistics (biased variance) from the batch
                h = lin1(xt[s]).numpy()
            moving_mean = moving_mean * 0.9 + h.mean(0) * 0.1
            moving_var = moving_var * 0.9 + h.var(0) * 0.1
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net.train()(xt[s]), yt[s]).backward()
            opt.step()
    m.fit(x, y, batch_size=32, epochs=50 // len(batches) + 1, shuffle=False, verbose=0)
    w = m.get_weights()
    got = [w[0], w[1], w[2], w[3], w[6], w[7], w[8], w[9], w[10], w[11]]
    params = [p.detach().numpy() for p in net.parameters()]
    want = [params[0].T, params[1], params[2], params[3], params[4].T, params[5]]
    want += [params[6], params[7], params[8].T, params[9]]
    for g, t in zip(got, want):
        np.testing.assert_allclose(g, t, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(w[4], moving_mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(w[5], moving_var, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(w[4], bn.running_mean.numpy(), rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        bn.running_var.copy_(torch.tensor(w[5], dtype=torch.float64))
        pt = torch.softmax(net.eval()(xt), 1).numpy()
    np.testing.assert_allclose(m.predict(x, verbose=0), pt, rtol=1e-4, atol=1e-5)


def test_bn_training_bitwise_across_threads(threads, rng):
    x, y = _xy(rng, 300)
    results = []
    for t in (1, 2, 3):
        threads(t)
        m = _bn_model(seed=2, optimizer="adam")
        m.fit(x, y, batch_size=64, epochs=3, verbose=0)
        results.append(m.get_weights())
    for other in results[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(results[0], other))


def test_bn_save_load_round_trip(tmp_path, rng):
    x, y = _xy(rng)
    m = _bn_model(seed=3, optimizer="adam")
    m.fit(x, y, batch_size=32, epochs=2, verbose=0)
    path = os.fspath(tmp_path / "bn.fnet")
    m.save(path)
    r = fnet.load_model(path, device="cpu")
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), r.get_weights()))
    np.testing.assert_array_equal(m.predict(x, verbose=0), r.predict(x, verbose=0))
    m.fit(x, y, batch_size=32, epochs=2, verbose=0)
    r.fit(x, y, batch_size=32, epochs=2, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), r.get_weights()))
    wpath = os.fspath(tmp_path / "bn.weights.h5")
    m.save_weights(wpath)
    fresh = _bn_model(seed=9, optimizer="adam")
    fresh.load_weights(wpath)
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), fresh.get_weights()))
    # The statistics are part of get_weights / set_weights (Keras's order).
    ws = m.get_weights()
    ws[5] = ws[5] + 1.0
    r.set_weights(ws)
    np.testing.assert_array_equal(r.layers[2].moving_variance.numpy(), ws[5])


def test_bn_on_cuda_equals_cpu(device, rng):
    x, y = _xy(rng)
    a, b = _bn_model(seed=5, device="cpu"), _bn_model(seed=5, device=device)
    a.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    b.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    for p, q in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(p, q, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(a.predict(x, verbose=0), b.predict(x, verbose=0), atol=1e-5)
    m = _bn_model(seed=5, device="cpu")
    m.fit(x, y, batch_size=32, epochs=1, verbose=0)
    want = m.predict(x, verbose=0)
    m.to(device)  # the statistics travel with the weights
    np.testing.assert_allclose(m.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)


def test_layer_norm_and_normalization_layers(rng):
    x = (rng.standard_normal((50, 6)) * [1, 2, 3, 4, 5, 6] + 7).astype(np.float32)
    norm = L.Normalization()
    norm.adapt(x)
    np.testing.assert_allclose(norm.mean, x.astype(np.float64).mean(0))
    m = fnet.Sequential([L.Input((6,)), norm, L.LayerNormalization(epsilon=1e-2)], device="cpu")
    assert [v.name.split("/")[-1] for v in m.weights] == ["mean", "variance", "gamma", "beta"]
    assert [v.trainable for v in m.weights] == [False, False, True, True]
    xd = x.astype(np.float64)
    z = (xd - xd.mean(0)) / np.maximum(np.sqrt(xd.var(0)), 1e-7)
    want = ref.layer_norm(z, None, None, 1e-2)
    np.testing.assert_allclose(m.predict(x, verbose=0), want, rtol=1e-4, atol=1e-5)
    # adapt after build writes into the model; fixed statistics given up front.
    norm.adapt(x * 2)
    np.testing.assert_allclose(
        m.layers[1].mean.numpy() if False else m.weights[0].numpy(), (xd * 2).mean(0), rtol=1e-6
    )
    fixed = fnet.Sequential([L.Normalization(mean=1.0, variance=4.0, input_shape=(3,))])
    np.testing.assert_allclose(fixed.predict(np.full((2, 3), 5.0), verbose=0), 2.0)
    # Normalization then Dense trains (no gradient through the fixed statistics).
    m2 = fnet.Sequential(
        [L.Input((6,)), L.Normalization(mean=xd.mean(0), variance=xd.var(0)), L.Dense(1)],
        seed=1,
        device="cpu",
    )
    m2.compile("sgd", "mse")
    m2.fit(x, x[:, :1], epochs=2, verbose=0)
    np.testing.assert_allclose(m2.weights[0].numpy(), xd.mean(0), rtol=1e-6)


def test_normalization_layers_bad_arguments():
    with pytest.raises(ValueError, match="momentum"):
        L.BatchNormalization(momentum=1.5)
    with pytest.raises(ValueError, match="epsilon"):
        L.BatchNormalization(epsilon=0)
    with pytest.raises(ValueError, match="axis"):
        L.BatchNormalization(axis=0)
    with pytest.raises(ValueError, match="epsilon"):
        L.LayerNormalization(epsilon=-1.0)
    with pytest.raises(ValueError, match="axis"):
        L.LayerNormalization(axis=2)
    with pytest.raises(ValueError, match="give both or neither"):
        L.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="variance: expected values >= 0"):
        L.Normalization(mean=1.0, variance=-1.0)
    with pytest.raises(ValueError, match="gamma_initializer"):
        L.BatchNormalization(gamma_initializer="nope")
    with pytest.raises(ValueError, match="has 2 values, the layer's input has 3"):
        fnet.Sequential([L.Normalization(mean=[1, 2], variance=[1, 1], input_shape=(3,))])
    with pytest.raises(ValueError, match="data: expected at least one sample"):
        L.Normalization().adapt(np.zeros((0, 3)))


@pytest.mark.parametrize("overlap", [True, False])
def test_batch_norm_data_parallel_world_of_one_is_one_process(monkeypatch, rng, device, overlap):
    """Synchronized BatchNormalization (its sums over the ranks, staged through the host on a
    device net) in a world of one: one process's bits, moving statistics included. K ranks
    against one process: tests/test_distributed.py (the bn_* cases)."""
    from fusednet import distributed as dist

    monkeypatch.setattr(dist._state, "world", dist.World(None))
    x, y = _xy(rng, 90)  # a short last batch
    a, b = _bn_model(seed=3, device=device), _bn_model(seed=3, device=device)
    ha = a.fit(x, y, batch_size=32, epochs=2, verbose=0)
    hb = b.fit(
        x, y, batch_size=32, epochs=2, verbose=0, distributed=dist.DataParallel(overlap=overlap)
    )
    assert b.layers[2].weights[2].name.endswith("/moving_mean")
    moved = b.layers[2].get_weights()[2]
    assert np.abs(moved).max() > 0  # the moving mean moved
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert np.array_equal(wa, wb)
    assert ha.history == hb.history
    assert a.evaluate(x, y, verbose=0) == b.evaluate(x, y, verbose=0, distributed=True)


def test_norm_ops_zero_sizes(device):
    empty = np.zeros((0, 3), np.float32)
    y, mean, rstd = fnet.ops.layer_norm(empty, device=device)
    assert y.shape == (0, 3) and mean.shape == (0,)
    dx, dg, db = fnet.ops.layer_norm_backward(empty, empty, mean, rstd, np.ones(3), device=device)
    assert dx.shape == (0, 3) and not dg.any() and not db.any()
    dx, dg, db = fnet.ops.batch_norm_backward(empty, empty, np.zeros(3), np.ones(3), device=device)
    assert dx.shape == (0, 3) and not dg.any() and not db.any()
    y, mean, invstd = fnet.ops.batch_norm(np.zeros((4, 0), np.float32), device=device)
    assert y.shape == (4, 0) and mean.shape == (0,)
