"""A straightforward NumPy MLP trainer: the baseline a user would write before reaching for a
library. float32 throughout, Glorot-uniform init, ReLU hidden layers, a loss computed from the
logits (softmax cross-entropy with integer labels, or sigmoid binary cross-entropy), Adam.

It is deliberately plain (no fusion, no preallocated buffers) but correct and not wasteful: one
matmul per GEMM, the gradient of the output computed in closed form, transposes as views.
"""

from __future__ import annotations

import numpy as np

LOSSES = ("softmax_cross_entropy", "binary_cross_entropy")


class NumpyMLP:
    def __init__(
        self,
        sizes,
        loss="softmax_cross_entropy",
        learning_rate=1e-3,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        seed=0,
    ):
        if loss not in LOSSES:
            raise ValueError(f"loss: expected one of {LOSSES}, got {loss!r}")
        rng = np.random.default_rng(seed)
        self.params = []  # [W0, b0, W1, b1, ...]; W is (fan_in, fan_out)
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            self.params.append(rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32))
            self.params.append(np.zeros(fan_out, np.float32))
        self.loss_name = loss
        self.lr, self.beta_1, self.beta_2, self.epsilon = learning_rate, beta_1, beta_2, epsilon
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0

    @property
    def n_params(self) -> int:
        return sum(p.size for p in self.params)

    def forward(self, x):
        """Logits, and the input of every layer (what backward needs)."""
        inputs, h = [], x
        n_layers = len(self.params) // 2
        for i in range(n_layers):
            inputs.append(h)
            z = h @ self.params[2 * i] + self.params[2 * i + 1]
            h = np.maximum(z, 0) if i < n_layers - 1 else z
        return h, inputs

    def loss_and_grad(self, logits, y):
        """Mean loss and d loss / d logits, both from the logits (numerically stable)."""
        n = logits.shape[0]
        if self.loss_name == "softmax_cross_entropy":
            rows = np.arange(n)
            shifted = logits - logits.max(axis=1, keepdims=True)
            exp = np.exp(shifted)
            total = exp.sum(axis=1, keepdims=True)
            loss = float(np.mean(np.log(total[:, 0]) - shifted[rows, y]))
            grad = exp / total
            grad[rows, y] -= 1
            return loss, grad / np.float32(n)
        y = y.reshape(logits.shape).astype(np.float32)
        # softplus(z) - y*z, with softplus(z) = max(z, 0) + log1p(exp(-|z|))
        softplus = np.maximum(logits, 0) + np.log1p(np.exp(-np.abs(logits)))
        loss = float(np.mean(softplus - logits * y))
        prob = np.exp(-np.logaddexp(0, -logits)).astype(np.float32)  # stable sigmoid
        return loss, (prob - y) / np.float32(n)

    def backward(self, dlogits, inputs):
        """Gradients in the order of self.params."""
        grads = [None] * len(self.params)
        d = dlogits
        for i in reversed(range(len(inputs))):
            grads[2 * i] = inputs[i].T @ d
            grads[2 * i + 1] = d.sum(axis=0)
            if i > 0:  # through the ReLU of the previous layer: its output is inputs[i]
                d = (d @ self.params[2 * i].T) * (inputs[i] > 0)
        return grads

    def adam_step(self, grads):
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        correction_1, correction_2 = 1 - b1**self.t, 1 - b2**self.t
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= self.lr * (m / correction_1) / (np.sqrt(v / correction_2) + self.epsilon)

    def train_step(self, x, y) -> float:
        logits, inputs = self.forward(x)
        loss, dlogits = self.loss_and_grad(logits, y)
        self.adam_step(self.backward(dlogits, inputs))
        return loss

    def fit(self, x, y, batch_size=32, epochs=1, shuffle=True, seed=0):
        """Mini-batch training; returns the mean loss of each epoch."""
        rng = np.random.default_rng(seed)
        n = x.shape[0]
        history = []
        for _ in range(epochs):
            order = rng.permutation(n) if shuffle else None
            losses = []
            for start in range(0, n, batch_size):
                if order is None:
                    xb, yb = x[start : start + batch_size], y[start : start + batch_size]
                else:
                    idx = order[start : start + batch_size]
                    xb, yb = x[idx], y[idx]
                losses.append(self.train_step(xb, yb))
            history.append(float(np.mean(losses)))
        return history

    def predict(self, x):
        return self.forward(x)[0]
