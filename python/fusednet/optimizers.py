"""Optimizers with Keras's names and defaults: SGD, Adam, AdamW.

For a model's variables, the optimizer's state (Adam m and v, SGD velocity) lives in the model's
C++ Net as one arena per state next to the parameter arena, so a step is one kernel pass over all
parameters -- whether it comes from ``fit``, ``model.update_weights()`` or
``apply_gradients(zip(grads, model.trainable_variables))``, which give identical weights.
An optimizer is bound to one model at a time (the first it updates); binding a new optimizer to a
model starts that model's optimizer state afresh.

``learning_rate`` is a float or a schedule from ``fusednet.schedules`` (``ExponentialDecay``,
``CosineDecay``), evaluated at the iteration count before each update (0 for the first).
Update forms: Adam and AdamW as in the Adam paper (bias-corrected m and v, eps outside the
square root); AdamW's decay is decoupled (p *= 1 - lr wd first), as is Adam's when given a
``weight_decay`` (Keras 3 applies weight decay that way); SGD is PyTorch's form (velocity
v = momentum v + g, weight decay added to the gradient), which equals Keras's for a constant rate.
"""

from __future__ import annotations

import numbers
import weakref
from collections.abc import Iterable
from typing import Any, Callable, Optional, Union

import numpy as np
import numpy.typing as npt

from . import _core
from ._registry import Registry
from .variables import Variable

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "get", "schedules"]

# A constant rate or a schedule (any callable of the step, such as fusednet.schedules').
_LearningRate = Union[float, Callable[[Any], Any]]

_F32_MAX = float(np.finfo(np.float32).max)

SGD_KIND, ADAM_KIND, ADAMW_KIND = _core.OptimKind.sgd, _core.OptimKind.adam, _core.OptimKind.adamw


def _real(value, name, lo=None, hi=None, lo_open=False, hi_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    v = float(value)
    if (
        np.isfinite(v) and abs(v) > _F32_MAX
    ):  # the kernels run in float32: a larger value would be inf there
        raise ValueError(
            f"{name}: expected a number that fits in float32 (<= 3.4e38), got {value!r}"
        )
    if (
        not np.isfinite(v)
        or (lo is not None and (v < lo or (lo_open and v == lo)))
        or (hi is not None and (v > hi or (hi_open and v == hi)))
    ):
        lo_s = "(" if lo_open else "["
        hi_s = ")" if hi_open else "]"
        raise ValueError(
            f"{name}: expected a number in {lo_s}{lo if lo is not None else '-inf'}, "
            f"{hi if hi is not None else 'inf'}{hi_s}, got {value!r}"
        )
    return v


def _check_lr(lr):
    if callable(lr) and not isinstance(lr, numbers.Real):
        return lr
    return _real(lr, "learning_rate", lo=0.0)


class Optimizer:
    kind = ADAM_KIND

    def __init__(self, learning_rate: _LearningRate, name: str) -> None:
        self.learning_rate = _check_lr(learning_rate)
        self.name = name
        self._model_ref = None
        self._iterations = 0  # while not bound to a model
        self._pending_state = None  # from load_state_dict before binding

    # ---- what the Net needs ----
    def _spec(self):
        raise NotImplementedError

    def _lr_at(self, step):
        lr = self.learning_rate
        if isinstance(lr, float):
            return lr
        if isinstance(lr, numbers.Real):
            return float(lr)
        return float(lr(step))

    def _lrs(self, start, count):
        """None for a constant rate, else float32 rates for steps start .. start+count-1."""
        lr = self.learning_rate
        if isinstance(lr, numbers.Real):
            return None
        steps = np.arange(start, start + count, dtype=np.float64)
        try:
            out = np.asarray(lr(steps), dtype=np.float32)
            if out.shape != steps.shape:
                raise TypeError
        except Exception:
            out = np.array([float(lr(int(s))) for s in range(start, start + count)], np.float32)
        return np.ascontiguousarray(out)

    @property
    def _model(self):
        return self._model_ref() if self._model_ref is not None else None

    def _bind(self, model):
        """Makes `model`'s Net hold this optimizer's state (allocated zeroed on first use)."""
        if self._model is model and model._optimizer_owner is self:
            return
        if self._model is not None and self._model is not model:
            raise ValueError(
                f"{type(self).__name__} is already updating another model; create "
                f"one optimizer per model"
            )
        model._net.set_optimizer(self._spec())
        model._optimizer_owner = self
        self._model_ref = weakref.ref(model)
        model._net.step = self._iterations
        if self._pending_state is not None:
            self._write_state(self._pending_state)
            self._pending_state = None

    def _unbind(self):
        model = self._model
        if model is not None and model._optimizer_owner is self:
            self._iterations = int(model._net.step)
        self._model_ref = None

    @property
    def iterations(self) -> int:
        """Updates applied so far."""
        model = self._model
        if model is not None and model._optimizer_owner is self:
            return int(model._net.step)
        return self._iterations

    # ---- Keras / PyTorch API ----
    def apply_gradients(self, grads_and_vars: Iterable[tuple[npt.ArrayLike, Variable]]) -> None:
        """One update of a model's variables. The gradients of ALL of the model's trainable
        variables must be given; they are copied into the gradient arena and the step runs as one
        pass over it (the same call fit makes)."""
        pairs = list(grads_and_vars)
        if not pairs:
            raise ValueError("apply_gradients: expected (gradient, variable) pairs, got none")
        model = None
        for _g, v in pairs:
            if not isinstance(v, Variable):
                raise TypeError(
                    f"apply_gradients: expected a model's trainable_variables, got "
                    f"{type(v).__name__}"
                )
            if model is None:
                model = v._model
            elif v._model is not model:
                raise ValueError("apply_gradients: all variables must belong to one model")
        variables = model.trainable_variables
        if len(pairs) != len(variables) or {id(v) for _, v in pairs} != {id(v) for v in variables}:
            raise ValueError(
                f"apply_gradients: expected gradients for all {len(variables)} "
                f"trainable variables of the model, got {len(pairs)}"
            )
        for g, v in pairs:
            if g is None:
                raise ValueError(f"apply_gradients: gradient of {v.name} is None")
            dst = v._grad_view
            g = np.asarray(g)
            if g.shape != dst.shape:
                raise ValueError(
                    f"apply_gradients: gradient of {v.name} has shape {g.shape}, "
                    f"expected {dst.shape}"
                )
            if not np.shares_memory(g, dst):
                np.copyto(dst, g, casting="same_kind")
        self._step(model)

    def _step(self, model):
        """One update of `model`'s parameters with the gradients in its arena: the step of
        ``apply_gradients`` and ``model.update_weights()``."""
        self._bind(model)
        model._net.apply_update(self._lr_at(int(model._net.step)))

    def get_config(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict) -> Optimizer:
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            from . import schedules

            config["learning_rate"] = schedules.deserialize(lr)
        return cls(**config)

    def _lr_config(self):
        lr = self.learning_rate
        if isinstance(lr, numbers.Real):
            return float(lr)
        from . import schedules

        return schedules.serialize(lr)

    def _state_names(self):
        return []

    def _read_state(self):
        model = self._model
        if model is None or model._optimizer_owner is not self:
            return {}
        net = model._net
        return {
            name: np.array(net.optimizer_state(i))
            for i, name in enumerate(self._state_names()[: net.num_optimizer_states])
        }

    def _write_state(self, state):
        net = self._model._net
        names = self._state_names()[: net.num_optimizer_states]
        for i, name in enumerate(names):
            if name in state:
                src = np.asarray(state[name], dtype=np.float32).reshape(-1)
                dst = net.optimizer_state(i)
                if src.shape != dst.shape:
                    raise ValueError(
                        f"state_dict: '{name}' has {src.size} values, the model has "
                        f"{dst.size} parameters"
                    )
                dst[...] = src
        if "iterations" in state:
            net.step = int(state["iterations"])

    def state_dict(self) -> dict:
        """{"class_name", "config", "iterations", "state": {name: flat float32 array}} (copies)."""
        return {
            "class_name": type(self).__name__,
            "config": self.get_config(),
            "iterations": self.iterations,
            "state": self._read_state(),
        }

    def load_state_dict(self, state_dict: dict) -> None:
        if state_dict.get("class_name", type(self).__name__) != type(self).__name__:
            raise ValueError(
                f"load_state_dict: state of a {state_dict.get('class_name')}, "
                f"this is a {type(self).__name__}"
            )
        state = dict(state_dict.get("state", {}))
        state["iterations"] = int(state_dict.get("iterations", 0))
        model = self._model
        if model is not None and model._optimizer_owner is self:
            self._write_state(state)
        else:
            self._iterations = state["iterations"]
            self._pending_state = state

    def __getstate__(self):
        # Unbound on unpickling (the model it updated is not part of the pickle); the state waits
        # for the first update, as after load_state_dict.
        return {"config": self.get_config(), "state": self.state_dict()}

    def __setstate__(self, d):
        other = type(self).from_config(d["config"])
        self.__dict__.update(other.__dict__)
        self.load_state_dict(d["state"])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.get_config()})"


class SGD(Optimizer):
    kind = SGD_KIND

    def __init__(
        self,
        learning_rate: _LearningRate = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: Optional[float] = None,
        name: str = "SGD",
    ) -> None:
        super().__init__(learning_rate, name)
        self.momentum = _real(momentum, "momentum", 0.0, 1.0)
        self.nesterov = bool(nesterov)
        self.weight_decay = (
            None if weight_decay is None else _real(weight_decay, "weight_decay", 0.0)
        )

    def _spec(self):
        return _core.OptimSpec(
            SGD_KIND,
            momentum=self.momentum,
            nesterov=self.nesterov,
            weight_decay=self.weight_decay or 0.0,
        )

    def _state_names(self):
        return ["velocity"]

    def get_config(self) -> dict[str, Any]:
        return {
            "learning_rate": self._lr_config(),
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "weight_decay": self.weight_decay,
            "name": self.name,
        }


class Adam(Optimizer):
    kind = ADAM_KIND

    def __init__(
        self,
        learning_rate: _LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        weight_decay: Optional[float] = None,
        name: str = "Adam",
    ) -> None:
        super().__init__(learning_rate, name)
        if amsgrad:
            raise ValueError("amsgrad: not supported by fusednet's Adam")
        self.beta_1 = _real(beta_1, "beta_1", 0.0, 1.0, hi_open=True)
        self.beta_2 = _real(beta_2, "beta_2", 0.0, 1.0, hi_open=True)
        self.epsilon = _real(epsilon, "epsilon", 0.0)
        self.weight_decay = (
            None if weight_decay is None else _real(weight_decay, "weight_decay", 0.0)
        )

    def _spec(self):
        wd = self.weight_decay or 0.0
        return _core.OptimSpec(
            ADAMW_KIND if wd else ADAM_KIND,
            weight_decay=wd,
            beta1=self.beta_1,
            beta2=self.beta_2,
            eps=self.epsilon,
        )

    def _state_names(self):
        return ["m", "v"]

    def get_config(self) -> dict[str, Any]:
        return {
            "learning_rate": self._lr_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "weight_decay": self.weight_decay,
            "name": self.name,
        }


class AdamW(Adam):
    def __init__(
        self,
        learning_rate: _LearningRate = 0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        name: str = "AdamW",
    ) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, None, name)
        self.weight_decay = _real(weight_decay, "weight_decay", 0.0)

    def _spec(self):
        return _core.OptimSpec(
            ADAMW_KIND,
            weight_decay=self.weight_decay,
            beta1=self.beta_1,
            beta2=self.beta_2,
            eps=self.epsilon,
        )


_CLASSES = (SGD, Adam, AdamW)
_REGISTRY: Registry[Optimizer] = Registry(
    "optimizer",
    Optimizer,
    _CLASSES,
    names={c.__name__.lower(): c for c in _CLASSES},
    expected="a fusednet.optimizers.Optimizer",
)
get = _REGISTRY.get  # an Optimizer from "sgd", "adam", "adamw", a class name, or an Optimizer
serialize = _REGISTRY.serialize
deserialize = _REGISTRY.deserialize


def __getattr__(name: str) -> Any:
    # fusednet.optimizers.schedules, as in Keras (imported lazily: it is another module's file).
    if name == "schedules":
        from . import schedules

        return schedules
    raise AttributeError(name)
