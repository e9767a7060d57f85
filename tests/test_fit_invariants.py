"""What fit must do that a falling loss does not show: a fresh shuffle every epoch, drawn
uniformly; gradients that are recomputed, not accumulated, on every step; accuracies that count
a prediction exactly on the threshold as class 0 and give tied logits to the first maximum (as
Keras and NumPy do). Each against an independent float64 / NumPy reference."""

import itertools

import numpy as np
import pytest

import fusednet as fnet
from fusednet import callbacks as C
from fusednet import layers as L
from fusednet import losses, optimizers


# ---- the shuffle, as fit uses it ----------------------------------------------------------
class _BatchLosses(C.Callback):
    """The running mean loss after every batch of every epoch."""

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append([])

    def on_train_batch_end(self, batch, logs=None):
        self.epochs[-1].append(logs["loss"])


def _epoch_orders(n, epochs, seed=0, shuffle=True):
    """The sample order of each epoch of fit(batch_size=1), read from the losses: with a zero
    learning rate the weights never move, and sample i's mse is (10 * 2**i)**2, so each batch's
    loss (the difference of the running sums) names its sample."""
    m = fnet.Sequential(
        [L.Dense(1, kernel_initializer="zeros", input_shape=(1,))], seed=seed, device="cpu"
    )
    m.compile(optimizer=optimizers.SGD(0.0), loss="mse")
    x = np.zeros((n, 1), np.float32)
    y = (10.0 * 2.0 ** np.arange(n)).astype(np.float32)[:, None]
    per_sample = y[:, 0].astype(np.float64) ** 2
    rec = _BatchLosses()
    m.fit(x, y, batch_size=1, epochs=epochs, shuffle=shuffle, verbose=0, callbacks=[rec])
    orders = []
    for running in rec.epochs:
        batch = np.diff(np.asarray(running) * np.arange(1, n + 1), prepend=0.0)
        order = [int(np.argmin(np.abs(per_sample - v))) for v in batch]
        np.testing.assert_allclose(per_sample[order], batch, rtol=1e-9)
        orders.append(tuple(order))
    return orders


def test_shuffle_is_a_new_permutation_every_epoch():
    orders = _epoch_orders(8, 6)
    assert all(sorted(o) == list(range(8)) for o in orders)
    assert len(set(orders)) == len(orders)  # 8! orders: six epochs never repeat one
    assert _epoch_orders(8, 2, shuffle=False) == [tuple(range(8))] * 2


def test_shuffle_draws_every_order_uniformly():
    # 3 samples, 3000 epochs: every one of the 6 orders, each about 500 times. Chi-square with 5
    # degrees of freedom (p = 1e-4 at 25.7); the draw is seeded, so the test is deterministic.
    # A Fisher-Yates swapping with any index (j < n instead of j <= i) gives 4/27 or 5/27 per
    # order (chi-square about 42), one that never leaves a sample in place (Sattolo) only 2 orders.
    epochs = 3000
    counts = dict.fromkeys(itertools.permutations(range(3)), 0)
    for o in _epoch_orders(3, epochs, seed=11):
        counts[o] += 1
    observed = np.array(list(counts.values()), np.float64)
    assert (observed > 0).all(), counts
    expected = epochs / 6
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    assert chi2 < 25.7, counts


# ---- gradients are recomputed on every backward --------------------------------------------
def _two_layer(seed=3):
    m = fnet.Sequential(
        [L.Dense(5, activation="tanh", input_shape=(4,)), L.Dense(2)], seed=seed, device="cpu"
    )
    m.compile(optimizer=optimizers.SGD(0.1), loss="mse")
    return m


def _ref_grads(weights, x, y):
    """float64 gradients of the mean squared error of tanh(x W0 + b0) W1 + b1."""
    w0, b0, w1, b1 = (w.astype(np.float64) for w in weights)
    x = x.astype(np.float64)
    h = np.tanh(x @ w0 + b0)
    out = h @ w1 + b1
    dout = 2 * (out - y) / out.size
    dh = (dout @ w1.T) * (1 - h**2)
    return [x.T @ dh, dh.sum(0), h.T @ dout, dout.sum(0)]


def _assert_grads_close(got, want):
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-6)


def test_two_backward_calls_give_the_same_gradients(rng):
    m = _two_layer()
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.standard_normal((16, 2)).astype(np.float32)
    out = m.forward(x)
    _, dout = m.loss(out, y)
    m.backward(dout)
    first = m.gradients
    m.backward(dout)
    second = m.gradients
    for a, b in zip(first, second):
        assert np.array_equal(a, b)
    _assert_grads_close(second, _ref_grads(m.get_weights(), x, y))


def test_fit_recomputes_the_gradients_every_step(rng):
    # Two SGD steps by fit against the float64 loop: accumulating gradients would move the
    # weights by the first step's gradient twice.
    m = _two_layer()
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.standard_normal((16, 2)).astype(np.float32)
    w = [v.astype(np.float64) for v in m.get_weights()]
    grads = None
    for s in (0, 8):
        grads = _ref_grads(w, x[s : s + 8], y[s : s + 8])
        w = [v - 0.1 * g for v, g in zip(w, grads)]
    m.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for got, want in zip(m.get_weights(), w):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    _assert_grads_close(m.gradients, grads)  # the last step's, not the sum of both


# ---- accuracies on the boundary ------------------------------------------------------------
@pytest.mark.parametrize(
    "out_act, loss_fn",
    [("sigmoid", "binary_crossentropy"), ("linear", losses.BinaryCrossentropy(from_logits=True))],
)
def test_binary_accuracy_counts_the_threshold_as_class_0(out_act, loss_fn):
    # Zero kernel: every output is exactly 0.5 (sigmoid(0), or the bias 0.5 of a linear output),
    # which Keras counts as class 0 (pred > 0.5 is False). Half the targets are 0.
    m = fnet.Sequential([L.Dense(1, activation=out_act, input_shape=(2,))], seed=0, device="cpu")
    m.compile(loss=loss_fn, metrics=["accuracy"])
    bias = 0.0 if out_act == "sigmoid" else 0.5
    m.set_weights([np.zeros((2, 1), np.float32), np.full(1, bias, np.float32)])
    x = np.ones((8, 2), np.float32)
    y = np.array([0, 1, 0, 0, 1, 0, 1, 1], np.float32)[:, None]
    assert (m.predict(x) == 0.5).all()
    _, acc = m.evaluate(x, y, verbose=0)
    assert acc == pytest.approx(((m.predict(x) > 0.5) == y).mean()) and acc == 0.5
    # Just above the threshold: class 1 (the next float above 0.5 as the linear output; a logit
    # of 0.25, so an output of 0.56, before the sigmoid).
    above = np.float32(0.25) if out_act == "sigmoid" else np.nextafter(np.float32(0.5), 1)
    m.set_weights([np.zeros((2, 1), np.float32), np.full(1, above, np.float32)])
    assert (m.predict(x) > 0.5).all()
    assert m.evaluate(x, y, verbose=0)[1] == 0.5
    assert m.evaluate(x, np.ones_like(y), verbose=0)[1] == 1.0
    assert m.evaluate(x, np.zeros_like(y), verbose=0)[1] == 0.0


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "categorical_crossentropy"])
@pytest.mark.parametrize("act", ["softmax", "linear"])
def test_argmax_accuracy_gives_ties_to_the_first_maximum(loss, act):
    # Zero kernel: every row's outputs are the bias, tied at columns 1 and 3; the first wins.
    if act == "linear":
        loss_fn = (
            losses.SparseCategoricalCrossentropy(from_logits=True)
            if loss.startswith("sparse")
            else losses.CategoricalCrossentropy(from_logits=True)
        )
    else:
        loss_fn = loss
    m = fnet.Sequential([L.Dense(4, activation=act, input_shape=(3,))], seed=0, device="cpu")
    m.compile(loss=loss_fn, metrics=["accuracy"])
    m.set_weights([np.zeros((3, 4), np.float32), np.array([0.0, 2.0, -1.0, 2.0], np.float32)])
    x = np.ones((6, 3), np.float32)
    labels = np.array([1, 3, 1, 0, 1, 2])
    y = labels if loss.startswith("sparse") else np.eye(4, dtype=np.float32)[labels]
    _, acc = m.evaluate(x, y, verbose=0)
    want = (np.argmax(m.predict(x), axis=1) == labels).mean()
    assert acc == pytest.approx(want) and want == 0.5
    if not loss.startswith("sparse"):
        # tied targets too: the first maximum of the targets is the class (column 1 here)
        soft = np.tile(np.array([0.0, 0.5, 0.0, 0.5], np.float32), (6, 1))
        assert m.evaluate(x, soft, verbose=0)[1] == 1.0


@pytest.mark.parametrize("units", [1, 3])
def test_accuracy_of_an_mse_model_follows_keras(units, rng):
    # "accuracy" with mse: binary accuracy (outputs > 0.5 against 0/1 targets) for one unit,
    # categorical (argmax against argmax) for several, as Keras resolves it.
    m = fnet.Sequential([L.Dense(units, input_shape=(4,))], seed=5, device="cpu")
    m.compile(loss="mse", metrics=["accuracy"])
    x = rng.standard_normal((40, 4)).astype(np.float32)
    y = (rng.random((40, units)) < 0.5).astype(np.float32)
    if units > 1:
        y = np.eye(units, dtype=np.float32)[rng.integers(0, units, 40)]
    p = m.predict(x)
    want = ((p > 0.5) == y).mean() if units == 1 else (p.argmax(1) == y.argmax(1)).mean()
    assert 0 < want < 1  # right and wrong predictions both present
    assert m.evaluate(x, y, verbose=0)[1] == pytest.approx(want)


def test_elementwise_metrics_average_every_element(rng):
    # Binary accuracy, MAE and MSE of a 3-unit output: means over every element (Keras), against
    # NumPy on the predictions.
    m = fnet.Sequential([L.Dense(3, input_shape=(4,))], seed=6, device="cpu")
    m.compile(loss="mse", metrics=["binary_accuracy", "mae", "mse"])
    x = rng.standard_normal((30, 4)).astype(np.float32)
    y = (rng.random((30, 3)) < 0.5).astype(np.float32)
    p = m.predict(x).astype(np.float64)
    loss, acc, mae, mse = m.evaluate(x, y, batch_size=7, verbose=0)
    assert acc == pytest.approx(((p > 0.5) == y).mean())
    assert mae == pytest.approx(np.abs(p - y).mean(), rel=1e-6)
    assert mse == pytest.approx(((p - y) ** 2).mean(), rel=1e-6)
    assert loss == pytest.approx(mse, rel=1e-6)
