"""One rank of tests/test_distributed.py, run as ``mpiexec -n K python distributed_worker.py
SCENARIO OUTDIR``; writes what the test checks into OUTDIR (per rank)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import distributed_cases as dc  # noqa: E402
import fusednet as fnet  # noqa: E402
from fusednet import distributed as dist  # noqa: E402


def save(out, name, **arrays):
    np.savez(os.path.join(out, f"{name}_rank{dist.rank()}.npz"), **arrays)


def weights(m):
    return np.concatenate([w.ravel() for w in m.get_weights()])


def train(out):
    """Every case, both overlap modes; sharded input; dropout; the functional allreduce_."""
    k, r = dist.size(), dist.rank()
    for case in dc.CASES:
        for overlap in (True, False):
            x, y, sw = dc.data(case)
            m = dc.model(case)
            h = dc.fit(case, m, x, y, sw, dist.DataParallel(overlap=overlap))
            ev = m.evaluate(x, y, sample_weight=sw, verbose=0, distributed=True)
            save(
                out,
                f"{case}_overlap{int(overlap)}",
                w=weights(m),
                hist=json.dumps(h.history),
                ev=np.array(ev, np.float64),
            )
    # Pre-sharded: rank j holds rows j, j+K, ... of the set; no shuffle, so the test can form
    # the global batches of one process.
    case = "adam_ce"
    x, y, sw = dc.data(case)
    m = dc.model(case)
    m.fit(
        x[r::k],
        y[r::k],
        batch_size=30,
        epochs=2,
        verbose=0,
        shuffle=False,
        distributed=dist.DataParallel(sharded=True),
    )
    ev = m.evaluate(x[r::k], y[r::k], verbose=0, distributed=dist.DataParallel(sharded=True))
    save(out, "sharded", w=weights(m), ev=np.array(ev, np.float64))
    m = dc.model(case)  # shuffled shards: only agreement and repeatability are checked
    m.fit(
        x[r::k],
        y[r::k],
        batch_size=30,
        epochs=2,
        verbose=0,
        distributed=dist.DataParallel(sharded=True),
    )
    save(out, "sharded_shuffled", w=weights(m))
    m = dc.model(case, dropout=0.3)
    dc.fit(case, m, x, y, None, True)
    save(out, "dropout", w=weights(m))
    m = dc.model(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the pass that runs out (Keras's warning)
        h = m.fit(x, y, verbose=0, distributed=True, **dc.OPTIONS)
    save(out, "options", w=weights(m), hist=json.dumps(h.history))
    a = (np.arange(10, dtype=np.float32) + 1) * (r + 1) / 3
    dist.allreduce_(a)
    save(out, "allreduce", a=a)
    with open(os.path.join(out, f"world_rank{r}.json"), "w") as f:
        json.dump({"shared": dist._state.current().shared is not None}, f)


class StopAt(fnet.callbacks.Callback):
    """Stops training at the end of `epoch`, from rank 0 only (it is main_rank_only)."""

    main_rank_only = True

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            self.model.stop_training = True


class StopAtBatch(fnet.callbacks.Callback):
    """Stops after batch 2 of epoch 0, on the last rank only."""

    def on_train_batch_end(self, batch, logs=None):
        if batch == 2 and dist.rank() == dist.size() - 1:
            self.model.stop_training = True


def outputs(out):
    """Rank 0 alone prints, checkpoints and saves; stops agree; mismatches are caught."""
    r = dist.rank()
    case = "adam_ce"
    x, y, sw = dc.data(case)
    m = dc.model(case)
    ckpt = os.path.join(out, f"ckpt_rank{r}.fnet")
    path = os.path.join(out, f"stdout_rank{r}.txt")
    with open(path, "w") as buf, contextlib.redirect_stdout(buf):
        h = m.fit(
            x,
            y,
            batch_size=32,
            epochs=6,
            verbose=2,
            validation_split=0.2,
            callbacks=[
                fnet.callbacks.ModelCheckpoint(ckpt),
                fnet.callbacks.EarlyStopping(monitor="val_loss", min_delta=10.0, patience=1),
            ],
            distributed=True,
        )
        m.evaluate(x, y, verbose=1, distributed=True)
    m.save(os.path.join(out, f"model_rank{r}.fnet"))
    m2 = dc.model(case)
    h2 = m2.fit(x, y, batch_size=32, epochs=5, verbose=0, callbacks=[StopAt(1)], distributed=True)
    m3 = dc.model(case)
    h3 = m3.fit(
        x, y, batch_size=32, epochs=2, verbose=0, callbacks=[StopAtBatch()], distributed=True
    )
    errors = {}
    for what, hidden, n in (("model", 16 + (r == 1), 203), ("data", 16, 203 - (r == 1))):
        xm, ym, _ = dc.data(case, n)
        try:
            dc.fit(case, dc.model(case, hidden=hidden), xm, ym, None, True)
            errors[what] = None
        except dist.DistributedError as e:
            errors[what] = f"{type(e).__name__}: {e}"
    with open(os.path.join(out, f"outputs_rank{r}.json"), "w") as f:
        json.dump(
            {
                "early": len(h.history["loss"]),
                "stop_at": len(h2.history["loss"]),
                "stop_batch_w": weights(m3).tolist(),
                "stop_batch_epochs": len(h3.history["loss"]),
                "errors": errors,
            },
            f,
        )


def fail(out):
    """The last rank raises in a callback during epoch 1; every rank must stop, naming it."""
    case = "adam_ce"
    x, y, sw = dc.data(case)

    def boom(epoch, logs):
        if epoch == 1 and dist.rank() == dist.size() - 1:
            raise ValueError("boom on purpose")

    dc.model(case).fit(
        x,
        y,
        batch_size=32,
        epochs=50,
        verbose=0,
        distributed=True,
        callbacks=[fnet.callbacks.LambdaCallback(on_epoch_end=boom)],
    )


def fail_batch(out):
    """The last rank raises after batch 3 of epoch 0, inside the C++ epoch (overlap on)."""
    case = "adam_ce"
    x, y, sw = dc.data(case)

    def boom(batch, logs):
        if batch == 3 and dist.rank() == dist.size() - 1:
            raise ValueError("boom on purpose")

    dc.model(case).fit(
        x,
        y,
        batch_size=32,
        epochs=50,
        verbose=0,
        distributed=True,
        callbacks=[fnet.callbacks.LambdaCallback(on_batch_end=boom)],
    )


def fail_before(out):
    """The last rank raises before fit (its script's own error): the others are in fit."""
    case = "adam_ce"
    x, y, sw = dc.data(case)
    if dist.rank() == dist.size() - 1:
        raise ValueError("boom on purpose")
    dc.model(case).fit(x, y, batch_size=32, epochs=50, verbose=0, distributed=True)


if __name__ == "__main__":
    scenario, outdir = sys.argv[1], sys.argv[2]
    fnet.set_num_threads(1)
    dist.init(timeout=60)
    rank = dist.rank()
    try:
        {
            "train": train,
            "outputs": outputs,
            "fail": fail,
            "fail_batch": fail_batch,
            "fail_before": fail_before,
        }[scenario](outdir)
    except BaseException as e:
        # Each rank's error also in a file of its own: the ranks' tracebacks on the shared stderr
        # can interleave mid-line.
        with open(os.path.join(outdir, f"error{rank}.txt"), "w") as f:
            f.write(f"{type(e).__name__}: {e}")
        raise
