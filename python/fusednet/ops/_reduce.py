"""Reductions (owned by the activation work)."""


def bias_grad(dy):
    raise NotImplementedError("bias_grad: not built yet")


def argmax(x):
    raise NotImplementedError("argmax: not built yet")
