"""Optimizers with Keras's names and defaults: SGD, Adam (``amsgrad``), AdamW, RMSprop, Adagrad,
Adadelta, Adamax, Nadam, Lion.

Every optimizer takes Keras 3's common arguments: ``weight_decay`` (decoupled,
``p = p - p * wd * lr`` before the update; SGD keeps PyTorch's L2 form ``g += wd p``, as before),
``clipnorm`` (each variable's gradient scaled to a norm of at most clipnorm), ``global_clipnorm``
(all gradients scaled together), ``clipvalue`` (elementwise clip), at most one of the three, and
``use_ema`` / ``ema_momentum`` / ``ema_overwrite_frequency`` (an exponential moving average of the
weights kept as one more state arena; ``fit`` ends by writing it into the weights, as Keras's
``finalize_variable_values``). The clip norms are one reduction pass over the gradient arena (in
double, a fixed order); clip and decay are fused into the step's single pass.

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

import math
import numbers
import weakref
from collections.abc import Iterable
from typing import Any, Callable, Optional, Union

import numpy as np
import numpy.typing as npt

from . import _core
from ._registry import Registry
from .variables import Variable

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "Nadam",
    "Lion",
    "get",
    "schedules",
]

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


def _layer_lists(model) -> tuple:
    """The OptimSpec's lists that follow the model's layers (net/optim_update.h): the trainable
    variables as (offset, size) pairs of the arena (frozen layers' are left out of the step),
    the regularizers and the constraints, flat."""
    variables, regs, cons = [], [], []
    for v, off, (layer, which) in zip(model._vars, model._var_offsets, model._var_owners):
        if not layer.trainable:
            continue
        size = int(math.prod(v.shape))
        variables += [int(off), size]
        reg = getattr(layer, f"{which}_regularizer", None)
        if reg is not None and (reg.l1 or reg.l2):
            regs += [float(off), float(size), float(reg.l1), float(reg.l2)]
        con = getattr(layer, f"{which}_constraint", None)
        if con is not None:
            rows, cols = (v.shape[0], v.shape[1]) if len(v.shape) == 2 else (size, 1)
            native = con._native()
            native[1:4] = [float(off), float(rows), float(cols)]
            cons += native
    return (variables if variables else [0, 0]), regs, cons


def _layers_key(model) -> tuple:
    """_layer_lists as tuples: what a bound optimizer compares to notice a layer frozen (or given
    a regularizer or constraint) since its spec was built."""
    return tuple(map(tuple, _layer_lists(model)))


class Optimizer:
    kind = ADAM_KIND
    _bound_key: tuple = ()

    def __init__(
        self,
        learning_rate: _LearningRate,
        name: str,
        weight_decay: Optional[float] = None,
        clipnorm: Optional[float] = None,
        clipvalue: Optional[float] = None,
        global_clipnorm: Optional[float] = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: Optional[int] = None,
    ) -> None:
        self.learning_rate = _check_lr(learning_rate)
        self.name = name
        self.weight_decay = (
            None if weight_decay is None else _real(weight_decay, "weight_decay", 0.0)
        )
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        for key, val in clips.items():
            setattr(self, key, None if val is None else _real(val, key, 0.0))
        if sum(v is not None for v in clips.values()) > 1:
            raise ValueError(
                "clipnorm, clipvalue, global_clipnorm: only one of them can be set, got "
                + ", ".join(f"{k}={v}" for k, v in clips.items() if v is not None)
            )
        self.use_ema = bool(use_ema)
        self.ema_momentum = _real(ema_momentum, "ema_momentum", 0.0, 1.0)
        if ema_overwrite_frequency is not None and (
            isinstance(ema_overwrite_frequency, bool)
            or not isinstance(ema_overwrite_frequency, numbers.Integral)
            or ema_overwrite_frequency < 1
        ):
            raise ValueError(
                f"ema_overwrite_frequency: expected None or an integer >= 1, got "
                f"{ema_overwrite_frequency!r}"
            )
        self.ema_overwrite_frequency = (
            None if ema_overwrite_frequency is None else int(ema_overwrite_frequency)
        )
        self._model_ref = None
        self._iterations = 0  # while not bound to a model
        self._pending_state = None  # from load_state_dict before binding

    # ---- what the Net needs ----
    def _kind_spec(self):
        raise NotImplementedError

    def _spec(self):
        """The OptimSpec: the optimizer's own fields, then the common ones and the model's
        trainable variables as (offset, size) pairs of the arena."""
        spec = self._kind_spec()
        spec.clipnorm = self.clipnorm or 0.0
        spec.clipvalue = self.clipvalue or 0.0
        spec.global_clipnorm = self.global_clipnorm or 0.0
        spec.use_ema = self.use_ema
        spec.ema_momentum = self.ema_momentum
        spec.ema_overwrite_frequency = self.ema_overwrite_frequency or 0
        model = self._model
        if model is not None and getattr(model, "_vars", None):
            spec.variables, spec.regularizers, spec.constraints = _layer_lists(model)
            last = len(model._specs[0]) - 1  # the net's output layer
            acts = []
            for layer, i in zip(model.layers, model._spec_index):
                reg = getattr(layer, "activity_regularizer", None)
                if i < 0 or reg is None or not (reg.l1 or reg.l2):
                    continue
                if i == last:
                    raise ValueError(
                        f"activity_regularizer: supported on hidden layers, not on the output "
                        f"layer {layer.name}"
                    )
                acts += [float(i), float(reg.l1), float(reg.l2)]
            spec.activity_regularizers = acts
        return spec

    def _common_config(self) -> dict[str, Any]:
        """weight_decay, then Keras's other common arguments where they are not the defaults
        (earlier configs, which had none of them, stay the same)."""
        out: dict[str, Any] = {"weight_decay": self.weight_decay}
        for key, default in (
            ("clipnorm", None),
            ("clipvalue", None),
            ("global_clipnorm", None),
            ("use_ema", False),
            ("ema_momentum", 0.99),
            ("ema_overwrite_frequency", None),
        ):
            if getattr(self, key) != default:
                out[key] = getattr(self, key)
        return out

    def finalize_variable_values(self, var_list=None) -> None:
        """With use_ema, writes the moving average into the model's weights (Keras calls this at
        the end of fit)."""
        model = self._model
        if not self.use_ema or model is None or model._optimizer_owner is not self:
            return
        net = model._net
        if int(net.step) == 0:
            return
        ema = net.optimizer_state(net.num_optimizer_states - 1)
        for v, off, (layer, _) in zip(model._vars, model._var_offsets, model._var_owners):
            if not layer.trainable:  # the average covers the trainable variables only
                continue
            size = int(math.prod(v.shape))
            v._view.reshape(-1)[...] = ema[off : off + size]

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
            # A layer frozen (or given a constraint) since: Keras applies it at the next
            # compile / fit; the state arenas and the step count carry over. (The layers'
            # lists alone tell: the whole spec is built only when they changed.)
            if _layers_key(model) != self._bound_key:
                spec = self._spec()
                state = self._read_state()
                state["iterations"] = int(model._net.step)
                model._net.set_optimizer(spec)
                self._write_state(state)
                self._bound_key = _layers_key(model)
            return
        if self._model is not None and self._model is not model:
            raise ValueError(
                f"{type(self).__name__} is already updating another model; create "
                f"one optimizer per model"
            )
        self._model_ref = weakref.ref(model)
        try:
            spec = self._spec()
            model._net.set_optimizer(spec)
            self._bound_key = _layers_key(model)
        except BaseException:
            self._model_ref = None
            raise
        model._optimizer_owner = self
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
        return self._rule_state_names() + (["ema"] if self.use_ema else [])

    def _rule_state_names(self):
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


_COMMON_DOC = """weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
    ema_overwrite_frequency: Keras 3's common optimizer arguments (see the module docstring)."""


def _common(kwargs, name):
    """Keras's common keyword arguments from **kwargs (anything else is a TypeError)."""
    allowed = (
        "weight_decay",
        "clipnorm",
        "clipvalue",
        "global_clipnorm",
        "use_ema",
        "ema_momentum",
        "ema_overwrite_frequency",
    )
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise TypeError(f"{name}: unexpected keyword argument(s) {', '.join(unknown)}")
    return kwargs


class SGD(Optimizer):
    """Keras's SGD; weight_decay is PyTorch's L2 form (g += wd p), kept from earlier releases."""

    kind = SGD_KIND

    def __init__(
        self,
        learning_rate: _LearningRate = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: Optional[float] = None,
        name: str = "SGD",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, name, weight_decay, **_common(kwargs, "SGD"))
        self.momentum = _real(momentum, "momentum", 0.0, 1.0)
        self.nesterov = bool(nesterov)

    def _kind_spec(self):
        return _core.OptimSpec(
            SGD_KIND,
            momentum=self.momentum,
            nesterov=self.nesterov,
            weight_decay=self.weight_decay or 0.0,
        )

    def _rule_state_names(self):
        return ["velocity"] if np.float32(self.momentum) != 0 else []

    def get_config(self) -> dict[str, Any]:
        return {
            "learning_rate": self._lr_config(),
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            **self._common_config(),
            "name": self.name,
        }


class Adam(Optimizer):
    """Keras's Adam in the paper's (PyTorch's) form: eps is added to sqrt(v / (1 - b2^t)); Keras
    adds it to sqrt(v) before its bias correction, which differs by a factor sqrt(1 - b2^t) on
    eps. amsgrad=True keeps the running maximum of v (a third state arena)."""

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
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, name, weight_decay, **_common(kwargs, type(self).__name__))
        self.amsgrad = bool(amsgrad)
        self.beta_1 = _real(beta_1, "beta_1", 0.0, 1.0, hi_open=True)
        self.beta_2 = _real(beta_2, "beta_2", 0.0, 1.0, hi_open=True)
        self.epsilon = _real(epsilon, "epsilon", 0.0)

    def _kind_spec(self):
        wd = self.weight_decay or 0.0
        spec = _core.OptimSpec(
            ADAMW_KIND if wd else ADAM_KIND,
            weight_decay=wd,
            beta1=self.beta_1,
            beta2=self.beta_2,
            eps=self.epsilon,
        )
        spec.amsgrad = self.amsgrad
        return spec

    def _rule_state_names(self):
        return ["m", "v", "v_hat"] if self.amsgrad else ["m", "v"]

    def get_config(self) -> dict[str, Any]:
        return {
            "learning_rate": self._lr_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            **({"amsgrad": True} if self.amsgrad else {}),
            **self._common_config(),
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
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, None, name, **kwargs)
        self.weight_decay = _real(weight_decay, "weight_decay", 0.0)

    def _kind_spec(self):
        spec = _core.OptimSpec(
            ADAMW_KIND,
            weight_decay=self.weight_decay,
            beta1=self.beta_1,
            beta2=self.beta_2,
            eps=self.epsilon,
        )
        spec.amsgrad = self.amsgrad
        return spec


class RMSprop(Optimizer):
    """Keras's RMSprop: v = rho v + (1-rho) g^2; (centered) a = rho a + (1-rho) g,
    denom = v - a^2 + eps; inc = lr g / sqrt(denom); with momentum m = momentum m + inc, p -= m;
    else p -= inc. (PyTorch adds eps outside the square root.)"""

    kind = _core.OptimKind.rmsprop

    def __init__(
        self,
        learning_rate: _LearningRate = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        weight_decay: Optional[float] = None,
        name: str = "rmsprop",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, name, weight_decay, **_common(kwargs, "RMSprop"))
        self.rho = _real(rho, "rho", 0.0, 1.0, hi_open=True)
        self.momentum = _real(momentum, "momentum", 0.0, 1.0)
        self.epsilon = _real(epsilon, "epsilon", 0.0)
        self.centered = bool(centered)

    def _kind_spec(self):
        spec = _core.OptimSpec(
            self.kind,
            momentum=self.momentum,
            weight_decay=self.weight_decay or 0.0,
            eps=self.epsilon,
        )
        spec.rho = self.rho
        spec.centered = self.centered
        return spec

    def _rule_state_names(self):
        names = ["velocity"]
        if np.float32(self.momentum) != 0:
            names.append("momentum")
        if self.centered:
            names.append("average_gradient")
        return names

    def get_config(self) -> dict[str, Any]:
        return {
            "learning_rate": self._lr_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
            **self._common_config(),
            "name": self.name,
        }


class Adagrad(Optimizer):
    """Keras's Adagrad: acc += g^2; p -= lr g / sqrt(acc + eps), acc starting at
    initial_accumulator_value. (PyTorch adds eps outside the square root.)"""

    kind = _core.OptimKind.adagrad

    def __init__(
        self,
        learning_rate: _LearningRate = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        weight_decay: Optional[float] = None,
        name: str = "adagrad",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, name, weight_decay, **_common(kwargs, "Adagrad"))
        self.initial_accumulator_value = _real(
            initial_accumulator_value, "initial_accumulator_value", 0.0
        )
        self.epsilon = _real(epsilon, "epsilon", 0.0)

    def _kind_spec(self):
        spec = _core.OptimSpec(self.kind, weight_decay=self.weight_decay or 0.0, eps=self.epsilon)
        spec.initial_accumulator = self.initial_accumulator_value
        return spec

    def _rule_state_names(self):
        return ["accumulator"]

    def get_config(self) -> dict[str, Any]:
        return {
            "learning_rate": self._lr_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
            **self._common_config(),
            "name": self.name,
        }


class Adadelta(Optimizer):
    """Keras's Adadelta: ag = rho ag + (1-rho) g^2; d = -sqrt(ad + eps) g / sqrt(ag + eps);
    ad = rho ad + (1-rho) d^2; p += lr d (PyTorch's form too)."""

    kind = _core.OptimKind.adadelta

    def __init__(
        self,
        learning_rate: _LearningRate = 0.001,
        rho: float = 0.95,
        epsilon: float = 1e-7,
        weight_decay: Optional[float] = None,
        name: str = "adadelta",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, name, weight_decay, **_common(kwargs, "Adadelta"))
        self.rho = _real(rho, "rho", 0.0, 1.0, hi_open=True)
        self.epsilon = _real(epsilon, "epsilon", 0.0)

    def _kind_spec(self):
        spec = _core.OptimSpec(self.kind, weight_decay=self.weight_decay or 0.0, eps=self.epsilon)
        spec.rho = self.rho
        return spec

    def _rule_state_names(self):
        return ["accumulated_grad", "accumulated_delta_var"]

    def get_config(self) -> dict[str, Any]:
        return {
            "learning_rate": self._lr_config(),
            "rho": self.rho,
            "epsilon": self.epsilon,
            **self._common_config(),
            "name": self.name,
        }


class _TwoBetas(Optimizer):
    _defaults = (0.9, 0.999)

    def __init__(self, learning_rate, beta_1, beta_2, epsilon, weight_decay, name, kwargs):
        super().__init__(learning_rate, name, weight_decay, **_common(kwargs, type(self).__name__))
        self.beta_1 = _real(beta_1, "beta_1", 0.0, 1.0, hi_open=True)
        self.beta_2 = _real(beta_2, "beta_2", 0.0, 1.0, hi_open=True)
        if epsilon is not None:
            self.epsilon = _real(epsilon, "epsilon", 0.0)

    def _kind_spec(self):
        return _core.OptimSpec(
            self.kind,
            weight_decay=self.weight_decay or 0.0,
            beta1=self.beta_1,
            beta2=self.beta_2,
            eps=getattr(self, "epsilon", 0.0),
        )

    def get_config(self) -> dict[str, Any]:
        out = {"learning_rate": self._lr_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}
        if hasattr(self, "epsilon"):
            out["epsilon"] = self.epsilon
        return {**out, **self._common_config(), "name": self.name}


class Adamax(_TwoBetas):
    """Keras's Adamax: m += (g - m)(1-b1); u = max(b2 u, |g|); p -= lr m / ((1 - b1^t)(u + eps)).
    (PyTorch takes max(b2 u, |g| + eps) instead.)"""

    kind = _core.OptimKind.adamax

    def __init__(
        self,
        learning_rate: _LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        weight_decay: Optional[float] = None,
        name: str = "adamax",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay, name, kwargs)

    def _rule_state_names(self):
        return ["m", "u"]


class Nadam(_TwoBetas):
    """Keras's Nadam with its momentum-cache schedule u_t = b1 (1 - 0.5 * 0.96^(0.004 t)):
    m += (g - m)(1-b1); v += (g^2 - v)(1-b2);
    p -= lr (u_{t+1} m / (1 - prod u_..t+1) + (1 - u_t) g / (1 - prod u_..t)) /
    (sqrt(v / (1 - b2^t)) + eps). The product of u is computed in double from the step count
    (Keras keeps it as a float32 variable); this is PyTorch's NAdam too."""

    kind = _core.OptimKind.nadam

    def __init__(
        self,
        learning_rate: _LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        weight_decay: Optional[float] = None,
        name: str = "nadam",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay, name, kwargs)

    def _rule_state_names(self):
        return ["m", "v"]


class Lion(_TwoBetas):
    """Keras's Lion: p -= lr sign(b1 m + (1-b1) g); m = b2 m + (1-b2) g."""

    kind = _core.OptimKind.lion

    def __init__(
        self,
        learning_rate: _LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.99,
        weight_decay: Optional[float] = None,
        name: str = "lion",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, beta_1, beta_2, None, weight_decay, name, kwargs)

    def _rule_state_names(self):
        return ["m"]


_CLASSES = (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam, Lion)
_REGISTRY: Registry[Optimizer] = Registry(
    "optimizer",
    Optimizer,
    _CLASSES,
    names={c.__name__.lower(): c for c in _CLASSES},
    expected="a fusednet.optimizers.Optimizer",
)
get = (
    _REGISTRY.get
)  # an Optimizer from a lower-case name ("rmsprop"), a class name, or an Optimizer
serialize = _REGISTRY.serialize
deserialize = _REGISTRY.deserialize


def __getattr__(name: str) -> Any:
    # fusednet.optimizers.schedules, as in Keras (imported lazily: it is another module's file).
    if name == "schedules":
        from . import schedules

        return schedules
    raise AttributeError(name)
