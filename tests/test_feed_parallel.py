"""The parts of a fit that the threads share outside the kernels: the gather of a shuffled batch's
rows (above 2**15 floats a batch) and the finiteness check of the data set (above 2**19 floats).
Each against its plain NumPy meaning, on one and on two threads."""

import numpy as np
import pytest

import fusednet as fnet
from fusednet import layers as L
from fusednet import optimizers


class _BatchLosses(fnet.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.running = []

    def on_train_batch_end(self, batch, logs=None):
        self.running.append(logs["loss"])


@pytest.mark.parametrize("nthreads", [1, 2])
def test_shuffled_gather_keeps_each_row_with_its_target(threads, nthreads):
    # Row i of x is i / 512 in every column and its target is i: with the kernel all ones the
    # prediction is exactly i, so a batch's mse is 0 only if every gathered row sits beside its
    # own target (the targets go through their own gather).
    threads(nthreads)
    n, width, batch = 256, 512, 64  # 64 x 512 = 2**15 floats a batch: the threads share it
    x = np.repeat((np.arange(n, dtype=np.float32) / width)[:, None], width, axis=1)
    y = np.arange(n, dtype=np.float32)[:, None]
    m = fnet.Sequential(
        [L.Dense(1, use_bias=False, kernel_initializer="ones", input_shape=(width,))],
        seed=3,
        device="cpu",
    )
    m.compile(optimizer=optimizers.SGD(0.0), loss="mse")
    rec = _BatchLosses()
    m.fit(x, y, batch_size=batch, epochs=3, verbose=0, callbacks=[rec])
    assert len(rec.running) == 3 * n // batch
    assert all(v == 0.0 for v in rec.running), rec.running
    # The same data shifted by one row against its targets: the check above can fail.
    rec_bad = _BatchLosses()
    m.fit(x, np.roll(y, 1, axis=0), batch_size=batch, epochs=1, verbose=0, callbacks=[rec_bad])
    assert all(v > 0.0 for v in rec_bad.running)


def test_shuffled_gather_same_bits_on_any_thread_count(threads, rng):
    x = rng.standard_normal((300, 700)).astype(np.float32)
    y = rng.integers(0, 4, 300)
    weights = []
    for t in (1, 2, 3):
        threads(t)
        m = fnet.Sequential(
            [L.Dense(16, activation="relu", input_shape=(700,)), L.Dense(4)], seed=5
        )
        m.compile(
            optimizer="adam", loss=fnet.losses.SparseCategoricalCrossentropy(from_logits=True)
        )
        m.fit(x, y, batch_size=50, epochs=2, verbose=0)
        weights.append(m.get_weights())
    for w in weights[1:]:
        for a, b in zip(weights[0], w):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("nthreads", [1, 2])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_all_finite_finds_one_bad_value_anywhere(threads, nthreads, bad):
    threads(nthreads)
    n = (1 << 20) + 37  # several pieces of 2**18, the last one short
    x = np.ones(n, np.float32)
    assert fnet._core.all_finite(x)
    for i in (0, (1 << 18) - 1, 1 << 18, 3 * (1 << 18) + 5, n - 1):
        x[i] = bad
        assert not fnet._core.all_finite(x), i
        x[i] = np.finfo(np.float32).max  # finite at the edge
        assert fnet._core.all_finite(x), i
