"""Train a 64-128-10 MLP on scikit-learn's digits (8x8 images) with fusednet.

    pip install scikit-learn
    python examples/digits.py

Reaches about 97.5% test accuracy (seeds 0-3: 97.3-97.8%) in 40 epochs.
"""

import argparse
import os
import tempfile
import time

import numpy as np

import fusednet as fnet


def load_digits_split(seed=0, test_fraction=0.25):
    try:
        from sklearn.datasets import load_digits
    except ImportError:  # pragma: no cover - optional dependency
        raise SystemExit("this example needs scikit-learn: pip install scikit-learn") from None
    data = load_digits()
    x = data.data.astype(np.float32)
    y = data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    # Standardise each pixel with the training set's statistics (a constant pixel stays 0).
    mean, std = x[train].mean(axis=0), x[train].std(axis=0) + 1e-3
    x = (x - mean) / std
    return x[train], y[train], x[test], y[test]


def build_model(seed=0):
    model = fnet.Sequential(
        [
            fnet.layers.Dense(128, activation="relu", input_shape=(64,)),
            fnet.layers.Dense(10),
        ],
        seed=seed,
    )
    model.compile(
        optimizer=fnet.optimizers.Adam(learning_rate=1e-3),
        loss=fnet.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def train(epochs=40, batch_size=32, seed=0, verbose=2):
    x_train, y_train, x_test, y_test = load_digits_split(seed)
    model = build_model(seed)
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=verbose)
    seconds = time.perf_counter() - start
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    return model, loss, acc, seconds, (x_test, y_test)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2))
    args = ap.parse_args()
    model, loss, acc, seconds, (x_test, _y_test) = train(
        args.epochs, args.batch_size, args.seed, args.verbose
    )
    model.summary()
    print(f"test loss {loss:.4f}, test accuracy {acc:.2%} (training took {seconds:.2f} s)")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "digits.fnet")
        model.save(path)
        again = fnet.load_model(path)
        same = np.array_equal(again.predict(x_test), model.predict(x_test))
        print(f"saved and reloaded: predictions identical = {same}")


if __name__ == "__main__":
    main()
