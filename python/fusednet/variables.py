"""``Variable``: a window onto one weight (a Dense layer's kernel or bias, a normalization's gamma
or beta) of a model's parameter arena; ``NonTrainableVariable``: one onto its statistics arena
(BatchNormalization's moving mean / variance, Normalization's), which no optimizer touches.

The model's Net owns one float32 parameter arena and one gradient arena; a Variable holds views of
its slices of both, so reading or assigning it touches the Net's memory directly. The model
creates its Variables when it builds the Net, and re-points them when it moves to another device
(``model.to``). The optimizers and the tape take Variables from here, not from the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Variable", "NonTrainableVariable"]


class Variable:
    """A window onto one weight of a model's parameter arena (kernel or bias of a Dense layer).

    ``numpy()`` returns a copy; ``assign(value)`` writes in place; ``value`` is the live view.
    ``grad`` is a copy of its slice of the gradient arena (after backward / fit)."""

    __slots__ = ("name", "_model", "_view", "_grad_view", "__weakref__")
    trainable = True

    def __init__(self, name: str, model: Any, view: np.ndarray, grad_view: np.ndarray) -> None:
        self.name = name
        self._model = model
        self._view = view
        self._grad_view = grad_view

    @property
    def shape(self) -> tuple[int, ...]:
        return self._view.shape

    @property
    def dtype(self) -> np.dtype:
        return self._view.dtype

    @property
    def value(self) -> np.ndarray:
        return self._view

    @property
    def grad(self) -> np.ndarray:
        return self._grad_view.copy()

    def numpy(self) -> np.ndarray:
        return self._view.copy()

    def assign(self, value: npt.ArrayLike) -> Variable:
        arr = np.asarray(value)
        if arr.shape != self._view.shape:
            raise ValueError(f"{self.name}: expected shape {self._view.shape}, got {arr.shape}")
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"{self.name}: expected real numbers, got dtype {arr.dtype}")
        self._view[...] = arr
        return self

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self._view.copy() if dtype is None else self._view.astype(dtype)

    def __repr__(self) -> str:
        return f"<Variable '{self.name}' shape={self.shape} dtype=float32>"


class NonTrainableVariable(Variable):
    """A window onto one statistic of a model (BatchNormalization's moving mean or variance,
    Normalization's mean or variance): read and assigned as a Variable, no gradient."""

    __slots__ = ()
    trainable = False

    def __init__(self, name: str, model: Any, view: np.ndarray) -> None:
        super().__init__(name, model, view, view)

    @property
    def grad(self) -> None:  # type: ignore[override]
        return None
