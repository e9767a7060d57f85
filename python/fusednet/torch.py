"""fusednet's one-pass kernels inside PyTorch: drop-in optimizers and a fused linear layer.

``import fusednet.torch`` imports PyTorch (``import fusednet`` never does; torch is not a
dependency of fusednet). Tensors are handed to the kernels through DLPack without copies: CPU
tensors to the CPU kernels, CUDA tensors (device pointers) to the CUDA kernels.

- ``Adam``, ``AdamW``, ``SGD``: ``torch.optim.Optimizer`` subclasses with torch.optim's
  arguments, state names and state_dict format (a ``torch.optim.Adam`` state dict loads into
  ``Adam`` and back); ``step()`` runs one fused pass per parameter (``ops.adam_`` / ``ops.sgd_``).
  float32 dense parameters only; amsgrad, maximize, dampening and sparse gradients are refused
  (AMSGrad is ``fusednet.ops.amsgrad_`` and ``optimizers.Adam(amsgrad=True)``). ``NAdam`` is
  torch's with its default
  ``momentum_decay=4e-3`` (the schedule's product recomputed from the step count, in double) and
  weight decay only in the decoupled form.
- ``Linear`` / ``linear``: ``activation(x @ weight.T + bias)`` with the bias and activation fused
  into the gemm, and a backward of three kernels (activation derivative, two gemms, bias sum).
  ``weight`` is ``(out_features, in_features)`` as in ``torch.nn.Linear``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Callable

try:
    import torch
except ImportError as e:  # pragma: no cover - exercised only without torch
    raise ImportError(
        "fusednet.torch needs PyTorch (not a dependency of fusednet): pip install torch"
    ) from e

import numpy as np

from . import _core
from ._activations import elementwise_code

__all__ = ["Adam", "AdamW", "NAdam", "SGD", "Linear", "linear"]

_CPU, _CUDA = _core.Device.cpu, _core.Device.cuda


def _view(t: torch.Tensor, name: str) -> Any:
    """What the bindings take for a tensor: a NumPy view of a CPU tensor, the DLPack export of a
    CUDA one (its device pointer). No copy either way."""
    t = t.detach()
    if t.is_cuda:
        return _core.DLPackArray(t, name)
    return np.from_dlpack(t)


def _device(t: torch.Tensor) -> Any:
    if t.is_cuda:
        return _CUDA
    if t.device.type != "cpu":
        raise ValueError(f"fusednet.torch: expected CPU or CUDA tensors, got one on {t.device}")
    return _CPU


def _dense_f32(t: torch.Tensor, name: str) -> torch.Tensor:
    """t itself when float32 and contiguous (the kernels update it in place), else an error."""
    if t.dtype != torch.float32:
        raise TypeError(f"{name}: expected float32 (fusednet computes in float32), got {t.dtype}")
    if t.is_sparse:
        raise TypeError(f"{name}: sparse tensors are not supported")
    if not t.is_contiguous():
        raise ValueError(f"{name}: expected a contiguous tensor (updated in place)")
    return t


# ---- optimizers ----------------------------------------------------------------------------------
class _Fused(torch.optim.Optimizer):
    """The loop shared by the optimizers: closure, groups, gradients, lazily made state."""

    def _refuse(self, group: dict) -> None:
        for key in ("amsgrad", "maximize", "differentiable"):
            if group.get(key):
                raise ValueError(f"{key}=True: not supported by fusednet.torch")

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._refuse(group)
            for p in group["params"]:
                if p.grad is None:
                    continue
                _dense_f32(p, "param")
                g = p.grad
                if g.is_sparse:
                    raise TypeError("grad: sparse gradients are not supported")
                if g.dtype != torch.float32:
                    raise TypeError(f"grad: expected float32, got {g.dtype}")
                self._update(p, g.contiguous(), group, self.state[p])
        return loss

    def _update(self, p: torch.Tensor, g: torch.Tensor, group: dict, state: dict) -> None:
        raise NotImplementedError


class Adam(_Fused):
    """``torch.optim.Adam`` (L2 weight decay added to the gradient) on fusednet's one-pass Adam
    kernel; ``decoupled_weight_decay=True`` is AdamW. Same defaults and state as torch
    (``step``, ``exp_avg``, ``exp_avg_sq``)."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        decoupled_weight_decay: bool = False,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"lr: expected >= 0, got {lr}")
        if not eps >= 0.0:
            raise ValueError(f"eps: expected >= 0, got {eps}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"betas: expected each in [0, 1), got {betas}")
        if not weight_decay >= 0.0:
            raise ValueError(f"weight_decay: expected >= 0, got {weight_decay}")
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=False,
            maximize=False,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def _update(self, p, g, group, state):
        if len(state) == 0:
            state["step"] = torch.tensor(0.0, dtype=torch.float32)
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.contiguous_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.contiguous_format)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        if m.device != p.device:  # a state dict loaded on another device
            m = state["exp_avg"] = m.to(p.device)
            v = state["exp_avg_sq"] = v.to(p.device)
        _dense_f32(m, "exp_avg")
        _dense_f32(v, "exp_avg_sq")
        state["step"] += 1
        beta1, beta2 = group["betas"]
        _core.adam_step(
            _view(p, "param"),
            _view(g, "grad"),
            _view(m, "exp_avg"),
            _view(v, "exp_avg_sq"),
            int(state["step"].item()),
            float(group["lr"]),
            float(beta1),
            float(beta2),
            float(group["eps"]),
            float(group["weight_decay"]),
            bool(group.get("decoupled_weight_decay", False)),
            _device(p),
        )


class AdamW(Adam):
    """``torch.optim.AdamW``: Adam with decoupled weight decay (``param *= 1 - lr * wd`` before
    the update), default ``weight_decay=1e-2`` as torch."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, decoupled_weight_decay=True)


class NAdam(_Fused):
    """``torch.optim.NAdam`` on fusednet's Nadam rule (Keras's and torch's schedule
    ``mu_t = b1 (1 - 0.5 * 0.96^(0.004 t))``); state ``step``, ``mu_product``, ``exp_avg``,
    ``exp_avg_sq`` as torch. ``weight_decay`` needs ``decoupled_weight_decay=True``."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        *,
        decoupled_weight_decay: bool = False,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"lr: expected >= 0, got {lr}")
        if not eps >= 0.0:
            raise ValueError(f"eps: expected >= 0, got {eps}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"betas: expected each in [0, 1), got {betas}")
        if momentum_decay != 4e-3:
            raise ValueError(
                f"momentum_decay: only 4e-3 (Keras's schedule) is supported, got {momentum_decay}"
            )
        if not weight_decay >= 0.0:
            raise ValueError(f"weight_decay: expected >= 0, got {weight_decay}")
        if weight_decay and not decoupled_weight_decay:
            raise ValueError(
                "weight_decay: only the decoupled form is supported (decoupled_weight_decay=True)"
            )
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=False,
        )
        super().__init__(params, defaults)

    def _update(self, p, g, group, state):
        if len(state) == 0:
            state["step"] = torch.tensor(0.0, dtype=torch.float32)
            state["mu_product"] = torch.tensor(1.0, dtype=torch.float32)
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.contiguous_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.contiguous_format)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        if m.device != p.device:
            m = state["exp_avg"] = m.to(p.device)
            v = state["exp_avg_sq"] = v.to(p.device)
        _dense_f32(m, "exp_avg")
        _dense_f32(v, "exp_avg_sq")
        state["step"] += 1
        t = int(state["step"].item())
        beta1, beta2 = group["betas"]
        state["mu_product"] *= beta1 * (1.0 - 0.5 * 0.96 ** (t * 0.004))  # torch's state only
        _core.optim_rule_step(
            12,
            _view(p, "param"),
            _view(g, "grad"),
            _view(m, "exp_avg"),
            _view(v, "exp_avg_sq"),
            None,
            t,
            float(group["lr"]),
            float(beta1),
            float(beta2),
            0.0,
            float(group["eps"]),
            float(group["weight_decay"]),
            True,
            device=_device(p),
        )


class SGD(_Fused):
    """``torch.optim.SGD`` (momentum, nesterov, L2 weight decay; dampening 0) on fusednet's
    one-pass SGD kernel; state ``momentum_buffer`` as torch."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"lr: expected >= 0, got {lr}")
        if not momentum >= 0.0:
            raise ValueError(f"momentum: expected >= 0, got {momentum}")
        if dampening != 0.0:
            raise ValueError(f"dampening: only 0 is supported by fusednet.torch, got {dampening}")
        if not weight_decay >= 0.0:
            raise ValueError(f"weight_decay: expected >= 0, got {weight_decay}")
        if nesterov and momentum <= 0.0:
            raise ValueError("nesterov: expected momentum > 0 with nesterov=True")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=False,
        )
        super().__init__(params, defaults)

    def _update(self, p, g, group, state):
        if group.get("dampening", 0.0) != 0.0:
            raise ValueError("dampening: only 0 is supported by fusednet.torch")
        momentum = float(group["momentum"])
        vel = None
        if momentum != 0.0:
            buf = state.get("momentum_buffer")
            if buf is None:  # zeros: the first step then sets it to the gradient, as torch
                buf = state["momentum_buffer"] = torch.zeros_like(
                    p, memory_format=torch.contiguous_format
                )
            elif buf.device != p.device:
                buf = state["momentum_buffer"] = buf.to(p.device)
            vel = _view(_dense_f32(buf, "momentum_buffer"), "momentum_buffer")
        _core.sgd_step(
            _view(p, "param"),
            _view(g, "grad"),
            vel,
            float(group["lr"]),
            momentum,
            bool(group["nesterov"]),
            float(group["weight_decay"]),
            _device(p),
        )


# ---- the fused linear layer ----------------------------------------------------------------------
# Activations whose derivative the backward can take from the output y (no pre-activation kept).
_FROM_OUTPUT = {"linear", "relu", "sigmoid", "tanh"}


def _empty(shape: tuple, like: torch.Tensor) -> torch.Tensor:
    return torch.empty(shape, dtype=torch.float32, device=like.device)


class _LinearFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, act_name, act, param):  # type: ignore[override]
        dev = _device(x)
        rows = x.shape[0]
        out_f = weight.shape[0]
        keep_z = act_name not in _FROM_OUTPUT and not (act_name == "leaky_relu" and param > 0)
        # y = act(x @ weight.T + bias): weight (out, in) read transposed, no copy.
        y = _empty((rows, out_f), x)
        fused = _core.Activation.linear if keep_z else act
        _core.gemm_ex(
            _view(x, "x"),
            _view(weight, "weight"),
            _view(y, "out"),
            False,
            True,
            1.0,
            0.0,
            None if bias is None else _view(bias, "bias"),
            fused,
            param,
            dev,
        )
        if keep_z:  # gelu: its derivative needs z; y = act(z) in a second pass
            z = y
            y = _empty(z.shape, x)
            _core.activation_forward(_view(z, "z"), _view(y, "out"), act, param, dev)
            ctx.save_for_backward(x, weight, z)
        else:
            ctx.save_for_backward(x, weight, y)
        ctx.keep_z, ctx.act, ctx.param, ctx.has_bias = keep_z, act, param, bias is not None
        return y

    @staticmethod
    def backward(ctx, dy):  # type: ignore[override]
        x, weight, saved = ctx.saved_tensors
        dev = _device(x)
        dy = dy.contiguous()
        if ctx.act == _core.Activation.linear:
            dz = dy
        else:
            dz = _empty(dy.shape, dy)
            backward = (
                _core.activation_backward if ctx.keep_z else _core.activation_backward_from_output
            )
            backward(_view(dy, "dy"), _view(saved, "x"), _view(dz, "out"), ctx.act, ctx.param, dev)
        dx = dweight = dbias = None
        if ctx.needs_input_grad[0]:  # dx = dz @ weight
            dx = _empty(x.shape, x)
            _core.gemm(_view(dz, "dz"), _view(weight, "weight"), _view(dx, "out"), False, False,
                       1.0, 0.0, dev)  # fmt: skip
        if ctx.needs_input_grad[1]:  # dweight = dz.T @ x
            dweight = _empty(weight.shape, weight)
            _core.gemm(_view(dz, "dz"), _view(x, "x"), _view(dweight, "out"), True, False,
                       1.0, 0.0, dev)  # fmt: skip
        if ctx.has_bias and ctx.needs_input_grad[2]:  # column sums, in row order
            dbias = _empty((weight.shape[0],), weight)
            _core.bias_grad(_view(dz, "dz"), _view(dbias, "out"), dev)
        return dx, dweight, dbias, None, None, None


def _activation(activation: str | None, negative_slope: float) -> tuple[str, Any, float]:
    name = "linear" if activation is None else str(activation).lower()
    act, param = elementwise_code(name)
    if name == "leaky_relu":
        param = float(negative_slope)
    return name, act, param


def linear(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    activation: str | None = None,
    negative_slope: float = 0.01,
) -> torch.Tensor:
    """``activation(x @ weight.T + bias)`` with the bias and activation fused into the gemm;
    differentiable (x, weight, bias). x is ``(..., in_features)``, weight ``(out, in)``, bias
    ``(out,)``; float32 tensors on one device (CPU or CUDA). activation: None, "relu",
    "leaky_relu" (negative_slope), "sigmoid", "tanh", "gelu", "gelu_tanh"."""
    name, act, param = _activation(activation, negative_slope)
    for t, n in ((x, "x"), (weight, "weight"), (bias, "bias")):
        if t is not None and t.dtype != torch.float32:
            raise TypeError(f"{n}: expected float32, got {t.dtype}")
    if weight.dim() != 2:
        raise ValueError(f"weight: expected (out_features, in_features), got {tuple(weight.shape)}")
    if x.dim() < 1 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"x: expected (..., {weight.shape[1]}) (in_features of weight), got {tuple(x.shape)}"
        )
    lead = x.shape[:-1]
    x2 = x.reshape(-1, x.shape[-1])
    if x.is_cuda:  # the CUDA column takes C-contiguous device arrays
        x2, weight = x2.contiguous(), weight.contiguous()
        bias = None if bias is None else bias.contiguous()
    y = _LinearFunction.apply(x2, weight, bias, name, act, param)
    return y.reshape(*lead, weight.shape[0])


class Linear(torch.nn.Linear):
    """``torch.nn.Linear`` (same parameters, initialisation and state_dict) followed by an
    optional activation, computed by fusednet's fused linear (see ``linear``)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        activation: str | None = None,
        negative_slope: float = 0.01,
        device: Any = None,
    ) -> None:
        _activation(activation, negative_slope)  # a bad name fails here, not at the first call
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=torch.float32)
        self.activation = activation
        self.negative_slope = negative_slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight, self.bias, self.activation, self.negative_slope)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", activation={self.activation!r}"
