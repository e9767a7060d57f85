"""The peers' trainers, built inside a worker process. Each trains the workload's MLP (ReLU
hidden layers, logits out; softmax or sigmoid cross-entropy from the logits, Adam with epsilon
1e-7 as fusednet's and Keras's) from ``models.initial_weights``, on the workload's data:

- ``warmup()``: one shuffled epoch on all the data (compiles for the shapes the runs use);
- ``run()``: ``workload.epochs`` shuffled epochs, returning when the arithmetic is done;
- ``losses(epochs)``: a fresh model from the initial weights, unshuffled: each epoch's mean loss.
"""

from __future__ import annotations

import numpy as np

from ..models import Workload, initial_weights
from ..numpy_trainer import NumpyMLP


def _steps(w: Workload, n: int) -> int:
    if n % w.batch_size:
        raise ValueError(
            f"samples: expected a multiple of batch_size {w.batch_size} (equal batches), got {n}"
        )
    return n // w.batch_size


class JaxTrainer:
    """``scan=False``: one jitted step per batch, called from a Python loop; ``scan=True``: a
    whole epoch (shuffle and every step) in one jitted call, the steps in ``lax.scan``."""

    def __init__(self, w: Workload, x, y, threads: int, scan: bool):
        import jax
        import jax.numpy as jnp
        import optax
        from jax import lax

        self.versions = f"jax {jax.__version__}, optax {optax.__version__}"
        self.w, self.scan, self._jnp = w, scan, jnp
        self.x = jnp.asarray(x)
        self.y = jnp.asarray(y.astype(np.int32) if y.dtype.kind in "iu" else y)  # no int64 in jax
        n, b = x.shape[0], w.batch_size
        steps = _steps(w, n)
        opt = optax.adam(w.learning_rate, eps=1e-7)
        classify = w.loss == "softmax_cross_entropy"

        def loss_fn(params, xb, yb):
            h = xb
            for i, (kernel, bias) in enumerate(params):
                h = h @ kernel + bias
                if i < len(params) - 1:
                    h = jax.nn.relu(h)
            if classify:
                return optax.softmax_cross_entropy_with_integer_labels(h, yb).mean()
            return optax.sigmoid_binary_cross_entropy(h, yb).mean()

        def step(state, batch):
            params, opt_state = state
            loss, grads = jax.value_and_grad(loss_fn)(params, *batch)
            updates, opt_state = opt.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

        def batches(x, y, seed, shuffle):
            order = jax.random.permutation(jax.random.PRNGKey(seed), n) if shuffle else None
            if order is not None:
                x, y = x[order], y[order]
            return x.reshape(steps, b, *x.shape[1:]), y.reshape(steps, b, *y.shape[1:])

        def epoch(state, x, y, seed, shuffle):
            state, losses = lax.scan(step, state, batches(x, y, seed, shuffle))
            return state, losses.mean()

        self._epoch = jax.jit(epoch, static_argnums=4)
        self._batches = jax.jit(batches, static_argnums=3)
        self._step = jax.jit(lambda state, xs, ys, i: step(state, (xs[i], ys[i])))
        self._steps = steps
        self._init = lambda: self._fresh(opt)
        self._block = jax.block_until_ready
        self.state, self.seed = self._init(), 0

    def _fresh(self, opt):
        ws = [self._jnp.asarray(a) for a in initial_weights(self.w)]
        params = list(zip(ws[0::2], ws[1::2]))
        return params, opt.init(params)

    def _train_epoch(self, state, shuffle: bool):
        self.seed += 1
        if self.scan:
            return self._epoch(state, self.x, self.y, self.seed, shuffle)
        xs, ys = self._batches(self.x, self.y, self.seed, shuffle)
        losses = []
        for i in range(self._steps):
            state, loss = self._step(state, xs, ys, i)
            losses.append(loss)
        return state, losses

    def warmup(self):
        self.state = self._block(self._train_epoch(self.state, True)[0])

    def run(self):
        state = self.state
        for _ in range(self.w.epochs):
            state = self._train_epoch(state, True)[0]
        self.state = self._block(state)

    def losses(self, epochs: int) -> list:
        state, out = self._init(), []
        for _ in range(epochs):
            state, loss = self._train_epoch(state, False)
            out.append(float(self._jnp.mean(self._jnp.asarray(loss))))
        return out


class KerasTrainer:
    """keras.Sequential + fit on the backend KERAS_BACKEND names (set before the import)."""

    def __init__(self, w: Workload, x, y, threads: int):
        import keras

        backend = keras.backend.backend()
        if backend == "torch":
            import torch

            torch.set_num_threads(threads)
            backend_version = f"torch {torch.__version__}"
        elif backend == "jax":
            import jax

            backend_version = f"jax {jax.__version__}"
        else:
            backend_version = backend
        self.versions = f"keras {keras.__version__} on {backend_version}"
        self.keras, self.w, self.x, self.y = keras, w, x, y
        _steps(w, x.shape[0])
        self.model = self._model()

    def _model(self):
        keras, w = self.keras, self.w
        layers = [keras.Input((w.sizes[0],))]
        layers += [keras.layers.Dense(u, activation="relu") for u in w.sizes[1:-1]]
        layers.append(keras.layers.Dense(w.sizes[-1]))
        model = keras.Sequential(layers)
        model.set_weights(initial_weights(w))
        if w.loss == "softmax_cross_entropy":
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        else:
            loss = keras.losses.BinaryCrossentropy(from_logits=True)
        optimizer = keras.optimizers.Adam(learning_rate=w.learning_rate, epsilon=1e-7)
        model.compile(optimizer=optimizer, loss=loss)
        return model

    def _fit(self, model, epochs: int, shuffle: bool) -> list:
        history = model.fit(
            self.x, self.y, batch_size=self.w.batch_size, epochs=epochs, verbose=0, shuffle=shuffle
        )
        return history.history["loss"]

    def warmup(self):
        self._fit(self.model, 1, True)

    def run(self):
        self._fit(self.model, self.w.epochs, True)

    def losses(self, epochs: int) -> list:
        return self._fit(self._model(), epochs, False)


class SklearnTrainer:
    """scikit-learn's MLPClassifier on the same model: ReLU hidden layers, softmax (or logistic,
    for one output) cross-entropy, Adam, no L2 term, the stopping rule off. ``run()`` is one
    ``fit`` of ``workload.epochs`` epochs from a fresh initialisation (as a user calls it)."""

    def __init__(self, w: Workload, x, y, threads: int):
        import sklearn
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
        from threadpoolctl import threadpool_limits

        # Its BLAS (NumPy's and SciPy's OpenBLAS) and OpenMP pools, loaded by now, at the
        # bench's count; the worker's environment set it too, this holds whatever ignores it.
        self._limits = threadpool_limits(limits=threads)
        self.versions = f"scikit-learn {sklearn.__version__}"
        self._cls, self._warning = MLPClassifier, ConvergenceWarning
        self.w, self.x = w, x
        self.labels = y if y.ndim == 1 else y.ravel().astype(np.int64)
        self.params = dict(
            hidden_layer_sizes=w.sizes[1:-1],
            alpha=0.0,
            batch_size=w.batch_size,
            learning_rate_init=w.learning_rate,
            epsilon=1e-7,
            max_iter=w.epochs,
            n_iter_no_change=w.epochs,
            random_state=0,
        )

    def close(self):
        self._limits.restore_original_limits()

    def _fit(self, clf):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", self._warning)
            return clf.fit(self.x, self.labels)

    def warmup(self):
        self._fit(self._cls(**{**self.params, "max_iter": 1}))

    def run(self):
        self._fit(self._cls(**self.params))

    def losses(self, epochs: int) -> list:
        # Public route to chosen initial weights: warm_start keeps coefs_ between fits (the
        # first fit only builds them), and each fit starts a new Adam.
        first = {**self.params, "max_iter": 1, "shuffle": False, "warm_start": True}
        clf = self._fit(self._cls(**first))
        weights = initial_weights(self.w)
        for have, want in zip(clf.coefs_ + clf.intercepts_, weights[0::2] + weights[1::2]):
            np.copyto(have, want)  # scikit-learn lists every kernel, then every bias
        clf.set_params(max_iter=epochs, n_iter_no_change=epochs)
        return self._fit(clf).loss_curve_[-epochs:]


class NumpyTrainer:
    """The bench's NumPy trainer: a peer with no optional package, so that the tests exercise
    the worker and its protocol everywhere."""

    versions = f"numpy {np.__version__}"

    def __init__(self, w: Workload, x, y, threads: int):
        self.w, self.x, self.y = w, x, y
        self.model, self.seed = self._model(), 0

    def _model(self):
        model = NumpyMLP(self.w.sizes, self.w.loss, learning_rate=self.w.learning_rate)
        model.params = [a.copy() for a in initial_weights(self.w)]
        return model

    def _fit(self, model, epochs: int, shuffle: bool) -> list:
        self.seed += 1
        return model.fit(self.x, self.y, self.w.batch_size, epochs, shuffle, seed=self.seed)

    def warmup(self):
        self._fit(self.model, 1, True)

    def run(self):
        self._fit(self.model, self.w.epochs, True)

    def losses(self, epochs: int) -> list:
        return self._fit(self._model(), epochs, False)


KINDS = {
    "jax-step": lambda w, x, y, threads: JaxTrainer(w, x, y, threads, scan=False),
    "jax-scan": lambda w, x, y, threads: JaxTrainer(w, x, y, threads, scan=True),
    "keras": KerasTrainer,
    "sklearn": SklearnTrainer,
    "numpy": NumpyTrainer,
}
