"""Keras metrics: the metric objects against float64 references of Keras's definitions
(tests/reference_metric.py) and Keras's own test values (keras/src/metrics/*_test.py)."""

import numpy as np
import pytest

import fusednet as fnet
import reference_metric as ref
from fusednet import metrics as M


def close(got, want, tol=1e-6):
    np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=tol, atol=tol)


# ---- Keras's own test values ------------------------------------------------------------------
Y_PRED = np.array([0, 0.5, 0.3, 0.9], dtype=np.float32)
Y_TRUE = np.array([0, 0, 1, 1])
SW = [1, 2, 3, 4]


@pytest.mark.parametrize(
    "kwargs, weighted, want",
    [
        ({}, False, 0.75),
        ({"from_logits": True}, False, 0.75),
        ({"thresholds": [0.5]}, False, 0.75),
        ({}, True, 0.7855),
        ({"summation_method": "majoring"}, True, 1.0),
        ({"summation_method": "minoring"}, True, 0.571),
        ({"curve": "PR", "summation_method": "majoring"}, True, 0.429 + 0.571),
        ({"curve": "PR", "summation_method": "minoring"}, True, 0.7 * 0.429),
        ({"curve": "PR"}, True, 2.416 / 7 + 4 / 7),
        ({"curve": "PRGAIN", "summation_method": "majoring"}, True, 1.0),
        ({"curve": "PRGAIN", "summation_method": "minoring"}, True, 0.0),
        ({"curve": "PRGAIN"}, True, 0.5),
    ],
)
def test_auc_keras_values(kwargs, weighted, want):
    kwargs = {"num_thresholds": 3, **kwargs}
    pred = Y_PRED
    if kwargs.get("from_logits"):
        pred = -np.log(1.0 / (Y_PRED.astype(np.float64) + 1e-12) - 1.0)
    m = M.AUC(**kwargs)
    got = m(Y_TRUE, pred, sample_weight=SW if weighted else None)
    close(got, want, 1e-3)


def test_auc_keras_more_values():
    assert M.AUC(num_thresholds=3)(Y_TRUE, Y_TRUE) == 1.0
    m = M.AUC(num_thresholds=2, thresholds=[0.5])
    assert m.num_thresholds == 3
    close(m.thresholds, [0.0, 0.5, 1.0], 1e-6)
    close(M.AUC(num_thresholds=3, curve="PR")(Y_TRUE, Y_PRED, [-1, -2, -3, -4]), 0.0, 1e-3)
    yt = np.array([0, 0, 0, 1, 0, 1, 0, 1, 1, 1])
    yp = np.array([0.1, 0.2, 0.3, 0.3, 0.4, 0.4, 0.6, 0.6, 0.8, 0.9])
    close(
        M.AUC(num_thresholds=3, curve="PRGAIN")(yt, yp),
        0.666666 * 0.333333 + 0.333333 * 0.833333,
        1e-3,
    )


def test_precision_recall_keras_values():
    assert M.Precision()([0, 1, 1, 0], [1, 0, 1, 0]) == 0.5
    assert M.Recall()([0, 1, 1, 0], [1, 0, 1, 0]) == 0.5
    assert M.Precision()([0, 0, 0, 0], [0, 0, 0, 0]) == 0.0
    close(M.Precision(thresholds=[0.5, 0.7])([0, 1, 1, 0], [1, 0, 0.6, 0]), [0.5, 0.0])
    close(M.Precision(top_k=3)([0, 1, 1, 0, 0], [0.2, 0.1, 0.5, 0, 0.2]), 1.0 / 3)
    m = M.Precision(thresholds=0.7, top_k=2)
    assert m([0, 1, 1, 0, 1], [0.2, 0.8, 0.6, 0, 0.2]) == 1.0
    # per-element weights (Keras's test_weighted)
    yp = np.array([[1, 0, 1, 0], [1, 0, 1, 0]])
    yt = np.array([[0, 1, 1, 0], [1, 0, 0, 1]])
    w = np.array([[1, 2, 3, 4], [4, 3, 2, 1]])
    close(M.Precision()(yt, yp, sample_weight=w), (3.0 + 4.0) / ((1.0 + 3.0) + (4.0 + 2.0)))
    # class_id (Keras's test_unweighted_class_id_multiclass)
    yp = np.array(
        [[0.1, 0.2, 0.7], [0.5, 0.3, 0.2], [0.2, 0.6, 0.2], [0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]
    )
    yt = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]])
    assert M.Precision(class_id=1)(yt, yp) == 1.0


FB_TRUE = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [1, 0, 0], [0, 0, 1]]
FB_PRED = [[0.9, 0.1, 0], [0.2, 0.6, 0.2], [0, 0, 1], [0.4, 0.3, 0.3], [0, 0.9, 0.1], [0, 0, 1]]


@pytest.mark.parametrize(
    "average, beta, weights, want",
    [
        (None, 0.5, None, [0.9090904, 0.555556, 1.0]),
        (None, 1.0, None, [0.8, 0.6666667, 1.0]),
        ("micro", 1.0, None, 0.833334),
        ("macro", 2.0, None, 0.849206),
        ("weighted", 0.5, None, 0.880471),
        (None, 1.0, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], [0.857143, 0.8, 1.0]),
        ("micro", 0.5, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.9),
        ("macro", 1.0, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], 0.666667),
        ("weighted", 2.0, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.897608),
    ],
)
def test_fbeta_keras_values(average, beta, weights, want):
    m = M.FBetaScore(average=average, beta=beta)
    m.update_state(FB_TRUE, FB_PRED, weights)
    close(m.result(), want, 1e-5)


@pytest.mark.parametrize(
    "average, beta, want",
    [(None, 1.0, [0.8, 0.5, 0.6666667]), ("micro", 2.0, 0.6666667), ("macro", 0.5, 0.6825397)],
)
def test_fbeta_keras_threshold_values(average, beta, want):
    m = M.FBetaScore(average=average, beta=beta, threshold=0.66)
    m.update_state([[0, 0, 1], [1, 1, 0], [1, 1, 1]], [[0.7, 0.7, 0.7], [1, 0, 0], [0.9, 0.8, 0]])
    close(m.result(), want, 1e-5)


R2_TRUE = [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]


@pytest.mark.parametrize(
    "aggregation, regressors, pred, weights, want",
    [
        (None, 0, [[0.4, 0.5, 0.6], [0.1, 0.2, 0.3], [0.5, 0.8, 0.2]], None, [0.37, -1.295, 0.565]),
        (None, 1, [[0.4, 0.5, 0.6], [0.1, 0.2, 0.3], [0.5, 0.8, 0.2]], None, [-0.26, -3.59, 0.13]),
        ("uniform_average", 0, [[0.4, 0.5, 0.6], [0.1, 0.2, 0.3], [0.5, 0.8, 0.2]], None, -0.12),
        (
            None,
            1,
            [[0.4, 0.9, 1.6], [0.1, 1.2, 0.6], [1.5, 0.8, 0.6]],
            [0.8, 0.1, 0.4],
            [-0.65388882, -18.673332, -2.042],
        ),
        (
            "uniform_average",
            2,
            [[0.4, 0.9, 1.6], [0.1, 1.2, 0.6], [1.5, 0.8, 0.6]],
            [0.8, 0.1, 0.4],
            -3.0615367889404297,
        ),
        (
            "variance_weighted_average",
            1,
            [[0.4, 0.9, 1.6], [0.1, 1.2, 0.6], [1.5, 0.8, 0.6]],
            [0.8, 0.1, 0.4],
            -3.742044448852539,
        ),
    ],
)
def test_r2_keras_values(aggregation, regressors, pred, weights, want):
    m = M.R2Score(aggregation, regressors)
    m.update_state(R2_TRUE, pred, weights)
    close(m.result(), want, 1e-5)


def test_small_metrics_keras_values():
    m = M.TopKCategoricalAccuracy(k=1)
    assert m([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]) == 0.5
    m = M.SparseTopKCategoricalAccuracy(k=1)
    assert m([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]) == 0.5
    assert M.SparseTopKCategoricalAccuracy()([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]) == 1.0
    close(M.RootMeanSquaredError()([2, 4, 6], [1, 3, 2]), np.sqrt(6.0))
    close(M.RootMeanSquaredError()([2, 4, 6, 8], [1, 3, 2, 3], [0, 1, 0, 1]), np.sqrt(13.0))
    yt = [[0, 1, 0, 1, 0], [0, 0, 1, 1, 1], [1, 1, 1, 1, 0], [0, 0, 0, 0, 1]]
    yp = [[0, 0, 1, 1, 0], [1, 1, 1, 1, 1], [0, 1, 0, 1, 0], [1, 1, 1, 1, 1]]
    close(M.MeanAbsolutePercentageError()(yt, yp), 35e7, 1e-5)


# ---- random cases against the float64 references --------------------------------------------
def _data(rng, n=97, cols=4, binary=True):
    p = rng.random((n, cols)).astype(np.float32)
    p[rng.random(p.shape) < 0.05] = np.float32(0.5)  # exactly at a threshold
    t = (rng.random((n, cols)) < 0.4).astype(np.float32) if binary else rng.normal(size=(n, cols))
    return t.astype(np.float32), p


def _batched(metric, t, p, w=None, splits=(0, 13, 50, None)):
    metric.reset_state()
    for a, b in zip(splits[:-1], splits[1:]):
        metric.update_state(t[a:b], p[a:b], None if w is None else w[a:b])
    return metric.result()


@pytest.mark.parametrize("curve", ["ROC", "PR", "PRGAIN"])
@pytest.mark.parametrize("summation", ["interpolation", "minoring", "majoring"])
@pytest.mark.parametrize("multi_label", [False, True])
def test_auc_matches_reference(rng, curve, summation, multi_label):
    t, p = _data(rng)
    w = rng.random(len(t)).astype(np.float32)
    for nt in (200, 7):
        m = M.AUC(nt, curve, summation, multi_label=multi_label)
        want = ref.auc(t, p, nt, curve, summation, multi_label=multi_label)
        close(_batched(m, t, p), want, 1e-12)
        want = ref.auc(t, p, nt, curve, summation, w=w, multi_label=multi_label)
        close(_batched(m, t, p, w), want, 1e-9)
    thresholds = [0.1, 0.25, 0.3, 0.8]  # not evenly spaced: p > t per threshold
    m = M.AUC(
        curve=curve, summation_method=summation, thresholds=thresholds, multi_label=multi_label
    )
    want = ref.auc(
        t, p, curve=curve, summation=summation, thresholds=thresholds, multi_label=multi_label
    )
    close(_batched(m, t, p), want, 1e-12)


def test_auc_multi_label_weights_and_logits(rng):
    t, p = _data(rng)
    m = M.AUC(multi_label=True, label_weights=[1, 2, 0, 3])
    close(m(t, p), ref.auc(t, p, multi_label=True, label_weights=[1, 2, 0, 3]), 1e-12)
    z = rng.normal(size=p.shape).astype(np.float32)
    got = M.AUC(from_logits=True)(t, z)
    sig = (1.0 / (1.0 + np.exp(-z))).astype(np.float32)
    close(got, ref.auc(t, sig), 1e-6)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"thresholds": [0.2, 0.5, 0.9]},
        {"thresholds": [0.0, 0.5, 1.0]},
        {"top_k": 2},
        {"class_id": 2},
        {"class_id": 1, "thresholds": 0.3},
        {"top_k": 1, "thresholds": [0.3, 0.6]},
    ],
)
def test_precision_recall_match_reference(rng, kwargs):
    t, p = _data(rng)
    th = kwargs.get("thresholds", 0.5 if "top_k" not in kwargs else -1e10)
    th = [th] if np.isscalar(th) else th
    prec, rec = ref.precision_recall(t, p, th, kwargs.get("top_k"), kwargs.get("class_id"))
    got_p, got_r = _batched(M.Precision(**kwargs), t, p), _batched(M.Recall(**kwargs), t, p)
    close(got_p, prec if len(th) > 1 else prec[0], 1e-12)
    close(got_r, rec if len(th) > 1 else rec[0], 1e-12)


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
@pytest.mark.parametrize("threshold", [None, 0.5])
def test_fbeta_matches_reference(rng, average, threshold):
    t, p = _data(rng)
    w = rng.random(len(t)).astype(np.float32)
    for beta in (1.0, 0.5):
        m = M.FBetaScore(average, beta, threshold)
        close(_batched(m, t, p), ref.fbeta(t, p, average, beta, threshold), 1e-12)
        close(_batched(m, t, p, w), ref.fbeta(t, p, average, beta, threshold, w), 1e-9)
    assert M.F1Score(average, threshold).name == "f1_score"


@pytest.mark.parametrize("aggregation", [None, "uniform_average", "variance_weighted_average"])
@pytest.mark.parametrize("regressors", [0, 3])
def test_r2_matches_reference(rng, aggregation, regressors):
    t, p = _data(rng, binary=False)
    w = rng.random(len(t)).astype(np.float32)
    w[5] = 0.0
    m = M.R2Score(aggregation, regressors)
    close(_batched(m, t, p), ref.r2(t, p, aggregation, regressors), 1e-10)
    close(_batched(m, t, p, w), ref.r2(t, p, aggregation, regressors, w), 1e-10)


def test_mean_metrics_match_reference(rng):
    t, p = _data(rng, n=61, cols=6, binary=False)
    close(_batched(M.RootMeanSquaredError(), t, p), ref.rmse(t, p), 1e-12)
    w = rng.random(len(t)).astype(np.float32)
    close(_batched(M.RootMeanSquaredError(), t, p, w), ref.rmse(t, p, w), 1e-10)
    close(_batched(M.MeanAbsolutePercentageError(), t, p), ref.mape(t, p), 1e-10)
    p = rng.random((61, 6)).astype(np.float32)
    p[:, 3] = p[:, 1]  # ties count in
    labels = rng.integers(0, 6, 61)
    onehot = np.eye(6, dtype=np.float32)[labels]
    for k in (1, 2, 5):
        want = ref.top_k_accuracy(labels, p, k)
        close(_batched(M.TopKCategoricalAccuracy(k), onehot, p), want, 1e-12)
        close(_batched(M.SparseTopKCategoricalAccuracy(k), labels, p), want, 1e-12)


def test_state_and_reset():
    m = M.AUC()
    assert m.result() == 0.0
    m.update_state([0, 1], [0.2, 0.8])
    assert m.result() == 1.0
    m.update_state([1, 0], [0.2, 0.8])
    assert m.result() == 0.5
    m.reset_state()
    m.update_state([1, 0], [0.2, 0.8])
    assert m.result() == 0.0
    cfg = M.AUC(num_thresholds=50, curve="PR", multi_label=True, name="x").get_config()
    again = M.AUC.from_config(cfg)
    assert (again.num_thresholds, again.curve, again.multi_label, again.name) == (
        50,
        "PR",
        True,
        "x",
    )
    assert M.F1Score.from_config(M.F1Score("macro", 0.3).get_config()).threshold == 0.3


def test_names_and_get():
    assert M.get("auc").name == "auc" and isinstance(M.get("AUC"), M.AUC)
    assert isinstance(M.get("mape"), M.MeanAbsolutePercentageError)
    assert M.get("f1_score").name == "f1_score"
    assert M.get("r2_score").name == "r2_score"
    assert M.get("top_k_categorical_accuracy").k == 5
    assert M.Precision().name == "precision" and M.Recall(name="r").name == "r"
    assert M.RootMeanSquaredError().name == "root_mean_squared_error"


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: M.AUC(num_thresholds=1), "num_thresholds"),
        (lambda: M.AUC(curve="bad"), "curve"),
        (lambda: M.AUC(summation_method="bad"), "summation_method"),
        (lambda: M.AUC(label_weights=[1, 2]), "label_weights"),
        (lambda: M.AUC(num_labels=2), "num_labels"),
        (lambda: M.Precision(thresholds=[0.5, 1.5]), "thresholds"),
        (lambda: M.Recall(top_k=0), "k"),
        (lambda: M.F1Score(average="bad"), "average"),
        (lambda: M.FBetaScore(beta=1), "beta"),
        (lambda: M.F1Score(threshold=0), "threshold"),
        (lambda: M.R2Score(class_aggregation="bad"), "class_aggregation"),
        (lambda: M.R2Score(num_regressors=-1), "num_regressors"),
        (lambda: M.TopKCategoricalAccuracy(k=0), "k"),
        (lambda: M.get("nope"), "unknown metric"),
    ],
)
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_inputs():
    with pytest.raises(ValueError, match="y_true"):
        M.AUC().update_state([0, 1, 1], [0.2, 0.8])
    with pytest.raises(ValueError, match="sample_weight"):
        M.F1Score().update_state([[0, 1]], [[0.2, 0.8]], [[1, 2]])
    m = M.R2Score()
    m.update_state([[0.0, 1.0]], [[0.1, 0.7]])
    with pytest.raises(ValueError, match="outputs"):
        m.update_state([[0.0, 1.0, 2.0]], [[0.1, 0.7, 2.0]])
    with pytest.raises(ValueError, match="class_id"):
        M.Precision(class_id=3).update_state([[0, 1]], [[0.2, 0.8]])
    with pytest.raises(TypeError):
        fnet._core.metric_results([M.AUC()._spec(1)], "x", 1.0, 1)
