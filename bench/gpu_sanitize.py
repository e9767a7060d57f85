"""A small workout of every CUDA kernel family (fusednet.ops with device="cuda"), for running
under compute-sanitizer.

    compute-sanitizer --tool memcheck --error-exitcode 3 python bench/gpu_sanitize.py all
    compute-sanitizer --tool racecheck --error-exitcode 3 python bench/gpu_sanitize.py gemm_small

Small, odd shapes (edge tiles, vector tails, one-element cases) so that out-of-bounds accesses,
uninitialised reads and shared-memory races show up in seconds; each result is also checked
against NumPy in float64 so that a silently wrong kernel fails here too. Exit status 0 when all
checks pass (the sanitizer sets its own on an error it finds). Needs a CUDA device.
"""

from __future__ import annotations

import sys

import numpy as np

import fusednet as fnet
from fusednet import cuda

RNG = np.random.default_rng(7)
failures = []


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def check(name, got, want, tol):
    got = np.asarray(got, np.float64)
    want = np.asarray(want, np.float64)
    err = float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30)) if want.size else 0.0
    if not np.isfinite(got).all() or err > tol:
        failures.append(f"{name}: max rel err {err:.3g} > {tol:g}")


def gemm(big=True):
    shapes = [
        (1, 1, 1),
        (5, 3, 1),
        (37, 53, 29),
        (130, 67, 150),
        (257, 129, 300),
        (64, 64, 8),
        (5, 3, 4099),
        (64, 10, 1024),
    ]  # the last two (and 257x129x300) split K
    if big:
        shapes.append((1536, 1536, 40))  # 144 tiles of 128x128: the big-tile kernel on an H100
    tf32_kernels = [None]
    if hasattr(fnet._core, "_gemm_cuda_tf32_kernel"):
        tf32_kernels = [0, 1]
    for precision, tol in (("highest", 1e-5), ("high", 3e-3)):
        cuda.set_float32_matmul_precision(precision)
        for kernel in tf32_kernels if precision == "high" else [None]:
            if kernel is not None:
                fnet._core._gemm_cuda_tf32_kernel(kernel)
            tag = f"{precision}{'' if kernel is None else f' kernel {kernel}'}"
            for M, N, K in shapes:
                for ta in (False, True):
                    for tb in (False, True):
                        a = rand(K, M) if ta else rand(M, K)
                        b = rand(N, K) if tb else rand(K, N)
                        want = (a.T if ta else a).astype(np.float64) @ (b.T if tb else b).astype(
                            np.float64
                        )
                        got = fnet.ops.matmul(a, b, trans_a=ta, trans_b=tb, device="cuda")
                        check(f"matmul {tag} {M}x{N}x{K} ta={ta} tb={tb}", got, want, tol)
                x, w, bias = rand(M, K), rand(K, N), rand(N)
                want = np.maximum(x.astype(np.float64) @ w + bias, 0)
                check(
                    f"linear relu {tag} {M}x{N}x{K}",
                    fnet.ops.linear(x, w, bias, activation="relu", device="cuda"),
                    want,
                    tol,
                )
                c = rand(M, N)
                want = 0.5 * (x.astype(np.float64) @ w) - 2.0 * c
                check(
                    f"matmul beta {tag} {M}x{N}x{K}",
                    fnet.ops.matmul(x, w, alpha=0.5, beta=-2.0, out=c.copy(), device="cuda"),
                    want,
                    tol,
                )
    if tf32_kernels != [None]:
        fnet._core._gemm_cuda_tf32_kernel(0)
    cuda.set_float32_matmul_precision("highest")


def elementwise():
    for n in (1, 3, 1000, 4099):
        x, dy = rand(n), rand(n)
        for name in ("relu", "leaky_relu", "sigmoid", "tanh", "gelu"):
            y = fnet.ops.activation(x, name, device="cuda")
            check(f"{name} {n}", y, fnet.ops.activation(x, name), 1e-5)
            dx = fnet.ops.activation_backward(dy, x, name, device="cuda")
            check(f"{name} backward {n}", dx, fnet.ops.activation_backward(dy, x, name), 1e-5)
    for rows, cols in ((1, 1), (7, 1001), (33, 5), (3, 4097)):
        x, dy = rand(rows, cols), rand(rows, cols)
        for fwd, bwd in (
            (fnet.ops.softmax, fnet.ops.softmax_backward),
            (fnet.ops.log_softmax, fnet.ops.log_softmax_backward),
        ):
            check(f"{fwd.__name__} {rows}x{cols}", fwd(x, device="cuda"), fwd(x), 1e-5)
            check(f"{bwd.__name__} {rows}x{cols}", bwd(dy, x, device="cuda"), bwd(dy, x), 1e-4)
        check(
            f"bias_grad {rows}x{cols}",
            fnet.ops.bias_grad(dy, device="cuda"),
            dy.astype(np.float64).sum(0),
            1e-5,
        )
        assert np.array_equal(fnet.ops.argmax(x, device="cuda"), np.argmax(x, axis=1)), "argmax"


def losses():
    for rows, cols in ((1, 1), (9, 7), (130, 1001)):
        p, t, w = rand(rows, cols), rand(rows, cols), np.abs(rand(rows)) + 0.1
        lab = RNG.integers(0, cols, rows)
        probs = np.abs(rand(rows, cols))
        probs /= probs.sum(1, keepdims=True)
        for name, args in (
            ("mse", (p, t)),
            ("binary_cross_entropy", (p, (t > 0).astype(np.float32))),
            ("softmax_cross_entropy", (p, lab)),
            ("softmax_cross_entropy", (p, probs)),
        ):
            for sw in (None, w):
                lg, gg = getattr(fnet.ops, name)(*args, sample_weight=sw, device="cuda")
                lc, gc = getattr(fnet.ops, name)(*args, sample_weight=sw)
                check(f"{name} {rows}x{cols} loss", [lg], [lc], 1e-5)
                check(f"{name} {rows}x{cols} grad", gg, gc, 1e-5)


def optimizers():
    for n in (1, 5, 1003, 65541):
        p, g, v = rand(n), rand(n), np.zeros(n, np.float32)
        pc, vc = p.copy(), v.copy()
        fnet.ops.sgd_(
            p, g, v, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01, device="cuda"
        )
        fnet.ops.sgd_(pc, g, vc, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)
        check(f"sgd {n}", p, pc, 1e-6)
        for decoupled in (False, True):
            p, g = rand(n), rand(n)
            m, v = np.zeros(n, np.float32), np.zeros(n, np.float32)
            pc, mc, vc = p.copy(), m.copy(), v.copy()
            for step in (1, 2):
                fnet.ops.adam_(
                    p,
                    g,
                    m,
                    v,
                    step=step,
                    lr=0.01,
                    weight_decay=0.1,
                    decoupled=decoupled,
                    device="cuda",
                )
                fnet.ops.adam_(
                    pc, g, mc, vc, step=step, lr=0.01, weight_decay=0.1, decoupled=decoupled
                )
            check(f"adam decoupled={decoupled} {n}", p, pc, 1e-5)


def net():
    L = fnet.layers
    x = rand(203, 12)
    y = RNG.integers(0, 5, 203)
    results = []
    for resident, chunk in ((True, None), (False, None), (False, 1)):
        m = fnet.Sequential(
            [
                L.Dense(16, activation="relu", input_shape=(12,)),
                L.Dropout(0.3),
                L.Dense(8, activation="tanh"),
                L.Dense(5, activation="softmax"),
            ],
            seed=3,
            device="cuda",
        )
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        m._net.max_resident_bytes = -1 if resident else 0
        if chunk is not None:
            m._net.stream_chunk_bytes = chunk
        m.fit(x, y, batch_size=16, epochs=2, verbose=0, validation_split=0.2)
        m.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[fnet.callbacks.Callback()])
        results.append((m.get_weights(), m.evaluate(x, y, verbose=0), m.predict(x)))
    for w, e, p in results[1:]:
        if (
            not all(np.array_equal(a, b) for a, b in zip(results[0][0], w))
            or e != results[0][1]
            or not np.array_equal(p, results[0][2])
        ):
            failures.append("net: streamed training differs from resident")


PARTS = {
    "gemm": gemm,
    "gemm_small": lambda: gemm(big=False),
    "elementwise": elementwise,
    "losses": losses,
    "optimizers": optimizers,
    "net": net,
}


def main(argv):
    names = argv[1:] or ["all"]
    if names == ["all"]:
        names = [n for n in PARTS if n != "gemm_small"]
    if not cuda.is_available():
        print(f"gpu_sanitize: CUDA not available: {cuda.reason()}")
        return 2
    for name in names:
        PARTS[name]()
        cuda.synchronize()
        print(f"gpu_sanitize: {name} done", flush=True)
    for f in failures:
        print("FAIL", f)
    print(f"gpu_sanitize: {len(failures)} failed checks")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
