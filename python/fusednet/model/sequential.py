"""``Sequential``: a Keras-style model compiled into one C++ ``Net`` (csrc/net/net.h).

Python describes and validates; the Net computes. Parameters live in one float32 arena inside
the Net; ``trainable_variables`` and ``get_weights`` are views / copies of its slices in Keras
order (kernel (in, units), then bias (units,), per Dense layer). This module holds the model
object: building its Net from the layers, the weights, compile, ``to(device)``, the description
and saving; running data through the Net (fit, evaluate, predict, the explicit loop) is
``TrainingLoop`` in ``_training``.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterable
from typing import Any, Callable, Optional, Union

import numpy as np
import numpy.typing as npt

from .. import _core
from .. import layers as _layers
from .. import losses as _losses
from .. import metrics as _metrics
from .. import optimizers as _optimizers
from .._arrays import host_array
from ..variables import Variable
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
                size = int(np.prod(v.shape))
                v._view = new.params[off : off + size].reshape(v.shape)
                v._grad_view = new.grads[off : off + size].reshape(v.shape)
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
        self.layers.append(layer)
        self._specs = None

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
        specs, input_dropout = _specs.compile_layers(self.layers, width)
        self._specs = (specs, input_dropout)
        net = self._new_net(specs, input_dropout)
        params, grads = net.params, net.grads
        rng = np.random.default_rng(self.seed)
        dense = [layer for layer in self.layers if isinstance(layer, _layers.Dense)]
        # Each variable's offset in the arenas, in variable order (model.to re-points views), and
        # its (layer, "kernel" / "bias") for trainable, regularizers and constraints.
        variables, offsets, owners = [], [], []
        for i, (layer, spec) in enumerate(zip(dense, specs)):
            fan_in, units = spec.in_width, spec.units
            off = net.kernel_offset(i)
            kv = params[off : off + fan_in * units].reshape(fan_in, units)
            kg = grads[off : off + fan_in * units].reshape(fan_in, units)
            kv[...] = layer.kernel_initializer((fan_in, units), rng)
            variables.append(Variable(f"{layer.name}/kernel", self, kv, kg))
            offsets.append(off)
            owners.append((layer, "kernel"))
            if spec.use_bias:
                boff = net.bias_offset(i)
                bv, bg = params[boff : boff + units], grads[boff : boff + units]
                bv[...] = layer.bias_initializer((units,), rng)
                variables.append(Variable(f"{layer.name}/bias", self, bv, bg))
                offsets.append(boff)
                owners.append((layer, "bias"))
        self._net = net
        self._vars = variables
        self._var_offsets = offsets
        self._var_owners = owners
        if self.compiled:
            self._resolve_compiled()

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
    def input_shape(self) -> tuple[None, Optional[int]]:
        w = self._net.input_width if self._net is not None else _specs.input_width(self.layers)
        return (None, w)

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

    @property
    def non_trainable_variables(self) -> list[Variable]:
        self._require_built()
        return [v for v, (layer, _) in zip(self._vars, self._var_owners) if not layer.trainable]

    @property
    def weights(self) -> list[Variable]:
        self._require_built()
        return list(self._vars)

    trainable_weights = weights

    def get_weights(self) -> list[np.ndarray]:
        self._require_built()
        return [v._view.copy() for v in self._vars]

    def set_weights(self, weights: Iterable[npt.ArrayLike]) -> None:
        self._require_built()
        weights = list(weights)
        if len(weights) != len(self._vars):
            raise ValueError(
                f"set_weights: expected {len(self._vars)} arrays (kernel and bias "
                f"per Dense layer), got {len(weights)}"
            )
        arrays = []
        for w, v in zip(weights, self._vars):
            a = host_array(w, f"set_weights: {v.name}", copy_to_host=True)
            if a.shape != v.shape:
                raise ValueError(f"set_weights: {v.name} expects shape {v.shape}, got {a.shape}")
            if a.dtype.kind not in "fiub":
                raise TypeError(f"set_weights: {v.name} expects real numbers, got {a.dtype}")
            arrays.append(a)
        for a, v in zip(arrays, self._vars):  # all checked first: nothing half-done
            v._view[...] = a

    @property
    def gradients(self) -> list[np.ndarray]:
        """Copies of the gradients from the last backward / training step, in variable order."""
        self._require_built()
        return [v._grad_view.copy() for v in self._vars]

    def count_params(self) -> int:
        self._require_built()
        return int(self._net.num_params)

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
        total = frozen = 0
        width = self._net.input_width if self._net is not None else self.input_shape[1]
        for layer in self.layers:
            params = 0
            if width is None:  # no input width: nothing sized yet
                rows.append((f"{layer.name} ({type(layer).__name__})", "?", "0 (unbuilt)"))
                continue
            if isinstance(layer, _layers.Dense):
                params = width * layer.units + (layer.units if layer.use_bias else 0)
                width = layer.units
                frozen += 0 if layer.trainable else params
            total += params
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
            f"Total params: {total:,}",
            f"Trainable params: {total - frozen:,}",
            f"Non-trainable params: {frozen:,}",
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
