"""Training callbacks with Keras's names and semantics.

How the model drives them (``Sequential.fit``; evaluate/predict use the test/predict hooks)::

    cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, verbose=verbose,
                       model=model, params={"epochs": epochs, "steps": steps, "verbose": verbose,
                                            "batch_size": batch_size, "samples": n})
    model.stop_training = False
    cbs.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        cbs.on_epoch_begin(epoch)
        if cbs.wants_batch_hooks:       # Python per batch: running loss/metrics in the logs
            for batch in range(steps):
                cbs.on_train_batch_begin(batch)
                ...one step...
                cbs.on_train_batch_end(batch, {"loss": running_loss, "accuracy": ...})
                if model.stop_training: break
        else:                           # the whole epoch in one C++ call
            ...
        logs = {"loss": ..., "accuracy": ..., "val_loss": ..., "val_accuracy": ...}
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training: break
    cbs.on_train_end(logs)
    return model.history                # the History that fit added

evaluate and predict do the same with ``on_test_*`` / ``on_predict_*`` (params ``{"steps",
"verbose"}``), calling the batch hooks only when ``cbs.wants_test_batch_hooks`` /
``cbs.wants_predict_batch_hooks``; fit's validation pass runs the test hooks on fit's list.

Epochs and batches are 0-based in hooks (as in Keras); printed epochs are 1-based.
Callbacks see the model as ``self.model`` and the fit parameters as ``self.params``. A callback
that stops training sets ``self.model.stop_training = True``.

Modules: ``base`` (``Callback``: the hooks and which batch hooks a callback needs),
``callback_list`` (``CallbackList``: what the model calls), ``history``, ``progbar``
(``ProgbarLogger`` and the bars it draws), ``early_stopping`` and ``model_checkpoint`` (both
use ``_monitor``: the monitored value and whether it improves up or down),
``terminate_on_nan``, ``lambda_callback``, ``reduce_lr_on_plateau`` and
``learning_rate_scheduler`` (both set ``model.optimizer.learning_rate`` through ``_lr``; fit
reads it at each epoch begin), ``csv_logger``, ``backup_and_restore`` (with
``model.save_weights`` / ``load_weights`` and ``model._initial_epoch``, which fit takes after
``on_train_begin``), ``tensorboard`` (needs the ``tensorboard`` package).
``fusednet.callbacks.<Name>`` is the public name of each callback.
"""

from __future__ import annotations

from .backup_and_restore import BackupAndRestore
from .base import Callback
from .callback_list import CallbackList
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .history import History
from .lambda_callback import LambdaCallback
from .learning_rate_scheduler import LearningRateScheduler
from .model_checkpoint import ModelCheckpoint
from .progbar import ProgbarLogger
from .reduce_lr_on_plateau import ReduceLROnPlateau
from .tensorboard import TensorBoard
from .terminate_on_nan import TerminateOnNaN

__all__ = [
    "Callback",
    "CallbackList",
    "History",
    "ProgbarLogger",
    "EarlyStopping",
    "ModelCheckpoint",
    "TerminateOnNaN",
    "LambdaCallback",
    "ReduceLROnPlateau",
    "LearningRateScheduler",
    "CSVLogger",
    "BackupAndRestore",
    "TensorBoard",
]
