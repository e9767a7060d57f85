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
from typing import Optional, Union

import numpy as np

from . import _core, layers, losses, optimizers
from .model import Sequential

FORMAT = "fusednet.model"
VERSION = 1

__all__ = ["save_model", "load_model", "model_to_bytes", "model_from_bytes"]


def _payload(model):
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
            "metrics": list(model._metric_names),
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


def _write(model, f):
    np.savez(f, **_payload(model))


def model_to_bytes(model: Sequential) -> bytes:
    buf = _io.BytesIO()
    _write(model, buf)
    return buf.getvalue()


def save_model(model: Sequential, filepath: Union[str, os.PathLike[str]]) -> None:
    filepath = os.fspath(filepath)
    directory = os.path.dirname(os.path.abspath(filepath))
    fd, tmp = tempfile.mkstemp(prefix=".fusednet-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            _write(model, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read(f, device):
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
