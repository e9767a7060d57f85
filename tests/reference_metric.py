"""float64 NumPy references of Keras 3's metrics (keras/src/metrics/*.py), written from Keras's
definitions independently of fusednet's kernels: whole-array formulas, no per-row loops."""

from __future__ import annotations

import numpy as np

EPS = 1e-7


def _dnn(a, b):
    a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    out = np.zeros_like(a)
    np.divide(a, b, out=out, where=b != 0)
    return out


def top_k_accuracy(truth, pred, k):
    """truth: class ids; in_top_k: pred[truth] >= the k-th largest value."""
    pred = np.asarray(pred, np.float64)
    kth = -np.sort(-pred, axis=1)[:, k - 1] if k <= pred.shape[1] else np.full(len(pred), -np.inf)
    own = pred[np.arange(len(pred)), truth]
    return np.mean(own >= kth)


def rmse(t, p, w=None):
    e = (np.asarray(p, np.float64) - np.asarray(t, np.float64)) ** 2
    if w is None:
        return np.sqrt(e.mean())
    w = np.asarray(w, np.float64)
    return np.sqrt(np.sum(e.mean(axis=1) * w) / np.sum(w))


def mape(t, p):
    t, p = np.asarray(t, np.float64), np.asarray(p, np.float64)
    return 100.0 * np.mean(np.abs((t - p) / np.maximum(np.abs(t), np.float64(np.float32(EPS)))))


def auc_thresholds(num_thresholds):
    inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    return np.array([0.0 - EPS] + inner + [1.0 + EPS])


def confusion(t, p, thresholds, evenly, w=None):
    """tp, fp, fn, tn per threshold (columns: labels) of flattened or (n, L) data; Keras's
    optimized bucket rule for evenly spaced thresholds, p > t otherwise."""
    t = np.asarray(t) != 0
    p = np.asarray(p, np.float32)
    w = np.ones(p.shape) if w is None else np.broadcast_to(np.asarray(w, np.float64), p.shape)
    T = len(thresholds)
    if evenly:
        c = np.clip(p, 0, 1)
        bucket = np.ceil(c * np.float32(T - 1)) - 1
        if thresholds[0] < 0 or thresholds[-1] > 1:
            bucket = np.maximum(bucket, 0)
        above = bucket[None] >= np.arange(T).reshape((T,) + (1,) * p.ndim)
    else:
        th = np.asarray(thresholds, np.float32).reshape((T,) + (1,) * p.ndim)
        above = p[None] > th
    pos = t[None] & np.ones_like(above)
    tp = np.sum(w * (above & pos), axis=1)
    fp = np.sum(w * (above & ~pos), axis=1)
    fn = np.sum(w * (~above & pos), axis=1)
    tn = np.sum(w * (~above & ~pos), axis=1)
    return tp, fp, fn, tn


def auc(
    t,
    p,
    num_thresholds=200,
    curve="ROC",
    summation="interpolation",
    w=None,
    multi_label=False,
    thresholds=None,
    label_weights=None,
):
    if thresholds is None:
        th, evenly = auc_thresholds(num_thresholds), True
    else:
        inner = sorted(thresholds)
        th = np.array([0.0 - EPS] + inner + [1.0 + EPS])
        even = np.arange(len(th), dtype=np.float32) / (len(th) - 1)
        evenly = len(th) >= 3 and np.allclose([0.0] + inner + [1.0], even, atol=EPS)
    t, p = np.asarray(t, np.float64), np.asarray(p, np.float64)
    if t.ndim == 1:
        t, p = t[:, None], p[:, None]
    if not multi_label:
        if w is not None:
            w = np.broadcast_to(np.asarray(w, np.float64)[:, None], t.shape).reshape(-1)
        t, p = t.reshape(-1), p.reshape(-1)
    elif w is not None:
        w = np.asarray(w, np.float64)[:, None]
    tp, fp, fn, tn = confusion(t, p, th, evenly, w)
    n = len(th)
    if curve == "PR" and summation == "interpolation":
        dtp = tp[:-1] - tp[1:]
        pp = tp + fp
        dp = pp[:-1] - pp[1:]
        slope = _dnn(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * pp[1:]
        ratio = np.where((pp[:-1] > 0) & (pp[1:] > 0), _dnn(pp[:-1], np.maximum(pp[1:], 0)), 1.0)
        inc = _dnn(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))
        by_label = inc.sum(axis=0)
    else:
        recall = _dnn(tp, tp + fn)
        if curve == "ROC":
            x, y = _dnn(fp, fp + tn), recall
        elif curve == "PR":
            x, y = recall, _dnn(tp, tp + fp)
        else:
            scale = _dnn(tp + fn, tn + fp)
            rg = np.where(tp == 0, 0.0, 1.0 - scale * _dnn(fn, tp))
            pg = np.where(tp == 0, 1.0, 1.0 - scale * _dnn(fp, tp))
            x, y = np.maximum(rg, 0.0), pg
        if summation == "interpolation":
            h = (y[: n - 1] + y[1:]) / 2.0
        elif summation == "minoring":
            h = np.minimum(y[: n - 1], y[1:])
        else:
            h = np.maximum(y[: n - 1], y[1:])
        by_label = ((x[: n - 1] - x[1:]) * h).sum(axis=0)
    if not multi_label:
        return float(by_label)
    if label_weights is None:
        return float(np.mean(by_label))
    lw = np.asarray(label_weights, np.float64)
    return float(_dnn(np.sum(by_label * lw), np.sum(lw)))


def precision_recall(t, p, thresholds=(0.5,), top_k=None, class_id=None, w=None):
    """(precision, recall) per threshold, Keras's update_confusion_matrix_variables."""
    t, p = np.atleast_2d(np.asarray(t, np.float64)), np.atleast_2d(np.asarray(p, np.float32))
    if top_k is not None:
        order = np.argsort(-p, axis=1, kind="stable")[:, :top_k]
        mask = np.zeros(p.shape, bool)
        np.put_along_axis(mask, order, True, axis=1)
        p = np.where(mask, p, np.float32(-1e10))
    if class_id is not None:
        t, p = t[:, class_id], p[:, class_id]
    th = np.asarray(thresholds, np.float64)
    even = np.arange(len(th), dtype=np.float32) / max(len(th) - 1, 1)
    evenly = len(th) >= 3 and np.allclose(th, even, atol=EPS)
    tp, fp, fn, _ = confusion(t.reshape(-1), p.reshape(-1), th, evenly, w)
    return _dnn(tp, tp + fp), _dnn(tp, tp + fn)


def fbeta(t, p, average=None, beta=1.0, threshold=None, w=None):
    t, p = np.asarray(t, np.float64), np.asarray(p, np.float32)
    if threshold is None:
        yp = (p >= p.max(axis=1, keepdims=True)) & (np.abs(p) > 1e-9)
    else:
        yp = p > np.float32(threshold)
    yp = yp.astype(np.float64)
    w = np.ones((len(t), 1)) if w is None else np.asarray(w, np.float64).reshape(-1, 1)
    axis = None if average == "micro" else 0
    tp = np.sum(yp * t * w, axis=axis)
    fp = np.sum(yp * (1 - t) * w, axis=axis)
    fn = np.sum((1 - yp) * t * w, axis=axis)
    support = np.sum(t * w, axis=axis)
    prec, rec = tp / (tp + fp + EPS), tp / (tp + fn + EPS)
    f = prec * rec / (beta**2 * prec + rec + EPS) * (1 + beta**2)
    if average == "weighted":
        return float(np.sum(f * support / (np.sum(support) + EPS)))
    if average is not None:
        return float(np.mean(f))
    return f


def r2(t, p, class_aggregation="uniform_average", num_regressors=0, w=None):
    t, p = np.asarray(t, np.float64), np.asarray(p, np.float64)
    w = (
        np.ones(t.shape)
        if w is None
        else np.broadcast_to(np.asarray(w, np.float64)[:, None], t.shape)
    )
    s, sq = np.sum(t * w, 0), np.sum(t * t * w, 0)
    resid, count = np.sum((t - p) ** 2 * w, 0), np.sum(w, 0)
    total = sq - s * (s / count)
    raw = 1 - resid / total
    raw = np.where(np.isinf(raw), 0.0, raw)
    if class_aggregation == "uniform_average":
        score = np.mean(raw)
    elif class_aggregation == "variance_weighted_average":
        score = np.sum(total * raw) / np.sum(total)
    else:
        score = raw
    n = np.sum(np.any(w != 0, axis=1))
    if num_regressors and num_regressors < n - 1:
        score = 1 - (1 - score) * (n - 1) / (n - num_regressors - 1)
    return score
