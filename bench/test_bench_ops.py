"""GEMM and activations under pytest-benchmark, grouped by case so fusednet, NumPy and PyTorch
sit side by side (losses and optimizers: test_bench_loss.py, test_bench_optim.py)."""
import numpy as np
import pytest

from fusednet.bench import cases_elementwise, cases_gemm
from conftest import run_contender

CONTENDERS = ("fusednet", "numpy", "torch")


@pytest.mark.parametrize("contender", CONTENDERS)
@pytest.mark.parametrize("shape", [(128, 784, 256, "NN"), (128, 256, 784, "NT"),
                                   (784, 128, 256, "TN"), (1024, 1024, 1024, "NN")],
                         ids=lambda s: "x".join(map(str, s[:3])) + " " + s[3])
def test_gemm(benchmark, torch_or_none, shape, contender):
    case = cases_gemm.gemm_case(np.random.default_rng(0), torch_or_none, *shape, ())
    run_contender(benchmark, case, contender)


@pytest.mark.parametrize("contender", CONTENDERS)
def test_linear_relu(benchmark, torch_or_none, contender):
    run_contender(benchmark, cases_gemm.linear_case(np.random.default_rng(0), torch_or_none),
                  contender)


@pytest.mark.parametrize("contender", CONTENDERS)
@pytest.mark.parametrize("name", list(cases_elementwise.ACTIVATIONS))
def test_activation(benchmark, torch_or_none, name, contender):
    x = np.random.default_rng(1).standard_normal(cases_elementwise.ACT_ELEMENTS, dtype=np.float32)
    run_contender(benchmark, cases_elementwise.activation_case(name, x, torch_or_none), contender)
