"""Losses (owned by the loss/optim work)."""


def mse(pred, target, *, sample_weight=None, reduction="mean"):
    raise NotImplementedError("mse: not built yet")


def binary_cross_entropy(logits, targets, *, sample_weight=None, reduction="mean"):
    raise NotImplementedError("binary_cross_entropy: not built yet")


def softmax_cross_entropy(logits, labels, *, sample_weight=None, reduction="mean"):
    raise NotImplementedError("softmax_cross_entropy: not built yet")
