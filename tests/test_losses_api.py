"""Loss objects called standalone: Keras semantics in NumPy (clipping, from_logits, weights)."""

import numpy as np
import pytest

import fusednet as fnet
from fusednet import losses


def test_names_resolve():
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(
        losses.get("sparse_categorical_crossentropy"), losses.SparseCategoricalCrossentropy
    )
    assert isinstance(losses.get("BinaryCrossentropy"), losses.BinaryCrossentropy)
    with pytest.raises(TypeError, match="loss name"):
        losses.get(3)


def test_values_like_keras():
    y = np.array([[0.0], [1.0], [1.0]])
    p = np.array([[0.1], [0.8], [1.0]])  # 1.0 is clipped to 1 - 1e-7
    bce = losses.BinaryCrossentropy()(y, p)
    ref = -np.mean([np.log(0.9), np.log(0.8), np.log(1 - 1e-7)])
    assert float(bce) == pytest.approx(ref, rel=1e-9)
    assert isinstance(bce.numpy(), np.float32)
    z = np.array([[-2.0], [1.5], [30.0]])
    assert float(losses.BinaryCrossentropy(from_logits=True)(y, z)) == pytest.approx(
        np.mean(np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0) - z * y), rel=1e-9
    )
    logits = np.array([[1.0, 2.0, 0.5], [0.0, 0.0, 5.0]])
    lab = np.array([1, 2])
    lsm = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    ref = -np.mean(lsm[[0, 1], lab])
    assert float(
        losses.SparseCategoricalCrossentropy(from_logits=True)(lab, logits)
    ) == pytest.approx(ref)
    probs = np.exp(lsm)
    assert float(losses.SparseCategoricalCrossentropy()(lab, probs)) == pytest.approx(ref)
    assert float(losses.CategoricalCrossentropy()(np.eye(3)[lab], probs)) == pytest.approx(ref)
    w = np.array([2.0, 0.5])
    per = -lsm[[0, 1], lab]
    assert float(
        losses.CategoricalCrossentropy(from_logits=True)(np.eye(3)[lab], logits, sample_weight=w)
    ) == pytest.approx((per * w).sum() / 2)
    assert float(losses.MeanSquaredError()([[1.0, 2.0]], [[0.0, 0.0]])) == 2.5


def test_model_loss_equals_standalone_loss():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 4)).astype(np.float32)
    y = rng.integers(0, 3, 30)
    m = fnet.Sequential(
        [fnet.layers.Dense(3, activation="softmax", input_shape=(4,))], seed=0, device="cpu"
    )
    m.compile(loss="sparse_categorical_crossentropy")
    assert m.evaluate(x, y, verbose=0) == pytest.approx(
        float(losses.SparseCategoricalCrossentropy()(y, m.predict(x))), rel=1e-5
    )


def test_sparse_label_range_standalone():
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        losses.SparseCategoricalCrossentropy()(np.array([0, 3]), np.ones((2, 3)) / 3)
