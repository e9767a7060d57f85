"""Keras 3's activations (elu, selu, silu/swish, softplus, softsign, relu6, mish, hard_sigmoid,
hard_silu/hard_swish, exponential, leaky_relu's Keras slope): against PyTorch on every ISA, in the
gemm epilogue, as a Dense layer's activation in a model trained one SGD step against NumPy, and
``fusednet.activations``. The float64-reference, layout, thread and extreme-input checks of every
activation are in test_activation.py / test_activation_device.py (activation_cases.KERAS)."""

from __future__ import annotations

import numpy as np
import pytest

import fusednet as fnet
import reference_activation as ref
from activation_cases import KERAS
from fusednet import activations, ops

try:
    import torch
except ImportError:  # the PyTorch comparison skips; everything else runs
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
F = torch.nn.functional if torch is not None else None
TORCH = (
    {}
    if torch is None
    else {
        "elu": lambda v: F.elu(v, alpha=0.7),
        "selu": F.selu,
        "silu": F.silu,
        "softplus": F.softplus,
        "softsign": F.softsign,
        "relu6": F.relu6,
        "mish": F.mish,
        "hard_sigmoid": F.hardsigmoid,  # Keras 3's hard_sigmoid is PyTorch's: relu6(x + 3) / 6
        "hard_silu": F.hardswish,
        "exponential": torch.exp,
    }
)


@needs_torch
@pytest.mark.parametrize("name", KERAS)
def test_against_pytorch(name, rng, cpu_isa):
    x = (rng.standard_normal(4001) * 4).astype(np.float32)
    x = x[(np.abs(np.abs(x) - 3) > 1e-3)]  # PyTorch's hardswish' at exactly +-3 differs
    xt = torch.tensor(x.astype(np.float64), requires_grad=True)
    y = TORCH[name](xt)
    y.backward(torch.ones_like(y))
    params = {"alpha": 0.7} if name == "elu" else {}
    got = ops.activation(x, name, **params)
    dx = ops.activation_backward(np.ones_like(x), x, name, **params)
    np.testing.assert_allclose(got, y.detach().numpy(), rtol=3e-6, atol=1e-6)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("name", KERAS + ["swish", "hard_swish"])
def test_gemm_epilogue(name, rng, device):
    x = rng.standard_normal((37, 29)).astype(np.float32)
    w = (rng.standard_normal((29, 19)) * 0.3).astype(np.float32)
    b = rng.standard_normal(19).astype(np.float32)
    fused = ops.linear(x, w, b, activation=name, device=device)
    plain = ops.activation(ops.linear(x, w, b, device=device), name, device=device)
    np.testing.assert_allclose(fused, plain, rtol=2e-6, atol=1e-6)
    want = ref.forward(name, x.astype(np.float64) @ w + b)
    np.testing.assert_allclose(fused, want, rtol=2e-5, atol=2e-5)


ACTS = KERAS + ["swish", "hard_swish", "leaky_relu", activations.elu, activations.mish]


@pytest.mark.parametrize("act", ACTS, ids=lambda a: getattr(a, "__name__", a))
def test_dense_activation_sgd_step_matches_numpy(act, rng, device):
    x = rng.standard_normal((16, 6)).astype(np.float32)
    y = rng.standard_normal((16, 3)).astype(np.float32)
    m = fnet.Sequential(
        [
            fnet.layers.Dense(8, activation=act, input_shape=(6,)),
            fnet.layers.Dense(3),
        ],
        seed=2,
        device=device,
    )
    lr = 0.05
    m.compile(optimizer=fnet.optimizers.SGD(learning_rate=lr), loss="mse")
    W0, b0, V0, c0 = (a.astype(np.float64) for a in m.get_weights())
    name = getattr(act, "_fnet_activation", act)
    kw = {"negative_slope": 0.2} if name == "leaky_relu" else {}  # Keras's default slope
    z = x @ W0 + b0
    h = ref.forward(name, z, **kw)
    out = h @ V0 + c0
    np.testing.assert_allclose(m.predict(x), out, rtol=1e-4, atol=1e-5)
    m.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    g = 2 * (out - y) / out.size
    dz = (g @ V0.T) * ref.derivative(name, z, **kw)
    W1, b1, V1, c1 = m.get_weights()
    np.testing.assert_allclose(V1, V0 - lr * h.T @ g, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(W1, W0 - lr * x.T @ dz, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(b1, b0 - lr * dz.sum(0), rtol=1e-4, atol=1e-6)


def test_keras_activation_functions():
    x = np.linspace(-5, 5, 41).astype(np.float32)
    assert np.array_equal(activations.leaky_relu(x), ops.leaky_relu(x, 0.2))  # Keras's 0.2
    assert np.array_equal(activations.swish(x), ops.silu(x))
    assert np.array_equal(activations.hard_swish(x), ops.hard_silu(x))
    assert np.array_equal(activations.elu(x, alpha=0.5), ops.elu(x, 0.5))
    np.testing.assert_allclose(activations.hard_sigmoid(x), np.clip(x / 6 + 0.5, 0, 1), rtol=1e-6)
    assert activations.get("swish") is activations.silu
    assert activations.serialize(activations.get("hard_swish")) == "hard_silu"
    with pytest.raises(ValueError, match="unknown activation"):
        activations.get("swishy")
    layer = fnet.layers.Dense(3, activation=activations.selu)
    assert layer.activation == "selu"
    with pytest.raises(TypeError, match="alpha: expected a real number"):
        ops.elu(x, alpha="1")
    with pytest.raises(TypeError, match="elu: unexpected parameter 'negative_slope'"):
        ops.activation(x, "elu", negative_slope=0.1)
