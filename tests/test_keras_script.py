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
