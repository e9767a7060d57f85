"""Learning-rate schedules, with Keras's names, arguments and formulas.

A schedule maps the optimizer's iteration count ``step`` (0 for the first update) to a learning
rate: ``lr = schedule(step)``. ``step`` may also be a NumPy array of steps, which gives an array of
rates in one call -- a trainer that runs a whole epoch in C++ can fetch the epoch's rates at once.

Schedules serialize to ``{"class_name": ..., "config": ...}`` (Keras's form) so that a saved model
can restore its optimizer's schedule: ``deserialize(serialize(s))`` is an equal schedule.
Subclasses of :class:`LearningRateSchedule` register themselves by class name for
:func:`deserialize`.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional, Union

import numpy as np
import numpy.typing as npt

__all__ = ["LearningRateSchedule", "ExponentialDecay", "CosineDecay", "serialize", "deserialize"]

_REGISTRY: dict = {}


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    def __call__(self, step: Union[int, npt.ArrayLike]) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} must implement __call__(step) -> learning rate"
        )

    # The constructor arguments get_config() saves, as attributes of the same names.
    _config_keys: tuple = ()

    def get_config(self) -> dict:
        if not self._config_keys:
            raise NotImplementedError(
                f"{type(self).__name__} must implement get_config() to be saved"
            )
        return {key: getattr(self, key) for key in self._config_keys}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.get_config().items()))))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


# --- argument checks: the message names the argument, what was expected and what came ----------


def _real(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value}")
    return value


def _positive(value, name: str) -> float:
    value = _real(value, name)
    if value <= 0:
        raise ValueError(f"{name}: expected a number > 0, got {value}")
    return value


def _non_negative(value, name: str) -> float:
    value = _real(value, name)
    if value < 0:
        raise ValueError(f"{name}: expected a number >= 0, got {value}")
    return value


def _non_negative_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"{name}: expected an int >= 0, got {value}")
    return int(value)


def _as_number(x):
    """Keep ints as ints in configs (decay_steps=1000 round-trips as 1000, not 1000.0)."""
    return int(x) if isinstance(x, numbers.Integral) else float(x)


def _steps(step):
    """step as a float (scalar) or a float64 array; negative steps are a caller bug."""
    if isinstance(step, (np.ndarray, list, tuple)):
        arr = np.asarray(step, dtype=np.float64)
        if arr.size and not (arr >= 0).all():
            raise ValueError(f"step: expected iteration counts >= 0, got min {arr.min()}")
        return arr, True
    if isinstance(step, bool) or not isinstance(step, numbers.Real):
        raise TypeError(
            f"step: expected a number or an array of numbers, got {type(step).__name__}"
        )
    if not step >= 0:
        raise ValueError(f"step: expected an iteration count >= 0, got {step}")
    return float(step), False


# --- schedules -----------------------------------------------------------------------------------


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``.

    With ``staircase=True`` the exponent is ``floor(step / decay_steps)``: the rate drops by
    ``decay_rate`` every ``decay_steps`` steps instead of continuously.
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: float,
        decay_rate: float,
        staircase: bool = False,
        name: str = "ExponentialDecay",
    ) -> None:
        self.initial_learning_rate = _non_negative(initial_learning_rate, "initial_learning_rate")
        _positive(decay_steps, "decay_steps")
        self.decay_steps = _as_number(decay_steps)
        self.decay_rate = _positive(decay_rate, "decay_rate")
        if not isinstance(staircase, (bool, np.bool_)):
            raise TypeError(f"staircase: expected a bool, got {type(staircase).__name__}")
        self.staircase = bool(staircase)
        self.name = str(name)

    def __call__(self, step: Union[int, npt.ArrayLike]) -> Any:
        step, is_array = _steps(step)
        p = step / self.decay_steps
        if self.staircase:
            p = np.floor(p) if is_array else math.floor(p)
        if is_array:
            return self.initial_learning_rate * np.power(self.decay_rate, p)
        return self.initial_learning_rate * self.decay_rate**p

    _config_keys = ("initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name")


class CosineDecay(LearningRateSchedule):
    """Cosine decay (Loshchilov & Hutter, SGDR) with an optional linear warmup; Keras's formula.

    Without warmup (``warmup_target=None``)::

        s = min(step, decay_steps)
        lr = initial_learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)

    With ``warmup_target``: for ``step < warmup_steps`` the rate rises linearly from
    ``initial_learning_rate`` to ``warmup_target``; then it decays as above from ``warmup_target``
    over ``decay_steps`` more steps (``s = min(step, warmup_steps + decay_steps) - warmup_steps``).
    ``alpha`` is the final rate as a fraction of the rate the decay starts from.
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: float,
        alpha: float = 0.0,
        name: str = "CosineDecay",
        warmup_target: Optional[float] = None,
        warmup_steps: int = 0,
    ) -> None:
        self.initial_learning_rate = _non_negative(initial_learning_rate, "initial_learning_rate")
        _positive(decay_steps, "decay_steps")
        self.decay_steps = _as_number(decay_steps)
        self.alpha = _real(alpha, "alpha")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha: expected a fraction in [0, 1], got {self.alpha}")
        self.warmup_target = (
            None if warmup_target is None else _non_negative(warmup_target, "warmup_target")
        )
        self.warmup_steps = _non_negative_int(warmup_steps, "warmup_steps")
        self.name = str(name)

    def _decay(self, s, start_lr, is_array):
        cos = np.cos if is_array else math.cos
        cosine = 0.5 * (1.0 + cos(math.pi * (s / self.decay_steps)))
        return start_lr * ((1.0 - self.alpha) * cosine + self.alpha)

    def __call__(self, step: Union[int, npt.ArrayLike]) -> Any:
        step, is_array = _steps(step)
        minimum = np.minimum if is_array else min
        if self.warmup_target is None:
            return self._decay(
                minimum(step, self.decay_steps), self.initial_learning_rate, is_array
            )
        w = self.warmup_steps
        s = minimum(step, self.decay_steps + w)
        decayed = self._decay(s - w, self.warmup_target, is_array)
        if w == 0:
            return decayed
        warm = (self.warmup_target - self.initial_learning_rate) * (
            s / w
        ) + self.initial_learning_rate
        if is_array:
            return np.where(s < w, warm, decayed)
        return warm if s < w else decayed

    _config_keys = ("initial_learning_rate", "decay_steps", "alpha", "name")
    _config_keys += ("warmup_target", "warmup_steps")  # Keras 3's warmup


# --- serialization -------------------------------------------------------------------------------


def serialize(schedule: LearningRateSchedule) -> dict:
    """``{"class_name": "CosineDecay", "config": {...}}``: plain Python values, JSON-safe."""
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(f"schedule: expected a LearningRateSchedule, got {type(schedule).__name__}")
    return {"class_name": type(schedule).__name__, "config": dict(schedule.get_config())}


def deserialize(config: dict, custom_objects: dict | None = None) -> LearningRateSchedule:
    """The schedule that :func:`serialize` described. ``custom_objects`` maps extra class names
    to classes (they take precedence over the registered ones)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"config: expected a dict with 'class_name' and 'config' keys, got {config!r}"
        )
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _REGISTRY.get(name)
    if cls is None:
        known = ", ".join(sorted(set(_REGISTRY) | set(custom_objects or {})))
        raise ValueError(f"config: unknown learning-rate schedule {name!r}; known: {known}")
    return cls.from_config(dict(config.get("config", {})))
