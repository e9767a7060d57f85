"""``Sequential``: a Keras-style model compiled into one C++ ``Net`` (csrc/net/net.h).

Python describes and validates; the Net computes. Parameters live in one float32 arena inside
the Net; ``trainable_variables`` and ``get_weights`` are views / copies of its slices in Keras
order (kernel (in, units), then bias (units,), per Dense layer). This module holds the model
object: building its Net from the layers, the weights, compile, ``to(device)``, the description
and saving; running data through the Net (fit, evaluate, predict, the explicit loop) is
``TrainingLoop`` in ``_training``.
"""

from __future__ import annotations

import math
import os
import weakref
from collections.abc import Iterable
from typing import Any, Callable, ClassVar, Optional, Union

import numpy as np
import numpy.typing as npt

from .. import _core
from .. import layers as _layers
from .. import losses as _losses
from .. import metrics as _metrics
from .. import optimizers as _optimizers
from .._arrays import host_array
from ..variables import NonTrainableVariable, Variable
from . import _inputs, _specs
from ._batch_api import BatchAPI
from ._config import ConfigAPI
from ._fit_options import FitOptionsLoop
from ._pydata import SourceLoop
from ._training import TrainingLoop

__all__ = ["Sequential", "Model"]


class Sequential(TrainingLoop, FitOptionsLoop, SourceLoop, BatchAPI, ConfigAPI):
    """A stack of layers: ``Sequential([Dense(128, activation="relu", input_shape=(64,)),
    Dense(10)], device="auto", seed=0)``.

    ``seed`` fixes the initial weights, dropout masks and shuffles: the same seed gives
    bit-identical weights after fit, whatever the thread count. ``seed=None`` draws one.
    """

    def __init__(
        self,
        layers: Optional[Iterable[_layers.Layer]] = None,
        device: str = "auto",
        seed: Optional[int] = None,
        name: Optional[str] = None,
    ) -> None:
        self.name = "sequential" if name is None else str(name)
        self.device = self._check_device(device)
        if seed is None:
            seed = _inputs.new_seed()
        self.seed = _inputs.int_arg(seed, "seed", 0)
        self.layers = []
        self._net = None
        self._vars = []
        self._stat_vars = []
        self._all_vars = []
        self._specs = None
        self._optimizer_owner = None
        self.optimizer = None
        self.loss_fn = None
        self._metric_names = []
        self._metric_entries = []  # compile's metrics: names and metric objects
        self._metric_objects = []  # one per metric, for the built net's output width
        self._metric_codes = []
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._last_out = None
        for layer in layers or []:
            self.add(layer)
        if self.layers and _specs.input_width(self.layers) is not None:
            self.build()

    # ---- building ------------------------------------------------------------------------
    @staticmethod
    def _check_device(device: str) -> str:
        """'cpu' or 'cuda': 'auto' picks CUDA only when a usable device exists."""
        if device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device: expected 'auto', 'cpu' or 'cuda', got {device!r}")
        if device == "cpu":
            return "cpu"
        info = _core.cuda_info()
        if info.get("available"):
            return "cuda"
        if device == "cuda":
            raise ValueError(
                f"device='cuda': CUDA is not available here ({info.get('reason')})"
                f"; use device='cpu' or 'auto'"
            )
        return "cpu"

    def _new_net(self, specs: Any, input_dropout: float, device: Optional[str] = None) -> Any:
        """The compiled net for `device`: a _core.Net (arenas in host memory, NumPy views) or a
        CudaNet (arenas on the GPU behind host mirrors with the same interface)."""
        if (device or self.device) == "cuda":
            from .._cuda_net import CudaNet

            return CudaNet(specs, input_dropout, self.seed)
        return _core.Net(specs, input_dropout, self.seed, _core.Device.cpu)

    def to(self, device: str) -> Sequential:
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
            new.stats[...] = old.stats
            if self._optimizer_owner is not None and old.has_optimizer:
                new.set_optimizer(self._optimizer_owner._spec())
                for i in range(old.num_optimizer_states):
                    new.optimizer_state(i)[...] = old.optimizer_state(i)
            if old.compiled:
                new.compile(self.loss_fn.spec(), self._metric_codes)
            new.step = old.step
            new.train_forwards = old.train_forwards
            new.epochs_shuffled = old.epochs_shuffled
            for v, off in zip(self._vars, self._var_offsets):  # same slices of the new arenas
                size = int(math.prod(v.shape))
                v._view = new.params[off : off + size].reshape(v.shape)
                v._grad_view = new.grads[off : off + size].reshape(v.shape)
            for v, off in zip(self._stat_vars, self._stat_offsets):
                v._view = new.stats[off : off + v._view.size].reshape(v.shape)
            self._net = new
            self._last_out = None
        self.device = device
        return self

    def add(self, layer: _layers.Layer) -> None:
        if not isinstance(layer, _layers.Layer):
            raise TypeError(
                f"layers: expected fusednet.layers instances, got {type(layer).__name__}"
            )
        if self._net is not None:  # Keras allows adding to a built model: rebuild (seeded)
            if self.optimizer is not None:
                self.optimizer._unbind()
            self._optimizer_owner = None
            self._net, self._vars, self._last_out = None, [], None
            self._stat_vars, self._all_vars = [], []
            for other in self.layers:
                other._weights = []
        self.layers.append(layer)
        self._specs = None

    def pop(self) -> _layers.Layer:
        """Removes and returns the last layer (Keras's ``pop``). A built model is rebuilt
        without it and keeps the other layers' weights (the optimizer state starts afresh)."""
        if not self.layers:
            raise ValueError("pop: the model has no layers")
        kept = [x.get_weights() for x in self.layers[:-1]] if self._net is not None else None
        layer = self.layers.pop()
        if self._net is not None:
            if self.optimizer is not None:
                self.optimizer._unbind()
            self._optimizer_owner = None
            self._net, self._vars, self._last_out = None, [], None
            self._stat_vars, self._all_vars = [], []
            for other in self.layers + [layer]:
                other._weights = []
            self._specs = None
            if self.layers and _specs.input_width(self.layers) is not None:
                self.build()
                for other, w in zip(self.layers, kept):
                    other.set_weights(w)
        return layer

    def build(self, input_shape: Union[int, tuple[Optional[int], ...], None] = None) -> None:
        """Creates the Net and initialises the weights (seeded). Called by fit/predict when the
        first layer has no ``input_shape``."""
        if self._net is not None:
            return
        width = _specs.input_width(self.layers)
        if input_shape is not None:
            w = input_shape[-1] if isinstance(input_shape, (tuple, list)) else input_shape
            w = _inputs.int_arg(w, "input_shape", 1)
            if width is not None and w != width:
                raise ValueError(f"input_shape: the model expects {width} features, got {w}")
            width = w
        if width is None:
            raise ValueError(
                "the model has no input width yet: give the first layer "
                "input_shape=(n,) or call build((None, n)) / fit first"
            )
        specs, input_dropout, index = _specs.compile_layers_mapped(self.layers, width)
        self._specs = (specs, input_dropout)
        net = self._new_net(specs, input_dropout)
        self._net = net
        self._bind_layers(specs, index, np.random.default_rng(self.seed))
        if self.compiled:
            self._resolve_compiled()

    # Each layer's weights, in Keras's order (trainable first), and how they are initialised.
    _WEIGHTS: ClassVar[dict] = {
        _layers.Dense: (("kernel", "kernel_initializer"), ("bias", "bias_initializer")),
        _layers.BatchNormalization: (
            ("gamma", "gamma_initializer"),
            ("beta", "beta_initializer"),
            ("moving_mean", "moving_mean_initializer"),
            ("moving_variance", "moving_variance_initializer"),
        ),
        _layers.LayerNormalization: (
            ("gamma", "gamma_initializer"),
            ("beta", "beta_initializer"),
        ),
        _layers.Normalization: (("mean", None), ("variance", None)),
    }

    def _bind_layers(self, specs, index, rng):
        """Variables onto the net's arenas for every layer's weights (initialised from `rng`
        in layer order, so the same seed gives the same weights), handed to the layers."""
        net = self._net
        trainable, offsets, stats, stat_offsets, every = [], [], [], [], []
        owners = []  # per trainable variable: (layer, "kernel" / "bias" / "gamma" / "beta")
        self._spec_index = list(index)  # each layer's net layer (-1: none)
        for layer, si in zip(self.layers, index):
            layer._weights = []
            names = self._WEIGHTS.get(type(layer)) or next(
                (w for t, w in self._WEIGHTS.items() if isinstance(layer, t)), ()
            )
            if si < 0 or not names or isinstance(layer, _layers.Activation):
                continue
            spec = specs[si]
            units = spec.units
            for name, init in names:
                shape = (spec.in_width, units) if name == "kernel" else (units,)
                size = int(math.prod(shape))
                if name in ("kernel", "gamma"):
                    off, arena = net.kernel_offset(si), "params"
                elif name in ("bias", "beta"):
                    off, arena = net.bias_offset(si), "params"
                else:  # the statistics: mean then variance
                    first = name in ("moving_mean", "mean")
                    off, arena = net.stats_offset(si) + (0 if first else units), "stats"
                if off < 0:  # no bias / gamma / beta
                    continue
                view = getattr(net, arena)[off : off + size].reshape(shape)
                if init is not None:
                    view[...] = getattr(layer, init)(shape, rng)
                elif isinstance(layer, _layers.Normalization):
                    value = layer.mean if name == "mean" else layer.variance
                    default = 0.0 if name == "mean" else 1.0
                    view[...] = default if value is None else layer._fit(value, units, name)
                if arena == "params":
                    grad = net.grads[off : off + size].reshape(shape)
                    v = Variable(f"{layer.name}/{name}", self, view, grad)
                    trainable.append(v)
                    offsets.append(off)
                    owners.append((layer, name))
                else:
                    v = NonTrainableVariable(f"{layer.name}/{name}", self, view)
                    stats.append(v)
                    stat_offsets.append(off)
                layer._weights.append(v)
                every.append(v)
        self._vars, self._var_offsets, self._var_owners = trainable, offsets, owners
        self._stat_vars, self._stat_offsets = stats, stat_offsets
        self._all_vars = every

    def _require_built(self, x: Any = None) -> None:
        if self._net is None:
            if x is not None and getattr(x, "ndim", 0) == 2:
                self.build((None, x.shape[1]))
            else:
                self.build()

    @property
    def built(self) -> bool:
        return self._net is not None

    @property
    def input_shape(self) -> tuple:
        """(batch_size, *shape): the declared N-D shape when there is one, else (None, width)."""
        shape = _specs.input_shape(self.layers)
        first = self.layers[0] if self.layers else None
        batch = getattr(first, "batch_size", None)
        if shape is not None and len(shape) > 1:
            return (batch, *shape)
        w = self._net.input_width if self._net is not None else _specs.input_width(self.layers)
        return (batch, w)

    @property
    def _feature_shape(self) -> Any:
        """What x is checked against: the input width, or the declared N-D input shape (a
        tuple: samples of that shape are flattened as they enter)."""
        shape = _specs.input_shape(self.layers)
        if shape is not None and len(shape) > 1:
            return tuple(shape)
        return self._net.input_width

    @property
    def output_shape(self) -> Optional[tuple[None, int]]:
        units = _specs.output_units(self.layers)
        return (None, units) if units is not None else None

    # ---- weights ---------------------------------------------------------------------------
    @property
    def trainable_variables(self) -> list[Variable]:
        """The variables of trainable layers (``layer.trainable = False`` freezes a layer)."""
        self._require_built()
        return [v for v, (layer, _) in zip(self._vars, self._var_owners) if layer.trainable]

    trainable_weights = trainable_variables

    @property
    def non_trainable_variables(self) -> list[Variable]:
        """The variables of frozen layers, then the statistics of BatchNormalization (moving
        mean / variance) and Normalization."""
        self._require_built()
        frozen = [v for v, (layer, _) in zip(self._vars, self._var_owners) if not layer.trainable]
        return frozen + list(self._stat_vars)

    non_trainable_weights = non_trainable_variables

    @property
    def weights(self) -> list[Variable]:
        """All weights in layer order (Keras's ``model.weights``)."""
        self._require_built()
        return list(self._all_vars)

    variables = weights

    def get_weights(self) -> list[np.ndarray]:
        self._require_built()
        return [v._view.copy() for v in self._all_vars]

    def set_weights(self, weights: Iterable[npt.ArrayLike]) -> None:
        self._require_built()
        weights = list(weights)
        if len(weights) != len(self._all_vars):
            raise ValueError(
                f"set_weights: expected {len(self._all_vars)} arrays (each layer's weights in "
                f"get_weights order), got {len(weights)}"
            )
        arrays = []
        for w, v in zip(weights, self._all_vars):
            a = host_array(w, f"set_weights: {v.name}", copy_to_host=True)
            if a.shape != v.shape:
                raise ValueError(f"set_weights: {v.name} expects shape {v.shape}, got {a.shape}")
            if a.dtype.kind not in "fiub":
                raise TypeError(f"set_weights: {v.name} expects real numbers, got {a.dtype}")
            arrays.append(a)
        for a, v in zip(arrays, self._all_vars):  # all checked first: nothing half-done
            v._view[...] = a

    @property
    def gradients(self) -> list[np.ndarray]:
        """Copies of the gradients from the last backward / training step, in variable order."""
        self._require_built()
        return [v._grad_view.copy() for v in self._vars]

    def count_params(self) -> int:
        self._require_built()
        return int(self._net.num_params) + int(self._net.num_stats)

    # ---- compile ---------------------------------------------------------------------------
    def compile(
        self,
        optimizer: Union[str, _optimizers.Optimizer] = "adam",
        loss: Union[str, _losses.Loss, None] = None,
        metrics: Optional[list[str]] = None,
    ) -> None:
        """Sets the optimizer (name or object; default "adam" -- Keras's "rmsprop" is not
        provided), the loss (name or object) and metrics ("accuracy", "mae", "mse", ...).
        Combinations that cannot train (categorical CE on one unit, a probability loss on a
        linear output) raise here."""
        optimizer = _optimizers.get(optimizer)
        if loss is None:
            raise ValueError(
                "compile: loss is required, e.g. loss='mse' or "
                "loss=fusednet.losses.SparseCategoricalCrossentropy(from_logits=True)"
            )
        loss = _losses.get(loss)
        entries = _metrics.check_names(metrics)  # names and metric objects
        _specs.check_loss(loss, self.layers)
        units = _specs.output_units(self.layers)
        if units is not None:
            _metrics.resolve(entries, loss, units)
        old = self.optimizer
        if old is not None and old is not optimizer:
            old._unbind()
        self.optimizer = optimizer
        self.loss_fn = loss
        self._metric_entries = entries
        self._metric_names = _metrics.log_names(entries)
        self.compiled = True
        if self._net is not None:
            self._resolve_compiled()

    def _resolve_compiled(self) -> None:
        """The compiled loss, metrics and optimizer applied to the built Net: its loss and the
        metric kinds for its output width, the optimizer's state in its arenas."""
        units = self._net.output_width
        self._metric_objects = _metrics.metric_objects(self._metric_entries, self.loss_fn, units)
        self._metric_codes = [m._spec(units) for m in self._metric_objects]
        self._net.compile(self.loss_fn.spec(), self._metric_codes)
        self.optimizer._bind(self)

    def _require_compiled(self, what: str) -> None:
        if not self.compiled:
            raise RuntimeError(
                f"{what}: the model is not compiled; call model.compile(optimizer, "
                f"loss, metrics) first"
            )

    # ---- description -----------------------------------------------------------------------
    def summary(self, print_fn: Optional[Callable[[str], Any]] = print) -> Optional[str]:
        """Keras's table of layers, output shapes and parameter counts. Does not build the
        model; without a known input width (as Keras) shapes show '?' and counts '0 (unbuilt)'."""
        rows = [("Layer (type)", "Output Shape", "Param #")]
        total = fixed = frozen = 0
        width = self._net.input_width if self._net is not None else _specs.input_width(self.layers)
        for layer in self.layers:
            if width is None:  # no input width: nothing sized yet
                rows.append((f"{layer.name} ({type(layer).__name__})", "?", "0 (unbuilt)"))
                continue
            t, f = _specs.param_count([layer], width)
            params = t + f
            if isinstance(layer, _layers.Dense):
                width = layer.units
            total += t
            fixed += f
            frozen += 0 if layer.trainable else t
            if isinstance(layer, _layers.InputLayer):
                continue
            rows.append(
                (f"{layer.name} ({type(layer).__name__})", f"(None, {width})", f"{params:,}")
            )
        w = [max(len(r[i]) for r in rows) + 2 for i in range(3)]
        line = "-" * sum(w)
        out = [f'Model: "{self.name}"', line]
        for i, r in enumerate(rows):
            out.append("".join(c.ljust(w[j]) for j, c in enumerate(r)))
            if i == 0:
                out.append("=" * sum(w))
        out += [
            line,
            f"Total params: {total + fixed:,}",
            f"Trainable params: {total - frozen:,}",
            f"Non-trainable params: {fixed + frozen:,}",
        ]
        text = "\n".join(out)
        if print_fn is None:
            return text
        print_fn(text)

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seed": self.seed,
            "device": self.device,
            "layers": [_layers.serialize(layer) for layer in self.layers],
        }

    def save(self, filepath: Union[str, os.PathLike[str]]) -> None:
        """One file with architecture, weights, optimizer config + state, written atomically.
        After ``fusednet.distributed.init()`` only rank 0 writes (every rank holds the same
        model)."""
        from .. import distributed, io  # io builds models to load them: imported on use

        if distributed.initialized() and not distributed.is_main():
            return

        io.save_model(self, filepath)

    def __getstate__(self) -> dict[str, bytes]:
        from .. import io

        return {"fusednet_model": io.model_to_bytes(self)}

    def __setstate__(self, state: dict[str, bytes]) -> None:
        from .. import io

        other = io.model_from_bytes(state["fusednet_model"], device=None)
        self.__dict__.update(other.__dict__)
        for v in self._vars:
            v._model = self
        if self.optimizer is not None and self._net is not None:
            self.optimizer._model_ref = weakref.ref(self)

    def __repr__(self) -> str:
        return f"<Sequential name={self.name} layers={len(self.layers)} built={self.built}>"


Model = Sequential
