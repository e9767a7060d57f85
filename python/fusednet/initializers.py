"""Weight initializers with Keras's names and formulas, drawn from a NumPy ``Generator``.

A model seeds one ``numpy.random.default_rng(seed)`` and hands it to each layer's initializers in
layer order, so the same seed gives the same weights on every machine.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["Initializer", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "Zeros",
           "Ones", "get"]


def _fans(shape):
    if len(shape) == 1:
        return shape[0], shape[0]
    return shape[0], shape[1]


class Initializer:
    """``init(shape, rng) -> float32 array``; subclasses implement ``sample``."""

    name = "initializer"

    def __call__(self, shape, rng):
        return np.asarray(self.sample(tuple(int(s) for s in shape), rng), dtype=np.float32)

    def sample(self, shape, rng):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    def __repr__(self):
        return f"{type(self).__name__}()"


class GlorotUniform(Initializer):
    """U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out))."""
    name = "glorot_uniform"

    def sample(self, shape, rng):
        fan_in, fan_out = _fans(shape)
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=shape)


class GlorotNormal(Initializer):
    """Truncated normal (|x| < 2 stddev), stddev = sqrt(2 / (fan_in + fan_out)) / .87962566."""
    name = "glorot_normal"

    def sample(self, shape, rng):
        fan_in, fan_out = _fans(shape)
        return _truncated_normal(rng, shape, math.sqrt(2.0 / (fan_in + fan_out)) / .87962566103423978)


class HeUniform(Initializer):
    """U(-limit, limit), limit = sqrt(6 / fan_in)."""
    name = "he_uniform"

    def sample(self, shape, rng):
        fan_in, _ = _fans(shape)
        limit = math.sqrt(6.0 / fan_in)
        return rng.uniform(-limit, limit, size=shape)


class HeNormal(Initializer):
    """Truncated normal (|x| < 2 stddev), stddev = sqrt(2 / fan_in) / .87962566."""
    name = "he_normal"

    def sample(self, shape, rng):
        fan_in, _ = _fans(shape)
        return _truncated_normal(rng, shape, math.sqrt(2.0 / fan_in) / .87962566103423978)


class Zeros(Initializer):
    name = "zeros"

    def sample(self, shape, rng):
        return np.zeros(shape)


class Ones(Initializer):
    name = "ones"

    def sample(self, shape, rng):
        return np.ones(shape)


def _truncated_normal(rng, shape, stddev):
    """Normal samples redrawn until inside two standard deviations (as Keras's truncated normal)."""
    out = rng.standard_normal(size=shape)
    bad = np.abs(out) >= 2.0
    while bad.any():
        out[bad] = rng.standard_normal(size=int(bad.sum()))
        bad = np.abs(out) >= 2.0
    return out * stddev


_BY_NAME = {c.name: c for c in (GlorotUniform, GlorotNormal, HeUniform, HeNormal, Zeros, Ones)}


def get(identifier, name_of_arg: str = "initializer") -> Initializer:
    """An initializer from a name (``"glorot_uniform"`` ...) or an Initializer instance."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"{name_of_arg}: unknown initializer '{identifier}'; expected one of "
                             f"{', '.join(repr(k) for k in _BY_NAME)}")
        return cls()
    raise TypeError(f"{name_of_arg}: expected an initializer name or an Initializer, got "
                    f"{type(identifier).__name__}")


def serialize(init: Initializer):
    return init.name
