"""The strongest peers in the training cases, each optional: JAX with optax (a jitted step, and a
whole epoch jitted through ``lax.scan``), Keras 3 on the JAX and on the torch backend, and
scikit-learn's MLPClassifier, each in a process of its own (bench/peers/) with its threads pinned
to the bench's count.

Every contender of a training case also gets ``losses(epochs)``: a fresh model from
``models.initial_weights`` trained unshuffled on the case's data, so the bench can check that
they all train the same model (their losses against fusednet's)."""

from __future__ import annotations

import numpy as np

from . import models
from .case import FUSEDNET, NUMPY, TORCH, Contender
from .numpy_trainer import NumpyMLP
from .peers import PEERS, peer_contender, peer_versions
from .peers.client import _version

PEER_NAMES = tuple(PEERS)
__all__ = ["PEER_NAMES", "loss_error", "peer_versions", "with_peers"]


def _fusednet_losses(w, x, y):
    def losses(epochs):
        model = models.fusednet_model(w)
        model.set_weights(models.initial_weights(w))
        history = model.fit(x, y, batch_size=w.batch_size, epochs=epochs, verbose=0, shuffle=False)
        return history.history["loss"]

    return losses


def _numpy_losses(w, x, y):
    def losses(epochs):
        model = NumpyMLP(w.sizes, w.loss, learning_rate=w.learning_rate)
        model.params = models.initial_weights(w)
        return model.fit(x, y, batch_size=w.batch_size, epochs=epochs, shuffle=False)

    return losses


def _torch_losses(torch, w, x, y):
    """The bench's PyTorch model (models.make_torch's layers, loss and Adam), unshuffled."""

    def losses(epochs):
        nn = torch.nn
        layers = []
        weights = models.initial_weights(w)
        for i in range(len(w.sizes) - 1):
            linear = nn.Linear(w.sizes[i], w.sizes[i + 1])
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(weights[2 * i].T))
                linear.bias.copy_(torch.from_numpy(weights[2 * i + 1]))
            layers += [linear, nn.ReLU()] if i < len(w.sizes) - 2 else [linear]
        model = nn.Sequential(*layers)
        optimizer = torch.optim.Adam(model.parameters(), lr=w.learning_rate, eps=1e-7)
        classify = w.loss == "softmax_cross_entropy"
        loss_fn = nn.CrossEntropyLoss() if classify else nn.BCEWithLogitsLoss()
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        out = []
        for _ in range(epochs):
            total = 0.0
            for start in range(0, len(x), w.batch_size):
                sl = slice(start, start + w.batch_size)
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(xt[sl]), yt[sl])
                loss.backward()
                optimizer.step()
                total += float(loss.detach())
            out.append(total / -(-len(x) // w.batch_size))
        return out

    return losses


def _missing(peer) -> str:
    return ", ".join(d for d in peer.packages if _version(d) is None)


def with_peers(contenders, w, x, y, torch=None, peers=PEER_NAMES, threads=1) -> list:
    """The case's contenders with their loss checks, followed by the peers named in ``peers``
    (those whose packages are missing as unavailable contenders)."""
    out = list(contenders)
    for c in out:
        if c.fn is None:
            continue
        if c.name == FUSEDNET:
            c.losses = _fusednet_losses(w, x, y)
        elif c.name == NUMPY:
            c.losses = _numpy_losses(w, x, y)
        elif c.name == TORCH and torch is not None:
            c.losses = _torch_losses(torch, w, x, y)
    for name in peers:
        peer = PEERS[name]
        missing = _missing(peer)
        if missing:
            out.append(Contender(name, None, peer.note, reason=f"{missing} not installed"))
        else:
            out.append(peer_contender(name, peer.kind, peer.note, w, threads, peer.env))
    return out


def loss_error(ours, theirs) -> float:
    """The largest relative difference between two per-epoch loss curves (inf when their
    lengths differ or a loss is not finite)."""
    a, b = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    if a.shape != b.shape or a.size == 0 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return float("inf")
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-12)))
