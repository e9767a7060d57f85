"""Layer descriptions: defaults, configs, serialisation, folding into the Net."""

import numpy as np
import pytest

import fusednet as fnet
from fusednet import layers as L


def test_dense_defaults_like_keras():
    d = L.Dense(5)
    assert d.units == 5 and d.activation == "linear" and d.use_bias
    assert d.kernel_initializer.name == "glorot_uniform" and d.bias_initializer.name == "zeros"
    cfg = d.get_config()
    assert cfg["units"] == 5 and cfg["activation"] == "linear"


@pytest.mark.parametrize(
    "layer",
    [
        L.Dense(
            3, activation="gelu", use_bias=False, kernel_initializer="he_uniform", input_shape=(7,)
        ),
        L.Activation("tanh"),
        L.Dropout(0.3),
        L.Input(shape=(4,)),
    ],
)
def test_serialize_roundtrip(layer):
    back = L.deserialize(L.serialize(layer))
    assert type(back) is type(layer) and back.get_config() == layer.get_config()


def test_input_layer_and_input_dropout():
    m = fnet.Sequential([L.Input(shape=(3,)), L.Dropout(0.5), L.Dense(2)], seed=0, device="cpu")
    assert m.input_shape == (None, 3) and m.count_params() == 8
    x = np.ones((4, 3), np.float32)
    assert np.array_equal(m.predict(x), m(x))


def test_activation_folding_equals_dense_activation():
    a = fnet.Sequential(
        [L.Dense(4, input_shape=(3,)), L.Activation("relu"), L.Dense(2), L.Activation("sigmoid")],
        seed=1,
        device="cpu",
    )
    b = fnet.Sequential(
        [L.Dense(4, activation="relu", input_shape=(3,)), L.Dense(2, activation="sigmoid")],
        seed=1,
        device="cpu",
    )
    x = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    assert np.array_equal(a.predict(x), b.predict(x))


def test_unsupported_stacks():
    # Issue 11 made these two stacks supported (an Activation layer is its own layer when it
    # cannot fold): they build and run now (tests/test_layers_general.py checks their values).
    fnet.Sequential(
        [L.Dense(4, activation="relu", input_shape=(3,)), L.Activation("tanh")], device="cpu"
    ).predict(np.ones((1, 3)), verbose=0)
    fnet.Sequential([L.Activation("relu", input_shape=(3,)), L.Dense(1)], device="cpu")
    with pytest.raises(ValueError, match="two Dropout layers"):
        fnet.Sequential(
            [L.Dense(4, input_shape=(3,)), L.Dropout(0.1), L.Dropout(0.2), L.Dense(1)], device="cpu"
        )
    with pytest.raises(TypeError, match="fusednet.layers"):
        fnet.Sequential(["dense"], device="cpu")


def test_add_rebuilds_deterministically():
    m = fnet.Sequential([L.Dense(4, input_shape=(3,))], seed=3, device="cpu")
    m.add(L.Dense(2))
    ref = fnet.Sequential([L.Dense(4, input_shape=(3,)), L.Dense(2)], seed=3, device="cpu")
    assert all(np.array_equal(p, q) for p, q in zip(m.get_weights(), ref.get_weights()))
