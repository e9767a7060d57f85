"""A Keras 3 training script with only the import changed (`import fusednet as keras`): Dropout,
class_weight, ReduceLROnPlateau, ModelCheckpoint(save_weights_only), EarlyStopping, CSVLogger,
LearningRateScheduler, BackupAndRestore, to_categorical, save/load of weights and json, the
batch calls and the verbose=1 bar, checked for what each piece must have done."""

import csv

import numpy as np

import fusednet as keras
from fusednet import layers


def test_a_keras_script_runs_with_the_import_changed(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x_train = rng.standard_normal((600, 20)).astype("float32")
    labels = (x_train[:, :3].argmax(axis=1) + (x_train[:, 3] > 1.5)).clip(0, 2)
    y_train = keras.utils.to_categorical(labels, num_classes=3)
    keras.utils.set_random_seed(42)

    model = keras.models.Sequential(
        [
            layers.Input(shape=(20,)),
            layers.Dense(64, activation="relu"),
            layers.Dropout(0.3),
            layers.Dense(32, activation="relu"),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.summary()
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-2),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    counts = np.bincount(labels, minlength=3)
    class_weight = {i: len(labels) / (3 * c) for i, c in enumerate(counts)}
    callbacks = [
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_lr=1e-4),
        keras.callbacks.ModelCheckpoint(
            str(tmp_path / "best.weights.h5"), save_best_only=True, save_weights_only=True
        ),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True),
        keras.callbacks.CSVLogger(str(tmp_path / "training.log")),
        keras.callbacks.BackupAndRestore(str(tmp_path / "backup")),
    ]
    history = model.fit(
        x_train,
        y_train,
        batch_size=32,
        epochs=12,
        validation_split=0.2,
        class_weight=class_weight,
        callbacks=callbacks,
        verbose=1,
    )
    out = capsys.readouterr().out
    assert 'Model: "sequential' in out and "Total params: 3,523" in out  # 1344 + 2080 + 99
    assert "\r" not in out and "Epoch 1/12" in out and "15/15 ━━━━" in out
    epochs = len(history.epoch)
    assert history.history["val_accuracy"][-1] > 0.6
    with open(tmp_path / "training.log", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == epochs and "learning_rate" in rows[0]
    lrs = history.history["learning_rate"]
    assert lrs[0] == 1e-2 and all(b <= a for a, b in zip(lrs, lrs[1:]))
    assert not (tmp_path / "backup").exists()  # the completed fit removed its backup

    # The best checkpoint is the weights EarlyStopping restored (both track val_loss).
    best = keras.models.model_from_json(model.to_json())
    best.load_weights(str(tmp_path / "best.weights.h5"))
    for a, b in zip(best.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    ev = model.evaluate(x_train[:100], y_train[:100], verbose=0, return_dict=True)
    tb = model.test_on_batch(x_train[:100], y_train[:100], return_dict=True)
    assert tb["accuracy"] == ev["accuracy"] and abs(tb["loss"] - ev["loss"]) < 1e-5
    probs = model.predict_on_batch(x_train[:5])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    loss, acc = model.train_on_batch(x_train[:32], y_train[:32])
    assert np.isfinite(loss) and 0 <= acc <= 1


def test_a_keras_batchnorm_script_runs_with_the_import_changed(tmp_path):
    """Issue 11's acceptance script: BatchNormalization + Dropout + ReduceLROnPlateau +
    ModelCheckpoint + EarlyStopping + CSVLogger + class_weight, Keras code as written."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((800, 12)).astype("float32") * 5.0 + 3.0  # far from standardized
    y = ((x[:, 0] - 3.0) * (x[:, 1] - 3.0) > 0).astype("int64")
    x_train, x_test, y_train, y_test = x[:600], x[600:], y[:600], y[600:]
    keras.utils.set_random_seed(7)
    model = keras.Sequential(
        [
            keras.Input(shape=(12,)),
            layers.Dense(64, use_bias=False),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.Dropout(0.2),
            layers.Dense(32),
            layers.BatchNormalization(momentum=0.9),
            layers.ReLU(),
            layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=3e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(
        x_train,
        y_train,
        batch_size=32,
        epochs=15,
        validation_split=0.2,
        class_weight={0: 1.0, 1: 1.5},
        callbacks=[
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2),
            keras.callbacks.ModelCheckpoint(
                str(tmp_path / "best.weights.h5"), save_best_only=True, save_weights_only=True
            ),
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=4, restore_best_weights=True
            ),
            keras.callbacks.CSVLogger(str(tmp_path / "log.csv")),
        ],
        verbose=0,
    )
    assert history.history["accuracy"][-1] > 0.8
    _, test_acc = model.evaluate(x_test, y_test, verbose=0)
    assert test_acc > 0.7  # chance is 0.5 on this quadrant (XOR) problem
    bn = model.layers[2]
    assert isinstance(bn, layers.BatchNormalization)
    gamma, beta, moving_mean, moving_variance = bn.get_weights()
    # The moving statistics left their initial (0, 1): they follow the first Dense's
    # pre-activations of inputs with mean 3 and standard deviation 5.
    assert np.abs(moving_mean).max() > 0.5 and np.abs(moving_variance - 1).max() > 0.5
    assert gamma.shape == beta.shape == (64,)
    with open(tmp_path / "log.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == len(history.epoch)
    best = keras.models.model_from_json(model.to_json())
    best.load_weights(str(tmp_path / "best.weights.h5"))
    np.testing.assert_array_equal(best.predict(x_test), model.predict(x_test))
