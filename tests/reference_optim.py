"""Float64 NumPy references for the optimizer steps (PyTorch SGD form, Adam paper form).
Each updates float64 copies held in a dict and returns nothing."""

from __future__ import annotations

import numpy as np


def sgd(state, grad, *, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    p = state["param"]
    g = np.asarray(grad, dtype=np.float64) + weight_decay * p
    if momentum:
        state["velocity"] = momentum * state["velocity"] + g
        update = g + momentum * state["velocity"] if nesterov else state["velocity"]
    else:
        update = g
    state["param"] = p - lr * update


def adam(
    state,
    grad,
    *,
    step,
    lr=1e-3,
    beta1=0.9,
    beta2=0.999,
    eps=1e-7,
    weight_decay=0.0,
    decoupled=False,
):
    p = state["param"]
    g = np.asarray(grad, dtype=np.float64)
    if decoupled:
        p = p * (1.0 - lr * weight_decay)
    else:
        g = g + weight_decay * p
    state["m"] = beta1 * state["m"] + (1.0 - beta1) * g
    state["v"] = beta2 * state["v"] + (1.0 - beta2) * g * g
    m_hat = state["m"] / (1.0 - beta1**step)
    v_hat = state["v"] / (1.0 - beta2**step)
    state["param"] = p - lr * m_hat / (np.sqrt(v_hat) + eps)


def new_state(param, *names):
    state = {"param": np.asarray(param, dtype=np.float64).copy()}
    for n in names:
        state[n] = np.zeros_like(state["param"])
    return state
