"""examples/digits.py over MPI ranks: the same model and batches, the gradients summed over the
ranks (fusednet.distributed).

    pip install scikit-learn mpi4py mpich
    mpiexec -n 2 python examples/digits_distributed.py      # or -n 1, 3, ...; without mpiexec: 1

Every rank loads the whole data set and takes its part of each global batch of 32; rank 0 prints
and saves. The test accuracy is that of examples/digits.py (the same weights to float rounding).
"""

import argparse
import os
import tempfile

from digits import build_model, load_digits_split

import fusednet as fnet


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--no-overlap", action="store_true", help="sum the gradients after backward")
    args = p.parse_args()
    fnet.distributed.init()
    fnet.set_num_threads(1)  # one rank per core
    x_train, y_train, x_test, y_test = load_digits_split(0)
    model = build_model(0)
    strategy = fnet.distributed.DataParallel(overlap=not args.no_overlap)
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=32, verbose=2, distributed=strategy)
    loss, acc = model.evaluate(x_test, y_test, verbose=0, distributed=strategy)
    path = os.path.join(tempfile.gettempdir(), "digits_distributed.fnet")
    model.save(path)  # rank 0 writes
    if fnet.distributed.is_main():
        print(
            f"{fnet.distributed.size()} ranks: test accuracy {acc:.4f}, loss {loss:.4f}; "
            f"saved {path}"
        )


if __name__ == "__main__":
    main()
