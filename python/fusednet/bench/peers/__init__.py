"""Peer frameworks in the training cases (JAX with optax, Keras 3 on JAX and on PyTorch,
scikit-learn's MLPClassifier), each trained in a process of its own: ``python -m
fusednet.bench.peers.worker`` builds the same model on the same data (regenerated from the
workload's seed), pins its thread count to the bench's, and answers commands on a pipe
(``client.PeerProcess``). Its own clock times the epochs, so the pipe's round trip is not in the
figures."""

from .client import PEERS, PeerProcess, peer_contender, peer_versions

__all__ = ["PEERS", "PeerProcess", "peer_contender", "peer_versions"]
