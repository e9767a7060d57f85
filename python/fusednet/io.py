"""Saving and loading models: one ``.npz`` file (a zip of NumPy arrays, read without pickle).

Contents: ``header`` (UTF-8 JSON: format name and version, architecture, seed, compile config
with the optimizer's config and schedule, counters: optimizer step, training forwards, shuffled
epochs), ``params`` (the parameter arena), ``stats`` (the statistics arena: BatchNormalization's
moving mean / variance, Normalization's; only when the model has them) and ``opt_<name>`` (each
optimizer state arena). With
the counters and states restored, a loaded model continues training bit-identically to the
original. Files are written atomically: a temporary file in the same directory, flushed and
fsynced, then ``os.replace`` -- a crash mid-save leaves the previous file intact. The temporary
is named after the target and the saving process (``.fusednet-<name>.<pid>.<random>.tmp``), so
the next save of the same target removes those left by processes that died mid-save; the saved
file gets the mode a plain ``open()`` would give it (0666 less the umask, or the mode of the
file it replaces).

Loading treats the file as untrusted: no pickle, a missing entry or a wrong type is a ValueError
naming it, and the parameter count the architecture implies is checked against the arrays
actually present before anything is allocated.
"""

from __future__ import annotations

import contextlib
import errno
import io as _io
import json
import os
import secrets
from typing import IO, Any, Callable, Optional, Union

import numpy as np

from . import _core, layers, losses, metrics, optimizers
from .model import Sequential, _specs

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
        if net.num_stats:
            arrays["stats"] = np.array(net.stats)
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


def _tmp_prefix(filepath) -> str:
    return ".fusednet-" + os.path.basename(filepath) + "."


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # this process: maybe another thread saving the same target right now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: leave its file alone
    return True


def _remove_stale_temporaries(directory, filepath) -> None:
    """Removes the temporaries of earlier saves of `filepath` whose process is gone (killed
    mid-save); those of live processes may still be written."""
    prefix = _tmp_prefix(filepath)
    with contextlib.suppress(OSError):
        for name in os.listdir(directory):
            if not (name.startswith(prefix) and name.endswith(".tmp")):
                continue
            pid = name[len(prefix) :].split(".", 1)[0]
            if pid.isdigit() and not _pid_alive(int(pid)):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(directory, name))


def _create_tmp(directory, filepath):
    """(fd, path) of a new temporary beside `filepath`, created with mode 0666 so the umask
    applies as to a plain open() (mkstemp's 0600 would make every saved model private)."""
    for _ in range(100):
        tmp = os.path.join(
            directory, f"{_tmp_prefix(filepath)}{os.getpid()}.{secrets.token_hex(6)}.tmp"
        )
        try:
            return os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
            ), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", directory)


def save_model(model: Sequential, filepath: Union[str, os.PathLike[str]]) -> None:
    _write_atomically(filepath, lambda f: _write(model, f))


def _write_atomically(
    filepath: Union[str, os.PathLike[str]], write: Callable[[IO[bytes]], Any]
) -> None:
    """write(f) into a temporary file beside `filepath`, fsynced, then renamed over it."""
    filepath = os.fspath(filepath)
    directory = os.path.dirname(os.path.abspath(filepath))
    _remove_stale_temporaries(directory, filepath)
    fd, tmp = _create_tmp(directory, filepath)
    try:
        with contextlib.suppress(OSError):  # replacing a file: keep its mode, as open() would
            os.chmod(tmp, os.stat(filepath).st_mode & 0o7777)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _entry(mapping, key, what, kind=None):
    """mapping[key], or ValueError naming what is missing (or of the wrong type)."""
    if not isinstance(mapping, dict) or key not in mapping:
        raise ValueError(f"model file: {what} has no {key!r} entry")
    value = mapping[key]
    if kind is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise ValueError(
            f"model file: {what}[{key!r}] is a {type(value).__name__}, expected {kind.__name__}"
        )
    return value


def _float32_array(data, key):
    arr = data[key]
    if arr.dtype != np.float32:  # complex would be cast silently, ints are not what we wrote
        raise ValueError(f"model file: {key!r} has dtype {arr.dtype}, expected float32")
    return arr


def _param_count(built_layers, input_width) -> tuple[int, int]:
    """The (parameter, statistic) counts the architecture implies (Python ints: no overflow)."""
    return _specs.param_count(built_layers, input_width)


def _read(f: Any, device: Optional[str]) -> Sequential:
    try:
        with np.load(f, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except Exception as e:  # not a zip / truncated
        raise ValueError(f"not a fusednet model file ({type(e).__name__}: {e})") from None
    if "header" not in data:
        raise ValueError("not a fusednet model file (no header)")
    try:
        header = json.loads(bytes(data["header"]).decode("utf-8"))
    except RecursionError:
        raise ValueError("model file: the header JSON is nested too deeply") from None
    except ValueError as e:  # bad UTF-8 or JSON
        raise ValueError(f"model file: the header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise ValueError(f"model file: the header is a {type(header).__name__}, expected an object")
    if header.get("format") != FORMAT:
        raise ValueError(f"not a fusednet model file (format {header.get('format')!r})")
    version = header.get("version", 0)
    if not isinstance(version, int) or version > VERSION:
        raise ValueError(
            f"model file format version {version!r} is newer than this "
            f"fusednet supports ({VERSION}); upgrade fusednet"
        )
    cfg = _entry(header, "config", "the header", dict)
    layer_cfgs = _entry(cfg, "layers", "the config", list)
    if device is None:  # as saved, when that device is usable here (pickle, copy.deepcopy)
        device = cfg.get("device", "auto")
        if device == "cuda" and not _core.cuda_info().get("available"):
            device = "auto"
    try:
        built_layers = [layers.deserialize(d) for d in layer_cfgs]
    except (KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"model file: a layer's description is incomplete ({e!r})") from None
    # Built only below, from the file's own input width, after the size checks (a model whose
    # first layer has input_shape would otherwise allocate its parameters right away).
    model = Sequential(
        device=device, seed=_entry(cfg, "seed", "the config", int), name=cfg.get("name")
    )
    for layer in built_layers:
        model.add(layer)
    counters = header.get("counters")
    if header.get("built"):
        counters = _entry(header, "counters", "the header (of a built model)", dict)
        for key in ("step", "train_forwards", "epochs_shuffled", "input_width"):
            _entry(counters, key, "the counters", int)
        if "params" not in data:
            raise ValueError("model file: a built model without a 'params' array")
        params = _float32_array(data, "params")
        width = counters["input_width"]
        expected, n_stats = _param_count(built_layers, width) if width >= 1 else (-1, 0)
        if params.ndim != 1 or params.size != expected:
            raise ValueError(
                f"model file: parameter count does not match the architecture (the layers "
                f"need {expected}, the file holds {params.size})"
            )
        stats = _float32_array(data, "stats") if "stats" in data else np.zeros(0, np.float32)
        if stats.ndim != 1 or stats.size != n_stats:
            raise ValueError(
                f"model file: statistics count does not match the architecture (the layers "
                f"need {n_stats}, the file holds {stats.size})"
            )
        model.build((None, width))
        model._net.params[...] = params
        model._net.stats[...] = stats
    comp = header.get("compile")
    if comp:
        opt = optimizers.deserialize(_entry(comp, "optimizer", "the compile config", dict))
        state = {k[4:]: _float32_array(data, k) for k in data if k.startswith("opt_")}
        if counters is not None:
            opt.load_state_dict(
                {"class_name": type(opt).__name__, "iterations": counters["step"], "state": state}
            )
        model.compile(
            optimizer=opt,
            loss=losses.deserialize(_entry(comp, "loss", "the compile config", dict)),
            metrics=comp.get("metrics"),
        )
    if counters is not None and model.built:
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
