"""The Keras losses beyond mse / cross-entropy (the pair-loss kernel, csrc/kernels/math/loss.h),
label smoothing, reduction and Python-function losses: the kernels against float64 references
(gradients by central differences of the reference value) on every ISA and device, against
PyTorch where it has the loss, bit-identical across thread counts; and models trained with them
against a NumPy reference of the same SGD step."""

from __future__ import annotations

import numpy as np
import pytest

try:
    import torch
except ImportError:  # the PyTorch comparisons skip; everything else runs
    torch = None

import fusednet as fnet
import reference_loss as ref
from fusednet import losses, ops
from fusednet.ops._loss import PAIR_LOSSES

PAIR = list(PAIR_LOSSES)
DELTA = 0.8  # huber's delta in these tests (not the default, so the parameter is exercised)


def data(name, rng, rows, cols):
    """(pred, target) float32 away from each loss's kinks and clips."""
    n = rng.standard_normal((rows, cols))
    u = rng.uniform(0.01, 0.99, (rows, cols))
    if name == "mean_absolute_percentage_error":
        p, t = n * 2, np.sign(n + 0.1) * rng.uniform(0.5, 2, (rows, cols))
    elif name == "mean_squared_logarithmic_error":
        p, t = rng.uniform(0.01, 3, (rows, cols)), rng.uniform(0.01, 3, (rows, cols))
    elif name in ("hinge", "squared_hinge"):
        p, t = n * 1.5, np.where(rng.random((rows, cols)) < 0.5, -1.0, 1.0)
    elif name == "categorical_hinge":
        p, t = n, np.eye(cols)[rng.integers(0, cols, rows)] if cols else n
    elif name == "kl_divergence":
        p, t = u, rng.uniform(0.01, 1, (rows, cols))
    elif name == "poisson":
        p, t = rng.uniform(0.1, 3, (rows, cols)), rng.uniform(0, 3, (rows, cols))
    elif name == "binary_crossentropy_probs":
        p, t = u, rng.random((rows, cols))
    elif name == "log_cosh":
        p, t = n * 3, rng.standard_normal((rows, cols))
    else:
        p, t = n * 2, rng.standard_normal((rows, cols))
    return p.astype(np.float32), t.astype(np.float32)


def check(name, got, want, what=""):
    (lv, lg), (rv, rg) = got, want
    assert lv == pytest.approx(rv, rel=2e-5, abs=1e-6), f"{name} {what} value"
    scale = max(1.0, float(np.abs(rg).max()) if rg.size else 1.0)
    np.testing.assert_allclose(lg, rg, rtol=2e-4, atol=2e-6 * scale, err_msg=f"{name} {what}")


@pytest.mark.parametrize("name", PAIR)
@pytest.mark.parametrize("shape", [(1, 1), (7, 1), (5, 3), (13, 17), (3, 40)], ids=str)
def test_pair_losses_match_reference(name, shape, rng, cpu_isa, device):
    p, t = data(name, rng, *shape)
    w = rng.uniform(0.2, 2, shape[0]).astype(np.float32)
    for reduction, sw in (("mean", None), ("sum", w), ("mean", w)):
        got = ops.loss(
            name, p, t, delta=DELTA, sample_weight=sw, reduction=reduction, device=device
        )
        check(name, got, ref.pair_loss(name, p, t, sw, reduction, DELTA), f"{reduction} {shape}")


@pytest.mark.parametrize("name", PAIR)
def test_pair_losses_bit_identical_for_any_thread_count(name, rng, threads, cpu_isa):
    p, t = data(name, rng, 20011, 5)
    results = []
    for n in (1, 2, 3):
        threads(n)
        results.append(ops.loss(name, p, t, delta=DELTA))
    for value, grad in results[1:]:
        assert value == results[0][0]
        assert np.array_equal(grad, results[0][1])


def test_clipped_and_extreme_inputs_have_keras_values_and_zero_gradients():
    # Below the clip the gradient is 0 (the clip's derivative); the value is Keras's.
    p = np.array([[0.0, 1e-9, 2.0, 0.5]], np.float32)
    t = np.array([[0.5, 0.3, 0.1, 0.1]], np.float32)
    for name in ("kl_divergence", "binary_crossentropy_probs"):
        value, grad = ops.loss(name, p, t)
        want, _ = ref.pair_loss(name, p, t)
        assert value == pytest.approx(want, rel=1e-5)
        assert grad[0, 0] == 0 and grad[0, 1] == 0 and grad[0, 2] == 0 and grad[0, 3] != 0
    value, grad = ops.loss("mean_squared_logarithmic_error", p[:, :2], t[:, :2])
    assert np.all(grad == 0) and value == pytest.approx(
        ref.pair_loss("mean_squared_logarithmic_error", p[:, :2], t[:, :2])[0], rel=1e-5
    )
    # log cosh: no overflow for huge errors, full relative accuracy for tiny ones
    e = np.array([[1e-4, -3e-3, 0.5, -40.0, 100.0, 1e30]], np.float32)
    value, grad = ops.loss("log_cosh", e, np.zeros_like(e), reduction="sum")
    t64 = np.abs(e.astype(np.float64))
    want = np.where(t64 < 20, np.log(np.cosh(np.minimum(t64, 20))), t64 - np.log(2)).mean()
    assert value == pytest.approx(want, rel=1e-6)
    np.testing.assert_allclose(grad, np.tanh(e.astype(np.float64)) / e.size, rtol=1e-6)
    small, _ = ops.loss("log_cosh", e[:, :1], np.zeros((1, 1), np.float32))
    assert small == pytest.approx(0.5e-8, rel=1e-6)  # Keras's e + softplus(-2e) - log 2 gives 0
    # cosine similarity of a zero vector is 0 with a finite gradient
    value, grad = ops.loss(
        "cosine_similarity", np.zeros((1, 3), np.float32), np.ones((1, 3), np.float32)
    )
    assert value == 0 and np.all(np.isfinite(grad))


# ---- PyTorch where it has the loss --------------------------------------------------------------
def _t(a):
    return torch.tensor(np.asarray(a, np.float64), requires_grad=True)


def _torch(loss_fn, p, t):
    pt = _t(p)
    value = loss_fn(pt, torch.tensor(t.astype(np.float64)))
    value.backward()
    return float(value.detach()), pt.grad.numpy()


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
def test_against_pytorch(rng, device):
    p, t = data("huber", rng, 31, 6)
    nn = torch.nn
    cases = {
        "mean_absolute_error": nn.L1Loss(),
        "huber": nn.HuberLoss(delta=DELTA),
    }
    for name, fn in cases.items():
        check(name, ops.loss(name, p, t, delta=DELTA, device=device), _torch(fn, p, t), "torch")
    q, r = data("poisson", rng, 31, 6)
    check(
        "poisson",
        ops.loss("poisson", q, r, device=device),
        _torch(nn.PoissonNLLLoss(log_input=False, full=False, eps=1e-7), q, r),
        "torch",
    )
    q, r = data("kl_divergence", rng, 31, 6)
    kld = nn.KLDivLoss(reduction="batchmean")
    check(
        "kl_divergence",
        ops.loss("kl_divergence", q, r, device=device),
        _torch(lambda a, b: kld(torch.log(a), b), q, r),
        "torch",
    )
    cos = torch.nn.functional.cosine_similarity
    check(
        "cosine_similarity",
        ops.loss("cosine_similarity", p, t, device=device),
        _torch(lambda a, b: -cos(a, b, dim=1, eps=1e-7).mean(), p, t),
        "torch",
    )
    q, r = data("binary_crossentropy_probs", rng, 31, 6)
    check(
        "binary_crossentropy_probs",
        ops.loss("binary_crossentropy_probs", q, r, device=device),
        _torch(nn.BCELoss(), q, r),
        "torch",
    )


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
def test_label_smoothing_against_pytorch(rng):
    z = rng.standard_normal((9, 5)).astype(np.float32)
    lab = rng.integers(0, 5, 9)
    s = 0.15
    want = float(
        torch.nn.CrossEntropyLoss(label_smoothing=s)(
            torch.tensor(z, dtype=torch.float64), torch.tensor(lab)
        )
    )
    cce = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=s)
    assert float(cce(np.eye(5)[lab], z)) == pytest.approx(want, rel=1e-9)
    y = (rng.random((9, 5)) < 0.5).astype(np.float32)
    bce = losses.BinaryCrossentropy(from_logits=True, label_smoothing=s)
    smooth = torch.tensor(y * (1 - s) + s / 2, dtype=torch.float64)
    want = float(torch.nn.BCEWithLogitsLoss()(torch.tensor(z, dtype=torch.float64), smooth))
    assert float(bce(y, z)) == pytest.approx(want, rel=1e-9)
    # in a model (the Net's kernels on the smoothed targets), from the linear output's logits
    for loss, target in ((cce, np.eye(5)[lab]), (bce, y)):
        m = fnet.Sequential([fnet.layers.Dense(5, input_shape=(5,))], seed=1)
        m.compile(optimizer="sgd", loss=loss)
        out = m.forward(z)
        value, _ = m.loss(out, target)
        assert float(value) == pytest.approx(float(loss(target, out)), rel=1e-5)


# ---- names, classes, reductions ------------------------------------------------------------------
KERAS_NAMES = {
    "mae": losses.MeanAbsoluteError,
    "mean_absolute_error": losses.MeanAbsoluteError,
    "mape": losses.MeanAbsolutePercentageError,
    "msle": losses.MeanSquaredLogarithmicError,
    "huber": losses.Huber,
    "log_cosh": losses.LogCosh,
    "logcosh": losses.LogCosh,
    "hinge": losses.Hinge,
    "squared_hinge": losses.SquaredHinge,
    "categorical_hinge": losses.CategoricalHinge,
    "kl_divergence": losses.KLDivergence,
    "kld": losses.KLDivergence,
    "poisson": losses.Poisson,
    "cosine_similarity": losses.CosineSimilarity,
    "KLDivergence": losses.KLDivergence,
}


def test_names_and_classes():
    for name, cls in KERAS_NAMES.items():
        assert type(losses.get(name)) is cls
    h = losses.Huber(delta=2.5, reduction="sum", name="h")
    assert losses.deserialize(losses.serialize(h)).get_config() == h.get_config()
    with pytest.raises(ValueError, match="delta: expected a finite number > 0"):
        losses.Huber(delta=0)
    with pytest.raises(ValueError, match="reduction: expected one of"):
        losses.MeanAbsoluteError(reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing: expected a number in"):
        losses.BinaryCrossentropy(label_smoothing=1.5)
    with pytest.raises(ValueError, match="name: expected one of"):
        ops.loss("l1", np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"target: expected shape \(2, 2\)"):
        ops.loss("hinge", np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="delta: expected a number > 0"):
        ops.loss("huber", np.zeros((2, 2)), np.zeros((2, 2)), delta=-1.0)


def test_standalone_reductions_and_hinge_labels(rng):
    p, t = data("huber", rng, 6, 3)
    w = rng.uniform(0.5, 2, 6)
    per = ref._pair_rows("huber", p.astype(np.float64), t.astype(np.float64), 1.0)
    assert np.allclose(losses.Huber(reduction=None)(t, p, sample_weight=w), per * w, rtol=1e-6)
    assert float(losses.Huber(reduction="sum")(t, p, w)) == pytest.approx((per * w).sum())
    assert float(losses.Huber()(t, p, w)) == pytest.approx((per * w).sum() / 6)
    assert float(losses.Huber(reduction="mean_with_sample_weight")(t, p, w)) == pytest.approx(
        (per * w).sum() / w.sum()
    )
    y01 = (rng.random((6, 3)) < 0.5).astype(np.float32)
    assert float(losses.Hinge()(y01, p)) == pytest.approx(
        ref._pair_rows("hinge", p.astype(np.float64), 2.0 * y01 - 1, 1.0).mean()
    )


# ---- models: one SGD step against NumPy ---------------------------------------------------------
MODEL_LOSSES = [
    ("mae", "mean_absolute_error", None),
    ("mape", "mean_absolute_percentage_error", None),
    ("msle", "mean_squared_logarithmic_error", "softplus"),
    (losses.Huber(delta=DELTA), "huber", None),
    ("log_cosh", "log_cosh", None),
    ("hinge", "hinge", None),
    ("squared_hinge", "squared_hinge", None),
    ("categorical_hinge", "categorical_hinge", None),
    ("kld", "kl_divergence", "softmax"),
    ("poisson", "poisson", "softplus"),
    ("cosine_similarity", "cosine_similarity", None),
    (losses.MeanAbsoluteError(reduction="sum"), "mean_absolute_error", None),
]


@pytest.mark.parametrize("loss,name,act", MODEL_LOSSES, ids=lambda v: str(v)[:24])
def test_model_sgd_step_matches_numpy(loss, name, act, rng, device):
    rows, n_in, units = 24, 5, 4
    x = rng.standard_normal((rows, n_in)).astype(np.float32)
    _, y = data(name, rng, rows, units)
    if name == "kl_divergence":
        y = y / y.sum(axis=1, keepdims=True)
    w_sample = rng.uniform(0.5, 1.5, rows).astype(np.float32)
    m = fnet.Sequential(
        [fnet.layers.Dense(units, activation=act, input_shape=(n_in,))], seed=3, device=device
    )
    lr = 0.05
    m.compile(optimizer=fnet.optimizers.SGD(learning_rate=lr), loss=loss)
    W0, b0 = (a.astype(np.float64) for a in m.get_weights())
    m.fit(x, y, batch_size=rows, epochs=1, shuffle=False, verbose=0, sample_weight=w_sample)
    W1, b1 = m.get_weights()
    # NumPy: z = x W + b, out = act(z), dL/dout from the float64 reference, chain rule by hand
    z = x.astype(np.float64) @ W0 + b0
    if act == "softplus":
        out, dact = np.logaddexp(z, 0), 1 / (1 + np.exp(-z))
    elif act == "softmax":
        out = np.exp(z - z.max(1, keepdims=True))
        out /= out.sum(1, keepdims=True)
    else:
        out, dact = z, np.ones_like(z)
    hinge = name in ("hinge", "squared_hinge")
    target = 2.0 * y - 1 if hinge and np.isin(y, (0, 1)).all() else y
    red = getattr(loss, "reduction", "sum_over_batch_size")
    _, g = ref.pair_loss(name, out, target, w_sample, "sum" if red == "sum" else "mean", DELTA)
    dz = out * (g - (g * out).sum(1, keepdims=True)) if act == "softmax" else g * dact
    np.testing.assert_allclose(W1, W0 - lr * x.T.astype(np.float64) @ dz, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(b1, b0 - lr * dz.sum(0), rtol=1e-4, atol=1e-5)


def test_binary_crossentropy_from_logits_on_a_linear_output(rng, device):
    x = rng.standard_normal((32, 3)).astype(np.float32)
    y = (rng.random((32, 1)) < 0.5).astype(np.float32)
    m = fnet.Sequential([fnet.layers.Dense(1, input_shape=(3,))], seed=0, device=device)
    m.compile(
        optimizer=fnet.optimizers.SGD(learning_rate=0.1),
        loss=losses.BinaryCrossentropy(from_logits=True),
    )
    W0, b0 = (a.astype(np.float64) for a in m.get_weights())
    m.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    z = x @ W0 + b0
    dz = (1 / (1 + np.exp(-z)) - y) / 32
    np.testing.assert_allclose(m.get_weights()[0], W0 - 0.1 * x.T @ dz, rtol=1e-5, atol=1e-6)
    assert m.evaluate(x, y, verbose=0) == pytest.approx(
        float(losses.BinaryCrossentropy(from_logits=True)(y, m.predict(x))), rel=1e-5
    )


# ---- Python functions as losses ------------------------------------------------------------------
def my_mse(y_true, y_pred):
    d = y_pred - y_true
    return (d * d).mean(axis=-1), 2.0 * d / d.shape[-1]


def test_python_function_loss_trains_like_the_native_one(rng):
    x = rng.standard_normal((40, 6)).astype(np.float32)
    y = rng.standard_normal((40, 2)).astype(np.float32)
    w = rng.uniform(0.5, 2, 40).astype(np.float32)
    models = []
    for loss in (my_mse, "mse"):
        m = fnet.Sequential([fnet.layers.Dense(2, activation="tanh", input_shape=(6,))], seed=5)
        m.compile(optimizer=fnet.optimizers.SGD(learning_rate=0.1), loss=loss, metrics=["mae"])
        h = m.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, sample_weight=w)
        models.append((m, h))
    (mp, hp), (mn, hn) = models
    for a, b in zip(mp.get_weights(), mn.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hp.history["loss"], hn.history["loss"], rtol=1e-5)
    assert mp.evaluate(x, y, verbose=0) == pytest.approx(mn.evaluate(x, y, verbose=0), rel=1e-5)
    assert isinstance(losses.get(my_mse), losses.LossFunctionWrapper)


def test_python_function_loss_without_gradient_evaluates_but_does_not_train(rng):
    x = rng.standard_normal((10, 3)).astype(np.float32)
    y = rng.standard_normal((10, 1)).astype(np.float32)
    m = fnet.Sequential([fnet.layers.Dense(1, input_shape=(3,))], seed=0)
    m.compile(loss=lambda yt, yp: np.abs(yt - yp).mean(axis=-1))
    assert m.evaluate(x, y, verbose=0) == pytest.approx(
        float(np.abs(y - m.predict(x)).mean()), rel=1e-6
    )
    with pytest.raises(TypeError, match="training with a Python loss needs its gradient"):
        m.fit(x, y, verbose=0)


def test_mean_with_sample_weight_is_refused_in_a_model():
    m = fnet.Sequential([fnet.layers.Dense(1, input_shape=(3,))], seed=0)
    with pytest.raises(ValueError, match="mean_with_sample_weight"):
        m.compile(loss=losses.MeanAbsoluteError(reduction="mean_with_sample_weight"))
        m.fit(np.zeros((4, 3), np.float32), np.zeros((4, 1), np.float32), verbose=0)


def test_python_function_loss_in_a_gradient_tape(rng):
    x = rng.standard_normal((12, 4)).astype(np.float32)
    y = rng.standard_normal((12, 2)).astype(np.float32)
    grads = []
    for loss_fn in (losses.get(my_mse), losses.MeanSquaredError()):
        m = fnet.Sequential([fnet.layers.Dense(2, activation="selu", input_shape=(4,))], seed=4)
        m.compile(optimizer="sgd", loss="mse")
        with fnet.GradientTape() as tape:
            value = loss_fn(y, m(x, training=True))
        grads.append((float(value), tape.gradient(value, m.trainable_variables)))
    assert grads[0][0] == pytest.approx(grads[1][0], rel=1e-6)
    for a, b in zip(grads[0][1], grads[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_save_and_load_keep_the_loss_and_activation(tmp_path, rng):
    x = rng.standard_normal((20, 3)).astype(np.float32)
    y = rng.standard_normal((20, 2)).astype(np.float32)
    m = fnet.Sequential(
        [fnet.layers.Dense(4, activation="mish", input_shape=(3,)), fnet.layers.Dense(2)], seed=0
    )
    m.compile(optimizer="adam", loss=losses.Huber(delta=0.3, reduction="sum"))
    m.fit(x, y, epochs=2, verbose=0)
    m.save(tmp_path / "m.fnet")
    m2 = fnet.load_model(tmp_path / "m.fnet")
    assert m2.loss_fn.get_config() == m.loss_fn.get_config()
    np.testing.assert_array_equal(m2.predict(x), m.predict(x))
    assert m2.evaluate(x, y, verbose=0) == m.evaluate(x, y, verbose=0)


def test_python_function_loss_with_elementwise_values(rng):
    # fn returns (batch, units) values: reduced over all elements, as Keras does
    def l1(y_true, y_pred):
        return np.abs(y_pred - y_true), np.sign(y_pred - y_true)

    y = rng.standard_normal((6, 3)).astype(np.float32)
    p = rng.standard_normal((6, 3)).astype(np.float32)
    w = rng.uniform(0.5, 2, 6)
    for reduction in ("sum_over_batch_size", "sum"):
        value, grad = losses.LossFunctionWrapper(l1, reduction=reduction).value_and_grad(y, p, w)
        scale = 1 / 18 if reduction == "sum_over_batch_size" else 1.0
        assert value == pytest.approx((np.abs(p - y) * w[:, None]).sum() * scale, rel=1e-6)
        np.testing.assert_allclose(grad, np.sign(p - y) * w[:, None] * scale, rtol=1e-6)
