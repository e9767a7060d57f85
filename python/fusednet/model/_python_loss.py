"""fit and evaluate for a model compiled with a Python function as its loss
(``losses.LossFunctionWrapper``): the function runs per batch in Python, so these loops step
batch by batch from Python (forward, the function's value and gradient, backward, one optimizer
step, each a Net call) instead of handing whole epochs to C++. Metrics are the Net's, from an
inference pass of each batch. Shuffling draws a permutation per epoch from NumPy's generator
seeded by (model seed, epoch).
"""

from __future__ import annotations

import numpy as np

__all__ = ["fit", "evaluate"]


def _rows(a, idx):
    return None if a is None else np.ascontiguousarray(a[idx])


def _batch_metrics(model, xb, yb, swb):
    if not model._metric_names:
        return []
    _, mets, _ = model._net.evaluate(xb, yb, swb, len(xb))
    return list(mets)


def evaluate(model, x, y, sw, bs):
    """(loss, metrics) over a prepared data set, the loss averaged over batches by their rows."""
    net, loss_fn, n = model._net, model.loss_fn, len(x)
    out = np.empty((n, net.output_width), np.float32)
    net.predict(x, bs, out)
    loss_sum, met_sums = 0.0, [0.0] * len(model._metric_names)
    for s in range(0, n, bs):
        e = min(n, s + bs)
        swb = None if sw is None else sw[s:e]
        value = loss_fn(y[s:e], out[s:e], sample_weight=swb)
        loss_sum += float(np.mean(value)) * (e - s)
    if model._metric_names and n:
        _, mets, _ = net.evaluate(x, y, sw, bs)
        met_sums = [m * n for m in mets]
    n = max(n, 1)
    return loss_sum / n, [m / n for m in met_sums]


def fit(model, cbl, train, val, bs, shuffle, initial_epoch, epochs, steps):
    net, loss_fn = model._net, model.loss_fn
    x, y, sw = train
    n = len(x)
    spec = loss_fn.spec()
    cbl.on_train_begin()
    logs = {}
    for epoch in range(initial_epoch, epochs):
        cbl.on_epoch_begin(epoch)
        order = np.random.default_rng([model.seed, epoch]).permutation(n) if shuffle else None
        loss_sum, met_sums, seen = 0.0, None, 0
        for b in range(steps):
            s, e = b * bs, min(n, (b + 1) * bs)
            idx = order[s:e] if order is not None else slice(s, e)
            xb, yb, swb = _rows(x, idx), _rows(y, idx), _rows(sw, idx)
            cbl.on_train_batch_begin(b)
            mets = _batch_metrics(model, xb, yb, swb)
            net.forward(xb, True)
            value, grad = loss_fn.value_and_grad(yb, net.output(), swb)
            net.output_grad()[...] = grad
            net.backward(spec)
            model.optimizer._step(model)
            seen += e - s
            loss_sum += float(value) * (e - s)
            met_sums = [
                m * (e - s) + (met_sums[i] if met_sums else 0.0) for i, m in enumerate(mets)
            ]
            logs = model._logs(loss_sum / seen, [m / seen for m in (met_sums or [])])
            cbl.on_train_batch_end(b, logs)
            if model.stop_training:
                break
        if val[0] is not None:
            cbl.on_test_begin()
            val_logs = model._logs(*evaluate(model, *val, bs))
            cbl.on_test_end(val_logs)
            logs.update(("val_" + k, v) for k, v in val_logs.items())
        cbl.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbl.on_train_end(logs)
    return model.history if model.history is not None else cbl.history
