"""The training cases under pytest-benchmark: mlp784 epochs, the tiny full-batch network and the
MNIST-1D-sized net, for fusednet and every contender that is installed (the peers of
fusednet.bench.cases_peers run in processes of their own)."""

import pytest

from conftest import run_contender
from fusednet.bench import cases_peers, cases_train


@pytest.mark.parametrize("contender", ("fusednet", "numpy", "torch", *cases_peers.PEER_NAMES))
@pytest.mark.parametrize("workload", ("mlp784", "tiny", "mnist1d"))
def test_train(benchmark, torch_or_none, workload, contender):
    w = {wl.name: wl for wl in cases_train.workloads("default")}[workload]
    peers = [contender] if contender in cases_peers.PEER_NAMES else []
    case = cases_train.train_case(w, torch_or_none, budget_s=None, peers=peers)
    run_contender(benchmark, case, contender)
