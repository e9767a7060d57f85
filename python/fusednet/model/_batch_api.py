"""Keras's single-batch calls: ``train_on_batch``, ``test_on_batch``, ``predict_on_batch``.

Each is one C++ call on the whole given batch (one optimizer step for train_on_batch), with the
same loss, metrics and update as a fit batch.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import numpy.typing as npt

from . import _fit_options, _inputs

__all__ = ["BatchAPI"]


class BatchAPI:
    """The single-batch methods of ``Sequential``."""

    def _batch_data(
        self,
        what: str,
        x: npt.ArrayLike,
        y: Optional[npt.ArrayLike],
        sample_weight: Optional[npt.ArrayLike],
    ) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        self._require_compiled(what)
        x = self._prepare_x(x)
        n = len(x)
        if n == 0:
            raise ValueError("x: expected at least one sample, got 0")
        y = _inputs.targets(y, n, self.loss_fn, self._net.output_width)
        sw = _inputs.sample_weights(sample_weight, n)
        self._last_out = None  # the workspace will no longer hold an explicit-loop forward
        return x, y, sw

    def _batch_result(self, loss: float, metrics: list[float], return_dict: bool) -> Any:
        logs = self._logs(loss, metrics)
        if return_dict:
            return logs
        return list(logs.values()) if self._metric_names else loss

    def train_on_batch(
        self,
        x: npt.ArrayLike,
        y: Optional[npt.ArrayLike] = None,
        sample_weight: Optional[npt.ArrayLike] = None,
        class_weight: Optional[dict[int, float]] = None,
        return_dict: bool = False,
    ) -> Any:
        """One optimizer step on this batch; returns its loss (and metrics) as ``evaluate``
        does: a float, ``[loss, *metrics]`` or a dict.

        The values are this batch's, computed during the step (before the update), as Keras 2
        did with its default ``reset_metrics=True``; Keras 3 instead returns running means
        over every train_on_batch call since the last ``reset_metrics()``."""
        x, y, sw = self._batch_data("train_on_batch", x, y, sample_weight)
        if class_weight is not None:
            if sw is not None:
                raise ValueError("class_weight and sample_weight: give one or the other, not both")
            sw = _fit_options.class_weights(class_weight, y, len(x))
        opt, net = self.optimizer, self._net
        opt._bind(self)
        step = int(net.step)
        loss, metrics, _ = net.train_epoch(
            x, y, sw, len(x), False, opt._lrs(step, 1), opt._lr_at(step), None, 0.0
        )
        return self._batch_result(loss, metrics, return_dict)

    def test_on_batch(
        self,
        x: npt.ArrayLike,
        y: Optional[npt.ArrayLike] = None,
        sample_weight: Optional[npt.ArrayLike] = None,
        return_dict: bool = False,
    ) -> Any:
        """Loss (and metrics) of this batch, without updating: a float, a list or a dict."""
        x, y, sw = self._batch_data("test_on_batch", x, y, sample_weight)
        loss, metrics = self._net_evaluate(x, y, sw, len(x))
        return self._batch_result(loss, metrics, return_dict)

    def predict_on_batch(self, x: npt.ArrayLike) -> np.ndarray:
        """The model's outputs for this batch (inference mode: no dropout)."""
        x = self._prepare_x(x)
        out = np.empty((len(x), self._net.output_width), dtype=_inputs.F32)
        if len(x):
            self._last_out = None
            self._net.predict(x, len(x), out)
        return out
