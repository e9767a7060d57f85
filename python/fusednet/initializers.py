"""Weight initializers with Keras's names and formulas, drawn from a NumPy ``Generator``.

A model seeds one ``numpy.random.default_rng(seed)`` and hands it to each layer's initializers in
layer order, so the same seed gives the same weights on every machine.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._registry import Registry

__all__ = [
    "Initializer",
    "GlorotUniform",
    "GlorotNormal",
    "HeUniform",
    "HeNormal",
    "Zeros",
    "Ones",
    "get",
]


def _fans(shape):
    if len(shape) == 1:
        return shape[0], shape[0]
    return shape[0], shape[1]


class Initializer:
    """``init(shape, rng) -> float32 array``; subclasses implement ``sample``."""

    name = "initializer"

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return np.asarray(self.sample(tuple(int(s) for s in shape), rng), dtype=np.float32)

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> Any:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class GlorotUniform(Initializer):
    """U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out))."""

    name = "glorot_uniform"

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> Any:
        fan_in, fan_out = _fans(shape)
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=shape)


class GlorotNormal(Initializer):
    """Truncated normal (|x| < 2 stddev), stddev = sqrt(2 / (fan_in + fan_out)) / .87962566."""

    name = "glorot_normal"

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> Any:
        fan_in, fan_out = _fans(shape)
        return _truncated_normal(
            rng, shape, math.sqrt(2.0 / (fan_in + fan_out)) / 0.87962566103423978
        )


class HeUniform(Initializer):
    """U(-limit, limit), limit = sqrt(6 / fan_in)."""

    name = "he_uniform"

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> Any:
        fan_in, _ = _fans(shape)
        limit = math.sqrt(6.0 / fan_in)
        return rng.uniform(-limit, limit, size=shape)


class HeNormal(Initializer):
    """Truncated normal (|x| < 2 stddev), stddev = sqrt(2 / fan_in) / .87962566."""

    name = "he_normal"

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> Any:
        fan_in, _ = _fans(shape)
        return _truncated_normal(rng, shape, math.sqrt(2.0 / fan_in) / 0.87962566103423978)


class Zeros(Initializer):
    name = "zeros"

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> Any:
        return np.zeros(shape)


class Ones(Initializer):
    name = "ones"

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> Any:
        return np.ones(shape)


def _truncated_normal(rng, shape, stddev):
    """Normal samples redrawn until inside two standard deviations (as Keras's truncated normal)."""
    out = rng.standard_normal(size=shape)
    bad = np.abs(out) >= 2.0
    while bad.any():
        out[bad] = rng.standard_normal(size=int(bad.sum()))
        bad = np.abs(out) >= 2.0
    return out * stddev


_CLASSES = (GlorotUniform, GlorotNormal, HeUniform, HeNormal, Zeros, Ones)
_REGISTRY: Registry[Initializer] = Registry(
    "initializer",
    Initializer,
    _CLASSES,
    names={c.name: c for c in _CLASSES},
    expected="an Initializer",
)
get = _REGISTRY.get  # an Initializer from "glorot_uniform", ..., a class name, or an Initializer


def serialize(init: Initializer) -> str:
    """The initializer's name: what ``get`` takes back."""
    return init.name
