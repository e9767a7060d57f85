"""Optimizer steps (owned by the loss/optim work)."""


def sgd_(param, grad, velocity=None, *, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    raise NotImplementedError("sgd_: not built yet")


def adam_(param, grad, m, v, *, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7,
          weight_decay=0.0, decoupled=False):
    raise NotImplementedError("adam_: not built yet")
