"""mlp784 epochs and the tiny full-batch network under pytest-benchmark (issue 4's workloads)."""

import pytest

from conftest import run_contender
from fusednet.bench import cases_train


@pytest.mark.parametrize("contender", ("fusednet", "numpy", "torch"))
@pytest.mark.parametrize("workload", ("mlp784", "tiny"))
def test_train(benchmark, torch_or_none, workload, contender):
    w = {wl.name: wl for wl in cases_train.workloads("default")}[workload]
    run_contender(benchmark, cases_train.train_case(w, torch_or_none, budget_s=None), contender)
