"""The general layer list: Activation / ReLU / LeakyReLU / Softmax layers anywhere (softmax on
hidden layers with its backward), the output fusions when the softmax or sigmoid comes from an
Activation layer, Flatten and N-D inputs, Input(shape=, batch_size=), the layers' weights API,
model.pop, and get_config / model_from_json of every layer kind."""

import numpy as np
import pytest

import fusednet as fnet
from fusednet import layers as L


def _copy_weights(src, dst):
    dst.set_weights(src.get_weights())


def test_activation_layer_after_linear_dense_is_the_fused_output(rng):
    x = rng.standard_normal((40, 5)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    a = fnet.Sequential([L.Dense(8, input_shape=(5,)), L.ReLU(), L.Dense(3), L.Softmax()], seed=1)
    b = fnet.Sequential([L.Dense(8, "relu", input_shape=(5,)), L.Dense(3, "softmax")], seed=1)
    for m in (a, b):
        m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    assert a._net.fused() and b._net.fused()
    ha = a.fit(x, y, epochs=3, batch_size=8, verbose=0).history
    hb = b.fit(x, y, epochs=3, batch_size=8, verbose=0).history
    assert ha == hb
    assert all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights()))
    # Keras's binary form: Dense(1) + Activation("sigmoid") with binary cross-entropy.
    c = fnet.Sequential([L.Dense(1, input_shape=(5,)), L.Activation("sigmoid")], seed=2)
    c.compile("sgd", "binary_crossentropy")
    assert c._net.fused()


def _torch_forward_backward(torch, m, x, y, acts):
    """The same Dense stack in PyTorch (float64) with acts[i] after Dense i; its weight grads."""
    ws = m.get_weights()
    params = [torch.tensor(w.astype(np.float64), requires_grad=True) for w in ws]
    h = torch.tensor(x, dtype=torch.float64)
    for i, act in enumerate(acts):
        h = act(h @ params[2 * i] + params[2 * i + 1])
    loss = torch.nn.functional.nll_loss(torch.log(h), torch.tensor(y))
    loss.backward()
    return loss.item(), [p.grad.numpy() for p in params]


def test_hidden_softmax_and_activation_layers_match_pytorch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((32, 6)).astype(np.float32)
    y = rng.integers(0, 4, 32)
    m = fnet.Sequential(
        [
            L.Input((6,)),
            L.Dense(8, activation="softmax"),  # a hidden softmax
            L.Dense(7, activation="tanh"),
            L.LeakyReLU(0.25),  # an activation layer after an activation: its own layer
            L.Dense(4),
            L.Softmax(),
        ],
        seed=3,
        device="cpu",
    )
    m.compile("sgd", "sparse_categorical_crossentropy")
    specs = m._specs[0]
    assert [s.kind for s in specs] == [fnet._core.LayerKind.dense] * 2 + [
        fnet._core.LayerKind.activation,
        fnet._core.LayerKind.dense,
    ]
    out = m.forward(x, training=True)
    loss, dout = m.loss(out, y)
    m.backward(dout)
    lrelu = lambda h: torch.nn.functional.leaky_relu(torch.tanh(h), 0.25)  # noqa: E731
    want_loss, grads = _torch_forward_backward(
        torch, m, x, y, [lambda h: torch.softmax(h, 1), lrelu, lambda h: torch.softmax(h, 1)]
    )
    assert abs(loss - want_loss) < 1e-5
    for g, w in zip(m.gradients, grads):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-6)


def test_softmax_activation_layer_not_fused_with_other_losses(rng):
    x = rng.standard_normal((16, 3)).astype(np.float32)
    m = fnet.Sequential([L.Dense(4, input_shape=(3,)), L.Softmax(), L.Dense(2)], seed=0)
    m.compile("adam", "mse")
    m.fit(x, x[:, :2], epochs=2, verbose=0)
    p = m.predict(x, verbose=0)
    k1, b1, k2, b2 = m.get_weights()
    z = x.astype(np.float64) @ k1 + b1
    s = np.exp(z - z.max(1, keepdims=True))
    s /= s.sum(1, keepdims=True)
    np.testing.assert_allclose(p, s @ k2 + b2, rtol=1e-5, atol=1e-6)


def test_activation_first_and_stacked_activation_layers(rng):
    x = rng.standard_normal((10, 3)).astype(np.float32)
    m = fnet.Sequential(
        [L.Activation("relu", input_shape=(3,)), L.Dense(2), L.Activation("linear")], seed=0
    )
    k, b = m.get_weights()
    np.testing.assert_allclose(m.predict(x, verbose=0), np.maximum(x, 0) @ k + b, rtol=1e-6)
    m2 = fnet.Sequential(
        [L.Dense(4, activation="relu", input_shape=(3,)), L.Activation("tanh"), L.Dense(1)],
        seed=0,
    )
    k1, b1, k2, b2 = m2.get_weights()
    want = np.tanh(np.maximum(x @ k1 + b1, 0)) @ k2 + b2
    np.testing.assert_allclose(m2.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)
    relu6 = fnet.Sequential([L.ReLU(max_value=6.0, input_shape=(3,))])
    np.testing.assert_array_equal(relu6.predict(x * 10, verbose=0), np.clip(x * 10, 0, 6))


def test_flatten_and_nd_inputs(rng):
    x = rng.standard_normal((20, 4, 5)).astype(np.float32)
    y = rng.integers(0, 3, 20)
    a = fnet.Sequential([L.Input(shape=(4, 5), batch_size=10), L.Flatten(), L.Dense(3)], seed=1)
    b = fnet.Sequential([L.Flatten(input_shape=(4, 5)), L.Dense(3)], seed=1)
    c = fnet.Sequential([L.Dense(3, input_shape=(20,))], seed=1)
    assert a.input_shape == (10, 4, 5) and b.input_shape == (None, 4, 5)
    for m in (a, b, c):
        m.compile("sgd", fnet.losses.SparseCategoricalCrossentropy(from_logits=True))
    xf = x.reshape(20, -1)
    pa, pb, pc = a.predict(x, verbose=0), b.predict(x, verbose=0), c.predict(xf, verbose=0)
    assert np.array_equal(pa, pc) and np.array_equal(pb, pc)
    a.fit(x, y, epochs=2, verbose=0, validation_data=(x, y))
    c.fit(xf, y, epochs=2, verbose=0, validation_data=(xf, y))
    assert all(np.array_equal(p, q) for p, q in zip(a.get_weights(), c.get_weights()))
    with pytest.raises(ValueError, match=r"expected an array of shape \(samples, 4, 5\)"):
        a.predict(np.zeros((2, 5, 4, 1)), verbose=0)
    with pytest.raises(ValueError, match="put Flatten"):
        fnet.Sequential([L.Input((4, 5)), L.Dense(3)])
    with pytest.raises(ValueError, match="input_shape: expected a tuple of positive sizes"):
        L.Flatten(input_shape=(4, 0))
    with pytest.raises(ValueError, match="batch_size"):
        fnet.Input(shape=(3,), batch_size=0)
    assert fnet.layers.Input is not None and isinstance(fnet.Input((3,)), L.InputLayer)


def test_layer_weights_api_and_pop(rng):
    m = fnet.Sequential(
        [L.Input((3,)), L.Dense(4, activation="relu"), L.BatchNormalization(), L.Dense(2)], seed=0
    )
    _, d0, bn, d1 = m.layers
    assert d0.kernel.shape == (3, 4) and d0.bias.shape == (4,)
    assert [w.shape for w in d0.get_weights()] == [(3, 4), (4,)]
    assert len(m.weights) == 8 and len(m.trainable_variables) == 6
    assert len(m.non_trainable_weights) == 2 and m.count_params() == 16 + 16 + 10
    k = np.arange(12, dtype=np.float32).reshape(3, 4)
    d0.set_weights([k, np.ones(4)])
    np.testing.assert_array_equal(m.get_weights()[0], k)
    d1.kernel.assign(np.zeros((4, 2)))
    assert not m.predict(np.ones((2, 3)), verbose=0).any() or d1.bias.numpy().any()
    with pytest.raises(ValueError, match="expects 2 arrays"):
        d0.set_weights([k])
    with pytest.raises(ValueError, match="expects shape \\(3, 4\\)"):
        d0.set_weights([k.T, np.ones(4)])
    with pytest.raises(AttributeError, match="not built"):
        _ = L.Dense(2).kernel
    assert L.Dense(2, use_bias=False).bias is None
    kept = m.get_weights()[:6]
    popped = m.pop()
    assert popped is d1 and len(m.layers) == 3 and m.output_shape == (None, 4)
    assert all(np.array_equal(p, q) for p, q in zip(m.get_weights(), kept))
    assert d1.weights == []
    m.compile("adam", "mse")
    m.fit(np.ones((4, 3)), np.ones((4, 4)), verbose=0)
    with pytest.raises(ValueError, match="no layers"):
        fnet.Sequential().pop()


ALL_LAYERS = [
    L.Input(shape=(6,), batch_size=4),
    L.Flatten(),
    L.Normalization(mean=[0.5] * 6, variance=[2.0] * 6),
    L.Dense(5, activation="elu"),
    L.BatchNormalization(momentum=0.8, epsilon=1e-2, center=False),
    L.ReLU(),
    L.Dropout(0.2),
    L.LayerNormalization(epsilon=1e-4, scale=False),
    L.LeakyReLU(negative_slope=0.1),
    L.Activation("gelu"),
    L.Dense(3),
    L.Softmax(axis=-1),
]


def test_config_and_json_round_trip_of_every_layer(rng, tmp_path):
    m = fnet.Sequential(ALL_LAYERS, seed=7, device="cpu")
    m.compile("adam", "sparse_categorical_crossentropy")
    x = rng.standard_normal((12, 6)).astype(np.float32)
    m.fit(x, rng.integers(0, 3, 12), epochs=2, batch_size=4, verbose=0)
    r = fnet.models.model_from_json(m.to_json())
    assert [type(a) for a in r.layers] == [type(b) for b in m.layers]
    assert [a.get_config() for a in r.layers] == [b.get_config() for b in m.layers]
    r.set_weights(m.get_weights())
    np.testing.assert_array_equal(r.predict(x, verbose=0), m.predict(x, verbose=0))
    path = str(tmp_path / "all.fnet")
    m.save(path)
    loaded = fnet.load_model(path, device="cpu")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), m.predict(x, verbose=0))


def test_activation_layers_bad_arguments():
    with pytest.raises(ValueError, match="negative_slope"):
        L.LeakyReLU(negative_slope=-1)
    with pytest.raises(ValueError, match="max_value"):
        L.ReLU(max_value=3.0)
    with pytest.raises(ValueError, match="threshold"):
        L.ReLU(threshold=1.0)
    with pytest.raises(ValueError, match="axis"):
        L.Softmax(axis=0)
    with pytest.raises(ValueError, match="unknown activation 'nope'"):
        L.Activation("nope")
    with pytest.raises(ValueError, match="data_format"):
        L.Flatten(data_format="channels_first")
    with pytest.raises(ValueError, match="at least one layer that computes"):
        fnet.Sequential([L.Input((3,)), L.Flatten()]).build()
