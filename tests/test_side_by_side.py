"""A small step on two threads (csrc/net/net.cpp). Backward on two lanes
(Net::backward_two_lanes): a second thread computes the Dense layers' dW and db while the caller
runs the chain of deltas. The forward as two halves of the rows (Net::forward_side_by_side):
each thread takes its rows through every layer. Every kernel's result is fixed, so training and
prediction give the same bits with either on or off, at any thread count, for every kind of
layer stack; both are only schedules (`_set_backward_side_by_side`, `_set_forward_side_by_side`)."""

import numpy as np
import pytest

import fusednet as fnet
from fusednet import _core

L = fnet.layers


SETTERS = {"lanes": _core._set_backward_side_by_side, "halves": _core._set_forward_side_by_side}


def _mode_fixture(name):
    """Sets a schedule's mode for a test, then restores the default."""

    @pytest.fixture(name=name)
    def fixture():
        before = SETTERS[name](1)
        yield SETTERS[name]
        SETTERS[name](before)

    return fixture


lanes = _mode_fixture("lanes")
halves = _mode_fixture("halves")


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


@pytest.mark.parametrize("schedule", sorted(SETTERS))
def test_mnist1d_sized_net_matches_one_thread(schedule, lanes, halves, threads):
    """The net both are for (40-100-100-10, batch 100): mode 1 takes them at 2 threads."""
    from fusednet.bench import models

    w = models.MNIST1D
    x, y = w.data()
    x, y = x[:1000], y[:1000]
    results = []
    for mode, n in ((0, 1), (1, 2), (2, 2), (2, 3)):
        SETTERS[schedule](mode)
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


@pytest.mark.parametrize("schedule", sorted(SETTERS))
def test_mode_outside_0_to_2_is_a_value_error_naming_it(schedule, lanes, halves):
    with pytest.raises(ValueError, match="mode"):
        SETTERS[schedule](3)
    with pytest.raises(ValueError, match="mode"):
        SETTERS[schedule](-1)
    assert SETTERS[schedule](1) == 1  # unchanged by the refused calls


# ---- the forward as two halves of the rows ------------------------------------------------------

FORWARD_STACKS = {
    # gemm epilogues (relu, leaky_relu) and the passes after it (tanh, sigmoid)
    "dense": lambda: [
        L.Input(shape=(11,)),
        L.Dense(40, activation="relu"),
        L.Dense(33, activation="tanh"),
        L.Dense(17, activation="sigmoid"),
        L.Dense(20, activation="leaky_relu"),
        L.Dense(3),
    ],
    # activations whose backward needs z (kept, then activated by a pass), Activation layers
    "kept_z": lambda: [
        L.Input(shape=(11,)),
        L.Dense(24, activation="gelu"),
        L.Activation("elu"),
        L.Dense(19, activation="swish"),
        L.ReLU(),
        L.Dense(3, activation="softplus"),
    ],
    # a softmax output (a row-wise pass) under a loss that is not fused with it
    "softmax_out": lambda: [
        L.Input(shape=(11,)),
        L.Dense(50, activation="selu"),
        L.Dense(3, activation="softmax"),
    ],
    # the layers the split leaves whole: the forward runs on one thread
    "dropout": lambda: [
        L.Input(shape=(11,)),
        L.Dense(30, activation="relu"),
        L.Dropout(0.2),
        L.Dense(3),
    ],
}


def _train_predict(stack, x, y, precision="highest"):
    fnet.set_float32_matmul_precision(precision)
    try:
        model = fnet.Sequential(FORWARD_STACKS[stack](), seed=0)
        if stack == "softmax_out":
            loss = fnet.losses.CategoricalCrossentropy()
            y = np.eye(3, dtype=np.float32)[y]
        else:
            loss = fnet.losses.SparseCategoricalCrossentropy(from_logits=True)
        model.compile(optimizer="adam", loss=loss)
        history = model.fit(x, y, batch_size=64, epochs=3, verbose=0)
        pred = model.predict(x, batch_size=101, verbose=0)
    finally:
        fnet.set_float32_matmul_precision("highest")
    weights = b"".join(w.tobytes() for w in model.get_weights())
    return weights, np.array(history.history["loss"]), pred


@pytest.mark.parametrize("stack", sorted(FORWARD_STACKS))
def test_halves_train_and_predict_bit_for_bit_like_one_thread(stack, halves, threads, rng):
    x = rng.standard_normal((333, 11), dtype=np.float32)  # batches of 64 and a last one of 13
    y = rng.integers(0, 3, 333)
    halves(0)
    threads(1)
    want_w, want_loss, want_pred = _train_predict(stack, x, y)
    assert np.all(np.isfinite(want_loss)) and want_loss[-1] < want_loss[0]
    for mode in (2, 1):
        halves(mode)
        for n in (2, 3):
            threads(n)
            got_w, got_loss, got_pred = _train_predict(stack, x, y)
            assert got_loss.tobytes() == want_loss.tobytes(), (mode, n)
            assert got_w == want_w, (mode, n)
            assert got_pred.tobytes() == want_pred.tobytes(), (mode, n)


def test_halves_under_bf16_matmuls_match_one_thread(halves, threads, rng):
    if not fnet.backends()["cpu"]["avx512_bf16"]:
        pytest.skip("no bf16 dot products on this CPU")
    x = rng.standard_normal((333, 11), dtype=np.float32)
    y = rng.integers(0, 3, 333)
    halves(0)
    threads(1)
    want = _train_predict("dense", x, y, precision="medium")
    halves(2)
    threads(2)
    got = _train_predict("dense", x, y, precision="medium")
    assert got[0] == want[0] and got[1].tobytes() == want[1].tobytes()
