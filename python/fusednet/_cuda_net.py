"""``CudaNet``: a CUDA ``_core.Net`` behind the interface of a CPU one, for ``Sequential``.

``Sequential`` (and the optimizers, the tape and io) work on a CPU net's zero-copy NumPy views of
the arenas: ``net.params``, ``net.grads``, ``net.optimizer_state(i)``, ``net.output_grad()``.
A CUDA net's arenas live on the GPU, so this wrapper keeps HOST MIRRORS of them with the same
names, and makes the host mirror the truth between calls:

- before a call that reads parameters (forward, fit, evaluate, predict, apply_update) the mirror
  is uploaded (the user may have written it through a Variable, set_weights or load);
- after a call that changes them (fit, train_epoch, apply_update, backward) the changed arenas
  are downloaded into the same arrays, so every view handed out stays valid.

Threads: a reader-writer lock (``_rwlock``) keeps each call's upload, run and download together:
predictions and evaluations (readers) run at once, and a call that changes the mirrors (fit,
updates, the explicit loop) waits for them, as the C++ lock of the device net does.

Inside one fit call the training is device-resident (no transfers per batch); the cost of the
mirror is one upload and one download of the arenas per call, which for the explicit
forward/backward/update loop means a few arena copies per batch (convenience, not speed).
"""

from __future__ import annotations

import contextlib

import numpy as np

from . import _core
from ._rwlock import RWLock

F32 = np.dtype(np.float32)


def _device_net(layers, input_dropout, seed):
    """The CUDA net a CudaNet mirrors (a seam the tests replace with a stand-in device)."""
    return _core.Net(layers, input_dropout, seed, _core.Device.cuda)


class CudaNet:
    """A CPU ``_core.Net``'s interface over a CUDA one (see the module docstring)."""

    device = _core.Device.cuda

    def __init__(self, layers, input_dropout, seed):
        self._d = _device_net(layers, input_dropout, seed)
        n = self._d.num_params
        self.params = np.zeros(n, dtype=F32)
        self.grads = np.zeros(n, dtype=F32)
        # The non-trainable statistics (BatchNormalization's moving ones): mirrored as params.
        self.stats = np.zeros(self._d.num_stats, dtype=F32)
        self._states = []
        self._out_grad = None  # host copy of the output delta after loss(); uploaded by backward
        self._lock = RWLock()

    # ---- plain pass-through ----
    num_params = property(lambda self: self._d.num_params)
    num_stats = property(lambda self: self._d.num_stats)
    input_width = property(lambda self: self._d.input_width)
    output_width = property(lambda self: self._d.output_width)
    seed = property(lambda self: self._d.seed, lambda self, v: setattr(self._d, "seed", int(v)))
    compiled = property(lambda self: self._d.compiled)
    has_optimizer = property(lambda self: self._d.has_optimizer)
    num_optimizer_states = property(lambda self: self._d.num_optimizer_states)

    def kernel_offset(self, i):
        return self._d.kernel_offset(i)

    def bias_offset(self, i):
        return self._d.bias_offset(i)

    def stats_offset(self, i):
        return self._d.stats_offset(i)

    def fused(self, spec=None):
        return self._d.fused(spec)

    def compile(self, loss, metrics):
        self._d.compile(loss, metrics)

    def _counter(name):  # noqa: N805 -- a property factory used in the class body
        return property(
            lambda self: getattr(self._d, name), lambda self, v: setattr(self._d, name, int(v))
        )

    step = _counter("step")
    train_forwards = _counter("train_forwards")
    epochs_shuffled = _counter("epochs_shuffled")
    max_resident_bytes = _counter("max_resident_bytes")
    stream_chunk_bytes = _counter("stream_chunk_bytes")
    del _counter

    @contextlib.contextmanager
    def holding_data(self):
        """Within it, the data sets given to train_epoch/evaluate are uploaded once and kept on
        the device (a fit with callbacks runs one call per epoch); the arrays must not change."""
        self._d.hold_data(True)
        try:
            yield
        finally:
            self._d.hold_data(False)

    # ---- optimizer state: host mirrors ----
    def set_optimizer(self, spec):
        with self._lock.writing():
            self._set_optimizer(spec)

    def _set_optimizer(self, spec):
        self._d.set_optimizer(spec)
        # The device's fresh state, not zeros: Adagrad's accumulator starts at its initial value.
        self._states = [
            np.array(self._d.get_optimizer_state(i), dtype=F32)
            for i in range(self._d.num_optimizer_states)
        ]

    def optimizer_state(self, i):
        if not 0 <= i < len(self._states):
            raise ValueError(f"optimizer state {i} does not exist")
        return self._states[i]

    # ---- mirror <-> device ----
    def _push(self, grads=False, states=False):
        self._d.set_params(self.params)
        self._d.set_stats(self.stats)
        if grads:
            self._d.set_grads(self.grads)
        if states:
            for i, s in enumerate(self._states):
                self._d.set_optimizer_state(i, s)

    def _pull(self, params=False, grads=False, states=False):
        if params:
            self.params[...] = self._d.get_params()
            self.stats[...] = self._d.get_stats()  # a training forward moves them
        if grads:
            self.grads[...] = self._d.get_grads()
        if states:
            for i, s in enumerate(self._states):
                s[...] = self._d.get_optimizer_state(i)

    # ---- one batch at a time ----
    def apply_update(self, lr):
        with self._lock.writing():
            self._push(grads=True, states=True)
            self._d.apply_update(lr)
            self._pull(params=True, states=True)

    def forward(self, x, training):
        with self._lock.writing():
            self._push()
            self._out_grad = None
            self._d.forward(x, training)
            if training and self.stats.size:
                self.stats[...] = self._d.get_stats()

    def forward_output(self, x, training):
        with self._lock.writing():
            self._push()
            self._out_grad = None
            out = self._d.forward_output(x, training)
            if training and self.stats.size:
                self.stats[...] = self._d.get_stats()
            return out

    def output(self):
        return self._d.output()

    def loss(self, y, sample_weight=None, spec=None):
        with self._lock.writing():
            value = self._d.loss(y, sample_weight, spec)
            self._out_grad = self._d.get_output_grad()
            return value

    def output_grad(self):
        """The output delta as a writable host array; backward() uploads what it holds."""
        if self._out_grad is None:
            self._out_grad = self._d.get_output_grad()
        return self._out_grad

    def backward(self, spec=None):
        with self._lock.writing():
            if self._out_grad is not None:
                self._d.set_output_grad(self._out_grad)
            self._d.backward(spec)
            self._pull(grads=True)

    # ---- whole data sets ----
    def train_epoch(self, *args, **kwargs):
        with self._lock.writing():
            self._push(states=True)
            try:
                return self._d.train_epoch(*args, **kwargs)
            finally:  # also after an exception in a batch callback: the updates made are kept
                self._pull(params=True, grads=True, states=True)
                self._out_grad = None

    def fit(self, *args, **kwargs):
        with self._lock.writing():
            self._push(states=True)
            try:
                return self._d.fit(*args, **kwargs)
            finally:
                self._pull(params=True, grads=True, states=True)
                self._out_grad = None

    # Readers: the upload of the mirror (the same values from every reader) and the run together.
    # A read from inside this thread's own fit (a batch callback) skips the upload: the device
    # holds the newer weights then, the mirror is brought back when the fit call returns.
    def evaluate(self, *args, **kwargs):
        with self._lock.reading() as nested:
            if not nested:
                self._push()
            return self._d.evaluate(*args, **kwargs)

    def set_data_parallel(self, *args, **kwargs):
        self._d.set_data_parallel(*args, **kwargs)

    def clear_data_parallel(self):
        self._d.clear_data_parallel()

    def last_metric_state(self):
        return self._d.last_metric_state()

    def predict(self, x, batch_size, out):
        with self._lock.reading() as nested:
            if not nested:
                self._push()
            self._d.predict(x, batch_size, out)
