"""The Keras-style model: ``Sequential`` (alias ``Model``), compiled into one C++ ``Net``.

Modules, by job:

- ``sequential``: the model object: building its Net from the layers, the weights, compile,
  ``to(device)``, ``summary``, saving and pickling;
- ``_training``: running data through the Net: fit / evaluate / predict, the explicit
  forward / loss / backward / update loop, the per-batch callback hook;
- ``_specs``: the layer list folded into the Net's layer specs, and the loss-vs-output checks;
- ``_inputs``: checks and coercion of arguments and arrays (x, y, sample_weight, batch_size,
  verbose, the validation split);
- ``_fit_options``: fit's class_weight, steps_per_epoch, validation_steps / _batch_size / _freq;
- ``_pydata``: PyDataset / generator inputs (batches fed from Python);
- ``_batch_api``: train_on_batch, test_on_batch, predict_on_batch;
- ``_config``: from_config, to_json, save_weights / load_weights (``fusednet.io`` formats).

``Variable`` (one weight's window onto the parameter arena) lives in ``fusednet.variables`` and
is re-exported here.
"""

from __future__ import annotations

from ..variables import Variable
from .sequential import Model, Sequential

__all__ = ["Sequential", "Model", "Variable"]
