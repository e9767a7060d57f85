"""Keras 3's other optimizers (RMSprop, Adagrad, Adadelta, Adamax, Nadam, Lion, Adam amsgrad):
the step ops against float64 references of Keras's formulas (tests/reference_optim.py) on every
ISA and device, against torch.optim after 50 steps, clipping / weight decay / EMA / trainable
ranges through a model, state save and load, determinism across thread counts, bad arguments."""

import numpy as np
import pytest

import checks
import fusednet as fnet
import reference_optim as ref
from fusednet import layers as L
from fusednet import ops
from fusednet import optimizers as O

SIZES = [1, 7, 33, 4096 + 5, 70000]


def _run(name, n, rng, steps, device="cpu", **hp):
    """(fusednet's float32 state, the float64 reference state) after `steps` steps."""
    p = rng.standard_normal(n).astype(np.float32)
    names = {
        "rmsprop": ["velocity", "momentum", "average_grad"],
        "adagrad": ["accumulator"],
        "adadelta": ["ag", "ad"],
        "adamax": ["m", "u"],
        "nadam": ["m", "v"],
        "lion": ["m"],
        "amsgrad": ["m", "v", "v_hat"],
    }[name]
    st = {k: np.zeros(n, np.float32) for k in names}
    if name == "adagrad":
        st["accumulator"][:] = 0.1
    want = {"param": p.astype(np.float64), **{k: v.astype(np.float64) for k, v in st.items()}}
    for t in range(1, steps + 1):
        g = rng.standard_normal(n).astype(np.float32)
        kw = dict(hp)
        if name in ("adamax", "nadam", "amsgrad"):
            kw["step"] = t
        if name == "rmsprop":
            ops.rmsprop_(
                p, g, st["velocity"], st["momentum"], st["average_grad"], device=device, **kw
            )
            ref.rmsprop(want, g, **{("wd" if k == "weight_decay" else k): v for k, v in kw.items()})
            continue
        fn = {
            "adagrad": ops.adagrad_,
            "adadelta": ops.adadelta_,
            "adamax": ops.adamax_,
            "nadam": ops.nadam_,
            "lion": ops.lion_,
            "amsgrad": ops.amsgrad_,
        }[name]
        fn(p, g, *[st[k] for k in names], device=device, **kw)
        rkw = {("wd" if k == "weight_decay" else k): v for k, v in kw.items()}
        getattr(ref, name)(want, g, **rkw)
    got = {"param": p, **st}
    return got, want


CASES = [
    ("rmsprop", dict(lr=1e-2)),
    ("rmsprop", dict(lr=1e-2, momentum=0.9)),
    ("rmsprop", dict(lr=1e-2, centered=True, weight_decay=0.1)),
    ("rmsprop", dict(lr=1e-2, momentum=0.5, centered=True, clipvalue=0.5)),
    ("adagrad", dict(lr=1e-1)),
    ("adagrad", dict(lr=1e-1, weight_decay=0.01, clipvalue=0.3)),
    ("adadelta", dict(lr=1.0, rho=0.9)),
    ("adamax", dict(lr=1e-2, beta1=0.8)),
    ("adamax", dict(lr=1e-2, weight_decay=0.05)),
    ("nadam", dict(lr=1e-2)),
    ("nadam", dict(lr=1e-2, beta2=0.99, weight_decay=0.02)),
    ("lion", dict(lr=1e-3)),
    ("lion", dict(lr=1e-3, beta1=0.5, weight_decay=0.1)),
    ("amsgrad", dict(lr=1e-2)),
    ("amsgrad", dict(lr=1e-2, weight_decay=0.1)),
]


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("name,hp", CASES)
def test_rule_matches_keras_reference(name, hp, n, cpu_isa, rng):
    got, want = _run(name, n, rng, 5, **hp)
    for k in want:
        if k == "u_product":
            continue
        checks.assert_close(got[k], want[k], 1e-5, 1e-6, f"{name} {k} {hp} isa={cpu_isa}")


@pytest.mark.parametrize("name,hp", CASES)
def test_rule_on_device(name, hp, device, rng):
    got, want = _run(name, 1001, rng, 3, device=device, **hp)
    for k in want:
        if k != "u_product":
            checks.assert_close(got[k], want[k], 1e-5, 1e-6, f"{name} {k} {device}")


@pytest.mark.parametrize("name,hp", CASES[::2])
def test_rule_bits_do_not_depend_on_threads(name, hp, threads, rng):
    seed = int(rng.integers(1 << 30))
    outs = []
    for t in (1, 2, 3):
        threads(t)
        got, _ = _run(name, 200001, np.random.default_rng(seed), 2, **hp)
        outs.append(got)
    for o in outs[1:]:
        for k in o:
            assert np.array_equal(o[k], outs[0][k]), (name, k)


# ---- against torch.optim, 50 steps ------------------------------------------------------------
try:
    import torch
except ImportError:  # the extras CI step has it; the rest of this file does not need it
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def _torch_vs_ops(make_torch, step_ops, n=257, steps=50, seed=3):
    rng = np.random.default_rng(seed)
    p0 = rng.standard_normal(n).astype(np.float32)
    grads = [rng.standard_normal(n).astype(np.float32) for _ in range(steps)]
    tp = torch.nn.Parameter(torch.tensor(p0.copy()))
    opt = make_torch([tp])
    for g in grads:
        tp.grad = torch.tensor(g)
        opt.step()
    p = p0.copy()
    step_ops(p, grads)
    checks.assert_close(p, tp.detach().numpy(), 1e-5, 1e-5, "vs torch")


@needs_torch
@pytest.mark.parametrize(
    "momentum,centered", [(0.0, False), (0.9, False), (0.0, True), (0.5, True)]
)
def test_rmsprop_matches_torch(momentum, centered):
    # Keras adds eps inside the square root, PyTorch outside: they agree with eps = 0.
    def mine(p, grads):
        v, mo, a = (np.zeros_like(p) for _ in range(3))
        for g in grads:
            ops.rmsprop_(
                p, g, v, mo, a, lr=1e-2, rho=0.9, momentum=momentum, centered=centered, eps=0.0
            )

    _torch_vs_ops(
        lambda ps: torch.optim.RMSprop(
            ps, lr=1e-2, alpha=0.9, eps=0.0, momentum=momentum, centered=centered
        ),
        mine,
    )


@needs_torch
def test_adagrad_matches_torch():
    def mine(p, grads):
        acc = np.full_like(p, 0.1)
        for g in grads:
            ops.adagrad_(p, g, acc, lr=1e-1, eps=0.0)

    _torch_vs_ops(
        lambda ps: torch.optim.Adagrad(ps, lr=1e-1, initial_accumulator_value=0.1, eps=0.0), mine
    )


@needs_torch
def test_adadelta_matches_torch():
    def mine(p, grads):
        ag, ad = np.zeros_like(p), np.zeros_like(p)
        for g in grads:
            ops.adadelta_(p, g, ag, ad, lr=1.0, rho=0.9, eps=1e-6)

    _torch_vs_ops(lambda ps: torch.optim.Adadelta(ps, lr=1.0, rho=0.9, eps=1e-6), mine)


@needs_torch
def test_adamax_matches_torch():
    # PyTorch takes max(b2 u, |g| + eps), Keras max(b2 u, |g|) + eps: they agree with eps = 0.
    def mine(p, grads):
        m, u = np.zeros_like(p), np.zeros_like(p)
        for t, g in enumerate(grads, 1):
            ops.adamax_(p, g, m, u, step=t, lr=1e-2, eps=0.0)

    _torch_vs_ops(lambda ps: torch.optim.Adamax(ps, lr=1e-2, eps=0.0), mine)


@needs_torch
def test_nadam_matches_torch():
    # Keras's schedule is PyTorch's with momentum_decay = 0.004; eps in the same place.
    def mine(p, grads):
        m, v = np.zeros_like(p), np.zeros_like(p)
        for t, g in enumerate(grads, 1):
            ops.nadam_(p, g, m, v, step=t, lr=1e-2, eps=1e-7)

    _torch_vs_ops(lambda ps: torch.optim.NAdam(ps, lr=1e-2, eps=1e-7, momentum_decay=0.004), mine)


@needs_torch
def test_amsgrad_matches_torch():
    def mine(p, grads):
        m, v, vh = (np.zeros_like(p) for _ in range(3))
        for t, g in enumerate(grads, 1):
            ops.amsgrad_(p, g, m, v, vh, step=t, lr=1e-2, eps=1e-8, weight_decay=0.01)

    _torch_vs_ops(
        lambda ps: torch.optim.AdamW(ps, lr=1e-2, eps=1e-8, weight_decay=0.01, amsgrad=True), mine
    )


# ---- through a model -----------------------------------------------------------------------
def _model(opt, seed=0, trainable=True):
    m = fnet.Sequential([L.Dense(8, activation="relu", input_shape=(5,)), L.Dense(3)], seed=seed)
    m.compile(optimizer=opt, loss="mse")
    return m


def _data(rng, n=64):
    return rng.standard_normal((n, 5)).astype(np.float32), rng.standard_normal((n, 3)).astype(
        np.float32
    )


OPTIMIZERS = [
    lambda **k: O.RMSprop(0.01, **k),
    lambda **k: O.RMSprop(0.01, momentum=0.9, centered=True, **k),
    lambda **k: O.Adagrad(0.05, **k),
    lambda **k: O.Adadelta(1.0, **k),
    lambda **k: O.Adamax(0.01, **k),
    lambda **k: O.Nadam(0.01, **k),
    lambda **k: O.Lion(0.001, **k),
    lambda **k: O.Adam(0.01, amsgrad=True, **k),
    lambda **k: O.SGD(0.05, momentum=0.9, **k),
    lambda **k: O.Adam(0.01, **k),
]


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_fit_decreases_loss_and_state_roundtrips(make, tmp_path, rng):
    x, y = _data(rng)
    m = _model(make())
    before = m.evaluate(x, y, verbose=0)
    m.fit(x, y, epochs=5, batch_size=16, verbose=0, shuffle=False)
    after = m.evaluate(x, y, verbose=0)
    assert np.isfinite(after) and after < before
    path = tmp_path / "m.fnet"
    m.save(path)
    back = fnet.models.load_model(path)
    assert type(back.optimizer) is type(m.optimizer)
    assert back.optimizer.get_config() == m.optimizer.get_config()
    m.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    back.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    for a, b in zip(m.get_weights(), back.get_weights()):
        assert np.array_equal(a, b)


def _one_update(opt, grads, seed=0):
    m = _model(opt, seed)
    m.build((None, 5))
    w0 = [w.copy() for w in m.get_weights()]
    opt.apply_gradients(zip(grads, m.trainable_variables))
    return w0, m.get_weights(), m


def _sgd_ref(w0, grads, lr):
    return [w - lr * g for w, g in zip(w0, grads)]


def test_clipvalue_clipnorm_global_clipnorm_follow_keras(rng):
    shapes = [(5, 8), (8,), (8, 3), (3,)]
    grads = [(3 * rng.standard_normal(s)).astype(np.float32) for s in shapes]
    lr = 0.1
    # clipvalue: elementwise
    w0, w1, _ = _one_update(O.SGD(lr, clipvalue=0.5), grads)
    want = _sgd_ref(w0, [np.clip(g.astype(np.float64), -0.5, 0.5) for g in grads], lr)
    for a, b in zip(w1, want):
        checks.assert_close(a, b, 1e-6, 1e-6, "clipvalue")
    # clipnorm: each variable to norm <= 1
    w0, w1, _ = _one_update(O.SGD(lr, clipnorm=1.0), grads)
    clipped = [g * 1.0 / max(np.linalg.norm(g.astype(np.float64)), 1.0) for g in grads]
    for a, b in zip(w1, _sgd_ref(w0, clipped, lr)):
        checks.assert_close(a, b, 1e-6, 1e-6, "clipnorm")
    # global_clipnorm: all together
    w0, w1, _ = _one_update(O.SGD(lr, global_clipnorm=2.0), grads)
    norm = np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads))
    for a, b in zip(w1, _sgd_ref(w0, [g * 2.0 / norm for g in grads], lr)):
        checks.assert_close(a, b, 1e-6, 1e-6, "global_clipnorm")
    # a large clip norm leaves the gradients as they are (bit for bit: scale 1)
    w0, w1, _ = _one_update(O.Adam(0.01, global_clipnorm=1e6), grads)
    _, w2, _ = _one_update(O.Adam(0.01), grads)
    for a, b in zip(w1, w2):
        assert np.allclose(a, b, rtol=1e-6, atol=1e-7)


def test_clipnorm_with_rule_optimizer_matches_reference(rng):
    shapes = [(5, 8), (8,), (8, 3), (3,)]
    grads = [(3 * rng.standard_normal(s)).astype(np.float32) for s in shapes]
    w0, w1, _ = _one_update(O.Lion(0.01, clipnorm=0.1, weight_decay=0.5), grads)
    for w, g, got in zip(w0, grads, w1):
        g64 = g.astype(np.float64)
        g64 = g64 * 0.1 / max(np.linalg.norm(g64), 0.1)
        st = {"param": w.astype(np.float64).ravel(), "m": np.zeros(w.size)}
        ref.lion(st, g64.ravel(), lr=0.01, wd=0.5)
        checks.assert_close(got.ravel(), st["param"], 1e-6, 1e-6, "lion clipnorm")


def test_keras_weight_decay_is_decoupled(rng):
    shapes = [(5, 8), (8,), (8, 3), (3,)]
    grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    w0, w1, _ = _one_update(O.Adagrad(0.1, weight_decay=0.2), grads)
    for w, g, got in zip(w0, grads, w1):
        st = {"param": w.astype(np.float64).ravel(), "accumulator": np.full(w.size, 0.1)}
        ref.adagrad(st, g.ravel(), lr=0.1, wd=0.2)
        checks.assert_close(got.ravel(), st["param"], 1e-6, 1e-6, "adagrad wd")


def test_ema_follows_keras(rng):
    shapes = [(5, 8), (8,), (8, 3), (3,)]
    opt = O.SGD(0.1, use_ema=True, ema_momentum=0.9)
    m = _model(opt)
    m.build((None, 5))
    w = [x.astype(np.float64) for x in m.get_weights()]
    ema = None
    for t in range(4):
        grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        opt.apply_gradients(zip(grads, m.trainable_variables))
        w = [a - 0.1 * g for a, g in zip(w, grads)]
        ema = [x.copy() for x in w] if t == 0 else [0.9 * e + 0.1 * x for e, x in zip(ema, w)]
    state = opt.state_dict()["state"]["ema"]
    flat = np.concatenate([e.ravel() for e in ema])
    checks.assert_close(state, flat, 1e-5, 1e-6, "ema arena")
    opt.finalize_variable_values()
    for got, want in zip(m.get_weights(), ema):
        checks.assert_close(got, want, 1e-5, 1e-6, "ema written back")


def test_ema_overwrite_frequency(rng):
    shapes = [(5, 8), (8,), (8, 3), (3,)]
    opt = O.SGD(0.1, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=2)
    m = _model(opt)
    m.build((None, 5))
    for _ in range(2):
        grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        opt.apply_gradients(zip(grads, m.trainable_variables))
    ema = opt.state_dict()["state"]["ema"]
    assert np.array_equal(np.concatenate([w.ravel() for w in m.get_weights()]), ema)


def test_fit_with_clipping_is_deterministic_across_threads(threads, rng):
    x, y = _data(rng, 256)
    outs = []
    for t in (1, 2):
        threads(t)
        m = _model(O.Nadam(0.01, global_clipnorm=0.5, weight_decay=0.01, use_ema=True))
        m.fit(x, y, epochs=2, batch_size=32, verbose=0, shuffle=False)
        outs.append(m.get_weights())
    for a, b in zip(*outs):
        assert np.array_equal(a, b)


def test_new_optimizers_by_name_and_config():
    for name, cls in [
        ("rmsprop", O.RMSprop),
        ("adagrad", O.Adagrad),
        ("adadelta", O.Adadelta),
        ("adamax", O.Adamax),
        ("nadam", O.Nadam),
        ("lion", O.Lion),
    ]:
        opt = O.get(name)
        assert type(opt) is cls
        back = O.deserialize(O.serialize(cls(0.02, clipnorm=1.0, use_ema=True)))
        assert type(back) is cls and back.clipnorm == 1.0 and back.use_ema
    assert O.RMSprop().get_config()["rho"] == 0.9
    assert O.Adadelta().rho == 0.95 and O.Lion().beta_2 == 0.99
    assert O.Adagrad().initial_accumulator_value == 0.1


def test_bad_arguments_name_the_argument(rng):
    with pytest.raises(ValueError, match="only one of them"):
        O.Adam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="rho"):
        O.RMSprop(rho=1.0)
    with pytest.raises(ValueError, match="ema_momentum"):
        O.Nadam(use_ema=True, ema_momentum=2.0)
    with pytest.raises(ValueError, match="ema_overwrite_frequency"):
        O.Nadam(use_ema=True, ema_overwrite_frequency=0)
    with pytest.raises(ValueError, match="clipnorm"):
        O.Lion(clipnorm=-1.0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        O.Adamax(bogus=1)
    p = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="momentum_buffer"):
        ops.rmsprop_(p, p.copy(), np.zeros(4, np.float32), momentum=0.9)
    with pytest.raises(ValueError, match="step"):
        ops.nadam_(p, p.copy(), np.zeros(4, np.float32), np.zeros(4, np.float32), step=0)
    with pytest.raises(ValueError, match="s1"):
        fnet._core.optim_rule_step(12, p, p.copy(), np.zeros(4, np.float32), None, None, 1, 0.1)
    with pytest.raises(ValueError, match="rule"):
        fnet._core.optim_rule_step(99, p, p.copy(), None, None, None, 1, 0.1)
    with pytest.raises(ValueError, match="m: expected shape"):
        ops.lion_(p, p.copy(), np.zeros(3, np.float32))
    spec = fnet._core.OptimSpec(fnet._core.OptimKind.lion)
    spec.variables = [0, 10**9]
    m = _model(O.Lion())
    m.build((None, 5))
    with pytest.raises(ValueError, match="variables"):
        m._net.set_optimizer(spec)


def test_sum_squares_is_exact_in_double(rng):
    x = rng.standard_normal(100003).astype(np.float32)
    want = float(np.sum(x.astype(np.float64) ** 2))
    assert abs(fnet._core.sum_squares(x) - want) <= 1e-12 * want


def test_fit_ends_with_the_ema_weights(rng):
    x, y = _data(rng)
    opt = O.Adam(0.01, use_ema=True, ema_momentum=0.8)
    m = _model(opt)
    m.fit(x, y, epochs=2, batch_size=16, verbose=0, shuffle=False)
    ema = opt.state_dict()["state"]["ema"]
    assert np.array_equal(np.concatenate([w.ravel() for w in m.get_weights()]), ema)


@pytest.mark.parametrize(
    "rule,kw,old",
    [
        (0, dict(weight_decay=0.01), dict(momentum=0.0)),
        (1, dict(momentum=0.9), dict(momentum=0.9)),
        (2, dict(momentum=0.9, weight_decay=0.01), dict(momentum=0.9, nesterov=True)),
        (3, dict(), dict()),
        (3, dict(weight_decay=0.1, decoupled=False), dict(decoupled=False)),
        (3, dict(weight_decay=0.1), dict(decoupled=True)),
        (4, dict(weight_decay=0.1, decoupled=False), dict(decoupled=False)),
        (4, dict(), dict()),
    ],
)
def test_rule_kernel_sgd_and_adam_match_their_own_kernels(rule, kw, old, cpu_isa, rng):
    """SGD and Adam go through the rule kernel when a clip is set: the same update as their
    dedicated kernels (AMSGrad with v_hat = v when v only grows: zero state, one step)."""
    n = 1031
    p = rng.standard_normal(n).astype(np.float32)
    g = rng.standard_normal(n).astype(np.float32)
    s = [rng.random(n).astype(np.float32) for _ in range(3)]
    if rule == 4:
        s = [np.zeros(n, np.float32) for _ in range(3)]
    a, b = p.copy(), p.copy()
    sa, sb = [x.copy() for x in s], [x.copy() for x in s]
    used = {0: 0, 1: 1, 2: 1, 3: 2, 4: 3}[rule]
    args = [sa[i] if i < used else None for i in range(3)]
    fnet._core.optim_rule_step(rule, a, g, *args, 1, 0.01, **kw)
    if rule <= 2:
        fnet._core.sgd_step(
            b, g, sb[0] if rule else None, 0.01, weight_decay=kw.get("weight_decay", 0.0), **old
        )
    else:
        fnet._core.adam_step(
            b, g, sb[0], sb[1], 1, 0.01, weight_decay=kw.get("weight_decay", 0.0), **old
        )
    checks.assert_close(a, b.astype(np.float64), 1e-6, 1e-7, f"rule {rule}")
    for i in range(min(used, 2)):
        checks.assert_close(sa[i], sb[i].astype(np.float64), 1e-6, 1e-7, f"rule {rule} state")


def test_rule_kernel_refuses_bad_hyperparameters():
    p = np.zeros(4, np.float32)
    z = lambda: np.zeros(4, np.float32)  # noqa: E731
    with pytest.raises(ValueError, match="momentum"):
        fnet._core.optim_rule_step(1, p, p.copy(), z(), None, None, 1, 0.1, momentum=0.0)
    with pytest.raises(ValueError, match="rho"):
        fnet._core.optim_rule_step(5, p, p.copy(), z(), None, None, 1, 0.1, beta1=1.0)
    with pytest.raises(ValueError, match="beta_2"):
        fnet._core.optim_rule_step(11, p, p.copy(), z(), z(), None, 1, 0.1, beta2=1.5)
    with pytest.raises(ValueError, match="beta_1"):
        fnet._core.optim_rule_step(13, p, p.copy(), z(), None, None, 1, 0.1, beta1=-0.5)
    with pytest.raises(ValueError, match="beta_1"):
        fnet._core.optim_rule_step(12, p, p.copy(), z(), z(), None, 1, 0.1, beta1=1.0)
    with pytest.raises(ValueError, match="clipvalue"):
        fnet._core.optim_rule_step(9, p, p.copy(), z(), None, None, 1, 0.1, clip_value=0.0)
    with pytest.raises(ValueError, match="step"):
        fnet._core.optim_rule_step(9, p, p.copy(), z(), None, None, 0, 0.1)
    with pytest.raises(ValueError, match="lr"):
        fnet._core.optim_rule_step(9, p, p.copy(), z(), None, None, 1, 1e39)


@pytest.mark.parametrize("clip", [dict(clipnorm=1.0), dict(global_clipnorm=1.0)])
def test_non_finite_gradient_under_a_clip_norm_gives_nan_as_keras(clip):
    m = _model(O.Adagrad(0.1, **clip))
    m.build((None, 5))
    grads = [np.zeros(v.shape, np.float32) for v in m.trainable_variables]
    grads[0][0, 0] = np.nan
    m.optimizer.apply_gradients(zip(grads, m.trainable_variables))
    w = m.get_weights()
    assert np.isnan(w[0]).all()  # the NaN norm scales the whole variable
    if "global_clipnorm" in clip:
        assert all(np.isnan(x).all() for x in w)
    else:
        assert all(np.isfinite(x).all() for x in w[1:])


def test_zero_gradient_under_clipnorm_is_a_plain_step():
    m = _model(O.Lion(0.1, clipnorm=1.0))
    m.build((None, 5))
    before = m.get_weights()
    grads = [np.zeros(v.shape, np.float32) for v in m.trainable_variables]
    m.optimizer.apply_gradients(zip(grads, m.trainable_variables))
    for a, b in zip(before, m.get_weights()):
        assert np.array_equal(a, b)  # sign(0) = 0: Lion does not move
