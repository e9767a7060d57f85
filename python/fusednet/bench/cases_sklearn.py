"""scikit-learn case (issue 12): ``fusednet.sklearn.MLPClassifier`` against scikit-learn's own
``MLPClassifier`` with the same hyperparameters, training on the digits data set (1347 train
samples of 64 features, the 8x8 images bundled with scikit-learn: no download).

Both train a 64-100-10 network with Adam, batch 200, for a fixed number of epochs (the stopping
rule is switched off by ``n_iter_no_change=epochs``, so both run the same number of updates); the
check compares their test accuracy (fusednet may be at most 1 point worse)."""

from __future__ import annotations

import warnings

from .case import FUSEDNET, SKLEARN, Case, Contender, Target

SOURCE = "issue 12"
TARGET = Target(SKLEARN, 5.0, SOURCE)
EPOCHS = {"quick": 10, "default": 50, "full": 50}


def _digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(x_train)
    return scaler.transform(x_train), scaler.transform(x_test), y_train, y_test


def digits_case(epochs: int, budget_s) -> Case:
    name = f"digits MLPClassifier 64-100-10 x1347, {epochs} epochs"
    try:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier as SkMLP

        from ..sklearn import MLPClassifier
    except ImportError:
        reason = "scikit-learn not installed"
        return Case(
            "sklearn",
            name,
            [Contender(FUSEDNET, None, reason=reason), Contender(SKLEARN, None, reason=reason)],
            targets=(TARGET,),
        )
    x_train, x_test, y_train, y_test = _digits()
    params = dict(
        hidden_layer_sizes=(100,),
        batch_size=200,
        max_iter=epochs,
        n_iter_no_change=epochs,
        random_state=0,
    )
    fitted = {}

    def trainer(key, cls):
        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                fitted[key] = cls(**params).fit(x_train, y_train)

        return run

    def check():
        ours = fitted[FUSEDNET].score(x_test, y_test)
        theirs = fitted[SKLEARN].score(x_test, y_test)
        return max(0.0, theirs - ours), 0.01

    n_params = 64 * 100 + 100 + 100 * 10 + 10
    samples = float(len(x_train) * epochs)
    return Case(
        "sklearn",
        name,
        [
            Contender(FUSEDNET, trainer(FUSEDNET, MLPClassifier), "fusednet.sklearn.MLPClassifier"),
            Contender(SKLEARN, trainer(SKLEARN, SkMLP), "sklearn.neural_network.MLPClassifier"),
        ],
        samples=samples,
        flops=6.0 * n_params * samples,
        napkin=f"6*params = {6 * n_params} flops/sample; check: test accuracy within 1 point",
        targets=(TARGET,),
        check=check,
        budget_s=budget_s,
    )


def cases(cfg):
    yield digits_case(EPOCHS[cfg.mode], cfg.train_budget_s)
