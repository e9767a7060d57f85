"""The Keras 3 API probe: one call for each layer, activation, loss, optimizer, metric, callback
and model-API item a Keras user reaches for, written as a Keras script would write it (with
`import fusednet as keras`). Each call must run and give a result of the right kind; the
semantics of each piece are tested in its own file."""

import numpy as np
import pytest

import fusednet as keras
from fusednet import layers

RNG = np.random.default_rng(0)
X = RNG.standard_normal((64, 6)).astype("float32")
Y_CLASS = (X[:, 0] + X[:, 1] > 0).astype("int64") + (X[:, 2] > 1).astype("int64")
Y_ONEHOT = np.eye(3, dtype="float32")[Y_CLASS]
Y_BIN = (X[:, :1] > 0).astype("float32")
Y_REG = (X[:, :2] @ np.array([[1.0], [-2.0]], dtype="float32")).astype("float32")


def _trains(model, loss, y, optimizer="adam", metrics=None, epochs=2, **fit):
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics or [])
    history = model.fit(X, y, batch_size=16, epochs=epochs, verbose=0, **fit)
    assert all(np.isfinite(v) for v in history.history["loss"])
    return history


def _mlp(*hidden, out=3, out_act="softmax"):
    return keras.Sequential([layers.Input(shape=(6,)), *hidden, layers.Dense(out, out_act)])


# ---- 1. layers ------------------------------------------------------------------------------

LAYER_PROBES = {
    "BatchNormalization": lambda: _mlp(layers.Dense(8), layers.BatchNormalization(momentum=0.9)),
    "LayerNormalization": lambda: _mlp(layers.Dense(8), layers.LayerNormalization()),
    "Activation": lambda: _mlp(layers.Dense(8), layers.Activation("tanh")),
    "ReLU": lambda: _mlp(layers.Dense(8), layers.ReLU()),
    "LeakyReLU": lambda: _mlp(layers.Dense(8), layers.LeakyReLU(negative_slope=0.1)),
    "Softmax hidden": lambda: _mlp(layers.Dense(8), layers.Softmax()),
    "Dense softmax hidden": lambda: _mlp(layers.Dense(8, activation="softmax")),
    "Dense regularizers": lambda: _mlp(
        layers.Dense(
            8,
            "relu",
            kernel_regularizer=keras.regularizers.L2(1e-3),
            bias_regularizer=keras.regularizers.L1(1e-4),
            activity_regularizer=keras.regularizers.L1L2(l1=1e-5, l2=1e-5),
        )
    ),
    "Dense kernel_constraint": lambda: _mlp(
        layers.Dense(8, "relu", kernel_constraint=keras.constraints.MaxNorm(2.0))
    ),
    "Dense trainable=False": lambda: _mlp(layers.Dense(8, "relu", trainable=False)),
}


@pytest.mark.parametrize("name", sorted(LAYER_PROBES))
def test_layer_probe(name):
    _trains(LAYER_PROBES[name](), "categorical_crossentropy", Y_ONEHOT, metrics=["accuracy"])


def test_flatten_input_and_normalization_probe():
    images = RNG.standard_normal((32, 4, 5)).astype("float32")
    model = keras.Sequential(
        [keras.Input(shape=(4, 5), batch_size=None), layers.Flatten(), layers.Dense(3, "softmax")]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(images, Y_CLASS[:32], epochs=1, verbose=0)
    assert model.predict(images).shape == (32, 3)

    norm = layers.Normalization()
    norm.adapt(X)
    model = keras.Sequential([layers.Input(shape=(6,)), norm, layers.Dense(1)])
    _trains(model, "mse", Y_REG)


def test_weights_probe():
    model = _mlp(layers.Dense(8, "relu"), layers.BatchNormalization())
    _trains(model, "categorical_crossentropy", Y_ONEHOT)
    # model.layers keeps the InputLayer here (Keras 3 leaves it out): skip it
    dense, bn = [layer for layer in model.layers if not isinstance(layer, layers.InputLayer)][:2]
    kernel, bias = dense.get_weights()
    assert kernel.shape == (6, 8) and bias.shape == (8,)
    np.testing.assert_array_equal(np.asarray(dense.kernel), kernel)
    np.testing.assert_array_equal(np.asarray(dense.bias), bias)
    dense.set_weights([np.zeros_like(kernel), bias])
    assert not np.asarray(dense.kernel).any()
    assert [w.shape for w in bn.get_weights()] == [(8,)] * 4  # gamma, beta, moving mean/var
    assert dense.trainable
    model.pop()
    assert model.layers[-1] is bn


# ---- 2. activations -------------------------------------------------------------------------

ACTIVATIONS = [
    "elu",
    "selu",
    "swish",
    "silu",
    "softplus",
    "softsign",
    "relu6",
    "mish",
    "hard_sigmoid",
    "hard_swish",
    "exponential",
    "linear",
    "leaky_relu",
]


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_probe(name):
    _trains(_mlp(layers.Dense(8, activation=name)), "categorical_crossentropy", Y_ONEHOT)


def test_leaky_relu_negative_slope_probe():
    out = keras.activations.leaky_relu(np.array([-1.0, 2.0], "float32"), negative_slope=0.5)
    np.testing.assert_allclose(np.asarray(out), [-0.5, 2.0])


# ---- 3. losses ------------------------------------------------------------------------------

REGRESSION_LOSSES = [
    "mean_absolute_error",
    "mae",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "huber",
    "log_cosh",
    "poisson",
    "cosine_similarity",
]


@pytest.mark.parametrize("loss", REGRESSION_LOSSES)
def test_regression_loss_probe(loss):
    y = np.abs(Y_REG) + 0.1 if loss in ("poisson", "mean_squared_logarithmic_error") else Y_REG
    out = "softplus" if loss in ("poisson", "mean_squared_logarithmic_error") else "linear"
    _trains(_mlp(layers.Dense(8, "relu"), out=1, out_act=out), loss, y, metrics=["mae"])


CLASS_LOSSES = {
    "hinge": (lambda: keras.losses.Hinge(), 2 * Y_BIN - 1, 1, "tanh"),
    "squared_hinge": (lambda: "squared_hinge", 2 * Y_BIN - 1, 1, "tanh"),
    "categorical_hinge": (lambda: "categorical_hinge", Y_ONEHOT, 3, "softmax"),
    "kl_divergence": (lambda: "kl_divergence", Y_ONEHOT, 3, "softmax"),
    "huber delta": (lambda: keras.losses.Huber(delta=0.5), Y_BIN, 1, "sigmoid"),
    "cce label_smoothing": (
        lambda: keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
        Y_ONEHOT,
        3,
        "softmax",
    ),
    "bce label_smoothing": (
        lambda: keras.losses.BinaryCrossentropy(label_smoothing=0.1),
        Y_BIN,
        1,
        "sigmoid",
    ),
    "bce from_logits": (
        lambda: keras.losses.BinaryCrossentropy(from_logits=True),
        Y_BIN,
        1,
        "linear",
    ),
    "reduction sum": (
        lambda: keras.losses.MeanSquaredError(reduction="sum"),
        Y_BIN,
        1,
        "sigmoid",
    ),
    "python callable": (
        lambda: (
            lambda y_true, y_pred: (
                ((y_pred - y_true) ** 2).mean(axis=-1),
                2 * (y_pred - y_true) / y_true.shape[-1],
            )
        ),
        Y_BIN,
        1,
        "sigmoid",
    ),
}


@pytest.mark.parametrize("name", sorted(CLASS_LOSSES))
def test_classification_loss_probe(name):
    loss, y, out, act = CLASS_LOSSES[name]
    sw = np.linspace(0.5, 1.5, len(X)).astype("float32")
    _trains(_mlp(layers.Dense(8, "relu"), out=out, out_act=act), loss(), y, sample_weight=sw)


# ---- 4. optimizers --------------------------------------------------------------------------

OPTIMIZERS = {
    "RMSprop": lambda: keras.optimizers.RMSprop(momentum=0.9, centered=True),
    "Adagrad": lambda: keras.optimizers.Adagrad(learning_rate=0.01),
    "Adadelta": lambda: keras.optimizers.Adadelta(learning_rate=1.0),
    "Adamax": lambda: keras.optimizers.Adamax(),
    "Nadam": lambda: keras.optimizers.Nadam(),
    "Lion": lambda: keras.optimizers.Lion(learning_rate=1e-4),
    "Adam amsgrad": lambda: keras.optimizers.Adam(amsgrad=True),
    "clipnorm": lambda: keras.optimizers.SGD(0.1, clipnorm=1.0),
    "clipvalue": lambda: keras.optimizers.Adam(clipvalue=0.5),
    "global_clipnorm": lambda: keras.optimizers.RMSprop(global_clipnorm=1.0),
    "weight_decay": lambda: keras.optimizers.Adamax(weight_decay=1e-3),
    "use_ema": lambda: keras.optimizers.Adam(use_ema=True, ema_momentum=0.9),
    "schedule": lambda: keras.optimizers.Nadam(
        keras.optimizers.schedules.ExponentialDecay(1e-2, decay_steps=4, decay_rate=0.9)
    ),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_probe(name):
    model = _mlp(layers.Dense(8, "relu"))
    _trains(model, "categorical_crossentropy", Y_ONEHOT, optimizer=OPTIMIZERS[name]())


# ---- 5. metrics -----------------------------------------------------------------------------

METRICS = {
    "AUC": (lambda: keras.metrics.AUC(), Y_BIN, "binary_crossentropy", 1, "sigmoid"),
    "AUC PR": (lambda: keras.metrics.AUC(curve="PR"), Y_BIN, "binary_crossentropy", 1, "sigmoid"),
    "Precision": (lambda: keras.metrics.Precision(), Y_BIN, "binary_crossentropy", 1, "sigmoid"),
    "Recall": (lambda: keras.metrics.Recall(), Y_BIN, "binary_crossentropy", 1, "sigmoid"),
    "TopK": (
        lambda: keras.metrics.TopKCategoricalAccuracy(k=2),
        Y_ONEHOT,
        "categorical_crossentropy",
        3,
        "softmax",
    ),
    "SparseTopK": (
        lambda: keras.metrics.SparseTopKCategoricalAccuracy(k=2),
        Y_CLASS,
        "sparse_categorical_crossentropy",
        3,
        "softmax",
    ),
    "RMSE": (lambda: keras.metrics.RootMeanSquaredError(), Y_REG, "mse", 1, "linear"),
    "MAPE": (lambda: keras.metrics.MeanAbsolutePercentageError(), Y_REG, "mse", 1, "linear"),
    "R2": (lambda: keras.metrics.R2Score(), Y_REG, "mse", 1, "linear"),
    "F1": (
        lambda: keras.metrics.F1Score(average="macro"),
        Y_ONEHOT,
        "categorical_crossentropy",
        3,
        "softmax",
    ),
}


@pytest.mark.parametrize("name", sorted(METRICS))
def test_metric_probe(name):
    metric, y, loss, out, act = METRICS[name]
    model = _mlp(layers.Dense(8, "relu"), out=out, out_act=act)
    history = _trains(model, loss, y, metrics=[metric()], validation_split=0.25)
    assert len(history.history) >= 4  # loss, the metric and their val_ twins
    standalone = metric()
    standalone.update_state(y, model.predict(X))
    assert np.all(np.isfinite(np.asarray(standalone.result())))
    standalone.reset_state()


# ---- 6. callbacks ---------------------------------------------------------------------------


def test_callbacks_probe(tmp_path):
    seen = []
    callbacks = [
        keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=1),
        keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.9),
        keras.callbacks.CSVLogger(str(tmp_path / "log.csv")),
        keras.callbacks.BackupAndRestore(str(tmp_path / "backup")),
        keras.callbacks.ModelCheckpoint(str(tmp_path / "w.weights.h5"), save_weights_only=True),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch)),
        keras.callbacks.EarlyStopping(monitor="loss", patience=5),
    ]
    _trains(
        _mlp(layers.Dense(8, "relu")),
        "categorical_crossentropy",
        Y_ONEHOT,
        epochs=3,
        callbacks=callbacks,
    )
    assert seen == [0, 1, 2] and (tmp_path / "log.csv").exists()
    assert (tmp_path / "w.weights.h5").exists()
    pytest.importorskip("tensorboard")
    _trains(
        _mlp(layers.Dense(8, "relu")),
        "categorical_crossentropy",
        Y_ONEHOT,
        callbacks=[keras.callbacks.TensorBoard(str(tmp_path / "tb"))],
    )
    assert any((tmp_path / "tb").rglob("events.out.tfevents*"))


# ---- 7. the model API -----------------------------------------------------------------------


class _Batches(keras.utils.PyDataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return X[16 * i : 16 * i + 16], Y_ONEHOT[16 * i : 16 * i + 16]


def test_model_api_probe(tmp_path):
    keras.utils.set_random_seed(1)
    model = _mlp(layers.Dense(8, "relu"))
    model.summary()  # before build: the input shape is known
    assert model.count_params() == 6 * 8 + 8 + 8 * 3 + 3
    _trains(
        model,
        "categorical_crossentropy",
        Y_ONEHOT,
        metrics=["accuracy"],
        epochs=3,
        class_weight={0: 1.0, 1: 2.0, 2: 1.0},
        steps_per_epoch=2,
        validation_data=(X, Y_ONEHOT),
        validation_steps=1,
        validation_freq=2,
    )
    model.fit(_Batches(), epochs=1, verbose=0)
    model.fit(((X[i : i + 8], Y_ONEHOT[i : i + 8]) for i in range(0, 64, 8)), epochs=1, verbose=0)
    assert np.isfinite(model.train_on_batch(X[:8], Y_ONEHOT[:8])[0])
    assert np.isfinite(model.test_on_batch(X[:8], Y_ONEHOT[:8])[0])
    assert model.predict_on_batch(X[:8]).shape == (8, 3)
    assert model.evaluate(X, Y_ONEHOT, steps=1, verbose=0)[0] > 0
    assert model.predict(X, steps=1, batch_size=8).shape == (8, 3)
    model.save_weights(str(tmp_path / "w.weights.h5"))
    clone = keras.models.model_from_json(model.to_json())
    clone.load_weights(str(tmp_path / "w.weights.h5"))
    np.testing.assert_array_equal(clone.predict(X), model.predict(X))
    again = keras.Sequential.from_config(model.get_config())
    assert again.count_params() == model.count_params()
    onehot = keras.utils.to_categorical([0, 2, 1], num_classes=3)
    np.testing.assert_array_equal(onehot, np.eye(3)[[0, 2, 1]])
