"""Backward on two lanes (csrc/net/net.cpp, Net::backward_two_lanes): a second thread computes the
Dense layers' dW and db while the caller runs the chain of deltas. Every kernel's result is
fixed, so training gives the same bits with the lanes on or off, at any thread count, for every
kind of layer stack; and the lanes are only a schedule (`_set_backward_side_by_side`)."""

import numpy as np
import pytest

import fusednet as fnet
from fusednet import _core

L = fnet.layers


@pytest.fixture
def lanes():
    """Sets the two-lane mode for a test, then restores the default."""
    before = _core._set_backward_side_by_side(1)
    yield lambda mode: _core._set_backward_side_by_side(mode)
    _core._set_backward_side_by_side(before)


STACKS = {
    "dense": lambda: [
        L.Input(shape=(7,)),
        L.Dense(9, activation="relu"),
        L.Dense(5, activation="tanh"),
        L.Dense(6, activation="sigmoid"),
        L.Dense(3),
    ],
    "norms_dropout": lambda: [
        L.Input(shape=(7,)),
        L.Dense(9),
        L.BatchNormalization(),
        L.ReLU(),
        L.Dropout(0.3),
        L.Dense(4, activation="sigmoid"),
        L.LayerNormalization(),
        L.Dense(3),
    ],
    "activations_regularized": lambda: [
        L.Input(shape=(7,)),
        L.Dense(6, activity_regularizer="l2"),
        L.Activation("elu"),
        L.Dense(6, activation="softmax", kernel_regularizer="l1"),
        L.Dense(3, use_bias=False),
    ],
    "narrow": lambda: [  # layers that take dense_grad_narrow's one pass (test_dense_grad_narrow)
        L.Input(shape=(7,)),
        L.Dense(2, activation="relu"),
        L.Dense(4, activation="tanh"),
        L.Dense(4, activation="sigmoid"),
        L.Dense(1, activation="leaky_relu"),
        L.Dense(3),
    ],
    "input_norm_frozen": lambda: [
        L.Input(shape=(7,)),
        L.BatchNormalization(),
        L.Dense(5, activation="relu", use_bias=False),
        L.Dense(8, activation="leaky_relu", trainable=False),
        L.Dense(3),
    ],
}


def _train(stack, x, y):
    model = fnet.Sequential(STACKS[stack](), seed=0)
    model.compile(
        optimizer="adam", loss=fnet.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    history = model.fit(x, y, batch_size=32, epochs=3, verbose=0)
    return [w.copy() for w in model.get_weights()], np.array(history.history["loss"])


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_two_lanes_train_bit_for_bit_like_one(stack, lanes, threads, rng):
    x = rng.standard_normal((257, 7), dtype=np.float32)
    y = rng.integers(0, 3, 257)
    lanes(0)
    threads(1)
    want_w, want_loss = _train(stack, x, y)
    assert np.all(np.isfinite(want_loss)) and want_loss[-1] < want_loss[0]
    for mode in (2, 1):
        lanes(mode)
        for n in (1, 2, 3):
            threads(n)
            got_w, got_loss = _train(stack, x, y)
            assert got_loss.tobytes() == want_loss.tobytes(), (mode, n)
            for g, w in zip(got_w, want_w):
                assert g.tobytes() == w.tobytes(), (mode, n)


def test_two_lanes_on_the_mnist1d_sized_net_match_one_lane(lanes, threads):
    """The net the lanes are for (40-100-100-10, batch 100): mode 1 takes them at 2 threads."""
    from fusednet.bench import models

    w = models.MNIST1D
    x, y = w.data()
    x, y = x[:1000], y[:1000]
    results = []
    for mode, n in ((0, 1), (1, 2), (2, 2), (2, 3)):
        lanes(mode)
        threads(n)
        model = models.fusednet_model(w)
        model.fit(x, y, batch_size=w.batch_size, epochs=2, verbose=0)
        results.append(b"".join(v.tobytes() for v in model.get_weights()))
    assert all(r == results[0] for r in results[1:])


def test_one_batch_backward_on_two_lanes_gives_the_serial_gradients(lanes, threads, rng):
    model = fnet.Sequential(STACKS["dense"](), seed=1)
    model.compile(optimizer="sgd", loss="mse")
    x = rng.standard_normal((40, 7), dtype=np.float32)
    y = rng.standard_normal((40, 3), dtype=np.float32)
    losses = []
    for mode in (0, 2):
        lanes(mode)
        threads(2)
        model.set_weights(fnet.Sequential(STACKS["dense"](), seed=1).get_weights())
        losses.append([model.train_on_batch(x, y) for _ in range(5)])
    assert losses[0] == losses[1]


def test_mode_outside_0_to_2_is_a_value_error_naming_it(lanes):
    with pytest.raises(ValueError, match="mode"):
        _core._set_backward_side_by_side(3)
    with pytest.raises(ValueError, match="mode"):
        _core._set_backward_side_by_side(-1)
    assert _core._set_backward_side_by_side(1) == 1  # unchanged by the refused calls
