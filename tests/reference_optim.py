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


# ---- Keras 3's update rules (keras/src/optimizers/*.py), in float64 ----------------------------
# Each takes the float64 state dict ("param" and the rule's arrays), the gradient and the
# hyperparameters; wd is Keras's decoupled decay (p -= p * wd * lr first), clipvalue its clip.


def _keras_pre(state, grad, lr, wd, clipvalue):
    g = np.asarray(grad, dtype=np.float64)
    if clipvalue is not None:
        g = np.clip(g, -clipvalue, clipvalue)
    if wd:
        state["param"] = state["param"] - state["param"] * wd * lr
    return g


def rmsprop(
    state, grad, *, lr, rho=0.9, momentum=0.0, eps=1e-7, centered=False, wd=0.0, clipvalue=None
):
    g = _keras_pre(state, grad, lr, wd, clipvalue)
    state["velocity"] = rho * state["velocity"] + (1 - rho) * g * g
    if centered:
        state["average_grad"] = rho * state["average_grad"] + (1 - rho) * g
        denom = state["velocity"] - state["average_grad"] ** 2 + eps
    else:
        denom = state["velocity"] + eps
    inc = lr * g / np.sqrt(denom)
    if momentum > 0:
        state["momentum"] = momentum * state["momentum"] + inc
        state["param"] = state["param"] - state["momentum"]
    else:
        state["param"] = state["param"] - inc


def adagrad(state, grad, *, lr, eps=1e-7, wd=0.0, clipvalue=None):
    g = _keras_pre(state, grad, lr, wd, clipvalue)
    state["accumulator"] = state["accumulator"] + g * g
    state["param"] = state["param"] - lr * g / np.sqrt(state["accumulator"] + eps)


def adadelta(state, grad, *, lr, rho=0.95, eps=1e-7, wd=0.0, clipvalue=None):
    g = _keras_pre(state, grad, lr, wd, clipvalue)
    state["ag"] = rho * state["ag"] + (1 - rho) * g * g
    delta = -np.sqrt(state["ad"] + eps) * g / np.sqrt(state["ag"] + eps)
    state["ad"] = rho * state["ad"] + (1 - rho) * delta * delta
    state["param"] = state["param"] + lr * delta


def adamax(state, grad, *, step, lr, beta1=0.9, beta2=0.999, eps=1e-7, wd=0.0, clipvalue=None):
    g = _keras_pre(state, grad, lr, wd, clipvalue)
    state["m"] = state["m"] + (g - state["m"]) * (1 - beta1)
    state["u"] = np.maximum(beta2 * state["u"], np.abs(g))
    state["param"] = state["param"] - lr * state["m"] / ((1 - beta1**step) * (state["u"] + eps))


def nadam(state, grad, *, step, lr, beta1=0.9, beta2=0.999, eps=1e-7, wd=0.0, clipvalue=None):
    """Keras's Nadam; state["u_product"] (1.0 at the start) is its momentum-cache product."""
    g = _keras_pre(state, grad, lr, wd, clipvalue)
    u_t = beta1 * (1.0 - 0.5 * 0.96 ** (0.004 * step))
    u_t1 = beta1 * (1.0 - 0.5 * 0.96 ** (0.004 * (step + 1)))
    up_t = state.get("u_product", 1.0) * u_t
    up_t1 = up_t * u_t1
    state["u_product"] = up_t
    state["m"] = state["m"] + (g - state["m"]) * (1 - beta1)
    state["v"] = state["v"] + (g * g - state["v"]) * (1 - beta2)
    m_hat = u_t1 * state["m"] / (1 - up_t1) + (1 - u_t) * g / (1 - up_t)
    v_hat = state["v"] / (1 - beta2**step)
    state["param"] = state["param"] - m_hat * lr / (np.sqrt(v_hat) + eps)


def lion(state, grad, *, lr, beta1=0.9, beta2=0.99, wd=0.0, clipvalue=None):
    g = _keras_pre(state, grad, lr, wd, clipvalue)
    state["param"] = state["param"] - lr * np.sign(state["m"] * beta1 + g * (1 - beta1))
    state["m"] = state["m"] * beta2 + g * (1 - beta2)


def amsgrad(state, grad, *, step, lr, beta1=0.9, beta2=0.999, eps=1e-7, wd=0.0):
    """Adam with AMSGrad in the paper (PyTorch) form; wd decoupled (AdamW: p *= 1 - lr wd)."""
    g = np.asarray(grad, dtype=np.float64)
    state["param"] = state["param"] * (1 - lr * wd)
    state["m"] = beta1 * state["m"] + (1 - beta1) * g
    state["v"] = beta2 * state["v"] + (1 - beta2) * g * g
    state["v_hat"] = np.maximum(state["v_hat"], state["v"])
    denom = np.sqrt(state["v_hat"]) / np.sqrt(1 - beta2**step) + eps
    state["param"] = state["param"] - lr / (1 - beta1**step) * state["m"] / denom
