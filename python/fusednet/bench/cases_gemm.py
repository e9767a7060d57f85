"""GEMM cases: square sizes, the MLP layer shapes in their three forms, and the fused linear layer.

Names are ``MxKxN FORM``: C(M, N) = op(A) @ op(B) with K the reduction length. For a dense layer
with batch B, fan-in I and fan-out O: forward NN is B x I x O (x @ W), the input gradient NT is
B x O x I (dY @ W^T), the weight gradient TN is I x B x O (X^T @ dY).
"""

from __future__ import annotations

import numpy as np

from fusednet import ops

from .case import FUSEDNET, NUMPY, TORCH, Case, Contender, Target, max_rel_err

MLP_LAYERS = ((784, 256), (256, 128), (128, 10))
BATCHES = (32, 128, 256, 512)
FORMS = ("NN", "NT", "TN")
SOURCE = "issue 3"


def _square_target(n):
    if n in (32, 64, 128):
        return (Target(NUMPY, 1.0, SOURCE),)
    if n in (1024, 2048):
        return (Target(NUMPY, 0.9, SOURCE),)
    return ()


def layer_shapes(batch, fan_in, fan_out):
    """(M, K, N, form) of a dense layer's forward, input-gradient and weight-gradient GEMMs."""
    return {
        "NN": (batch, fan_in, fan_out, "NN"),
        "NT": (batch, fan_out, fan_in, "NT"),
        "TN": (fan_in, batch, fan_out, "TN"),
    }


def plan(mode: str):
    """[(M, K, N, form, targets)] for quick / default / full runs."""
    if mode == "quick":
        squares = (128, 1024)
        mlp = [layer_shapes(128, 784, 256)[f] for f in FORMS]
    else:
        squares = (32, 64, 128, 512, 1024, 2048)
        if mode == "full":
            mlp = [layer_shapes(b, i, o)[f] for b in BATCHES for i, o in MLP_LAYERS for f in FORMS]
        else:  # every batch size on the big layer, every layer at batch 128
            mlp = [layer_shapes(b, 784, 256)[f] for b in BATCHES for f in FORMS]
            mlp += [layer_shapes(128, i, o)[f] for i, o in MLP_LAYERS[1:] for f in FORMS]
    out = [(n, n, n, "NN", _square_target(n)) for n in squares]
    out += [(m, k, n, form, (Target(NUMPY, 1.0, SOURCE),)) for m, k, n, form in mlp]
    return out


def _operands(rng, m, k, n, form):
    """A and B stored as the form says: TN stores A as (K, M), NT stores B as (N, K)."""
    a = rng.standard_normal((k, m) if form[0] == "T" else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if form[1] == "T" else (k, n), dtype=np.float32)
    return a, b


def gemm_case(rng, torch, m, k, n, form, targets) -> Case:
    a, b = _operands(rng, m, k, n, form)
    ta, tb = form[0] == "T", form[1] == "T"
    a_op, b_op = (a.T if ta else a), (b.T if tb else b)  # NumPy views: BLAS sees the transpose

    def fused():
        return ops.matmul(a, b, trans_a=ta, trans_b=tb)

    contenders = [
        Contender(FUSEDNET, fused, f"ops.matmul(trans_a={ta}, trans_b={tb})"),
        Contender(NUMPY, lambda: a_op @ b_op, "a @ b on (transposed) views"),
    ]
    if torch is not None:
        at, bt = torch.from_numpy(a), torch.from_numpy(b)
        at_op, bt_op = (at.T if ta else at), (bt.T if tb else bt)
        contenders.append(Contender(TORCH, lambda: torch.matmul(at_op, bt_op), "torch.matmul"))
    else:
        contenders.append(Contender(TORCH, None, reason="torch not installed"))

    def check():
        return max_rel_err(fused(), a_op.astype(np.float64) @ b_op.astype(np.float64)), 1e-4

    flops = 2.0 * m * n * k
    return Case(
        "gemm",
        f"{m}x{k}x{n} {form}",
        contenders,
        flops,
        napkin="2*M*N*K flops",
        targets=targets,
        check=check,
    )


def linear_case(rng, torch, m=256, k=784, n=256) -> Case:
    x = rng.standard_normal((m, k), dtype=np.float32)
    w = (rng.standard_normal((k, n), dtype=np.float32) / np.float32(np.sqrt(k))).astype(np.float32)
    b = rng.standard_normal(n, dtype=np.float32)

    def fused():
        return ops.linear(x, w, b, activation="relu")

    contenders = [
        Contender(FUSEDNET, fused, 'ops.linear(x, w, b, activation="relu")'),
        Contender(NUMPY, lambda: np.maximum(x @ w + b, 0), "np.maximum(x @ w + b, 0)"),
    ]
    if torch is not None:
        xt, wt, bt = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)
        contenders.append(
            Contender(
                TORCH,
                lambda: torch.relu(torch.addmm(bt, xt, wt)),
                "torch.relu(torch.addmm(b, x, w))",
            )
        )
    else:
        contenders.append(Contender(TORCH, None, reason="torch not installed"))

    def check():
        ref = np.maximum(x.astype(np.float64) @ w.astype(np.float64) + b, 0)
        return max_rel_err(fused(), ref), 1e-4

    name, flops = f"linear+relu {m}x{k}x{n} NN", 2.0 * m * n * k
    napkin = "2*M*N*K flops (bias+relu not counted)"
    return Case(
        "gemm",
        name,
        contenders,
        flops,
        napkin=napkin,
        targets=(Target(NUMPY, 1.1, SOURCE),),
        check=check,
    )


def cases(cfg):
    rng = np.random.default_rng(0)
    for m, k, n, form, targets in plan(cfg.mode):
        yield gemm_case(rng, cfg.torch, m, k, n, form, targets)
    yield linear_case(rng, cfg.torch)
