"""fusednet.ops inside your own training loop: a 64-128-10 MLP trained on NumPy arrays with the
fused kernels (linear + relu forward, softmax cross-entropy, the backward GEMMs, one Adam pass
per parameter), then the same ops called on JAX arrays when JAX is installed.

    python examples/arrays.py            # about 1 s; prints the test accuracy

The arrays are yours: fusednet allocates only the results, updates parameters and optimizer
state in place (adam_), and never copies a float32 input.
"""

from __future__ import annotations

import numpy as np

import fusednet as fnet


def make_data(rng: np.random.Generator, n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """A 10-class problem: class k is a Gaussian blob around centre k in 64 dimensions."""
    centres = rng.standard_normal((10, 64)).astype(np.float32) * 2.0
    y = rng.integers(0, 10, n)
    x = centres[y] + rng.standard_normal((n, 64)).astype(np.float32)
    return x, y


class MLP:
    """Parameters, gradients and Adam state as plain NumPy arrays, updated by fusednet.ops."""

    def __init__(self, rng: np.random.Generator, sizes: tuple[int, ...] = (64, 128, 10)) -> None:
        self.params: list[np.ndarray] = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            self.params.append(rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32))
            self.params.append(np.zeros(fan_out, np.float32))
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.step = 0

    def logits(self, x: np.ndarray) -> np.ndarray:
        w1, b1, w2, b2 = self.params
        h = fnet.ops.linear(x, w1, b1, activation="relu")  # relu(x @ w1 + b1), one pass
        return fnet.ops.linear(h, w2, b2)

    def train_step(self, x: np.ndarray, y: np.ndarray, lr: float = 1e-3) -> float:
        w1, b1, w2, b2 = self.params
        h = fnet.ops.linear(x, w1, b1, activation="relu")
        logits = fnet.ops.linear(h, w2, b2)
        loss, dlogits = fnet.ops.softmax_cross_entropy(logits, y)  # mean loss, its gradient
        dw2 = fnet.ops.matmul(h, dlogits, trans_a=True)  # h.T @ dlogits, no transpose copy
        db2 = fnet.ops.bias_grad(dlogits)
        dh = fnet.ops.relu_backward(fnet.ops.matmul(dlogits, w2, trans_b=True), h)
        dw1 = fnet.ops.matmul(x, dh, trans_a=True)
        db1 = fnet.ops.bias_grad(dh)
        self.step += 1
        for p, g, m, v in zip(self.params, (dw1, db1, dw2, db2), self.m, self.v):
            fnet.ops.adam_(p, g, m, v, step=self.step, lr=lr)  # in place, one pass
        return float(loss)


def main() -> None:
    rng = np.random.default_rng(0)
    x, y = make_data(rng)
    x_train, y_train, x_test, y_test = x[:1600], y[:1600], x[1600:], y[1600:]
    model = MLP(rng)
    for epoch in range(5):
        order = rng.permutation(len(x_train))
        losses = [
            model.train_step(x_train[idx], y_train[idx])
            for idx in np.array_split(order, len(order) // 64)
        ]
        print(f"epoch {epoch + 1}: loss {np.mean(losses):.4f}")
    accuracy = float(np.mean(fnet.ops.argmax(model.logits(x_test)) == y_test))
    print(f"test accuracy {accuracy:.1%}")

    try:
        import jax.numpy as jnp  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        print("JAX is not installed: skipped the JAX part (pip install jax)")
        return
    # JAX arrays are read-only inputs: fusednet reads them and returns new arrays.
    jx = jnp.asarray(x_test)
    w1, b1 = (jnp.asarray(p) for p in model.params[:2])
    h = np.asarray(fnet.ops.linear(jx, w1, b1, activation="relu"))
    same = np.array_equal(
        h, fnet.ops.linear(x_test, model.params[0], model.params[1], activation="relu")
    )
    print(f"JAX arrays in: hidden layer identical to the NumPy run = {same}")


if __name__ == "__main__":
    main()
