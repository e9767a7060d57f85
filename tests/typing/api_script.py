"""The rest of the public API as a user would write it (losses with arguments, fusednet.activations,
callbacks, fit's Keras options, the single-batch calls, weights files, utils, distributed),
type-checked by tests/test_typing.py with ``mypy --strict`` and run by it."""

import os
import tempfile
from typing import Any, Optional

import numpy as np

import fusednet as fnet

rng = np.random.default_rng(0)
x = rng.standard_normal((256, 16)).astype(np.float32)
labels = rng.integers(0, 3, 256)

# ---- fusednet.utils and fusednet.activations
onehot: np.ndarray = fnet.utils.to_categorical(labels, num_classes=3)
fnet.utils.set_random_seed(0)
act: np.ndarray = fnet.activations.elu(x, alpha=1.0)
act_name: str = fnet.activations.serialize(fnet.activations.get("gelu"))


class SeenEpochs(fnet.callbacks.Callback):
    """A user's callback: reads fit's params and the model in its hooks."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        self.seen.append(epoch)
        if epoch + 1 >= self.params["epochs"]:
            self.model.stop_training = True


seen = SeenEpochs()

# ---- a classifier: an activation function as a layer's activation, fit's Keras options
model = fnet.Sequential(
    [
        fnet.layers.Dense(32, activation=fnet.activations.elu, input_shape=(16,)),
        fnet.layers.Dense(3),
    ],
    seed=0,
)
model.compile(
    optimizer=fnet.optimizers.Adam(learning_rate=1e-2),
    loss=fnet.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
    metrics=["accuracy"],
)
with tempfile.TemporaryDirectory() as d:
    callbacks: list[fnet.callbacks.Callback] = [
        fnet.callbacks.CSVLogger(os.path.join(d, "log.csv"), append=False),
        fnet.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_lr=1e-4),
        fnet.callbacks.EarlyStopping(monitor="loss", patience=2),
        seen,
        fnet.callbacks.ModelCheckpoint(
            os.path.join(d, "ckpt-{epoch:02d}.weights.npz"), save_weights_only=True
        ),
    ]
    history = model.fit(
        x,
        onehot,
        batch_size=32,
        epochs=4,
        verbose=0,
        validation_split=0.25,
        validation_freq=2,
        class_weight={0: 1.0, 1: 2.0, 2: 1.0},
        callbacks=callbacks,
    )
    epochs_run: list[int] = history.epoch
    checkpoints: list[str] = sorted(os.listdir(d))

    # ---- single batches and weights files
    logs = model.train_on_batch(x[:32], onehot[:32], class_weight={0: 2.0}, return_dict=True)
    test_loss = model.test_on_batch(x[:32], onehot[:32], return_dict=True)
    out: np.ndarray = model.predict_on_batch(x[:32])
    path = os.path.join(d, "model.weights.npz")
    model.save_weights(path)
    twin = fnet.Sequential.from_config(model.get_config())
    twin.compile(optimizer=fnet.optimizers.Adam(learning_rate=1e-2), loss="mse")
    twin.load_weights(path)
    same = bool(np.array_equal(twin.predict(x[:32]), model.predict(x[:32])))
    json_text: str = model.to_json()
    rebuilt: fnet.Sequential = fnet.models.model_from_json(json_text)
    n_params: int = rebuilt.count_params()

# ---- a regression loss with arguments, standalone and compiled
huber = fnet.losses.Huber(delta=2.0)
value: float = huber(rng.standard_normal((8, 1)), rng.standard_normal((8, 1)))
loss_fn: fnet.losses.Loss = fnet.losses.get("mse")
reg = fnet.Sequential([fnet.layers.Dense(1, input_shape=(16,))], seed=1)
schedule = fnet.schedules.ExponentialDecay(1e-2, decay_steps=100, decay_rate=0.9)
reg.compile(optimizer=fnet.optimizers.SGD(learning_rate=schedule), loss=huber)
reg_loss = reg.evaluate(x, x[:, :1], verbose=0)

# ---- distributed: a world of one without MPI
rank: int = fnet.distributed.rank()
size: int = fnet.distributed.size()
main: bool = fnet.distributed.is_main()
summed: np.ndarray = fnet.distributed.allreduce_(np.ones(4, np.float32))
strategy = fnet.distributed.DataParallel(overlap=False)

print(
    f"api: epochs {epochs_run} seen {seen.seen}, {len(checkpoints)} files, batch {sorted(logs)}, "
    f"test {sorted(test_loss)}, out {out.shape}, weights equal {same}, {n_params} params, "
    f"huber {value:.3f}, mse {loss_fn.name}, reg {reg_loss:.3f}, act {act.shape} {act_name}, "
    f"rank {rank}/{size} main {main} sum {summed[0]:.0f} {strategy}"
)
