"""Compiled metrics in fit / evaluate / validation / PyDataset: the native loop's figures equal the
metric objects run over the model's own predictions, on every device and thread count."""

import numpy as np
import pytest

import fusednet as fnet
from fusednet import metrics as M


def _binary_model(device, metrics, lr=0.0, seed=3):
    model = fnet.Sequential(
        [
            fnet.layers.Dense(8, activation="relu", input_shape=(5,)),
            fnet.layers.Dense(1, activation="sigmoid"),
        ],
        device=device,
        seed=seed,
    )
    model.compile(
        optimizer=fnet.optimizers.SGD(learning_rate=lr), loss="binary_crossentropy", metrics=metrics
    )
    return model


def _binary_data(n=203, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    y = (x[:, :1] + 0.5 * rng.normal(size=(n, 1)) > 0).astype(np.float32)
    return x, y


def _object_values(model, y, pred):
    """Each compiled metric as a fresh metric object run over `pred` in one update."""
    out = {}
    for name, m in zip(model._metric_names, model._metric_objects):
        fresh = M.get(M.serialize(m))
        fresh.update_state(y, pred)
        out[name] = fresh.result()
    return out


BINARY_METRICS = [
    "auc",
    M.AUC(curve="PR", name="pr_auc"),
    M.AUC(num_thresholds=17, summation_method="minoring", name="auc17"),
    "precision",
    M.Recall(thresholds=[0.3, 0.5, 0.7], name="recall3"),
    M.F1Score(threshold=0.5, name="f1"),
    "mape",
    "root_mean_squared_error",
    "accuracy",
]


def _assert_logs_match(got, want, exact=False):
    for k, v in want.items():
        if exact:
            np.testing.assert_array_equal(got[k], v, err_msg=k)
        else:
            np.testing.assert_allclose(got[k], v, rtol=1e-12, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("batch_size", [16, 203])
def test_binary_metrics_evaluate_fit_validation(device, batch_size):
    x, y = _binary_data()
    xv, yv = _binary_data(77, seed=1)
    model = _binary_model(device, BINARY_METRICS)
    names = model._metric_names
    assert names[:3] == ["auc", "pr_auc", "auc17"]
    want = _object_values(model, y, model.predict(x))
    want_val = _object_values(model, yv, model.predict(xv))
    logs = model.evaluate(x, y, batch_size=batch_size, return_dict=True, verbose=0)
    _assert_logs_match(logs, want)
    assert isinstance(logs["recall3"], np.ndarray) and logs["recall3"].shape == (3,)
    # lr = 0: the weights do not move, so training figures are those of the predictions
    hist = model.fit(x, y, batch_size=batch_size, epochs=2, validation_data=(xv, yv), verbose=0)
    for k in want:
        _assert_logs_match({k: hist.history[k][-1]}, {k: want[k]})
        _assert_logs_match({k: hist.history["val_" + k][-1]}, {k: want_val[k]})
    # per-epoch path (a callback between epochs) and the progress bar's hook report the same
    seen = []
    cb = fnet.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(dict(logs)))
    model.fit(
        x, y, batch_size=batch_size, epochs=1, validation_data=(xv, yv), verbose=0, callbacks=[cb]
    )
    _assert_logs_match(seen[-1], want)
    batch_logs = []
    cb = fnet.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: batch_logs.append(logs))
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, callbacks=[cb])
    _assert_logs_match(batch_logs[-1], want)


def test_multiclass_metrics(device):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(150, 6)).astype(np.float32)
    labels = rng.integers(0, 4, 150)
    onehot = np.eye(4, dtype=np.float32)[labels]
    entries = [
        M.TopKCategoricalAccuracy(k=2),
        M.F1Score(name="f1"),  # average=None: one value per class
        M.F1Score(average="macro", name="f1_macro"),
        M.Precision(class_id=1, name="p1"),
        M.Recall(top_k=2, name="r2"),
        M.AUC(multi_label=True, name="auc_ml"),
        "categorical_accuracy",
    ]
    model = fnet.Sequential(
        [
            fnet.layers.Dense(16, activation="tanh", input_shape=(6,)),
            fnet.layers.Dense(4, activation="softmax"),
        ],
        device=device,
        seed=1,
    )
    model.compile(
        optimizer=fnet.optimizers.SGD(0.0), loss="categorical_crossentropy", metrics=entries
    )
    want = _object_values(model, onehot, model.predict(x))
    logs = model.evaluate(x, onehot, batch_size=32, return_dict=True, verbose=0)
    _assert_logs_match(logs, want)
    assert logs["f1"].shape == (4,)
    hist = model.fit(x, onehot, batch_size=32, epochs=1, verbose=0)
    _assert_logs_match({k: hist.history[k][0] for k in want}, want)
    result = model.evaluate(x, onehot, batch_size=32, verbose=0)
    assert len(result) == 1 + len(entries) and result[2].shape == (4,)
    # sparse labels
    sparse = fnet.Sequential(
        [fnet.layers.Dense(4, activation="softmax", input_shape=(6,))], device=device, seed=2
    )
    sparse.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=[
            "sparse_top_k_categorical_accuracy",
            M.SparseTopKCategoricalAccuracy(k=1, name="top1"),
            "accuracy",
        ],
    )
    logs = sparse.evaluate(x, labels, batch_size=40, return_dict=True, verbose=0)
    pred = sparse.predict(x)
    assert logs["sparse_top_k_categorical_accuracy"] == 1.0  # k = 5 > 4 classes
    assert logs["top1"] == logs["accuracy"] == np.mean(np.argmax(pred, 1) == labels)


def test_regression_metrics(device):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(90, 3)).astype(np.float32)
    y = (x @ rng.normal(size=(3, 2)) + 0.3).astype(np.float32)
    entries = [
        "mape",
        "root_mean_squared_error",
        M.R2Score(),
        M.R2Score(class_aggregation=None, name="r2s"),
        "mse",
        "mae",
    ]
    model = fnet.Sequential([fnet.layers.Dense(2, input_shape=(3,))], device=device, seed=0)
    model.compile(optimizer=fnet.optimizers.SGD(0.0), loss="mse", metrics=entries)
    want = _object_values(model, y, model.predict(x))
    logs = model.evaluate(x, y, batch_size=7, return_dict=True, verbose=0)
    _assert_logs_match(logs, want)
    np.testing.assert_allclose(logs["root_mean_squared_error"] ** 2, logs["mse"], rtol=1e-12)
    hist = model.fit(x, y, batch_size=7, epochs=1, verbose=0, validation_split=0.2)
    assert hist.history["r2s"][0].shape == (2,)


class _Batches(fnet.utils.PyDataset):
    def __init__(self, x, y, bs):
        super().__init__()
        self.x, self.y, self.bs = x, y, bs

    def __len__(self):
        return (len(self.x) + self.bs - 1) // self.bs

    def __getitem__(self, i):
        s = slice(i * self.bs, (i + 1) * self.bs)
        return self.x[s], self.y[s]


def test_pydataset_and_batch_hooks_add_states(device):
    """A PyDataset's epoch (and evaluate with per-batch callbacks) reports the metrics of all its
    samples -- the same sums as the whole-array pass, not a mean of per-batch values."""
    x, y = _binary_data()
    model = _binary_model(device, BINARY_METRICS)
    whole = model.evaluate(x, y, batch_size=16, return_dict=True, verbose=0)
    fed = model.evaluate(_Batches(x, y, 16), return_dict=True, verbose=0)
    _assert_logs_match(fed, {k: v for k, v in whole.items() if k != "loss"}, exact=True)
    np.testing.assert_allclose(fed["loss"], whole["loss"], rtol=1e-12)
    cb = fnet.callbacks.LambdaCallback(on_test_batch_end=lambda b, logs: None)
    hooked = model.evaluate(x, y, batch_size=16, return_dict=True, verbose=0, callbacks=[cb])
    _assert_logs_match(hooked, {k: v for k, v in whole.items() if k != "loss"}, exact=True)
    hist = model.fit(_Batches(x, y, 16), epochs=1, verbose=0, validation_data=_Batches(x, y, 50))
    mets = {k: v for k, v in whole.items() if k != "loss"}
    _assert_logs_match({k: hist.history[k][0] for k in mets}, mets)
    _assert_logs_match({k: hist.history["val_" + k][0] for k in mets}, mets)
    # a per-batch mean would differ: AUC of the whole set is not the mean of batch AUCs
    per_batch = [
        model.evaluate(x[s : s + 16], y[s : s + 16], return_dict=True, verbose=0)["auc"]
        for s in range(0, len(x), 16)
    ]
    assert abs(np.mean(per_batch) - whole["auc"]) > 1e-6


def test_training_metrics_deterministic_across_threads(threads):
    x, y = _binary_data(500)
    runs = []
    for n in (1, 2):
        threads(n)
        model = _binary_model("cpu", BINARY_METRICS, lr=0.05)
        hist = model.fit(x, y, batch_size=32, epochs=3, verbose=0, validation_split=0.2)
        runs.append(hist.history)
    for k in runs[0]:
        np.testing.assert_array_equal(np.asarray(runs[0][k]), np.asarray(runs[1][k]), err_msg=k)


def test_train_on_batch_and_save_load(tmp_path):
    x, y = _binary_data()
    model = _binary_model(
        "cpu", ["auc", M.F1Score(threshold=0.4, name="f1"), M.Precision(thresholds=[0.2, 0.6])]
    )
    before = model.evaluate(x, y, return_dict=True, verbose=0)
    logs = model.test_on_batch(x, y, return_dict=True)
    want = _object_values(model, y, model.predict(x))
    _assert_logs_match(logs, want)
    model.save(tmp_path / "m.fnet")
    again = fnet.load_model(tmp_path / "m.fnet")
    assert again._metric_names == model._metric_names
    assert again._metric_objects[1].threshold == 0.4
    _assert_logs_match(again.evaluate(x, y, return_dict=True, verbose=0), before, exact=True)


def test_compile_errors():
    model = _binary_model("cpu", None)
    with pytest.raises(ValueError, match="unknown metric"):
        model.compile(loss="binary_crossentropy", metrics=["nope"])
    with pytest.raises(TypeError, match="metric"):
        model.compile(loss="binary_crossentropy", metrics=[3])
    with pytest.raises(ValueError, match="integer labels"):
        model.compile(loss="binary_crossentropy", metrics=["sparse_top_k_categorical_accuracy"])
    sparse = fnet.Sequential([fnet.layers.Dense(3, activation="softmax", input_shape=(2,))])
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        sparse.compile(loss="sparse_categorical_crossentropy", metrics=["auc"])


def test_wide_states_reuse_the_slots(device):
    """A multi-label AUC over 300 outputs keeps ~1 MB of counts per batch: a 100-batch pass
    reuses a 64 MiB window of slots (brought back when full) and still equals the object."""
    rng = np.random.default_rng(8)
    x = rng.normal(size=(100, 3)).astype(np.float32)
    y = (rng.random((100, 300)) < 0.3).astype(np.float32)
    model = fnet.Sequential(
        [fnet.layers.Dense(300, activation="sigmoid", input_shape=(3,))], device=device, seed=0
    )
    entries = [M.AUC(multi_label=True, name="auc_ml"), "precision"]
    model.compile(optimizer=fnet.optimizers.SGD(0.0), loss="binary_crossentropy", metrics=entries)
    want = _object_values(model, y, model.predict(x))
    _assert_logs_match(model.evaluate(x, y, batch_size=1, return_dict=True, verbose=0), want)
    hist = model.fit(x, y, batch_size=1, epochs=1, verbose=0)
    _assert_logs_match({k: hist.history[k][0] for k in want}, want)


def test_progress_bar_shows_a_vector_metric_as_its_mean(capsys):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 40)]
    model = fnet.Sequential([fnet.layers.Dense(3, activation="softmax", input_shape=(4,))], seed=0)
    model.compile(loss="categorical_crossentropy", metrics=[M.F1Score(name="f1")])
    hist = model.fit(x, y, epochs=1, batch_size=8, verbose=2)
    out = capsys.readouterr().out
    assert f"f1: {np.mean(hist.history['f1'][0]):.4f}" in out
