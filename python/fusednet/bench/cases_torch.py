"""fusednet inside PyTorch (issue 12, fusednet.torch): the drop-in Adam against torch.optim.Adam
(fused=True where this torch has it), and an MLP training loop with fusednet.torch layers and
optimizer against the same loop in plain PyTorch. Both need torch; without it the group reports
the contenders unavailable."""

from __future__ import annotations

import numpy as np

from .case import FUSEDNET, TORCH, Case, Contender, max_rel_err

# An MLP's parameters (784-512-512-10): six tensors, as an optimizer meets them.
MLP_SIZES = (784, 512, 512, 10)
LR = 1e-3
BATCH, STEPS = 128, 16  # one call of the training case: STEPS steps of BATCH samples


def _unavailable(group, name, reason):
    return Case(
        group,
        name,
        [Contender(FUSEDNET, None, reason=reason), Contender(TORCH, None, reason=reason)],
    )


def _layer_shapes():
    shapes = []
    for i, o in zip(MLP_SIZES[:-1], MLP_SIZES[1:]):
        shapes += [(o, i), (o,)]
    return shapes


def _params(torch, seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(s, generator=g) * 0.05) for s in _layer_shapes()]


def adam_case(torch) -> Case:
    import fusednet.torch as ft

    n = sum(int(np.prod(s)) for s in _layer_shapes())
    ours_p, ref_p = _params(torch, 0), _params(torch, 0)
    g = torch.Generator().manual_seed(1)
    grads = [torch.randn(p.shape, generator=g) for p in ours_p]
    for ps in (ours_p, ref_p):
        for p, gr in zip(ps, grads):
            p.grad = gr.clone()
    ours = ft.Adam(ours_p, lr=LR)
    contenders = [Contender(FUSEDNET, ours.step, "fusednet.torch.Adam, one pass per parameter")]
    for kw, note in (({"fused": True}, "fused=True"), ({"foreach": True}, "foreach=True")):
        try:
            ref = torch.optim.Adam(ref_p, lr=LR, **kw)
            ref.step()
        except Exception:  # noqa: BLE001 -- fused not supported by this build
            continue
        contenders.append(Contender(TORCH, ref.step, f"torch.optim.Adam {note}"))
        break
    else:
        contenders.append(Contender(TORCH, None, reason="torch.optim.Adam fused/foreach failed"))

    def check():
        a, b = _params(torch, 2), _params(torch, 2)
        oa, ob = ft.Adam(a, lr=LR), torch.optim.Adam(b, lr=LR)
        for _ in range(10):
            for pa, pb, gr in zip(a, b, grads):
                pa.grad, pb.grad = gr.clone(), gr.clone()
            oa.step()
            ob.step()
        err = max(float((pa - pb).detach().abs().max()) for pa, pb in zip(a, b))
        return err, 1e-6

    return Case(
        "torch",
        f"Adam step {'-'.join(map(str, MLP_SIZES))} ({n} params, 6 tensors)",
        contenders,
        bytes=28.0 * n,
        napkin="28 B/param: read p,g,m,v; write p,m,v",
        check=check,
    )


def _mlp(torch, linear_cls, fused):
    import fusednet.torch as ft

    layers = []
    for k, (i, o) in enumerate(zip(MLP_SIZES[:-1], MLP_SIZES[1:])):
        last = k == len(MLP_SIZES) - 2
        if fused:
            layers.append(ft.Linear(i, o, activation=None if last else "relu"))
        else:
            layers.append(linear_cls(i, o))
            if not last:
                layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def train_case(torch) -> Case:
    import fusednet.torch as ft

    g = torch.Generator().manual_seed(3)
    x = torch.randn(BATCH * STEPS, MLP_SIZES[0], generator=g)
    y = torch.randint(0, MLP_SIZES[-1], (BATCH * STEPS,), generator=g)
    torch.manual_seed(0)
    ours = _mlp(torch, None, fused=True)
    ref = _mlp(torch, torch.nn.Linear, fused=False)
    # the same initial weights (ours has no separate ReLU modules)
    with torch.no_grad():
        for a, b in zip(ours.parameters(), ref.parameters()):
            b.copy_(a)
    opt_ours = ft.Adam(ours.parameters(), lr=LR)
    opt_ref = torch.optim.Adam(ref.parameters(), lr=LR)
    loss_fn = torch.nn.functional.cross_entropy

    def loop(model, opt):
        def run():
            for s in range(STEPS):
                xb, yb = x[s * BATCH : (s + 1) * BATCH], y[s * BATCH : (s + 1) * BATCH]
                opt.zero_grad()
                loss_fn(model(xb), yb).backward()
                opt.step()

        return run

    n_params = sum(p.numel() for p in ours.parameters())

    def check():
        # One step's output of the fused layers against the same float64 PyTorch MLP.
        fresh = _mlp(torch, None, fused=True)
        want_model = _mlp(torch, torch.nn.Linear, fused=False).double()
        with torch.no_grad():
            for a, b in zip(fresh.parameters(), want_model.parameters()):
                b.copy_(a)
            got = fresh(x[:BATCH]).numpy()
            want = want_model(x[:BATCH].double()).numpy()
        return max_rel_err(got, want), 1e-5

    return Case(
        "torch",
        f"train loop {'-'.join(map(str, MLP_SIZES))} x{BATCH * STEPS}",
        [
            Contender(
                FUSEDNET, loop(ours, opt_ours), "fusednet.torch.Linear + fusednet.torch.Adam"
            ),
            Contender(TORCH, loop(ref, opt_ref), "nn.Linear + nn.ReLU + optim.Adam, eager"),
        ],
        samples=float(BATCH * STEPS),
        flops=6.0 * n_params * BATCH * STEPS,
        napkin=f"6*params = {6 * n_params} flops/sample ({n_params} params)",
        check=check,
    )


def cases(cfg):
    torch = cfg.torch
    if torch is None:
        reason = cfg.torch_reason or "torch not installed"
        yield _unavailable("torch", "Adam step", reason)
        yield _unavailable("torch", "train loop", reason)
        return
    yield adam_case(torch)
    yield train_case(torch)
