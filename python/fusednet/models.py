"""Keras's ``keras.models`` names: ``Sequential``, ``Model``, ``load_model``,
``model_from_json``, ``model_from_config``."""

from __future__ import annotations

import json
from typing import Any, Optional, Union

from . import load_model  # the package's (io imports the model: no second path to io here)
from .model import Model, Sequential

__all__ = ["Sequential", "Model", "load_model", "model_from_json", "model_from_config"]


def model_from_config(
    config: dict[str, Any], custom_objects: Optional[dict[str, Any]] = None
) -> Sequential:
    """A Sequential from ``{"class_name": "Sequential", "config": ...}`` or a bare config."""
    if isinstance(config, dict) and "class_name" in config:
        if config["class_name"] not in ("Sequential", "Model"):
            raise ValueError(
                f"config: fusednet rebuilds Sequential models only, got class "
                f"{config['class_name']!r}"
            )
        config = config.get("config")
    return Sequential.from_config(config)


def model_from_json(
    json_string: Union[str, bytes], custom_objects: Optional[dict[str, Any]] = None
) -> Sequential:
    """The model ``model.to_json()`` described (Keras ``keras.models.model_from_json``)."""
    if not isinstance(json_string, (str, bytes)):
        raise TypeError(f"json_string: expected a JSON string, got {type(json_string).__name__}")
    try:
        config = json.loads(json_string)
    except json.JSONDecodeError as e:
        raise ValueError(f"json_string: not valid JSON ({e})") from None
    return model_from_config(config, custom_objects)
