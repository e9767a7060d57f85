"""Saving and loading models: one ``.npz`` file (a zip of NumPy arrays, read without pickle).

Contents: ``header`` (UTF-8 JSON: format name and version, architecture, seed, compile config
with the optimizer's config and schedule, counters: optimizer step, training forwards, shuffled
epochs), ``params`` (the parameter arena) and ``opt_<name>`` (each optimizer state arena). With
the counters and states restored, a loaded model continues training bit-identically to the
original. Files are written atomically: a temporary file in the same directory, flushed and
fsynced, then ``os.replace`` -- a crash mid-save leaves the previous file intact.
"""

from __future__ import annotations

import contextlib
import io as _io
import json
import os
import tempfile
from typing import IO, Any, Callable, Optional, Union

import numpy as np

from . import _core, layers, losses, metrics, optimizers
from .model import Sequential

FORMAT = "fusednet.model"
VERSION = 1

__all__ = [
    "save_model",
    "load_model",
    "model_to_bytes",
    "model_from_bytes",
    "save_weights",
    "load_weights",
]


def _payload(model: Sequential) -> dict[str, np.ndarray]:
    header = {
        "format": FORMAT,
        "version": VERSION,
        "config": model.get_config(),
        "built": model.built,
        "compile": None,
        "counters": None,
    }
    arrays = {}
    if model.compiled:
        header["compile"] = {
            "optimizer": optimizers.serialize(model.optimizer),
            "loss": losses.serialize(model.loss_fn),
            "metrics": [metrics.serialize(m) for m in model._metric_entries],
        }
    if model.built:
        net = model._net
        arrays["params"] = np.array(net.params)
        header["counters"] = {
            "step": int(net.step),
            "train_forwards": int(net.train_forwards),
            "epochs_shuffled": int(net.epochs_shuffled),
            "input_width": int(net.input_width),
        }
        if model.compiled and model._optimizer_owner is model.optimizer:
            for name, arr in model.optimizer._read_state().items():
                arrays["opt_" + name] = arr
    arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    return arrays


def _write(model: Sequential, f: Any) -> None:
    np.savez(f, **_payload(model))


def model_to_bytes(model: Sequential) -> bytes:
    buf = _io.BytesIO()
    _write(model, buf)
    return buf.getvalue()


def save_model(model: Sequential, filepath: Union[str, os.PathLike[str]]) -> None:
    _write_atomically(filepath, lambda f: _write(model, f))


def _write_atomically(
    filepath: Union[str, os.PathLike[str]], write: Callable[[IO[bytes]], Any]
) -> None:
    """write(f) into a temporary file beside `filepath`, fsynced, then renamed over it."""
    filepath = os.fspath(filepath)
    directory = os.path.dirname(os.path.abspath(filepath))
    fd, tmp = tempfile.mkstemp(prefix=".fusednet-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read(f: Any, device: Optional[str]) -> Sequential:
    try:
        with np.load(f, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except Exception as e:  # not a zip / truncated
        raise ValueError(f"not a fusednet model file ({type(e).__name__}: {e})") from None
    if "header" not in data:
        raise ValueError("not a fusednet model file (no header)")
    header = json.loads(bytes(data["header"]).decode("utf-8"))
    if header.get("format") != FORMAT:
        raise ValueError(f"not a fusednet model file (format {header.get('format')!r})")
    if header.get("version", 0) > VERSION:
        raise ValueError(
            f"model file format version {header['version']} is newer than this "
            f"fusednet supports ({VERSION}); upgrade fusednet"
        )
    cfg = header["config"]
    if device is None:  # as saved, when that device is usable here (pickle, copy.deepcopy)
        device = cfg.get("device", "auto")
        if device == "cuda" and not _core.cuda_info().get("available"):
            device = "auto"
    model = Sequential(
        [layers.deserialize(d) for d in cfg["layers"]],
        device=device,
        seed=cfg["seed"],
        name=cfg.get("name"),
    )
    counters = header.get("counters")
    if header.get("built"):
        model.build((None, counters["input_width"]))
        params = data["params"]
        if params.shape != model._net.params.shape:
            raise ValueError("model file: parameter count does not match the architecture")
        model._net.params[...] = params
    comp = header.get("compile")
    if comp:
        opt = optimizers.deserialize(comp["optimizer"])
        state = {k[4:]: v for k, v in data.items() if k.startswith("opt_")}
        if counters is not None:
            opt.load_state_dict(
                {"class_name": type(opt).__name__, "iterations": counters["step"], "state": state}
            )
        model.compile(optimizer=opt, loss=losses.deserialize(comp["loss"]), metrics=comp["metrics"])
    if counters is not None:
        net = model._net
        net.step = counters["step"]
        net.train_forwards = counters["train_forwards"]
        net.epochs_shuffled = counters["epochs_shuffled"]
    return model


def model_from_bytes(b: bytes, device: Optional[str] = "auto") -> Sequential:
    """The model of ``model_to_bytes``, on ``device`` ("auto", "cpu" or "cuda"; None: the
    device it was saved from when usable here)."""
    return _read(_io.BytesIO(b), device)


def load_model(
    filepath: Union[str, os.PathLike[str]], device: Optional[str] = "auto"
) -> Sequential:
    """A model saved with ``model.save(path)``, ready to predict or to continue training, on
    ``device`` ("auto", "cpu" or "cuda", as ``Sequential``)."""
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"load_model: no such file: {filepath}")
    with open(filepath, "rb") as f:
        return _read(f, device)


# ---- weights files (model.save_weights / load_weights) -------------------------------------
WEIGHTS_FORMAT = "fusednet.weights"


def _weights_payload(model: Sequential) -> dict[str, np.ndarray]:
    weights = model.get_weights()
    names = [getattr(v, "name", "") for v in model.weights]
    if len(names) != len(weights):
        names = [f"weight_{i}" for i in range(len(weights))]
    header = {
        "format": WEIGHTS_FORMAT,
        "version": VERSION,
        "weights": [{"name": n, "shape": list(w.shape)} for n, w in zip(names, weights)],
        "optimizer": None,
        "counters": None,
    }
    arrays = {f"weight_{i:04d}": np.asarray(w) for i, w in enumerate(weights)}
    net = model._net
    opt = model.optimizer
    if model.compiled and model._optimizer_owner is opt:
        state = opt._read_state()
        header["optimizer"] = {
            "class_name": type(opt).__name__,
            "iterations": int(net.step),
            "state": sorted(state),
        }
        arrays.update(("opt_" + k, v) for k, v in state.items())
    header["counters"] = {
        "train_forwards": int(net.train_forwards),
        "epochs_shuffled": int(net.epochs_shuffled),
    }
    arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    return arrays


def save_weights(model: Sequential, filepath: Union[str, os.PathLike[str]]) -> None:
    """Writes ``model``'s weights to one ``.npz`` file (any suffix; Keras's ``.weights.h5``
    name works but the content is this format), atomically.

    Contents: ``header`` (UTF-8 JSON: format ``"fusednet.weights"``, version, each weight's name
    and shape in ``get_weights`` order, the optimizer's class, iteration count and state names
    when the model is compiled and has trained, the seeded counters of dropout masks and
    shuffles), ``weight_0000`` .. (float32 arrays, ``get_weights`` order) and ``opt_<name>``
    (the optimizer's state arenas). Like Keras 3's weights files it holds the optimizer state.
    """
    model._require_built()
    _write_atomically(filepath, lambda f: np.savez(f, **_weights_payload(model)))


def load_weights(
    model: Sequential, filepath: Union[str, os.PathLike[str]], skip_mismatch: bool = False
) -> None:
    """Puts back what ``save_weights`` wrote: the weights (same count and shapes, checked
    before anything is written), and, when the model's optimizer is of the saved class, its
    state and iteration count; the seeded counters too, so training continues as the saved
    model would have. ``skip_mismatch=True`` (Keras) skips weights whose shape differs."""
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"load_weights: no such file: {filepath}")
    try:
        with np.load(filepath, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        header = json.loads(bytes(data["header"]).decode("utf-8"))
    except Exception as e:  # not a zip / truncated / no header
        raise ValueError(
            f"load_weights: {filepath} is not a fusednet weights file ({type(e).__name__}: {e})"
        ) from None
    if header.get("format") != WEIGHTS_FORMAT:
        raise ValueError(
            f"load_weights: {filepath} is not a fusednet weights file "
            f"(format {header.get('format')!r})"
        )
    if header.get("version", 0) > VERSION:
        raise ValueError(
            f"weights file format version {header['version']} is newer than this fusednet "
            f"supports ({VERSION}); upgrade fusednet"
        )
    model._require_built()
    saved = [data[f"weight_{i:04d}"] for i in range(len(header["weights"]))]
    current = model.get_weights()
    if len(saved) != len(current):
        raise ValueError(
            f"load_weights: the file holds {len(saved)} weight arrays, the model has {len(current)}"
        )
    for i, (s, c) in enumerate(zip(saved, current)):
        if s.shape != c.shape:
            if not skip_mismatch:
                name = header["weights"][i]["name"]
                raise ValueError(
                    f"load_weights: weight {i} ({name}) has shape {s.shape} in the file, the "
                    f"model's is {c.shape}"
                )
            saved[i] = c
    model.set_weights(saved)
    opt_info = header.get("optimizer")
    if opt_info and model.compiled:
        opt = model.optimizer
        if type(opt).__name__ == opt_info["class_name"]:
            state = {k: data["opt_" + k] for k in opt_info["state"]}
            opt._bind(model)
            opt.load_state_dict(
                {
                    "class_name": opt_info["class_name"],
                    "iterations": opt_info["iterations"],
                    "state": state,
                }
            )
        else:
            import warnings

            warnings.warn(
                f"load_weights: the file holds the state of a {opt_info['class_name']}, the "
                f"model's optimizer is a {type(opt).__name__}: its state was not loaded",
                stacklevel=3,
            )
    counters = header.get("counters")
    if counters:
        model._net.train_forwards = counters["train_forwards"]
        model._net.epochs_shuffled = counters["epochs_shuffled"]
