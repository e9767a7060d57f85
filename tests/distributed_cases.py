"""The training cases of tests/test_distributed.py, shared by the pytest process (one-process
references) and tests/distributed_worker.py (run under mpiexec): data, models and fit arguments
from a name, all seeded."""

from __future__ import annotations

import numpy as np

import fusednet as fnet

# name: (samples, batch_size, epochs, fit options)
CASES = {
    # uneven last batch (203 = 6 * 32 + 11), validation reduced over ranks, overlap
    "adam_ce": dict(
        n=203,
        batch_size=32,
        epochs=3,
        overlap=True,
        loss="sce",
        optimizer="adam",
        validation_split=0.1,
    ),
    # a last batch of one row: with 2 or 3 ranks some ranks have no rows in that step
    "sgd_mse_weighted": dict(
        n=97,
        batch_size=16,
        epochs=2,
        overlap=False,
        loss="mse",
        optimizer="sgd",
        sample_weight=True,
    ),
    "adamw_bce": dict(n=64, batch_size=10, epochs=2, overlap=True, loss="bce", optimizer="adamw"),
    # synchronized BatchNormalization (Dense -> BN -> ReLU -> Dense): the statistics and the
    # input gradient over the global batch; a last batch of one row (idle ranks join with zeros)
    "bn_sgd_mse": dict(
        n=97, batch_size=16, epochs=2, overlap=False, loss="mse", optimizer="sgd", norm="bn"
    ),
    # ... and with a LayerNormalization after it (per row: nothing to sync), uneven shards
    "bn_ln_adam_ce": dict(
        n=203,
        batch_size=32,
        epochs=3,
        overlap=True,
        loss="sce",
        optimizer="adam",
        validation_split=0.1,
        norm="bn_ln",
    ),
}


# fit's batch-picking options in a distributed fit (the adam_ce case's data and model): an epoch
# of 4 batches continuing the pass (203 rows of 32: the second epoch's pass runs out after 3 of
# its 4; the third starts a new one), validation after epochs 2 and 3 on 1 batch of 7 rows
OPTIONS = dict(
    batch_size=32,
    epochs=4,
    steps_per_epoch=4,
    validation_split=0.1,
    validation_steps=1,
    validation_batch_size=7,
    validation_freq=[2, 3],
)


def data(case, n=None):
    c = CASES[case]
    n = c["n"] if n is None else n
    rng = np.random.default_rng(7)
    x = rng.standard_normal((n, 12)).astype(np.float32)
    if c["loss"] == "sce":
        y = rng.integers(0, 4, n).astype(np.int64)
    elif c["loss"] == "bce":
        y = (rng.random((n, 1)) > 0.5).astype(np.float32)
    else:
        y = rng.standard_normal((n, 3)).astype(np.float32)
    sw = rng.random(n).astype(np.float32) + 0.5 if c.get("sample_weight") else None
    return x, y, sw


def model(case, dropout=0.0, hidden=16):
    c = CASES[case]
    out = {"sce": (4, None), "bce": (1, "sigmoid"), "mse": (3, None)}[c["loss"]]
    layers = [fnet.layers.Dense(hidden, activation="tanh", input_shape=(12,))]
    if c.get("norm"):
        # no bias before BN: its gradient is zero up to rounding, which Adam would scale to
        # full steps (chaos, in one process too)
        layers = [
            fnet.layers.Dense(hidden, use_bias=False, input_shape=(12,)),
            fnet.layers.BatchNormalization(momentum=0.9),
            fnet.layers.Activation("relu"),
        ]
        if c["norm"] == "bn_ln":
            layers.append(fnet.layers.LayerNormalization())
    if dropout:
        layers.append(fnet.layers.Dropout(dropout))
    layers += [
        fnet.layers.Dense(8, activation="relu"),
        fnet.layers.Dense(out[0], activation=out[1]),
    ]
    m = fnet.Sequential(layers, seed=11)
    opt = {
        "adam": lambda: fnet.optimizers.Adam(learning_rate=1e-2),
        "sgd": lambda: fnet.optimizers.SGD(learning_rate=0.05, momentum=0.9),
        "adamw": lambda: fnet.optimizers.AdamW(learning_rate=1e-2, weight_decay=0.01),
    }[c["optimizer"]]()
    loss = {
        "sce": fnet.losses.SparseCategoricalCrossentropy(from_logits=True),
        "bce": "binary_crossentropy",
        "mse": "mse",
    }[c["loss"]]
    m.compile(optimizer=opt, loss=loss, metrics=["mae"] if c["loss"] == "mse" else ["accuracy"])
    return m


def fit(case, m, x, y, sw, distributed=False, shuffle=True, batch_size=None):
    c = CASES[case]
    return m.fit(
        x,
        y,
        batch_size=batch_size or c["batch_size"],
        epochs=c["epochs"],
        verbose=0,
        sample_weight=sw,
        validation_split=c.get("validation_split", 0.0),
        shuffle=shuffle,
        distributed=distributed,
    )
