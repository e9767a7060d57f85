"""``DataParallel`` (how fit and evaluate run over the ranks) and ``Session`` (one such call:
the agreement checks, the broadcast of the initial state, the hooks the Net calls).

The Net (csrc/net/net.h, ``DataParallel``) asks, per pass, for the plan of its steps, and per
training step hands over the gradients to sum: per layer as backward produces them (last layer
first) to a communication thread that sums each while backward goes on (``overlap=True``), or the
whole arena after backward (``overlap=False``). The sums are ``World.sum_``'s fixed rank order.

Scaling: each rank's loss is the mean over its own rows, so before the sum its gradient is scaled
by its rows / the global batch's rows; the sum is then the gradient of the mean over the global
batch (sample weights included: the loss divides the weighted sum by the rows, as alone).
"""

from __future__ import annotations

import hashlib
import queue
import threading
from typing import Any, Optional

import numpy as np

from ._world import DistributedError, current

__all__ = ["DataParallel", "Session", "strategy"]


class MismatchError(DistributedError):
    """The ranks were not given the same model or compatible data (raised on every rank)."""


class DataParallel:
    """How ``fit(..., distributed=...)`` and ``evaluate`` run over the ranks
    (``distributed=True`` is ``DataParallel()``).

    overlap: sum each layer's gradients while backward computes the layers below it (True), or
        the whole gradient arena once after backward (False). None (the default): True when the
        ranks span several machines (the sum crosses the network, backward can hide it), False
        when they share one (the shared-memory sum is a memory pass that a communication
        thread would only take cores from the compute for). Both give the same bits.
    sharded: False: every rank is given the whole data set (the same x, y on every rank); the
        shuffle is the one of a single process (seed and epoch), and rank k takes the k-th
        contiguous part of each global batch of ``batch_size`` rows (parts differ by at most one
        row). True: each rank is given only its own samples; rank k shuffles them (seed, epoch)
        and takes ``batch_size // K`` rows (one more for the first ``batch_size % K`` ranks) per
        step; global batch b is the union of every rank's batch b; an epoch lasts as many steps
        as the rank that needs most, the others adding no rows to the last ones.
    """

    def __init__(self, overlap: Optional[bool] = None, sharded: bool = False) -> None:
        self.overlap = None if overlap is None else bool(overlap)
        self.sharded = bool(sharded)

    def __repr__(self) -> str:
        return f"DataParallel(overlap={self.overlap}, sharded={self.sharded})"


def strategy(distributed: Any) -> Optional[DataParallel]:
    """None (one process) or the DataParallel of fit/evaluate's ``distributed`` argument."""
    if distributed is None or distributed is False:
        return None
    if distributed is True:
        return DataParallel()
    if isinstance(distributed, DataParallel):
        return distributed
    raise TypeError(
        f"distributed: expected a bool or fusednet.distributed.DataParallel, "
        f"got {type(distributed).__name__}"
    )


def _plan_whole(n, bs, rank, k):
    """Rank `rank`'s rows of each global batch of a data set every rank holds whole."""
    steps = -(-n // bs)
    first = np.arange(steps, dtype=np.int64) * bs
    total = np.minimum(bs, n - first)
    base, extra = total // k, total % k
    rows = base + (rank < extra)
    start = first + rank * base + np.minimum(rank, extra)
    return start, rows, total


def _plan_sharded(ns, bs, rank, k):
    """Rank `rank`'s rows of each global batch when rank j holds ns[j] samples of its own."""
    if bs < k:
        raise ValueError(
            f"batch_size: expected at least one row per rank with sharded input ({k} ranks), "
            f"got {bs}"
        )
    per = [bs // k + (j < bs % k) for j in range(k)]
    steps = max((-(-n // p) if p else 0) for n, p in zip(ns, per))
    b = np.arange(steps, dtype=np.int64)
    all_rows = [np.clip(n - b * p, 0, p) for n, p in zip(ns, per)]
    start = np.minimum(b * per[rank], ns[rank])
    return start, all_rows[rank], np.sum(all_rows, axis=0)


def _with_first(ns, bs, rank, k, sharded):
    """Rank `rank`'s plan and, per step, where its rows begin in the global batch: after the
    rows of the ranks before it (the global batch is the ranks' rows in rank order; dropout
    masks follow that row, so K ranks draw one process's masks)."""
    plan = _plan_sharded if sharded else (lambda ns, bs, r, k: _plan_whole(ns[0], bs, r, k))
    mine = plan(ns, bs, rank, k)
    first = np.zeros(len(mine[1]), np.int64)
    for r in range(rank):
        first += plan(ns, bs, r, k)[1]
    return (*mine, first)


class _Reducer:
    """The communication thread of overlap mode: sums the handed-over slices in order."""

    def __init__(self, world):
        self.world = world
        self.q = queue.Queue()
        self.error = None
        self.thread = threading.Thread(target=self._run, name="fusednet-allreduce", daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            item = self.q.get()
            try:
                if item is None:
                    return
                if self.error is None:
                    self.world.sum_(item[0], item[1], "the gradient sum")
            except BaseException as e:  # noqa: BLE001 -- raised again by wait()
                self.error = e
            finally:
                self.q.task_done()

    def put(self, view, scale):
        self.q.put((view, scale))

    def wait(self):
        self.q.join()
        if self.error is not None:
            e, self.error = self.error, None
            raise e

    def close(self):
        self.q.put(None)
        if self.world.broken is None:  # else it may be polling a sum nobody else finishes
            self.thread.join()


def _layer_facts(model):
    specs, input_dropout = model._specs
    return (
        [
            (
                s.in_width,
                s.units,
                str(s.activation),
                s.activation_param,
                s.use_bias,
                s.dropout_after,
            )
            for s in specs
        ],
        input_dropout,
    )


class Session:
    """One distributed fit or evaluate of `model` (see the module docstring)."""

    def __init__(self, dp, model):
        self.dp = dp
        self.model = model
        self.world = current()
        self.rank, self.size = self.world.rank, self.world.size
        self.is_main = self.rank == 0
        self._reducer = None
        self._net = None

    # ---- agreement ---------------------------------------------------------------------------
    def agree(self, what, facts):
        """Every rank's `facts` (a dict) equal to rank 0's, else MismatchError on every rank."""
        every = self.world.allgather(facts, what)
        for r, f in enumerate(every[1:], 1):
            for key, value in every[0].items():
                if f.get(key) != value:
                    raise MismatchError(
                        f"{what}: rank {r} differs from rank 0 in {key}: {f.get(key)!r} on "
                        f"rank {r}, {value!r} on rank 0"
                    )
        return every

    def model_facts(self, model):
        layers, input_dropout = _layer_facts(model)
        return {
            "the layers (in, units, activation, param, bias, dropout)": layers,
            "input dropout": input_dropout,
            "loss": type(model.loss_fn).__name__,
            "metrics": list(model._metric_names),
            "optimizer": (type(model.optimizer).__name__, repr(model.optimizer.get_config())),
            "data-parallel mode": repr(self.dp),
        }

    @staticmethod
    def data_facts(name, x, y, sw, sharded):
        facts = {
            f"{name} features": x.shape[1:],
            f"{name} targets": (str(y.dtype), y.shape[1:]),
            f"{name} sample_weight given": sw is not None,
        }
        if not sharded:
            facts[f"{name} samples (sharded=False: every rank holds the whole set)"] = len(x)
        return facts

    def weights_digest(self):
        return hashlib.blake2b(np.ascontiguousarray(self.model._net.params).tobytes()).hexdigest()

    # ---- the initial state -------------------------------------------------------------------
    def broadcast_state(self):
        """Rank 0's seed, weights, statistics, optimizer state and counters on every rank."""
        model, net, w = self.model, self.model._net, self.world
        seeds = w.allgather(int(model.seed), "the seeds")
        if seeds[self.rank] != seeds[0]:  # shuffles and masks follow rank 0's seed
            model.seed = seeds[0]
            net.seed = seeds[0]
        w.broadcast_(net.params, 0, "the initial weights")
        if net.num_stats:  # BatchNormalization's moving statistics (synced from here on)
            w.broadcast_(net.stats, 0, "the moving statistics")
        for i in range(net.num_optimizer_states):
            w.broadcast_(net.optimizer_state(i), 0, "the optimizer state")
        counters = np.array([net.step, net.train_forwards, net.epochs_shuffled], np.int64)
        w.broadcast_(counters, 0, "the counters")
        net.step, net.train_forwards, net.epochs_shuffled = (int(c) for c in counters)

    # ---- the Net's hooks ---------------------------------------------------------------------
    def _plan(self, n, batch_size):
        every = self.world.allgather((int(n), int(batch_size)), "a pass's plan")
        if len({bs for _, bs in every}) > 1:
            raise MismatchError(f"batch_size differs between ranks: {[bs for _, bs in every]}")
        ns = [m for m, _ in every]
        if not self.dp.sharded and len(set(ns)) > 1:
            raise MismatchError(
                f"the ranks hold different numbers of samples {ns}: with sharded=False every "
                f"rank must be given the whole data set (or use DataParallel(sharded=True))"
            )
        return _with_first(ns, batch_size, self.rank, self.size, self.dp.sharded)

    def _reduce(self, view, offset, scale):
        if self._reducer is not None:
            self._reducer.put(view, scale)
        else:
            self.world.sum_(view, scale, "the gradient sum")

    def _wait(self):
        if self._reducer is not None:
            self._reducer.wait()

    def _sum(self, view):
        self.world.sum_(view, 1.0, "the pass's loss and metrics")

    def any(self, flag):
        return self.world.any(flag)

    def attach(self, batch_stops=False):
        """The Net runs data-parallel until detach(); batch_stops: a rank may stop an epoch
        after any batch (all then stop after that batch)."""
        net = self.model._net
        overlap = self.dp.overlap
        if overlap is None:
            overlap = self.world.shared is None and self.size > 1
        if overlap and self.size > 1:
            self._reducer = _Reducer(self.world)
        net.set_data_parallel(
            self.rank,
            overlap,
            self._plan,
            self._reduce,
            self._wait,
            self._sum,
            self.any if batch_stops else None,
        )
        self._net = net

    def detach(self):
        if self._net is not None:
            self._net.clear_data_parallel()
            self._net = None
        if self._reducer is not None:
            self._reducer.close()
            self._reducer = None

    def failed(self, exc):
        """This rank raised `exc` during the call: the others are told (unless every rank
        raises it anyway)."""
        if not isinstance(exc, (MismatchError, DistributedError)):
            self.world.fail(exc)
