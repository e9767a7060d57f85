"""``Sequential``: a Keras-style model compiled into one C++ ``Net`` (csrc/net.h).

Python describes and validates; the Net computes. Parameters live in one float32 arena inside
the Net; ``trainable_variables`` and ``get_weights`` are views / copies of its slices in Keras
order (kernel (in, units), then bias (units,), per Dense layer). ``fit`` hands whole epochs to C++
(all epochs in one call when no callback needs Python between them) and enters Python per batch
only when a callback asks for batch events.
"""
from __future__ import annotations

import contextlib
import math
import numbers

import numpy as np

from . import _core, _recorded
from . import layers as _layers
from . import losses as _losses
from . import metrics as _metrics
from . import optimizers as _optimizers
from .variables import Variable

__all__ = ["Sequential", "Model", "Variable"]

F32 = np.dtype(np.float32)


def _int_arg(value, name, lo):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__} {value!r}")
    if value < lo:
        raise ValueError(f"{name}: expected an int >= {lo}, got {value}")
    return int(value)


def _new_seed():
    return int(np.random.SeedSequence().entropy) & ((1 << 63) - 1)


class Sequential:
    """A stack of layers: ``Sequential([Dense(128, activation="relu", input_shape=(64,)),
    Dense(10)], device="auto", seed=0)``.

    ``seed`` fixes the initial weights, dropout masks and shuffles: the same seed gives
    bit-identical weights after fit, whatever the thread count. ``seed=None`` draws one.
    """

    def __init__(self, layers=None, device="auto", seed=None, name=None):
        self.name = "sequential" if name is None else str(name)
        self.device = self._check_device(device)
        if seed is None:
            seed = _new_seed()
        self.seed = _int_arg(seed, "seed", 0)
        self.layers = []
        self._net = None
        self._vars = []
        self._specs = None
        self._optimizer_owner = None
        self.optimizer = None
        self.loss_fn = None
        self._metric_names = []
        self._metric_codes = []
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._last_out = None
        for layer in layers or []:
            self.add(layer)
        if self.layers and self._input_width() is not None:
            self.build()

    # ---- building ------------------------------------------------------------------------
    @staticmethod
    def _check_device(device):
        """'cpu' or 'cuda': 'auto' picks CUDA only when a usable device exists."""
        if device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device: expected 'auto', 'cpu' or 'cuda', got {device!r}")
        if device == "cpu":
            return "cpu"
        info = _core.cuda_info()
        if info.get("available"):
            return "cuda"
        if device == "cuda":
            raise ValueError(f"device='cuda': CUDA is not available here ({info.get('reason')})"
                             f"; use device='cpu' or 'auto'")
        return "cpu"

    def _new_net(self, specs, input_dropout, device=None):
        """The compiled net for `device`: a _core.Net (arenas in host memory, NumPy views) or a
        CudaNet (arenas on the GPU behind host mirrors with the same interface)."""
        if (device or self.device) == "cuda":
            from ._cuda_net import CudaNet
            return CudaNet(specs, input_dropout, self.seed)
        return _core.Net(specs, input_dropout, self.seed)

    def to(self, device):
        """Moves the model to 'cpu' or 'cuda' ('auto': CUDA when available) with its weights,
        optimizer state and counters, so training continues where it was. The model's
        Variables stay the same objects (they now look at the new net). Returns the model."""
        device = self._check_device(device)
        if device == self.device:
            return self
        old = self._net
        if old is not None:
            specs, input_dropout = self._specs
            new = self._new_net(specs, input_dropout, device)
            new.params[...] = old.params
            new.grads[...] = old.grads
            if self._optimizer_owner is not None and old.has_optimizer:
                new.set_optimizer(*self._optimizer_owner._spec())
                for i in range(old.num_optimizer_states):
                    new.optimizer_state(i)[...] = old.optimizer_state(i)
            new.step = old.step
            new.train_forwards = old.train_forwards
            new.epochs_shuffled = old.epochs_shuffled
            for v, off in zip(self._vars, self._var_offsets):  # same slices of the new arenas
                size = int(np.prod(v.shape))
                v._view = new.params[off:off + size].reshape(v.shape)
                v._grad_view = new.grads[off:off + size].reshape(v.shape)
            self._net = new
            self._last_out = None
        self.device = device
        return self

    def add(self, layer):
        if not isinstance(layer, _layers.Layer):
            raise TypeError(f"layers: expected fusednet.layers instances, got "
                            f"{type(layer).__name__}")
        if self._net is not None:  # Keras allows adding to a built model: rebuild (seeded)
            if self.optimizer is not None:
                self.optimizer._unbind()
            self._optimizer_owner = None
            self._net, self._vars, self._last_out = None, [], None
        self.layers.append(layer)
        self._specs = None

    def _input_width(self):
        for layer in self.layers:
            if layer.input_shape is not None:
                return layer.input_shape[0]
            if isinstance(layer, _layers.Dense):
                return None
        return None

    def _compile_layers(self, width):
        """Layer list -> Net specs [(in, units, act, param, use_bias, dropout_after)], input dropout."""
        specs, input_dropout = [], 0.0
        for i, layer in enumerate(self.layers):
            if isinstance(layer, _layers.InputLayer):
                if i != 0:
                    raise ValueError("Input must be the first layer")
            elif isinstance(layer, _layers.Dense):
                if specs and specs[-1][2] == _layers.SOFTMAX:
                    raise ValueError(f"layer {layer.name}: softmax is only supported on the "
                                     f"output layer")
                specs.append([width, layer.units, layer.act_code, layer.act_param,
                              layer.use_bias, 0.0])
                width = layer.units
            elif isinstance(layer, _layers.Activation):
                if not specs:
                    raise ValueError(f"layer {layer.name}: an Activation must follow a Dense layer")
                prev = specs[-1]
                if prev[5] > 0:
                    raise ValueError(f"layer {layer.name}: Activation after Dropout is not "
                                     f"supported; put it before the Dropout")
                if layer.act_code == _layers.activation_code("linear")[0]:
                    continue
                if prev[2] != _layers.activation_code("linear")[0]:
                    raise ValueError(f"layer {layer.name}: the preceding Dense already has an "
                                     f"activation; fusednet folds an Activation into a linear "
                                     f"Dense only")
                prev[2], prev[3] = layer.act_code, layer.act_param
            elif isinstance(layer, _layers.Dropout):
                if layer.rate == 0:
                    continue
                if not specs:
                    if input_dropout:
                        raise ValueError(f"layer {layer.name}: two Dropout layers in a row are "
                                         f"not supported")
                    input_dropout = layer.rate
                else:
                    if specs[-1][5]:
                        raise ValueError(f"layer {layer.name}: two Dropout layers in a row are "
                                         f"not supported")
                    specs[-1][5] = layer.rate
            else:
                raise TypeError(f"unsupported layer {type(layer).__name__}")
        if not specs:
            raise ValueError("the model needs at least one Dense layer")
        if specs[-1][5]:
            raise ValueError("Dropout after the output layer is not supported; put it before "
                             "the last Dense")
        for s in specs[:-1]:
            if s[2] == _layers.SOFTMAX:
                raise ValueError("softmax is only supported on the output layer")
        self._specs = ([tuple(s) for s in specs], input_dropout)
        return self._specs

    def build(self, input_shape=None):
        """Creates the Net and initialises the weights (seeded). Called by fit/predict when the
        first layer has no ``input_shape``."""
        if self._net is not None:
            return
        width = self._input_width()
        if input_shape is not None:
            w = input_shape[-1] if isinstance(input_shape, (tuple, list)) else input_shape
            w = _int_arg(w, "input_shape", 1)
            if width is not None and w != width:
                raise ValueError(f"input_shape: the model expects {width} features, got {w}")
            width = w
        if width is None:
            raise ValueError("the model has no input width yet: give the first layer "
                             "input_shape=(n,) or call build((None, n)) / fit first")
        specs, input_dropout = self._compile_layers(width)
        net = self._new_net(specs, input_dropout)
        params, grads = net.params, net.grads
        rng = np.random.default_rng(self.seed)
        dense = [l for l in self.layers if isinstance(l, _layers.Dense)]
        variables = []
        for i, (layer, spec) in enumerate(zip(dense, specs)):
            fan_in, units = spec[0], spec[1]
            off = net.kernel_offset(i)
            kv = params[off:off + fan_in * units].reshape(fan_in, units)
            kg = grads[off:off + fan_in * units].reshape(fan_in, units)
            kv[...] = layer.kernel_initializer((fan_in, units), rng)
            variables.append(Variable(f"{layer.name}/kernel", self, kv, kg))
            if spec[4]:
                boff = net.bias_offset(i)
                bv, bg = params[boff:boff + units], grads[boff:boff + units]
                bv[...] = layer.bias_initializer((units,), rng)
                variables.append(Variable(f"{layer.name}/bias", self, bv, bg))
        self._net = net
        self._vars = variables
        # Each variable's offset in the arenas, in variable order (model.to re-points views).
        self._var_offsets = []
        for i, spec in enumerate(specs):
            self._var_offsets.append(net.kernel_offset(i))
            if spec[4]:
                self._var_offsets.append(net.bias_offset(i))
        if self.compiled:
            self._resolve_compiled()

    def _require_built(self, x=None):
        if self._net is None:
            if x is not None and getattr(x, "ndim", 0) == 2:
                self.build((None, x.shape[1]))
            else:
                self.build()

    @property
    def built(self):
        return self._net is not None

    @property
    def input_shape(self):
        w = self._net.input_width if self._net is not None else self._input_width()
        return (None, w)

    @property
    def output_shape(self):
        dense = [l for l in self.layers if isinstance(l, _layers.Dense)]
        return (None, dense[-1].units) if dense else None

    # ---- weights ---------------------------------------------------------------------------
    @property
    def trainable_variables(self):
        self._require_built()
        return list(self._vars)

    @property
    def weights(self):
        return self.trainable_variables

    trainable_weights = weights

    def get_weights(self):
        self._require_built()
        return [v._view.copy() for v in self._vars]

    def set_weights(self, weights):
        self._require_built()
        weights = list(weights)
        if len(weights) != len(self._vars):
            raise ValueError(f"set_weights: expected {len(self._vars)} arrays (kernel and bias "
                             f"per Dense layer), got {len(weights)}")
        arrays = []
        for w, v in zip(weights, self._vars):
            a = np.asarray(w)
            if a.shape != v.shape:
                raise ValueError(f"set_weights: {v.name} expects shape {v.shape}, got {a.shape}")
            if a.dtype.kind not in "fiub":
                raise TypeError(f"set_weights: {v.name} expects real numbers, got {a.dtype}")
            arrays.append(a)
        for a, v in zip(arrays, self._vars):  # all checked first: nothing half-done
            v._view[...] = a

    @property
    def gradients(self):
        """Copies of the gradients from the last backward / training step, in variable order."""
        self._require_built()
        return [v._grad_view.copy() for v in self._vars]

    def count_params(self):
        self._require_built()
        return int(self._net.num_params)

    # ---- compile ---------------------------------------------------------------------------
    def compile(self, optimizer="adam", loss=None, metrics=None):
        """Sets the optimizer (name or object; default "adam" -- Keras's "rmsprop" is not
        provided), the loss (name or object) and metrics ("accuracy", "mae", "mse", ...).
        Combinations that cannot train (categorical CE on one unit, a probability loss on a
        linear output) raise here."""
        optimizer = _optimizers.get(optimizer)
        if loss is None:
            raise ValueError("compile: loss is required, e.g. loss='mse' or "
                             "loss=fusednet.losses.SparseCategoricalCrossentropy(from_logits=True)")
        loss = _losses.get(loss)
        names = _metrics.check_names(metrics)
        self._check_loss(loss)
        units = self.output_shape[1] if self.output_shape else None
        if units is not None:
            _metrics.resolve(names, loss, units)
        old = self.optimizer
        if old is not None and old is not optimizer:
            old._unbind()
        self.optimizer = optimizer
        self.loss_fn = loss
        self._metric_names = names
        self.compiled = True
        if self._net is not None:
            self._resolve_compiled()

    def _resolve_compiled(self):
        self._metric_codes = _metrics.resolve(self._metric_names, self.loss_fn,
                                              self._net.output_width)
        self.optimizer._bind(self)

    def _output_activation(self):
        dense = [l for l in self.layers if isinstance(l, _layers.Dense)]
        if not dense:
            return "linear"
        act = dense[-1].activation
        idx = self.layers.index(dense[-1])
        for l in self.layers[idx + 1:]:
            if isinstance(l, _layers.Activation) and l.activation != "linear":
                act = l.activation
        return act

    def _check_loss(self, loss):
        """Combinations of loss and output layer that cannot train: a clear error now."""
        units = self.output_shape[1] if self.output_shape else None
        act = self._output_activation()
        if loss.kind == _losses.CATEGORICAL_CE and units == 1:
            raise ValueError("categorical_crossentropy needs one output unit per class, but the "
                             "output layer has 1 unit; for two classes use binary_crossentropy "
                             "(sigmoid output)")
        if loss.kind == _losses.SPARSE_CE and units == 1:
            raise ValueError("sparse_categorical_crossentropy needs one output unit per class, "
                             "but the output layer has 1 unit (labels must be in [0, 1)); for "
                             "labels {0, 1} use binary_crossentropy with a sigmoid output")
        if loss.kind != _losses.MSE and not loss.from_logits:
            want = "sigmoid" if loss.kind == _losses.BCE else "softmax"
            if act != want:
                raise ValueError(f"{loss.name} with from_logits=False expects probabilities, but "
                                 f"the output activation is '{act}'; use a {want} output or "
                                 f"{type(loss).__name__}(from_logits=True)")

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"{what}: the model is not compiled; call model.compile(optimizer, "
                               f"loss, metrics) first")

    # ---- data checks -----------------------------------------------------------------------
    def _prepare_x(self, x, name="x"):
        if x is None:
            raise ValueError(f"{name}: expected an array of samples, got None")
        arr = x if isinstance(x, np.ndarray) else np.asarray(x)
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"{name}: expected an array of real numbers, got dtype {arr.dtype}")
        if arr.ndim == 1 and self._net is not None and self._net.input_width == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2:
            raise ValueError(f"{name}: expected a 2-D array (samples, features), got shape "
                             f"{arr.shape}")
        self._require_built(arr)
        width = self._net.input_width
        if arr.shape[1] != width:
            raise ValueError(f"{name}: expected {width} features per sample (the model's input "
                             f"width), got shape {arr.shape}")
        arr = np.ascontiguousarray(arr, dtype=F32)
        if not _core.all_finite(arr):
            raise ValueError(f"{name}: contains NaN or inf")
        return arr

    def _prepare_y(self, y, n, loss, name="y"):
        if y is None:
            raise ValueError(f"{name}: expected targets, got None")
        units = self._net.output_width
        arr = y if isinstance(y, np.ndarray) else np.asarray(y)
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"{name}: expected an array of numbers, got dtype {arr.dtype}")
        if len(arr) != n:
            raise ValueError(f"{name}: x has {n} samples but {name} has {len(arr)}")
        if loss.kind == _losses.SPARSE_CE:
            if arr.ndim == 2 and arr.shape[1] == 1:
                arr = arr.reshape(-1)
            if arr.ndim != 1:
                raise ValueError(f"{name}: sparse_categorical_crossentropy expects integer "
                                 f"labels of shape ({n},), got shape {arr.shape}")
            if arr.dtype.kind == "f":
                if not np.isfinite(arr).all():
                    raise ValueError(f"{name}: contains NaN or inf")
                if not (arr == np.round(arr)).all():
                    raise ValueError(f"{name}: sparse_categorical_crossentropy expects integer "
                                     f"class labels, got non-integer values")
            labels = np.ascontiguousarray(arr, dtype=np.int64)
            if n:
                lo, hi = int(labels.min()), int(labels.max())
                if lo < 0 or hi >= units:
                    hint = ("; for labels {0, 1} with one output unit use binary_crossentropy"
                            if units == 1 else "")
                    raise ValueError(f"{name}: labels must be in [0, {units}) for the model's "
                                     f"{units} output units, got labels in [{lo}, {hi}]{hint}")
            return labels
        if arr.ndim == 1 and units == 1:
            arr = arr.reshape(-1, 1)
        if loss.kind == _losses.CATEGORICAL_CE and arr.ndim == 1:
            raise ValueError(f"{name}: categorical_crossentropy expects one-hot targets of shape "
                             f"({n}, {units}), got integer-like shape {arr.shape}; use "
                             f"sparse_categorical_crossentropy for class labels")
        if arr.ndim != 2 or arr.shape[1] != units:
            raise ValueError(f"{name}: expected targets of shape ({n}, {units}), got "
                             f"{arr.shape}")
        vals = np.ascontiguousarray(arr, dtype=F32)
        if not _core.all_finite(vals):
            raise ValueError(f"{name}: contains NaN or inf")
        return vals

    @staticmethod
    def _prepare_sw(sample_weight, n, name="sample_weight"):
        if sample_weight is None:
            return None
        sw = np.asarray(sample_weight)
        if sw.dtype.kind not in "fiub":
            raise TypeError(f"{name}: expected numbers, got dtype {sw.dtype}")
        sw = np.ascontiguousarray(sw.reshape(-1) if sw.ndim == 2 and sw.shape[1] == 1 else sw,
                                  dtype=F32)
        if sw.shape != (n,):
            raise ValueError(f"{name}: expected shape ({n},), got {sw.shape}")
        if not _core.all_finite(sw):
            raise ValueError(f"{name}: contains NaN or inf")
        return sw

    @staticmethod
    def _batch_size(batch_size):
        if batch_size is None:
            return 32
        return _int_arg(batch_size, "batch_size", 1)

    # ---- fit / evaluate / predict ----------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0,
            sample_weight=None):
        """Trains for ``epochs - initial_epoch`` epochs; returns the History (also
        ``model.history``) with per-epoch ``loss``, metrics and ``val_`` entries."""
        self._require_compiled("fit")
        bs = self._batch_size(batch_size)
        epochs = _int_arg(epochs, "epochs", 0)
        initial_epoch = _int_arg(initial_epoch, "initial_epoch", 0)
        verbose = self._verbose(verbose)
        loss = self.loss_fn
        x = self._prepare_x(x)
        n = len(x)
        if n == 0:
            raise ValueError("x: expected at least one sample, got 0")
        y = self._prepare_y(y, n, loss)
        sw = self._prepare_sw(sample_weight, n)
        if not isinstance(validation_split, numbers.Real) or not 0 <= validation_split < 1:
            raise ValueError(f"validation_split: expected a number in [0, 1), got "
                             f"{validation_split!r}")
        xv = yv = swv = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError("validation_data: expected (x_val, y_val) or "
                                 "(x_val, y_val, sample_weight_val)")
            xv = self._prepare_x(validation_data[0], "validation_data x")
            yv = self._prepare_y(validation_data[1], len(xv), loss, "validation_data y")
            if len(validation_data) == 3:
                swv = self._prepare_sw(validation_data[2], len(xv), "validation_data sample_weight")
            if len(xv) == 0:
                xv = yv = swv = None
        elif validation_split:
            split = int(math.floor(n * (1.0 - validation_split)))
            if split < 1 or split >= n:
                raise ValueError(f"validation_split={validation_split} leaves no training or no "
                                 f"validation samples out of {n}")
            # The LAST fraction, as Keras; contiguous slices, no copies.
            x, xv = x[:split], x[split:]
            y, yv = y[:split], y[split:]
            if sw is not None:
                sw, swv = sw[:split], sw[split:]
            n = split
        self.optimizer._bind(self)
        self._last_out = None  # the workspace will no longer hold an explicit-loop forward
        steps = (n + bs - 1) // bs
        codes = self._metric_codes
        names = self._metric_names
        net = self._net
        kind, from_logits = loss.kind, loss.from_logits

        from .callbacks import CallbackList  # fusednet.callbacks (Keras semantics)
        cbl = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, verbose=verbose,
                           model=self, params={"epochs": epochs, "steps": steps,
                                               "verbose": verbose, "batch_size": bs,
                                               "samples": n})
        self.stop_training = False
        history = cbl.history
        run = max(epochs - initial_epoch, 0)
        keys = ["loss"] + names
        if xv is not None:
            keys += ["val_" + k for k in keys]

        if len(cbl.callbacks) == 1 and cbl.callbacks[0] is history:
            # Nothing to call between epochs: every epoch in one C++ call, History filled after.
            cbl.on_train_begin()
            if run:
                lrs = self.optimizer._lrs(int(net.step), steps * run)
                table = net.fit(x, y, sw, bs, run, bool(shuffle), lrs,
                                self.optimizer._lr_at(int(net.step)), kind, from_logits, codes,
                                xv, yv, swv, bs)
                cols = table.T.tolist()
                for k, col in zip(keys, cols):
                    history.history.setdefault(k, []).extend(col)
                history.epoch.extend(range(initial_epoch, epochs))
                logs = {k: col[-1] for k, col in zip(keys, cols)}
            else:
                logs = {}
            self.history = history
            cbl.on_train_end(logs)
            return history

        cbl.on_train_begin()
        logs = {}
        # A device-resident net keeps x, y (and the validation set) on the device across the
        # per-epoch calls instead of uploading them each epoch.
        holding = getattr(net, "holding_data", contextlib.nullcontext)
        with holding():
            for epoch in range(initial_epoch, epochs):
                cbl.on_epoch_begin(epoch)
                lrs = self.optimizer._lrs(int(net.step), steps)
                lr = self.optimizer._lr_at(int(net.step))
                hook = self._batch_hook(cbl, steps, names) if cbl.wants_batch_hooks else None
                if hook is not None:
                    cbl.on_train_batch_begin(0)
                tl, tm, _ = net.train_epoch(x, y, sw, bs, bool(shuffle), lrs, lr, kind,
                                            from_logits, codes, hook, cbl.batch_hook_interval)
                logs = {"loss": tl}
                logs.update(zip(names, tm))
                if xv is not None:
                    cbl.on_test_begin()
                    vl, vm, _ = net.evaluate(xv, yv, swv, bs, kind, from_logits, codes)
                    val = {"loss": vl}
                    val.update(zip(names, vm))
                    cbl.on_test_end(val)
                    logs.update(("val_" + k, v) for k, v in val.items())
                cbl.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
        cbl.on_train_end(logs)
        return self.history if self.history is not None else history

    def _batch_hook(self, cbl, steps, names):
        """Called by C++ after each batch: the batch-end hook with the epoch's running loss and
        metrics, then the next batch's begin hook; returns False to stop (model.stop_training)."""
        def hook(b, loss, metrics):
            logs = {"loss": loss}
            logs.update(zip(names, metrics))
            cbl.on_train_batch_end(b, logs)
            if self.stop_training:
                return False
            if b + 1 < steps:
                cbl.on_train_batch_begin(b + 1)
            return not self.stop_training
        return hook

    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, sample_weight=None,
                 return_dict=False, callbacks=None):
        """Loss (and metrics) over the data: a float, ``[loss, *metrics]``, or a dict.
        ``verbose=1`` shows a progress bar (then the batches are run one C++ call each)."""
        self._require_compiled("evaluate")
        bs = self._batch_size(batch_size)
        verbose = self._verbose(verbose)
        x = self._prepare_x(x)
        n = len(x)
        y = self._prepare_y(y, n, self.loss_fn)
        sw = self._prepare_sw(sample_weight, n)
        self._resolve_metric_codes()
        names, codes = self._metric_names, self._metric_codes
        kind, fl = self.loss_fn.kind, self.loss_fn.from_logits
        steps = (n + bs - 1) // bs
        self._last_out = None
        cbl = self._callback_list(callbacks, verbose, {"steps": steps, "verbose": verbose})
        if cbl is not None:
            cbl.on_test_begin()
        if cbl is not None and cbl.wants_test_batch_hooks:
            loss_sum, met_sums = 0.0, [0.0] * len(codes)
            for b in range(steps):
                cbl.on_test_batch_begin(b)
                s, e = b * bs, min(n, (b + 1) * bs)
                bl, bm, _ = self._net.evaluate(x[s:e], y[s:e], None if sw is None else sw[s:e],
                                               bs, kind, fl, codes)
                loss_sum += bl * (e - s)
                met_sums = [a + m * (e - s) for a, m in zip(met_sums, bm)]
                logs = {"loss": loss_sum / e}
                logs.update(zip(names, [m / e for m in met_sums]))
                cbl.on_test_batch_end(b, logs)
            loss, mets = loss_sum / n, [m / n for m in met_sums]
        else:
            loss, mets, _ = self._net.evaluate(x, y, sw, bs, kind, fl, codes)
        logs = {"loss": loss}
        logs.update(zip(names, mets))
        if cbl is not None:
            cbl.on_test_end(logs)
        if return_dict:
            return logs
        return [loss, *mets] if names else loss

    @staticmethod
    def _verbose(verbose):
        if verbose == "auto":
            return 1
        if isinstance(verbose, bool) or verbose not in (0, 1, 2):
            raise ValueError(f"verbose: expected 0, 1, 2 or 'auto', got {verbose!r}")
        return verbose

    def _callback_list(self, callbacks, verbose, params):
        """A CallbackList for evaluate/predict, or None when nothing would listen."""
        if not callbacks and not verbose:
            return None
        from .callbacks import CallbackList
        return CallbackList(callbacks, add_progbar=verbose != 0, verbose=verbose, model=self,
                            params=params)

    def _resolve_metric_codes(self):
        if len(self._metric_codes) != len(self._metric_names):
            self._metric_codes = _metrics.resolve(self._metric_names, self.loss_fn,
                                                  self._net.output_width)

    def predict(self, x, batch_size=None, verbose=0, callbacks=None):
        """Model outputs (after the output activation) for every sample, batched in C++.
        (Keras's default is a progress bar; here ``verbose=0`` is, as predict is often called
        in loops.)"""
        bs = self._batch_size(batch_size)
        verbose = self._verbose(verbose)
        x = self._prepare_x(x)
        n = len(x)
        out = np.empty((n, self._net.output_width), dtype=F32)
        if n == 0:
            return out
        steps = (n + bs - 1) // bs
        self._last_out = None
        cbl = self._callback_list(callbacks, verbose, {"steps": steps, "verbose": verbose})
        if cbl is not None:
            cbl.on_predict_begin()
        if cbl is not None and cbl.wants_predict_batch_hooks:
            for b in range(steps):
                cbl.on_predict_batch_begin(b)
                s, e = b * bs, min(n, (b + 1) * bs)
                self._net.predict(x[s:e], bs, out[s:e])
                cbl.on_predict_batch_end(b, {"outputs": out[s:e]})
        else:
            self._net.predict(x, bs, out)
        if cbl is not None:
            cbl.on_predict_end()
        return out

    def __call__(self, x, training=False):
        """The output for x. ``training=True`` applies dropout and keeps what backward needs;
        inside a GradientTape the output is recorded so a loss on it can be differentiated."""
        out = self.forward(x, training=bool(training))
        _recorded.record_output(self, out)
        return out

    # ---- explicit loop ---------------------------------------------------------------------
    def forward(self, x, training=True):
        """Forward pass that keeps what ``backward`` needs; returns the output (a copy)."""
        x = self._prepare_x(x)
        if len(x) == 0:
            raise ValueError("x: expected at least one sample, got 0")
        self._net.forward(x, bool(training))
        out = self._net.output()
        self._last_out = out
        return out

    def _loss_value(self, loss, out, y, sample_weight):
        """Loss of the last forward (whose output is `out`) and the output delta, in the Net."""
        if out is not self._last_out:
            raise ValueError("out: expected the array returned by the latest model.forward(x) "
                             "(the loss is computed from the Net's saved forward state)")
        self._check_loss(loss)
        n = len(out)
        y = self._prepare_y(y, n, loss)
        sw = self._prepare_sw(sample_weight, n)
        return _losses.LossValue(self._net.loss(y, sw, loss.kind, loss.from_logits))

    def loss(self, out, y, sample_weight=None):
        """``(loss, dout)`` of the compiled loss on the latest forward. ``dout`` is the gradient
        with respect to the output layer's logits when the output activation is fused with the
        loss (sigmoid + binary CE, softmax + CE), otherwise with respect to ``out``."""
        if self.loss_fn is None:
            raise RuntimeError("loss: the model is not compiled; call model.compile(...) first")
        value = self._loss_value(self.loss_fn, out, y, sample_weight)
        return value, self._net.output_grad().copy()

    def backward(self, dout):
        """Gradients of all variables from ``dout`` (as returned by ``loss``); read them with
        ``model.gradients`` or ``variable.grad``."""
        if self.loss_fn is None:
            raise RuntimeError("backward: the model is not compiled; call model.compile(...) "
                               "first")
        self._backward(dout, self.loss_fn)

    def _backward(self, dout, loss):
        if self._last_out is None:
            raise RuntimeError("backward: run forward first")
        g = self._net.output_grad()
        dout = np.asarray(dout)
        if dout.shape != g.shape:
            raise ValueError(f"dout: expected shape {g.shape} (the last forward's output), got "
                             f"{dout.shape}")
        if not np.shares_memory(dout, g):
            g[...] = dout
        self._net.backward(loss.kind, loss.from_logits)

    def update_weights(self):
        """One optimizer step over the whole parameter arena with the current gradients."""
        self._require_compiled("update_weights")
        self.optimizer._bind(self)
        self._net.apply_update(self.optimizer._lr_at(int(self._net.step)))

    # ---- description -----------------------------------------------------------------------
    def summary(self, print_fn=print):
        self._require_built()
        rows = [("Layer (type)", "Output Shape", "Param #")]
        total = 0
        dense_i = 0
        width = self._net.input_width
        for layer in self.layers:
            params = 0
            if isinstance(layer, _layers.Dense):
                params = width * layer.units + (layer.units if layer.use_bias else 0)
                width = layer.units
                dense_i += 1
            total += params
            if isinstance(layer, _layers.InputLayer):
                continue
            rows.append((f"{layer.name} ({type(layer).__name__})", f"(None, {width})",
                         f"{params:,}"))
        w = [max(len(r[i]) for r in rows) + 2 for i in range(3)]
        line = "-" * sum(w)
        out = [f'Model: "{self.name}"', line]
        for i, r in enumerate(rows):
            out.append("".join(c.ljust(w[j]) for j, c in enumerate(r)))
            if i == 0:
                out.append("=" * sum(w))
        out += [line, f"Total params: {total:,}", f"Trainable params: {total:,}",
                "Non-trainable params: 0"]
        text = "\n".join(out)
        if print_fn is None:
            return text
        print_fn(text)

    def get_config(self):
        return {"name": self.name, "seed": self.seed, "device": self.device,
                "layers": [_layers.serialize(l) for l in self.layers]}

    def save(self, filepath):
        """One file with architecture, weights, optimizer config + state, written atomically."""
        from . import io
        io.save_model(self, filepath)

    def __getstate__(self):
        from . import io
        return {"fusednet_model": io.model_to_bytes(self)}

    def __setstate__(self, state):
        from . import io
        other = io.model_from_bytes(state["fusednet_model"], device=None)
        self.__dict__.update(other.__dict__)
        for v in self._vars:
            v._model = self
        if self.optimizer is not None and self._net is not None:
            import weakref
            self.optimizer._model_ref = weakref.ref(self)

    def __repr__(self):
        return f"<Sequential name={self.name} layers={len(self.layers)} built={self.built}>"


Model = Sequential
