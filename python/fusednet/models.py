"""Keras's ``keras.models`` names: ``Sequential``, ``Model``, ``load_model``,
``model_from_json``, ``model_from_config``."""

from __future__ import annotations

from .io import load_model
from .model import Model, Sequential
from .model._config import model_from_config, model_from_json

__all__ = ["Sequential", "Model", "load_model", "model_from_json", "model_from_config"]
