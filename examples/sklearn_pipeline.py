"""fusednet's MLPClassifier in a scikit-learn Pipeline, tuned by GridSearchCV in two processes.

    pip install scikit-learn
    python examples/sklearn_pipeline.py          # about 10-20 s on 2 cores

``fusednet.sklearn.MLPClassifier`` takes scikit-learn's parameters, so it replaces
``sklearn.neural_network.MLPClassifier`` in existing code; each epoch of its fit runs in C++.
"""

from __future__ import annotations

try:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV, train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
except ImportError:  # pragma: no cover - optional dependency
    raise SystemExit("this example needs scikit-learn: pip install scikit-learn") from None

from fusednet.sklearn import MLPClassifier


def main() -> None:
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y
    )
    pipe = make_pipeline(
        StandardScaler(), MLPClassifier(early_stopping=True, max_iter=200, random_state=0)
    )
    grid = GridSearchCV(
        pipe,
        {
            "mlpclassifier__hidden_layer_sizes": [(32,), (128,)],
            "mlpclassifier__alpha": [1e-4, 1e-2],
        },
        cv=3,
        n_jobs=2,
    )
    grid.fit(x_train, y_train)
    print(f"best parameters: {grid.best_params_} (cross-validated accuracy {grid.best_score_:.1%})")
    best = grid.best_estimator_[-1]
    print(
        f"the best model trained {best.n_iter_} epochs (early stopping), validation accuracy "
        f"{best.best_validation_score_:.1%}"
    )
    print(f"test accuracy {grid.score(x_test, y_test):.1%}")


if __name__ == "__main__":
    main()
