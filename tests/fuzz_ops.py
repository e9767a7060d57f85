"""Differential fuzzing of fusednet.ops against the float64 NumPy references (reference_*.py),
with hypothesis: random shapes (empty included), input dtypes, layouts (C, Fortran, strided,
negative strides, misaligned bytes), special values (NaN, +-inf, +-0, denormals, huge), out=
arrays, on every CPU ISA this processor has (fnet._core.set_cpu_isa). Not collected by pytest's
default run (it is not test_*.py): CI runs it as its own step, for a time budget,

    python tests/fuzz_ops.py --seconds 60

rounds of a few examples per (op, ISA) until the budget is spent; prints the number of fuzzed
calls and exits non-zero with hypothesis's shrunk counterexample on the first mismatch or crash.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections import Counter

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fusednet as fnet  # noqa: E402
import reference_activation as ref_act  # noqa: E402
import reference_gemm as ref_gemm  # noqa: E402
import reference_loss as ref_loss  # noqa: E402
import reference_optim as ref_optim  # noqa: E402
import reference_reduce as ref_reduce  # noqa: E402
from fusednet import ops  # noqa: E402

ISAS = [
    isa
    for isa in ("generic", "avx2", "avx512")
    if ("generic", "avx2", "avx512").index(isa)
    <= ("generic", "avx2", "avx512").index(fnet._core.cpu_isa_detected())
]
CALLS: Counter = Counter()
SPECIALS = np.array(
    [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 1e-38, 3e38, -3e38], np.float64
)
LAYOUTS = ("c", "f", "strided", "reversed", "misaligned", "float64", "int32")


# ---- inputs ------------------------------------------------------------------------------------
@st.composite
def fills(draw, specials=True):
    """(seed, scale, fraction of special values): the array is drawn from them by NumPy, so an
    example stays small for hypothesis while its arrays can be large."""
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from([1e-3, 1.0, 1.0, 30.0, 1e4]))
    frac = draw(st.sampled_from([0.0, 0.0, 0.02, 0.3])) if specials else 0.0
    return seed, scale, frac


def values(shape, fill, special_pool=SPECIALS):
    seed, scale, frac = fill
    rng = np.random.default_rng(seed)
    x = np.asarray(rng.standard_normal(shape) * scale)
    if frac and x.size:
        mask = np.asarray(rng.random(shape) < frac)
        x[mask] = rng.choice(special_pool, size=int(mask.sum()))
    return x


def laid_out(x64, layout, seed):
    """x64's values (rounded to float32) in `layout`: a view or an array of another dtype."""
    x = x64.astype(np.float32)
    if layout == "c" or x.ndim == 0:
        return np.ascontiguousarray(x)
    if layout == "f":
        return np.asfortranarray(x)
    if layout == "strided":  # every other element of a twice-as-long last axis
        big = np.zeros(x.shape[:-1] + (2 * x.shape[-1] + 1,), np.float32)
        big[..., 1::2] = x
        return big[..., 1::2]
    if layout == "reversed":
        return np.ascontiguousarray(x[::-1])[::-1]
    if layout == "misaligned":
        raw = np.zeros(x.nbytes + 8, np.uint8)
        off = 1 + seed % 3
        a = np.ndarray(x.shape, np.float32, raw.data, off)
        a[...] = x
        return a
    if layout == "float64":
        return x.astype(np.float64)
    if layout == "int32":  # real inputs of other dtypes are converted: whole values only
        with np.errstate(invalid="ignore"):
            return (
                np.nan_to_num(np.round(x), nan=0, posinf=7, neginf=-7)
                .clip(-1e6, 1e6)
                .astype(np.int32)
            )
    raise ValueError(layout)


def shapes(min_dims=0, max_dims=3, max_side=40):
    return st.lists(st.integers(0, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


def matrix_shapes(max_side=48):
    return st.tuples(st.integers(0, max_side), st.integers(0, max_side))


# ---- comparisons ---------------------------------------------------------------------------------
def close(got, want, atol, rtol, what):
    """|got - want| <= atol + rtol |want| against want rounded to float32; NaN where want is NaN,
    equal infinities."""
    got = np.asarray(got, np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        want = np.asarray(want, np.float64).astype(np.float32).astype(np.float64)
    assert got.shape == want.shape, (what, got.shape, want.shape)
    nan_g, nan_w = np.isnan(got), np.isnan(want)
    assert np.array_equal(nan_g, nan_w), f"{what}: NaN at {np.argwhere(nan_g != nan_w)[:3]}"
    inf = np.isinf(want)
    assert np.array_equal(got[inf], want[inf]), f"{what}: infinities differ"
    fin = ~nan_w & ~inf
    with np.errstate(invalid="ignore"):
        err = np.abs(np.where(fin, got - want, 0.0))
    bad = err > atol + rtol * np.abs(np.where(fin, want, 0.0))
    assert not bad.any(), (
        f"{what}: {bad.sum()} elements off, worst got {got[bad][:3]} want {want[bad][:3]}"
    )


def call(name, fn, *args, **kwargs):
    CALLS[name] += 1
    with np.errstate(all="ignore"):
        return fn(*args, **kwargs)


COMMON = settings(
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)

# ---- the ops ----------------------------------------------------------------------------------
ELEMENTWISE = ("relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh")


def _act_fn(name):
    if name == "gelu_tanh":
        return (lambda x, **k: ops.gelu(x, approximate="tanh", **k)), "gelu_tanh"
    return getattr(ops, name), name


def fuzz_elementwise(isa):
    @given(
        name=st.sampled_from(ELEMENTWISE),
        shape=shapes(),
        fill=fills(),
        layout=st.sampled_from(LAYOUTS),
        use_out=st.booleans(),
    )
    def run(name, shape, fill, layout, use_out):
        x64 = values(shape, fill).astype(np.float32).astype(np.float64)
        x = laid_out(x64, layout, fill[0])
        fn, ref_name = _act_fn(name)
        out = None
        if use_out:
            out = laid_out(np.zeros(shape), "misaligned" if fill[0] % 2 else "f", fill[0])
            out = out if out.dtype == np.float32 else None
        y = call(f"{name}[{isa}]", fn, x, out=out)
        if out is not None:
            assert y is out
        want = ref_act.forward(ref_name, np.asarray(x, np.float64))
        close(y, want, 1e-6, 2e-6, f"{name} {shape} {layout}")

    return run


def fuzz_elementwise_backward(isa):
    @given(
        name=st.sampled_from(ELEMENTWISE),
        shape=shapes(min_dims=1),
        fill=fills(specials=False),
        fill_dy=fills(specials=False),
        layout=st.sampled_from(LAYOUTS),
    )
    def run(name, shape, fill, fill_dy, layout):
        x64 = values(shape, fill).astype(np.float32).astype(np.float64)
        dy64 = values(shape, fill_dy).astype(np.float32).astype(np.float64)
        x = laid_out(x64, layout, fill[0])
        dy = laid_out(dy64, "c", 0)
        if name == "gelu_tanh":
            got = call(f"{name}_backward[{isa}]", ops.gelu_backward, dy, x, approximate="tanh")
        else:
            got = call(f"{name}_backward[{isa}]", getattr(ops, name + "_backward"), dy, x)
        want = ref_act.backward(name, dy64, np.asarray(x, np.float64))
        # float32 inputs of up to 1e4: the derivative's own float32 rounding, relative to |dy|
        close(got, want, 1e-5 * (np.abs(dy64) + 1e-30), 1e-4, f"{name}' {shape} {layout}")

    return run


def fuzz_softmax(isa):
    @given(
        log=st.booleans(),
        shape=matrix_shapes(),
        fill=fills(),
        layout=st.sampled_from(LAYOUTS),
    )
    def run(log, shape, fill, layout):
        finite_pool = np.array([0.0, -0.0, 1e-45, 1e30, -1e30, 80.0, -80.0])
        x64 = values(shape, fill, finite_pool).astype(np.float32).astype(np.float64)
        x = laid_out(x64, layout, fill[0])
        fn = ops.log_softmax if log else ops.softmax
        got = call(f"{'log_' if log else ''}softmax[{isa}]", fn, x)
        xr = np.asarray(x, np.float64)
        want = ref_act.log_softmax(xr) if log else ref_act.softmax(xr)
        atol = 1e-6 if not log else 1e-5 * (1 + np.abs(want))
        close(got, want, atol, 1e-5, f"softmax log={log} {shape} {layout}")

    return run


def fuzz_matmul(isa):
    @given(
        mnk=st.tuples(st.integers(0, 70), st.integers(0, 70), st.integers(0, 90)),
        trans=st.tuples(st.booleans(), st.booleans()),
        fills_=st.tuples(fills(), fills()),
        layouts=st.tuples(st.sampled_from(LAYOUTS), st.sampled_from(LAYOUTS)),
        linear=st.booleans(),
        act=st.sampled_from([None, "relu", "tanh", "sigmoid"]),
    )
    def run(mnk, trans, fills_, layouts, linear, act):
        M, N, K = mnk
        pool = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45])  # no float32 overflow
        sa = (K, M) if trans[0] else (M, K)
        sb = (N, K) if trans[1] else (K, N)
        a64 = values(sa, fills_[0], pool).astype(np.float32).astype(np.float64)
        b64 = values(sb, fills_[1], pool).astype(np.float32).astype(np.float64)
        a = laid_out(a64, layouts[0], fills_[0][0])
        b = laid_out(b64, layouts[1], fills_[1][0])
        a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)  # what was passed
        if linear:
            x = laid_out(a64.T if trans[0] else a64, layouts[0], 1)
            w = b64.T if trans[1] else b64
            bias = values((N,), fills_[0], pool).astype(np.float32)
            got = call(f"linear[{isa}]", ops.linear, x, w, bias, activation=act)
            want, scale = ref_gemm.gemm_ref(np.asarray(x, np.float64), w, bias=bias, activation=act)
        else:
            got = call(f"matmul[{isa}]", ops.matmul, a, b, trans_a=trans[0], trans_b=trans[1])
            want, scale = ref_gemm.gemm_ref(a64, b64, trans_a=trans[0], trans_b=trans[1])
        # reference_gemm's bound, K-scaled and relative to sum |a||b|; NaN and inf must match
        with np.errstate(invalid="ignore"):
            bound = 4.0 * (K + 4) * ref_gemm.EPS32 * np.nan_to_num(scale, nan=0, posinf=0)
            bound = bound + 2e-6 * np.abs(np.nan_to_num(want, nan=0, posinf=0, neginf=0)) + 1e-30
        close(got, want, bound, 0.0, f"gemm {mnk} {trans} {layouts} linear={linear} {act}")

    return run


def fuzz_losses(isa):
    @given(
        kind=st.sampled_from(["mse", "bce", "sce", "sce_soft"]),
        shape=st.tuples(st.integers(0, 40), st.integers(1, 20)),
        fills_=st.tuples(fills(specials=False), fills(specials=False)),
        layout=st.sampled_from(LAYOUTS),
        weighted=st.booleans(),
        reduction=st.sampled_from(["mean", "sum"]),
    )
    def run(kind, shape, fills_, layout, weighted, reduction):
        rows, cols = shape
        z64 = values(shape, fills_[0]).astype(np.float32).astype(np.float64)
        z = laid_out(z64, layout, fills_[0][0])
        z64 = np.asarray(z, np.float64)  # what was passed (int32: rounded)
        rng = np.random.default_rng(fills_[1][0])
        sw = rng.random(rows).astype(np.float32) if weighted else None
        kw = dict(sample_weight=sw, reduction=reduction)
        if kind == "mse":
            t = values(shape, fills_[1]).astype(np.float32)
            got = call(f"mse[{isa}]", ops.mse, z, t, **kw)
            want = ref_loss.mse(z64, t.astype(np.float64), sw, reduction)
        elif kind == "bce":
            t = rng.random(shape).astype(np.float32)
            got = call(f"bce[{isa}]", ops.binary_cross_entropy, z, t, **kw)
            want = ref_loss.binary_cross_entropy(z64, t.astype(np.float64), sw, reduction)
        elif kind == "sce":
            labels = rng.integers(0, cols, rows)
            got = call(f"softmax_ce[{isa}]", ops.softmax_cross_entropy, z, labels, **kw)
            want = ref_loss.softmax_cross_entropy(z64, labels, sw, reduction)
        else:
            t = rng.random(shape)
            t = (t / t.sum(axis=1, keepdims=True)).astype(np.float32) if rows else t
            got = call(f"softmax_ce_soft[{isa}]", ops.softmax_cross_entropy, z, t, **kw)
            want = ref_loss.softmax_cross_entropy(z64, np.asarray(t, np.float64), sw, reduction)
        (loss, grad), (wl, wg) = got, want
        assert math.isclose(float(loss), float(wl), rel_tol=2e-5, abs_tol=1e-5 * (1 + abs(wl)))
        close(grad, wg, 1e-6 + 1e-5 * np.max(np.abs(wg), initial=0), 2e-5, f"{kind} grad")

    return run


def fuzz_reduce(isa):
    @given(shape=matrix_shapes(), fill=fills(), layout=st.sampled_from(LAYOUTS))
    def run(shape, fill, layout):
        x64 = values(shape, fill, np.array([np.nan, np.inf, -np.inf, 0.0, -0.0]))
        x64 = x64.astype(np.float32).astype(np.float64)
        x = laid_out(x64, layout, fill[0])
        got = call(f"bias_grad[{isa}]", ops.bias_grad, x)
        want = ref_reduce.bias_grad(np.asarray(x, np.float64))
        scale = np.abs(np.nan_to_num(np.asarray(x, np.float64), posinf=0, neginf=0)).sum(axis=0)
        close(got, want, 1e-6 * scale + 1e-30, 1e-6, f"bias_grad {shape} {layout}")
        if shape[1] and np.asarray(x).dtype.kind == "f":
            got_i = call(f"argmax[{isa}]", ops.argmax, x)
            assert np.array_equal(got_i, ref_reduce.argmax(np.asarray(x, np.float32)))

    return run


def fuzz_optim(isa):
    @given(
        n=st.integers(0, 5000),
        fills_=st.tuples(fills(specials=False), fills(specials=False)),
        adam=st.booleans(),
        hp=st.tuples(
            st.floats(1e-6, 1.0),
            st.sampled_from([0.0, 0.5, 0.9, 0.999999999]),
            st.sampled_from([0.0, 0.9, 1 - 1e-9]),
            st.sampled_from([0.0, 1e-4, 0.1]),
        ),
        flags=st.tuples(st.booleans(), st.booleans()),
        steps=st.integers(1, 3),
        misaligned=st.booleans(),
    )
    def run(n, fills_, adam, hp, flags, steps, misaligned):
        lr, b1, b2, wd = hp
        # Adam's update g / (|g| + eps) is ill-conditioned where |g| ~ eps: with L2 decay
        # (g + wd p, which can cancel) float32 rounding of g is amplified up to lr / eps, so the
        # fuzz decays Adam decoupled (exact inputs); test_optim covers L2 at realistic values.
        decoupled = flags[0] or (adam and wd > 0)
        p64 = values((n,), fills_[0]).astype(np.float32).astype(np.float64)
        layout = "misaligned" if misaligned else "c"
        p = laid_out(p64, layout, fills_[0][0])
        state = ref_optim.new_state(p64, "m", "v", "velocity")
        m, v, vel = (laid_out(np.zeros(n), layout, k) for k in (1, 2, 3))
        rng = np.random.default_rng(fills_[1][0])
        moved = np.zeros(n)  # |each step's update| summed (reference): Adam's can exceed lr
        for t in range(1, steps + 1):
            before = state["param"].copy()
            g = (rng.standard_normal(n) * fills_[1][1]).astype(np.float32)
            if adam:
                call(
                    f"adam_[{isa}]",
                    ops.adam_,
                    p,
                    g,
                    m,
                    v,
                    step=t,
                    lr=lr,
                    beta1=b1,
                    beta2=b2,
                    weight_decay=wd,
                    decoupled=decoupled,
                )
                ref_optim.adam(
                    state,
                    g,
                    step=t,
                    lr=lr,
                    beta1=b1,
                    beta2=b2,
                    weight_decay=wd,
                    decoupled=decoupled,
                )
            else:
                mom = b1
                call(
                    f"sgd_[{isa}]",
                    ops.sgd_,
                    p,
                    g,
                    vel if mom else None,
                    lr=lr,
                    momentum=mom,
                    nesterov=flags[1] and mom > 0,
                    weight_decay=wd,
                )
                ref_optim.sgd(
                    state, g, lr=lr, momentum=mom, nesterov=flags[1] and mom > 0, weight_decay=wd
                )
            moved += np.abs(state["param"] - before)
        # each step's rounding is relative to the sizes it adds: |p| and lr (adam) or lr |g|,
        # and the updates themselves (m / sqrt(v) is far above 1 where beta2 = 0 meets a tiny g)
        scale = (
            np.abs(state["param"]) + lr * (1 + fills_[1][1]) * steps * (10 if b1 else 1) + 4 * moved
        )
        close(p, state["param"], 2e-6 * scale, 2e-6, f"{'adam' if adam else 'sgd'} n={n}")

    return run


FUZZERS = [
    fuzz_elementwise,
    fuzz_elementwise_backward,
    fuzz_softmax,
    fuzz_matmul,
    fuzz_losses,
    fuzz_reduce,
    fuzz_optim,
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="time budget")
    ap.add_argument("--examples", type=int, default=25, help="examples per (op, ISA) round")
    args = ap.parse_args()
    before = fnet._core.cpu_isa()
    tests = [
        (isa, settings(parent=COMMON, max_examples=args.examples)(make(isa)))
        for isa in ISAS
        for make in FUZZERS
    ]
    end = time.monotonic() + args.seconds
    rounds = 0
    try:
        while time.monotonic() < end:
            for isa, test in tests:
                fnet._core.set_cpu_isa(isa)
                with np.errstate(all="ignore"):  # the references meet inf - inf on purpose
                    test()
                if time.monotonic() >= end:
                    break
            rounds += 1
    finally:
        fnet._core.set_cpu_isa(before)
    total = sum(CALLS.values())
    by_isa = Counter()
    for key, count in CALLS.items():
        by_isa[key.split("[")[1].rstrip("]")] += count
    print(
        f"fuzz_ops: {total} fuzzed calls of fusednet.ops against float64 NumPy in "
        f"{rounds} rounds over ISAs {ISAS}: " + ", ".join(f"{k} {v}" for k, v in by_isa.items())
    )
    for key in sorted(CALLS):
        print(f"  {key:28s} {CALLS[key]}")


if __name__ == "__main__":
    main()
