"""bf16 cases: the "medium" float32 matmul precision (the CPU gemms on vdpbf16ps, bf16-rounded
inputs, FP32 sums) against the FP32 path ("highest") of the same build, side by side in one run:
the 1024^3 gemm, an mlp784 training run, and the digits test accuracy of both.

On a CPU without AVX512-BF16, "medium" keeps FP32, so the bf16 contender is unavailable and the
targets are unmeasured (the report says why)."""

from __future__ import annotations

import contextlib
import dataclasses
import warnings

import numpy as np

from . import models
from .case import FP32, FUSEDNET, Case, Contender, Target, max_rel_err

TARGETS = {"gemm": Target(FP32, 1.7), "train": Target(FP32, 1.5)}
DIGITS_MAX_DROP = 0.005  # bf16 test accuracy at most 0.5 points below FP32's
DIGITS_EPOCHS = {"quick": 10, "default": 50, "full": 50}


@contextlib.contextmanager
def _precision(name):
    import fusednet as fnet

    before = fnet.get_float32_matmul_precision()
    fnet.set_float32_matmul_precision(name)
    try:
        yield
    finally:
        fnet.set_float32_matmul_precision(before)


def _unavailable_reason():
    import fusednet as fnet

    with _precision("medium"):
        if fnet.backends()["cpu"]["matmul_precision"] == "bf16":
            return ""
    if not fnet.backends()["cpu"]["avx512_bf16"]:
        return "this CPU has no AVX512-BF16 ('medium' keeps FP32)"
    return "AVX512-BF16 needs the avx512 ISA (set_cpu_isa / FUSEDNET_ISA)"


def _pair(bf16_fn, fp32_fn, bf16_note, fp32_note, warmups=(None, None)):
    """The bf16 run as the fusednet contender, the FP32 run as its baseline."""
    reason = _unavailable_reason()

    def under(name, fn):
        def run():
            with _precision(name):
                return fn()

        return run

    def warm(name, fn):
        return None if fn is None else under(name, fn)

    ours = (
        Contender(FUSEDNET, None, bf16_note, reason=reason)
        if reason
        else Contender(
            FUSEDNET, under("medium", bf16_fn), bf16_note, warmup=warm("medium", warmups[0])
        )
    )
    return [
        ours,
        Contender(FP32, under("highest", fp32_fn), fp32_note, warmup=warm("highest", warmups[1])),
    ]


def gemm_case(rng, n=1024) -> Case:
    from fusednet.ops import matmul

    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    out = np.empty((n, n), np.float32)

    def run():
        matmul(a, b, out=out)

    def check():
        with _precision("medium"):
            got = matmul(a, b)
        bf = [np.asarray(x, np.float32).view(np.uint32) for x in (a, b)]
        # bf16 rounding (to nearest even) of the inputs, then a float64 product.
        r = [
            ((u.astype(np.uint64) + 0x7FFF + ((u >> 16) & 1)) >> 16 << 16).astype(np.uint32)
            for u in bf
        ]
        want = r[0].view(np.float32).astype(np.float64) @ r[1].view(np.float32).astype(np.float64)
        return max_rel_err(got, want), 1e-5

    return Case(
        "bf16",
        f"gemm {n}x{n}x{n} NN",
        _pair(run, run, "precision 'medium': vdpbf16ps", "precision 'highest': FP32 FMA"),
        flops=2.0 * n**3,
        napkin=f"2*M*N*K = {2 * n**3:.3g} flops; check vs float64 of the bf16-rounded inputs",
        targets=(TARGETS["gemm"],),
        check=check,
    )


def train_case(mode, budget_s) -> Case:
    w = models.MLP784
    if mode == "quick":
        w = dataclasses.replace(w, samples=4096)
    x, y = w.data()
    t_bf16, t_fp32 = models.make_fusednet(w, x, y), models.make_fusednet(w, x, y)
    samples = float(w.samples * w.epochs)
    sizes = "-".join(map(str, w.sizes))
    note = f"fit(batch_size={w.batch_size}, epochs={w.epochs})"
    return Case(
        "bf16",
        f"train {w.name} {sizes} x{w.samples}",
        _pair(
            t_bf16.run,
            t_fp32.run,
            note + ", 'medium'",
            note + ", 'highest'",
            (t_bf16.warmup, t_fp32.warmup),
        ),
        samples=samples,
        flops=6.0 * w.n_params * samples,
        napkin=f"6*params = {6 * w.n_params} flops/sample",
        targets=(TARGETS["train"],),
        budget_s=budget_s,
    )


def digits_case(mode, budget_s) -> Case:
    epochs = DIGITS_EPOCHS[mode]
    name = f"digits 64-100-10 x1347, {epochs} epochs (test accuracy)"
    try:
        from ..sklearn import MLPClassifier
        from .cases_sklearn import _digits

        x_train, x_test, y_train, y_test = _digits()
    except ImportError:
        reason = "scikit-learn not installed"
        return Case(
            "bf16",
            name,
            [Contender(FUSEDNET, None, reason=reason), Contender(FP32, None, reason=reason)],
        )
    params = dict(hidden_layer_sizes=(100,), batch_size=200, max_iter=epochs,
                  n_iter_no_change=epochs, random_state=0)  # fmt: skip
    fitted = {}

    def trainer(key):
        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitted[key] = MLPClassifier(**params).fit(x_train, y_train)

        return run

    def check():
        for key, prec in ((FUSEDNET, "medium"), (FP32, "highest")):
            if key not in fitted:
                with _precision(prec):
                    trainer(key)()
        drop = fitted[FP32].score(x_test, y_test) - fitted[FUSEDNET].score(x_test, y_test)
        return max(0.0, drop), DIGITS_MAX_DROP

    samples = float(len(x_train) * epochs)
    n_params = 64 * 100 + 100 + 100 * 10 + 10
    return Case(
        "bf16",
        name,
        _pair(
            trainer(FUSEDNET), trainer(FP32), "MLPClassifier, 'medium'", "MLPClassifier, 'highest'"
        ),
        samples=samples,
        flops=6.0 * n_params * samples,
        napkin=f"check: bf16 test accuracy at most {100 * DIGITS_MAX_DROP:.1f} points below FP32",
        check=check,
        budget_s=budget_s,
    )


def cases(cfg):
    rng = np.random.default_rng(0)
    yield gemm_case(rng, 512 if cfg.mode == "quick" else 1024)
    yield train_case(cfg.mode, cfg.train_budget_s)
    yield digits_case(cfg.mode, cfg.train_budget_s)
