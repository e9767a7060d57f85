"""The loss and metrics of several net calls together (batches fed one call each: a PyDataset,
evaluate's per-batch callbacks): the loss as the row-weighted mean, each metric from its states
added in call order (``Net.last_metric_state``), so AUC, Precision, F1, R2 ... are those of all
the rows, not a mean of per-batch values -- the same sums a whole-array pass adds."""

from __future__ import annotations

import numpy as np

from .. import _core

__all__ = ["MetricSum"]


class MetricSum:
    def __init__(self, net, specs):
        self.net, self.specs = net, specs
        self.rows, self.loss = 0, 0.0
        self.state = None

    def add(self, loss):
        """Adds the net's last train_epoch / evaluate, whose mean loss is `loss`."""
        state, rows = self.net.last_metric_state()
        self.state = np.array(state) if self.state is None else self.state + state
        self.rows += rows
        self.loss += loss * rows

    def results(self):
        """(mean loss, the metrics' concatenated results) over every call added."""
        if self.state is None:
            return 0.0, []
        metrics = _core.metric_results(
            self.specs, self.state, float(self.rows), self.net.output_width
        )
        return self.loss / self.rows if self.rows else 0.0, metrics
