"""A fake model and fit loop that follow the callback contract in fusednet/callbacks/__init__.py's
docstring, for the callback tests (test_callbacks.py, test_progbar.py): no dependency on the real
model."""

import numpy as np

from fusednet.callbacks import Callback, CallbackList


class FakeModel:
    """Two weight arrays whose values encode the epoch they were trained to."""

    def __init__(self):
        self.weights = [np.zeros((2, 3), np.float32), np.zeros(3, np.float32)]
        self.stop_training = False
        self.saved = []
        self.saved_weights = []

    def get_weights(self):
        return list(self.weights)  # live arrays, no copy: callbacks must copy what they keep

    def set_weights(self, weights):
        self.weights = [np.array(w, copy=True) for w in weights]

    def train_to(self, epoch):
        for w in self.weights:
            w[...] = epoch  # in place: a callback that kept references would see this

    def save(self, path):
        self.saved.append(path)

    def save_weights(self, path):
        self.saved_weights.append(path)


def fake_fit(
    model,
    callbacks,
    epoch_logs,
    *,
    steps=3,
    verbose=0,
    batch_logs=None,
    initial_epoch=0,
    force_batch_hooks=None,
):
    """The model's fit loop as the contract describes it. epoch_logs[i] are epoch i's logs."""
    epochs = len(epoch_logs)
    cbs = CallbackList(
        callbacks,
        add_history=True,
        add_progbar=verbose != 0,
        verbose=verbose,
        model=model,
        params={
            "epochs": epochs,
            "steps": steps,
            "verbose": verbose,
            "batch_size": 4,
            "samples": 4 * steps,
        },
    )
    per_batch = cbs.wants_batch_hooks if force_batch_hooks is None else force_batch_hooks
    model.stop_training = False
    cbs.on_train_begin()
    logs = None
    for epoch in range(initial_epoch, epochs):
        cbs.on_epoch_begin(epoch)
        if per_batch:
            for batch in range(steps):
                cbs.on_train_batch_begin(batch)
                bl = (
                    batch_logs(epoch, batch)
                    if batch_logs
                    else {"loss": epoch_logs[epoch].get("loss", 0.0)}
                )
                cbs.on_train_batch_end(batch, bl)
                if model.stop_training:
                    break
        model.train_to(epoch)
        logs = dict(epoch_logs[epoch])
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbs.on_train_end(logs)
    return cbs


class Recorder(Callback):
    """Records every hook call, including the alias ones."""

    def __init__(self, name="rec", log=None):
        super().__init__()
        self.name = name
        self.calls = [] if log is None else log

    def _rec(self, hook, *args):
        self.calls.append((self.name, hook) + args)


for _hook in (
    "on_train_begin",
    "on_train_end",
    "on_test_begin",
    "on_test_end",
    "on_predict_begin",
    "on_predict_end",
):
    setattr(Recorder, _hook, (lambda h: lambda self, logs=None: self._rec(h))(_hook))
for _hook in (
    "on_epoch_begin",
    "on_epoch_end",
    "on_batch_begin",
    "on_batch_end",
    "on_test_batch_begin",
    "on_test_batch_end",
    "on_predict_batch_begin",
    "on_predict_batch_end",
):
    setattr(Recorder, _hook, (lambda h: lambda self, i, logs=None: self._rec(h, i))(_hook))
