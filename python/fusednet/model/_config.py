"""The model's description and weights files in Keras's terms: ``from_config``, ``to_json``,
``save_weights``, ``load_weights`` (``model_from_json`` is in ``fusednet.models``).

``get_config()`` (on ``Sequential``) is ``{"name", "seed", "device", "layers": [{"class_name",
"config"}, ...]}``; ``to_json()`` wraps it as Keras does: ``{"class_name": "Sequential",
"config": ..., "module": "fusednet"}``. Both describe the architecture
only: a model rebuilt from them has the same layers and seed, hence the same initial weights,
but no trained weights and is not compiled (as in Keras).
"""

from __future__ import annotations

import json
import os
from typing import Any, Optional, TypeVar, Union

__all__ = ["ConfigAPI"]

_M = TypeVar("_M", bound="ConfigAPI")


class ConfigAPI:
    """The config / weights-file methods of ``Sequential``."""

    @classmethod
    def from_config(
        cls: type[_M], config: dict[str, Any], custom_objects: Optional[dict[str, Any]] = None
    ) -> _M:
        """The model ``get_config()`` described (architecture and seed; not compiled)."""
        from .. import layers as _layers

        if not isinstance(config, dict) or "layers" not in config:
            raise ValueError(
                "config: expected a Sequential config (a dict with 'layers'), got "
                f"{type(config).__name__}"
            )
        kwargs = {k: config[k] for k in ("name", "seed") if config.get(k) is not None}
        device = config.get("device", "auto")
        if device == "cuda":  # as saved when usable here
            from .. import _core

            if not _core.cuda_info().get("available"):
                device = "auto"
        return cls([_layers.deserialize(d) for d in config["layers"]], device=device, **kwargs)

    def to_json(self, **kwargs: Any) -> str:
        """The architecture as a JSON string (``json.dumps`` keyword arguments pass through)."""
        return json.dumps(
            {"module": "fusednet", "class_name": type(self).__name__, "config": self.get_config()},
            **kwargs,
        )

    def save_weights(self, filepath: Union[str, os.PathLike[str]], overwrite: bool = True) -> None:
        """Writes the weights (and the optimizer's state) to ``filepath``: the format of
        ``fusednet.io.save_weights``. ``overwrite=False`` refuses an existing file."""
        import os

        from .. import io

        if not overwrite and os.path.exists(os.fspath(filepath)):
            raise FileExistsError(f"save_weights: {os.fspath(filepath)} exists (overwrite=False)")
        io.save_weights(self, filepath)

    def load_weights(
        self, filepath: Union[str, os.PathLike[str]], skip_mismatch: bool = False
    ) -> None:
        """Reads a ``save_weights`` file into this model (see ``fusednet.io.load_weights``)."""
        from .. import io

        io.load_weights(self, filepath, skip_mismatch=skip_mismatch)
