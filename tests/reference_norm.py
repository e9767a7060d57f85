"""float64 references of the normalization kernels (Keras's definitions, biased variance)."""

import numpy as np


def batch_norm(x, gamma, beta, eps, training, moving_mean=None, moving_var=None, momentum=0.99):
    x = np.asarray(x, np.float64)
    if training:
        mean, var = x.mean(0), x.var(0)
    else:
        mean, var = np.asarray(moving_mean, np.float64), np.asarray(moving_var, np.float64)
    xh = (x - mean) / np.sqrt(var + eps)
    y = xh * (1.0 if gamma is None else gamma) + (0.0 if beta is None else beta)
    new_moving = None
    if training and moving_mean is not None:
        new_moving = (
            moving_mean * momentum + mean * (1 - momentum),
            moving_var * momentum + var * (1 - momentum),
        )
    return y, xh, new_moving


def batch_norm_backward(dy, x, gamma, eps, training, moving_var=None, moving_mean=None):
    dy, x = np.asarray(dy, np.float64), np.asarray(x, np.float64)
    g = 1.0 if gamma is None else np.asarray(gamma, np.float64)
    if training:
        mean, var = x.mean(0), x.var(0)
    else:
        mean, var = np.asarray(moving_mean, np.float64), np.asarray(moving_var, np.float64)
    inv = 1.0 / np.sqrt(var + eps)
    xh = (x - mean) * inv
    dbeta, dgamma = dy.sum(0), (dy * xh).sum(0)
    if training:
        n = len(x)
        dx = g * inv * (dy - dbeta / n - xh * dgamma / n)
    else:
        dx = dy * g * inv
    return dx, dgamma, dbeta


def layer_norm(x, gamma, beta, eps):
    x = np.asarray(x, np.float64)
    mean, var = x.mean(1, keepdims=True), x.var(1, keepdims=True)
    xh = (x - mean) / np.sqrt(var + eps)
    return xh * (1.0 if gamma is None else gamma) + (0.0 if beta is None else beta)


def layer_norm_backward(dy, x, gamma, eps):
    dy, x = np.asarray(dy, np.float64), np.asarray(x, np.float64)
    mean, var = x.mean(1, keepdims=True), x.var(1, keepdims=True)
    inv = 1.0 / np.sqrt(var + eps)
    xh = (x - mean) * inv
    g = dy * (1.0 if gamma is None else gamma)
    dx = inv * (g - g.mean(1, keepdims=True) - xh * (g * xh).mean(1, keepdims=True))
    return dx, (dy * xh).sum(0), dy.sum(0)


def batch_norm_sums(x, dy=None, center=None, mean=None, invstd=None):
    """Synchronized batch norm's column sums: of x, of (x - center)^2, or of dy and dy * xhat."""
    x = np.asarray(x, np.float64)
    if dy is None:
        return x.sum(0) if center is None else ((x - np.asarray(center, np.float64)) ** 2).sum(0)
    dy = np.asarray(dy, np.float64)
    xh = (x - np.asarray(mean, np.float64)) * np.asarray(invstd, np.float64)
    return np.concatenate([dy.sum(0), (dy * xh).sum(0)])
