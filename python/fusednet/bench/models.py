"""The two training workloads, built identically for each contender: fusednet's Sequential, the
bench's NumPy trainer and PyTorch eager (torch.nn.Sequential + torch.optim.Adam).

Each ``make_<contender>(workload, x, y)`` returns a trainer whose ``run()`` trains
``workload.epochs`` epochs; building and compiling happen in its untimed ``warmup()``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .numpy_trainer import NumpyMLP


@dataclass(frozen=True)
class Workload:
    name: str
    sizes: tuple  # layer widths, input first
    loss: str  # "softmax_cross_entropy" | "binary_cross_entropy"
    samples: int
    batch_size: int
    epochs: int  # per timed call
    learning_rate: float = 1e-3
    batch_norm: bool = False  # BatchNormalization after each hidden Dense (before its relu)

    @property
    def n_params(self) -> int:
        bn = 2 * sum(self.sizes[1:-1]) if self.batch_norm else 0  # gamma and beta
        return sum(i * o + o for i, o in zip(self.sizes[:-1], self.sizes[1:])) + bn

    def data(self, seed=0):
        """Synthetic float32 inputs and labels (ints for softmax CE, {0,1} floats for BCE)."""
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((self.samples, self.sizes[0]), dtype=np.float32)
        if self.loss == "softmax_cross_entropy":
            y = rng.integers(0, self.sizes[-1], self.samples)
        else:  # a learnable rule: same sign of the first two features
            y = (x[:, 0] * x[:, 1] > 0).astype(np.float32).reshape(-1, 1)
        return x, y

    def workspace_bytes(self) -> int:
        """One batch of activations and their gradients, plus one gradient per parameter."""
        return 4 * (2 * self.batch_size * sum(self.sizes) + self.n_params)

    def ideal_bytes(self, x, y) -> int:
        """Data set + parameters + Adam's two moments + one batch of workspace."""
        return x.nbytes + y.nbytes + 4 * 3 * self.n_params + self.workspace_bytes()


MLP784 = Workload("mlp784", (784, 256, 128, 10), "softmax_cross_entropy", 32768, 128, 1)
# Issue 11's case: mlp784 with BatchNormalization after each hidden Dense (PyTorch: BatchNorm1d).
MLP784_BN = Workload(
    "mlp784_bn", (784, 256, 128, 10), "softmax_cross_entropy", 32768, 128, 1, batch_norm=True
)
TINY = Workload("tiny", (2, 4, 1), "binary_cross_entropy", 1000, 1000, 100)
# The model of the MNIST-1D benchmark (40 features, 4000 training samples), on synthetic data.
MNIST1D = Workload("mnist1d", (40, 100, 100, 10), "softmax_cross_entropy", 4000, 100, 10)


def initial_weights(w: Workload) -> list:
    """[kernel (fan_in, fan_out), bias, ...]: Glorot-uniform kernels and zero biases (the NumPy
    trainer's seed-0 draw), the starting point every contender's loss check trains from."""
    return NumpyMLP(w.sizes, w.loss, seed=0).params


class _Trainer:
    """Builds a model on first use. ``warmup`` trains one epoch on a slice of the data (compiles,
    allocates, warms caches) without being timed; ``run`` trains ``epochs`` epochs on all of it."""

    def __init__(self, build, w: Workload, x, y):
        self._build, self._train = build, None
        self.w, self.x, self.y = w, x, y

    def _trainer(self):
        if self._train is None:
            self._train = self._build()
        return self._train

    def warmup(self):
        k = min(self.x.shape[0], 2 * self.w.batch_size)
        self._trainer()(self.x[:k], self.y[:k], 1)

    def run(self):
        self._trainer()(self.x, self.y, self.w.epochs)


def fusednet_model(w: Workload):
    """The workload's compiled fusednet Sequential (seed 0)."""
    import fusednet as fnet

    layers = [fnet.layers.Input(shape=(w.sizes[0],))]
    for units in w.sizes[1:-1]:
        if w.batch_norm:  # Keras's usual Dense -> BatchNormalization -> ReLU
            layers += [fnet.layers.Dense(units), fnet.layers.BatchNormalization()]
            layers.append(fnet.layers.ReLU())
        else:
            layers.append(fnet.layers.Dense(units, activation="relu"))
    if w.loss == "softmax_cross_entropy":
        layers.append(fnet.layers.Dense(w.sizes[-1]))
        loss = fnet.losses.SparseCategoricalCrossentropy(from_logits=True)
    else:
        layers.append(fnet.layers.Dense(w.sizes[-1], activation="sigmoid"))
        loss = fnet.losses.BinaryCrossentropy()
    model = fnet.Sequential(layers, seed=0)
    model.compile(optimizer=fnet.optimizers.Adam(learning_rate=w.learning_rate), loss=loss)
    return model


def make_fusednet(w: Workload, x, y, shuffle=True) -> _Trainer:
    def build():
        model = fusednet_model(w)
        return lambda xs, ys, epochs: model.fit(
            xs, ys, batch_size=w.batch_size, epochs=epochs, verbose=0, shuffle=shuffle
        )

    return _Trainer(build, w, x, y)


def make_numpy(w: Workload, x, y, shuffle=True) -> _Trainer:
    def build():
        model = NumpyMLP(w.sizes, w.loss, learning_rate=w.learning_rate, seed=0)
        seeds = iter(range(1 << 30))
        return lambda xs, ys, epochs: model.fit(
            xs, ys, batch_size=w.batch_size, epochs=epochs, shuffle=shuffle, seed=next(seeds)
        )

    return _Trainer(build, w, x, y)


def make_torch(torch, w: Workload, x, y, shuffle=True) -> _Trainer:
    def build():
        nn = torch.nn
        torch.manual_seed(0)
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(w.sizes[:-1], w.sizes[1:])):
            layers.append(nn.Linear(fan_in, fan_out))
            if i < len(w.sizes) - 2:
                if w.batch_norm:  # Keras's momentum 0.99 is torch's 0.01
                    layers.append(nn.BatchNorm1d(fan_out, eps=1e-3, momentum=0.01))
                layers.append(nn.ReLU())
        model = nn.Sequential(*layers)
        optimizer = torch.optim.Adam(model.parameters(), lr=w.learning_rate, eps=1e-7)
        loss_fn = (
            nn.CrossEntropyLoss() if w.loss == "softmax_cross_entropy" else nn.BCEWithLogitsLoss()
        )
        generator = torch.Generator().manual_seed(0)

        def train(xs, ys, epochs):
            xt, yt = torch.from_numpy(xs), torch.from_numpy(ys)  # shares memory, no copy
            n = xt.shape[0]
            for _ in range(epochs):
                order = torch.randperm(n, generator=generator) if shuffle else None
                for start in range(0, n, w.batch_size):
                    if order is None:
                        xb, yb = xt[start : start + w.batch_size], yt[start : start + w.batch_size]
                    else:
                        idx = order[start : start + w.batch_size]
                        xb, yb = xt[idx], yt[idx]
                    optimizer.zero_grad(set_to_none=True)
                    loss = loss_fn(model(xb), yb)
                    loss.backward()
                    optimizer.step()

        return train

    return _Trainer(build, w, x, y)
