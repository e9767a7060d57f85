"""Bad input to the model API: a clear exception naming the problem, and nothing half-done."""

import numpy as np
import pytest

import fusednet as fnet
from fusednet import layers as L
from fusednet import losses


def _m(units=3, act="softmax", compiled=True, loss="sparse_categorical_crossentropy"):
    m = fnet.Sequential(
        [L.Dense(8, activation="relu", input_shape=(4,)), L.Dense(units, activation=act)],
        seed=0,
        device="cpu",
    )
    if compiled:
        m.compile(optimizer="adam", loss=loss)
    return m


X = np.random.default_rng(0).standard_normal((20, 4)).astype(np.float32)
Y = np.arange(20) % 3


def test_fit_and_evaluate_before_compile():
    m = _m(compiled=False)
    with pytest.raises(RuntimeError, match="not compiled.*compile"):
        m.fit(X, Y, verbose=0)
    with pytest.raises(RuntimeError, match="not compiled"):
        m.evaluate(X, Y)
    m.predict(X)  # predict needs no compile


def test_length_mismatch():
    with pytest.raises(ValueError, match="x has 20 samples but y has 19"):
        _m().fit(X, Y[:19], verbose=0)


def test_wrong_input_width():
    m = _m()
    with pytest.raises(ValueError, match="expected 4 features.*got shape \\(20, 5\\)"):
        m.fit(np.zeros((20, 5), np.float32), Y, verbose=0)
    with pytest.raises(ValueError, match="expected 4 features"):
        m.predict(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="2-D array"):
        m.predict(np.zeros((3, 4, 1)))


def test_sparse_labels_out_of_range():
    m = _m()
    w = m.get_weights()
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\).*\[0, 3\]"):
        m.fit(X, np.arange(20) % 4, verbose=0)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\).*\[-1, 1\]"):
        m.evaluate(X, np.arange(20) % 3 - 1)
    assert all(np.array_equal(a, b) for a, b in zip(w, m.get_weights()))  # nothing half-done
    with pytest.raises(ValueError, match="integer class labels"):
        m.fit(X, Y + 0.5, verbose=0)


def test_one_unit_output_with_sparse_ce_says_binary():
    m = _m(units=1, act="sigmoid", compiled=False)
    with pytest.raises(ValueError, match="use binary_crossentropy"):
        m.compile(loss="sparse_categorical_crossentropy")
    m = _m(units=1, act="linear", compiled=False)
    with pytest.raises(ValueError, match="1 unit.*binary_crossentropy"):
        m.compile(loss=losses.SparseCategoricalCrossentropy(from_logits=True))


def test_categorical_ce_on_one_unit():
    m = _m(units=1, act="sigmoid", compiled=False)
    with pytest.raises(
        ValueError, match="categorical_crossentropy needs one output unit per class"
    ):
        m.compile(loss="categorical_crossentropy")


def test_probability_loss_on_linear_output():
    m = _m(units=1, act="linear", compiled=False)
    with pytest.raises(ValueError, match="from_logits=False expects probabilities.*'linear'"):
        m.compile(loss="binary_crossentropy")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_inf_in_x_or_y(bad):
    x = X.copy()
    x[3, 1] = bad
    with pytest.raises(ValueError, match="x: contains NaN or inf"):
        _m().fit(x, Y, verbose=0)
    m = _m(units=2, act="linear", loss="mse")
    y = np.zeros((20, 2), np.float32)
    y[5, 0] = bad
    with pytest.raises(ValueError, match="y: contains NaN or inf"):
        m.fit(X, y, verbose=0)
    with pytest.raises(ValueError, match="contains NaN or inf"):
        _m().fit(X, np.where(np.arange(20) == 2, bad, Y), verbose=0)
    with pytest.raises(ValueError, match="x: contains NaN or inf"):
        _m().predict(x)


@pytest.mark.parametrize("bs", [0, -3])
def test_batch_size(bs):
    with pytest.raises(ValueError, match=f"batch_size: expected an int >= 1, got {bs}"):
        _m().fit(X, Y, batch_size=bs, verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        _m().predict(X, batch_size=bs)
    with pytest.raises(TypeError, match="batch_size: expected an int"):
        _m().fit(X, Y, batch_size=2.5, verbose=0)


def test_unknown_names_list_known_ones():
    with pytest.raises(ValueError, match="unknown activation 'relux'.*'relu'.*'softmax'"):
        L.Dense(3, activation="relux")
    with pytest.raises(ValueError, match="unknown loss 'hingey'.*'mse'.*'binary_crossentropy'"):
        _m(compiled=False).compile(loss="hingey")
    # 'rmsprop' exists since issue 11: a misspelling is the unknown name now.
    with pytest.raises(
        ValueError, match="unknown optimizer 'rmsprob'.*'sgd'.*'adam'.*'adamw'.*'rmsprop'"
    ):
        _m(compiled=False).compile(optimizer="rmsprob", loss="mse")
    with pytest.raises(
        ValueError, match="unknown initializer 'lecun'.*'glorot_uniform'.*'he_normal'"
    ):
        L.Dense(3, kernel_initializer="lecun")
    with pytest.raises(ValueError, match="unknown metric 'f1'.*'accuracy'"):
        _m(compiled=False).compile(loss="mse", metrics=["f1"])
    with pytest.raises(ValueError, match="compile: loss is required"):
        _m(compiled=False).compile(optimizer="adam")


def test_set_weights_wrong_count_or_shape():
    m = _m()
    before = m.get_weights()
    with pytest.raises(ValueError, match="expected 4 arrays.*got 3"):
        m.set_weights(before[:3])
    bad = [w.copy() for w in before]
    bad[0] = bad[0] + 1
    bad[2] = np.zeros((3, 8), np.float32)
    with pytest.raises(ValueError, match=r"kernel expects shape \(8, 3\), got \(3, 8\)"):
        m.set_weights(bad)
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))
    with pytest.raises(ValueError, match="expected shape"):
        m.trainable_variables[1].assign(np.zeros(3))


def test_layer_and_model_arguments():
    with pytest.raises(ValueError, match="units: expected a positive int"):
        L.Dense(0)
    with pytest.raises(ValueError, match=r"rate: expected a number in \[0, 1\)"):
        L.Dropout(1.0)
    with pytest.raises(ValueError, match="input_shape"):
        L.Dense(3, input_shape=(2, 3))
    with pytest.raises(ValueError, match="device: expected 'auto', 'cpu' or 'cuda'"):
        fnet.Sequential([L.Dense(2, input_shape=(3,))], device="tpu")
    if not fnet.backends()["cuda"]["available"]:  # with a GPU, device="cuda" is valid
        with pytest.raises(ValueError, match="CUDA"):
            fnet.Sequential([L.Dense(2, input_shape=(3,))], device="cuda")
    # Softmax on a hidden layer is supported since issue 11 ("softmax anywhere").
    fnet.Sequential(
        [L.Dense(2, activation="softmax", input_shape=(3,)), L.Dense(2)], device="cpu"
    ).predict(np.ones((1, 3)), verbose=0)
    with pytest.raises(ValueError, match="Dropout after the output layer"):
        fnet.Sequential([L.Dense(2, input_shape=(3,)), L.Dropout(0.5)], device="cpu")
    with pytest.raises(ValueError, match="validation_split"):
        _m().fit(X, Y, validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match="verbose"):
        _m().fit(X, Y, verbose=5)
    with pytest.raises(ValueError, match="no input width"):
        fnet.Sequential([L.Dense(2)], device="cpu").get_weights()


def test_explicit_loop_misuse():
    m = _m()
    with pytest.raises(RuntimeError, match="run forward first"):
        m.backward(np.zeros((2, 3), np.float32))
    out = m.forward(X[:5])
    with pytest.raises(ValueError, match="latest model.forward"):
        m.loss(out.copy(), Y[:5])
    _, d = m.loss(out, Y[:5])
    with pytest.raises(ValueError, match=r"dout: expected shape \(5, 3\)"):
        m.backward(d[:4])
    m.predict(X)  # overwrites the workspace: the old forward is gone
    with pytest.raises(ValueError, match="latest model.forward"):
        m.loss(out, Y[:5])
