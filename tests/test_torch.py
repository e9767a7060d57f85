"""fusednet.torch: the optimizers against torch.optim over 100 steps (1e-6), their state dicts,
and the fused Linear against nn.Linear + activation computed in float64 (value and gradients to
1e-5). CUDA cases run on CUDA tensors where a GPU is there."""

import copy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="fusednet.torch needs PyTorch")
ft = pytest.importorskip("fusednet.torch")

import fusednet as fnet  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHAPES = [(37, 13), (13,), (5, 4, 3), (1,)]


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    """A torch device fusednet can run on: CUDA only with a GPU that torch and fusednet both see
    (named `device` so conftest marks the CUDA cases `cuda`)."""
    if request.param == "cuda":
        if not torch.cuda.is_available():
            pytest.skip("PyTorch sees no CUDA device")
        if not fnet.backends()["cuda"]["available"]:
            pytest.skip("fusednet has no usable CUDA device")
    return request.param


def run_pair(make_ours, make_ref, dev, steps=100, closure=False):
    """Trains copies of the same parameters with both optimizers on the same gradients."""
    gen = torch.Generator().manual_seed(0)
    init = [torch.randn(s, generator=gen) for s in SHAPES]
    ours = [p.clone().to(dev).requires_grad_() for p in init]
    ref = [p.clone().to(dev).requires_grad_() for p in init]
    opt_ours, opt_ref = make_ours(ours), make_ref(ref)
    for _ in range(steps):
        grads = [torch.randn(s, generator=gen).to(dev) for s in SHAPES]
        for ps in (ours, ref):
            for p, g in zip(ps, grads):
                p.grad = g.clone()
        opt_ours.step()
        opt_ref.step()
    return ours, ref, opt_ours, opt_ref


OPTIMIZERS = {
    "adam": (lambda p: ft.Adam(p, lr=1e-2), lambda p: torch.optim.Adam(p, lr=1e-2)),
    "adam_l2": (
        lambda p: ft.Adam(p, lr=3e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
        lambda p: torch.optim.Adam(p, lr=3e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    ),
    "adamw": (lambda p: ft.AdamW(p, lr=1e-2), lambda p: torch.optim.AdamW(p, lr=1e-2)),
    "sgd": (lambda p: ft.SGD(p, lr=1e-2), lambda p: torch.optim.SGD(p, lr=1e-2)),
    "sgd_momentum": (
        lambda p: ft.SGD(p, lr=1e-2, momentum=0.9, weight_decay=1e-2),
        lambda p: torch.optim.SGD(p, lr=1e-2, momentum=0.9, weight_decay=1e-2),
    ),
    "sgd_nesterov": (
        lambda p: ft.SGD(p, lr=1e-2, momentum=0.8, nesterov=True),
        lambda p: torch.optim.SGD(p, lr=1e-2, momentum=0.8, nesterov=True),
    ),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_matches_torch_after_100_steps(name, device):
    ours, ref, opt_ours, opt_ref = run_pair(*OPTIMIZERS[name], device)
    for i, (a, b) in enumerate(zip(ours, ref)):
        err = (a.detach() - b.detach()).abs().max().item()
        assert err <= 1e-6, f"{name}: parameter {i} differs from torch.optim by {err:.3e}"
        assert a.device == b.device
    for key in ("exp_avg", "exp_avg_sq", "momentum_buffer"):
        for a, b in zip(ours, ref):
            sa, sb = opt_ours.state[a], opt_ref.state[b]
            assert (key in sa) == (key in sb and sb[key] is not None)
            if key in sa:  # relative; 1e-4, not less: float32 roundings in another order
                # (fused multiply-adds) drift most where a state crosses zero (up to ~6e-5)
                err = ((sa[key] - sb[key]).abs() / (sb[key].abs() + 1e-6)).max().item()
                assert err <= 1e-4, f"{name}: state {key} differs by {err:.3e} (relative)"


def test_parameters_are_updated_in_place_and_groups_honoured():
    a = torch.nn.Parameter(torch.ones(4))
    b = torch.nn.Parameter(torch.ones(4))
    ptr = a.data_ptr()
    opt = ft.SGD([{"params": [a], "lr": 0.5}, {"params": [b]}], lr=0.1)
    a.grad = torch.ones(4)
    b.grad = torch.ones(4)
    opt.step()
    assert a.data_ptr() == ptr
    np.testing.assert_array_equal(a.detach().numpy(), np.full(4, 0.5, np.float32))
    np.testing.assert_array_equal(b.detach().numpy(), np.full(4, 0.9, np.float32))
    c = torch.nn.Parameter(torch.ones(2))  # no gradient: untouched, no state
    opt.add_param_group({"params": [c]})
    opt.step()
    assert (c.detach() == 1).all() and c not in opt.state


def test_step_with_closure_returns_the_loss():
    w = torch.nn.Parameter(torch.tensor([2.0]))
    opt = ft.Adam([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w**2).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == pytest.approx(4.0)
    assert w.item() < 2.0


def test_state_dict_round_trip_and_torch_adam_state_loads():
    ours, ref, opt_ours, opt_ref = run_pair(*OPTIMIZERS["adam"], "cpu", steps=5)
    # torch.optim.Adam's state dict into fusednet.torch.Adam: both continue identically
    fresh = ft.Adam(ours, lr=1.0)
    # a copy: load_state_dict keeps the very tensors it is given, which opt_ref still updates
    fresh.load_state_dict(copy.deepcopy(opt_ref.state_dict()))
    assert fresh.param_groups[0]["lr"] == 1e-2
    assert fresh.state[ours[0]]["step"].item() == 5
    with torch.no_grad():
        for a, b in zip(ours, ref):
            a.copy_(b)
    gen = torch.Generator().manual_seed(7)
    for _ in range(10):
        grads = [torch.randn(s, generator=gen) for s in SHAPES]
        for ps in (ours, ref):
            for p, g in zip(ps, grads):
                p.grad = g.clone()
        fresh.step()
        opt_ref.step()
    for a, b in zip(ours, ref):
        assert (a.detach() - b.detach()).abs().max().item() <= 1e-6
    # ours -> a new ours, and into torch.optim.Adam
    sd = fresh.state_dict()
    again = ft.Adam(ours)
    again.load_state_dict(copy.deepcopy(sd))
    for k in ("exp_avg", "exp_avg_sq", "step"):
        assert torch.equal(again.state[ours[1]][k], fresh.state[ours[1]][k])
    torch_again = torch.optim.Adam(ours)
    torch_again.load_state_dict(sd)
    assert torch.equal(torch_again.state[ours[0]]["exp_avg"], fresh.state[ours[0]]["exp_avg"])


def test_optimizers_refuse_what_they_do_not_do():
    p = torch.nn.Parameter(torch.ones(3))
    p.grad = torch.ones(3)
    with pytest.raises(ValueError, match="dampening"):
        ft.SGD([p], lr=0.1, dampening=0.5)
    with pytest.raises(ValueError, match="betas"):
        ft.Adam([p], betas=(1.0, 0.9))
    opt = ft.Adam([p])
    opt.param_groups[0]["amsgrad"] = True  # as a loaded amsgrad state dict would set it
    with pytest.raises(ValueError, match="amsgrad=True: not supported"):
        opt.step()
    q = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    q.grad = torch.ones(3, dtype=torch.float64)
    with pytest.raises(TypeError, match="param: expected float32"):
        ft.SGD([q], lr=0.1).step()


# ---- Linear --------------------------------------------------------------------------------------
TORCH_ACT = {
    None: lambda z: z,
    "relu": torch.relu,
    "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.2),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "gelu": torch.nn.functional.gelu,
    "gelu_tanh": lambda z: torch.nn.functional.gelu(z, approximate="tanh"),
    "elu": torch.nn.functional.elu,
    "silu": torch.nn.functional.silu,
    "softplus": torch.nn.functional.softplus,
    "mish": torch.nn.functional.mish,
    "hard_sigmoid": torch.nn.functional.hardsigmoid,
}


@pytest.mark.parametrize("act", list(TORCH_ACT))
@pytest.mark.parametrize("shape", [(1, 1, 1), (17, 31, 7), (64, 33, 65), (3, 4, 5, 6)])
def test_linear_matches_nn_linear_in_float64(act, shape, device):
    """Value and gradients of x, weight and bias against nn.Linear + activation in float64."""
    *lead, n_in, n_out = shape
    torch.manual_seed(sum(shape))
    layer = ft.Linear(n_in, n_out, activation=act, negative_slope=0.2).to(device)
    ref = torch.nn.Linear(n_in, n_out).double().to(device)
    with torch.no_grad():
        ref.weight.copy_(layer.weight)
        ref.bias.copy_(layer.bias)
    x = torch.randn(*lead, n_in, device=device)
    dy = torch.randn(*lead, n_out, device=device)
    x32 = x.clone().requires_grad_()
    x64 = x.double().requires_grad_()
    y = layer(x32)
    want = TORCH_ACT[act](ref(x64))
    assert y.shape == want.shape and y.dtype == torch.float32
    y.backward(dy)
    want.backward(dy.double())
    for got, exp, what in (
        (y, want, "y"),
        (x32.grad, x64.grad, "dx"),
        (layer.weight.grad, ref.weight.grad, "dweight"),
        (layer.bias.grad, ref.bias.grad, "dbias"),
    ):
        err = (got.double() - exp).abs().max().item()
        assert err <= 1e-5, f"{act} {shape} {what}: max abs error {err:.3e}"


def test_linear_without_bias_and_frozen_inputs():
    torch.manual_seed(0)
    layer = ft.Linear(6, 4, bias=False, activation="relu")
    assert layer.bias is None
    x = torch.randn(5, 6)  # no grad needed for x
    layer(x).sum().backward()
    ref = torch.relu(x.double() @ layer.weight.detach().double().T)
    mask = (ref > 0).double()
    np.testing.assert_allclose(
        layer.weight.grad.double().numpy(), (mask.T @ x.double()).numpy(), atol=1e-5
    )


def test_linear_gradcheck_against_float64_torch():
    """torch.autograd.gradcheck needs float64; ours is float32, so the check is: our analytic
    gradients equal torch's float64 autograd of the same function on random cotangents."""
    torch.manual_seed(3)
    x = torch.randn(9, 5, requires_grad=True)
    w = torch.randn(3, 5, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    for act in ("tanh", "gelu"):
        for _ in range(3):
            ct = torch.randn(9, 3)
            gx, gw, gb = torch.autograd.grad(ft.linear(x, w, b, act), (x, w, b), ct)
            xd, wd, bd = (t.detach().double().requires_grad_() for t in (x, w, b))
            yd = TORCH_ACT[act](torch.nn.functional.linear(xd, wd, bd))
            ex, ew, eb = torch.autograd.grad(yd, (xd, wd, bd), ct.double())
            for g, e in ((gx, ex), (gw, ew), (gb, eb)):
                assert (g.double() - e).abs().max().item() <= 1e-5


def test_linear_bad_arguments():
    with pytest.raises(ValueError, match="activation: unknown activation 'softplusy'"):
        ft.Linear(3, 2, activation="softplusy")
    with pytest.raises(ValueError, match=r"x: expected \(\.\.\., 3\)"):
        ft.linear(torch.ones(2, 4), torch.ones(2, 3))
    with pytest.raises(TypeError, match="x: expected float32"):
        ft.linear(torch.ones(2, 3, dtype=torch.float64), torch.ones(2, 3))


def test_mlp_trains_like_plain_pytorch():
    """The same MLP, initial weights and batches with fusednet.torch layers and optimizer and
    with plain PyTorch: the losses stay within float32 noise of each other."""
    torch.manual_seed(0)
    x = torch.randn(256, 20)
    y = (x[:, :3].sum(1) > 0).long()
    ours = torch.nn.Sequential(ft.Linear(20, 32, activation="relu"), ft.Linear(32, 2))
    ref = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    ref.load_state_dict({k.replace("1.", "2."): v for k, v in ours.state_dict().items()})
    opt_o, opt_r = ft.Adam(ours.parameters(), lr=1e-2), torch.optim.Adam(ref.parameters(), lr=1e-2)
    losses = []
    for step in range(30):
        idx = slice((step * 32) % 256, (step * 32) % 256 + 32)
        pair = []
        for model, opt in ((ours, opt_o), (ref, opt_r)):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            pair.append(loss.item())
        losses.append(pair)
    for a, b in losses:
        assert abs(a - b) <= 1e-4
    assert losses[-1][0] < losses[0][0]


def test_torch_loop_example_runs():
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "torch_loop.py"), "--epochs", "3"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("test accuracy"), out.stdout
    assert float(last.split()[-1]) > 0.6, out.stdout  # 3 classes: chance is 1/3


def test_bench_cases_run_and_pass_their_checks(monkeypatch):
    """python -m fusednet.bench --only torch: each contender runs once, each check passes (on a
    smaller MLP, to keep the suite fast)."""
    import types

    from fusednet.bench import cases_torch

    monkeypatch.setattr(cases_torch, "MLP_SIZES", (64, 48, 32, 10))
    monkeypatch.setattr(cases_torch, "STEPS", 2)
    cfg = types.SimpleNamespace(torch=torch, torch_reason="")
    names = []
    for case in cases_torch.cases(cfg):
        names.append(case.name)
        for contender in case.contenders:
            assert contender.fn is not None, (case.name, contender.name, contender.reason)
            contender.fn()
        error, tolerance = case.check()
        assert error <= tolerance, (case.name, error, tolerance)
    assert len(names) == 2
    unavailable = list(cases_torch.cases(types.SimpleNamespace(torch=None, torch_reason="off")))
    assert all(c.fn is None and c.reason == "off" for u in unavailable for c in u.contenders)


@pytest.mark.parametrize(
    "mine,theirs",
    [
        (lambda p: ft.NAdam(p, lr=1e-2), lambda p: torch.optim.NAdam(p, lr=1e-2)),
        (
            lambda p: ft.NAdam(p, lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True),
            lambda p: torch.optim.NAdam(p, lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True),
        ),
    ],
)
def test_nadam_matches_torch_after_50_steps(mine, theirs):
    g = torch.Generator().manual_seed(5)
    p0 = torch.randn(300, generator=g)
    grads = [torch.randn(300, generator=g) for _ in range(50)]
    a = torch.nn.Parameter(p0.clone())
    b = torch.nn.Parameter(p0.clone())
    oa, ob = mine([a]), theirs([b])
    for gr in grads:
        a.grad, b.grad = gr.clone(), gr.clone()
        oa.step()
        ob.step()
    assert torch.allclose(a.detach(), b.detach(), rtol=1e-5, atol=1e-5)
    assert set(oa.state[a]) == set(ob.state[b])


def test_nadam_refuses_what_it_cannot_match():
    p = [torch.nn.Parameter(torch.zeros(3))]
    with pytest.raises(ValueError, match="momentum_decay"):
        ft.NAdam(p, momentum_decay=0.01)
    with pytest.raises(ValueError, match="weight_decay"):
        ft.NAdam(p, weight_decay=0.1)
