"""fusednet.sklearn: scikit-learn's estimator contract (check_estimator), Pipeline and
GridSearchCV, the fitted attributes, stopping rules, pickling, and digits accuracy against
scikit-learn's own MLPClassifier with the same hyperparameters."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn is not installed (pip install scikit-learn)")

from sklearn import neural_network
from sklearn.base import clone
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from fusednet.sklearn import MLPClassifier, MLPRegressor

quiet_convergence = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@quiet_convergence
@parametrize_with_checks([MLPClassifier(), MLPRegressor()])
def test_check_estimator(estimator, check):
    check(estimator)


def digits_split(seed=0):
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=seed, stratify=y
    )
    scaler = StandardScaler().fit(x_train)
    return scaler.transform(x_train), scaler.transform(x_test), y_train, y_test


@quiet_convergence
def test_digits_accuracy_matches_scikit_learn():
    """Same hyperparameters, three seeds each: mean test accuracy within 1 point."""
    params = dict(hidden_layer_sizes=(64,), alpha=1e-4, batch_size=64, max_iter=60)
    ours, theirs = [], []
    for seed in range(3):
        x_train, x_test, y_train, y_test = digits_split(seed)
        ours.append(MLPClassifier(random_state=seed, **params).fit(x_train, y_train))
        ours[-1] = ours[-1].score(x_test, y_test)
        sk = neural_network.MLPClassifier(random_state=seed, **params).fit(x_train, y_train)
        theirs.append(sk.score(x_test, y_test))
    assert np.mean(ours) > 0.95, ours
    assert abs(np.mean(ours) - np.mean(theirs)) <= 0.01, (ours, theirs)


def test_fitted_attributes_and_proba():
    x_train, x_test, y_train, _ = digits_split()
    labels = np.array(list("abcdefghij"))
    clf = MLPClassifier(hidden_layer_sizes=(32, 16), max_iter=300, random_state=0)
    clf.fit(x_train, labels[y_train])
    assert list(clf.classes_) == list(labels)
    assert clf.n_features_in_ == 64 and clf.n_layers_ == 4 and clf.n_outputs_ == 10
    assert clf.out_activation_ == "softmax"
    assert [c.shape for c in clf.coefs_] == [(64, 32), (32, 16), (16, 10)]
    assert [b.shape for b in clf.intercepts_] == [(32,), (16,), (10,)]
    # converged by the tol rule before max_iter: the last n_iter_no_change + 1 losses did not
    # improve on the best by tol
    assert clf.n_iter_ < 300 and len(clf.loss_curve_) == clf.n_iter_
    assert clf.loss_curve_[-1] < clf.loss_curve_[0] / 10
    assert min(clf.loss_curve_[-11:]) > clf.best_loss_ - 1e-4
    proba = clf.predict_proba(x_test)
    assert proba.dtype == np.float64 and proba.shape == (len(x_test), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert np.array_equal(clf.predict(x_test), labels[proba.argmax(axis=1)])
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(x_test)), proba, rtol=1e-12)


def test_binary_uses_one_logistic_unit():
    x_train, x_test, y_train, y_test = digits_split()
    keep, keep_test = y_train < 2, y_test < 2
    clf = MLPClassifier(hidden_layer_sizes=(16,), random_state=0)
    clf.fit(x_train[keep], np.where(y_train[keep] == 1, "one", "zero"))
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "logistic"
    assert list(clf.classes_) == ["one", "zero"]
    expected = np.where(y_test[keep_test] == 1, "one", "zero")
    assert clf.score(x_test[keep_test], expected) > 0.98


def test_feature_names_in():
    pd = pytest.importorskip("pandas", reason="pandas is not installed")
    x, y = load_digits(return_X_y=True)
    frame = pd.DataFrame(x[:300], columns=[f"px{i}" for i in range(64)])
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(frame, y[:300])
    assert list(clf.feature_names_in_) == list(frame.columns)
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(frame.rename(columns={"px0": "other"}))


def test_partial_fit_epochs_and_classes():
    x_train, x_test, y_train, y_test = digits_split()
    clf = MLPClassifier(hidden_layer_sizes=(32,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(x_train, y_train)
    # the first chunk lacks class 9: `classes` names every label there will be
    first = y_train != 9
    clf.partial_fit(x_train[first], y_train[first], classes=np.arange(10))
    assert clf.n_iter_ == 1 and len(clf.classes_) == 10
    for _ in range(30):
        clf.partial_fit(x_train, y_train)
    assert clf.n_iter_ == 31 and clf.t_ == first.sum() + 30 * len(x_train)
    assert clf.score(x_test, y_test) > 0.9
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(x_train[:5], np.full(5, 11))


@quiet_convergence
def test_warm_start_continues_from_the_weights():
    x_train, _, y_train, _ = digits_split()
    cold = MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0).fit(x_train, y_train)
    warm = clone(cold).set_params(warm_start=True).fit(x_train, y_train)
    start = [w.copy() for w in warm.coefs_]
    warm.fit(x_train, y_train)
    assert warm.n_iter_ == 10 and len(warm.loss_curve_) == 10
    assert not np.array_equal(start[0], warm.coefs_[0])
    # a second cold fit starts over (same seed: same result)
    again = clone(cold).fit(x_train, y_train)
    np.testing.assert_array_equal(again.coefs_[0], cold.coefs_[0])


def test_early_stopping_restores_the_best_weights():
    x_train, _, y_train, _ = digits_split()
    clf = MLPClassifier(
        hidden_layer_sizes=(32,),
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=5,
        max_iter=200,
        random_state=0,
    ).fit(x_train, y_train)
    assert clf.best_loss_ is None and len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.n_iter_ < 200
    # the validation part is the one train_test_split draws from the same random state
    _, x_val, _, y_val = train_test_split(
        x_train.astype(np.float32),
        y_train,
        test_size=0.2,
        random_state=_split_state(0),
        stratify=y_train,
    )
    assert clf.score(x_val, y_val) == pytest.approx(clf.best_validation_score_)
    with pytest.raises(ValueError, match="early_stopping"):
        clf.partial_fit(x_train, y_train)


def _split_state(seed):
    """The RandomState the estimator splits with: check_random_state(seed) after one draw
    (the model's seed)."""
    rng = np.random.RandomState(seed)
    rng.randint(2**31 - 1)
    return rng


def test_regressor_fits_and_predicts_float64():
    x, y = make_regression(n_samples=600, n_features=8, noise=1.0, random_state=0)
    y2 = np.stack([y, -0.5 * y], axis=1) / y.std()
    x_train, x_test, y_train, y_test = train_test_split(x, y2, random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(32,), max_iter=400, random_state=0)
    reg.fit(x_train, y_train)
    pred = reg.predict(x_test)
    assert pred.dtype == np.float64 and pred.shape == y_test.shape
    assert reg.score(x_test, y_test) > 0.95
    one = MLPRegressor(hidden_layer_sizes=(32,), max_iter=400, random_state=0)
    one.fit(x_train, y_train[:, 0])
    assert one.predict(x_test).shape == (len(x_test),)
    assert one.out_activation_ == "identity"


@pytest.mark.parametrize("solver", ["sgd"])
@pytest.mark.parametrize("learning_rate", ["constant", "invscaling", "adaptive"])
@quiet_convergence
def test_sgd_solver(solver, learning_rate):
    x_train, x_test, y_train, y_test = digits_split()
    clf = MLPClassifier(
        hidden_layer_sizes=(32,),
        solver=solver,
        learning_rate=learning_rate,
        learning_rate_init=0.5 if learning_rate == "invscaling" else 0.01,
        max_iter=100,
        random_state=0,
    ).fit(x_train, y_train)
    assert clf.score(x_test, y_test) > 0.9


def test_pickle_round_trip_keeps_predictions_and_training_state():
    x_train, x_test, y_train, _ = digits_split()
    clf = MLPClassifier(hidden_layer_sizes=(16,), random_state=0)
    for _ in range(3):
        clf.partial_fit(x_train, y_train, classes=np.arange(10))
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(x_test), clf.predict_proba(x_test))
    # the optimizer state travelled too: one more epoch gives the same weights
    clf.partial_fit(x_train, y_train)
    copy.partial_fit(x_train, y_train)
    np.testing.assert_array_equal(copy.coefs_[0], clf.coefs_[0])


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("solver", "lbfgs"),
        ("activation", "softplus"),
        ("hidden_layer_sizes", (10, 0)),
        ("alpha", -1.0),
        ("batch_size", 0),
        ("max_iter", 0),
        ("validation_fraction", 1.0),
        ("learning_rate", "cosine"),
        ("device", "tpu"),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(param, value):
    x, y = load_digits(return_X_y=True)
    clf = MLPClassifier(**{param: value})
    with pytest.raises(ValueError, match=param):
        clf.fit(x[:50], y[:50])


@quiet_convergence
def test_pipeline_and_grid_search_in_two_processes():
    x, y = load_digits(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=30, random_state=0))
    grid = GridSearchCV(
        pipe,
        {"mlpclassifier__hidden_layer_sizes": [(16,), (64,)], "mlpclassifier__alpha": [1e-4]},
        cv=3,
        n_jobs=2,
    )
    grid.fit(x, y)
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    assert grid.best_score_ > 0.9
    assert grid.best_params_["mlpclassifier__hidden_layer_sizes"] == (64,)
    assert grid.score(x, y) > 0.95


def test_importing_fusednet_does_not_import_sklearn():
    code = "import sys, fusednet; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@quiet_convergence
def test_bench_case_trains_both_and_checks_accuracy():
    """The bench's digits case (timing is the bench's business): both contenders train the same
    network, and its check compares their test accuracy."""
    from fusednet.bench.case import FUSEDNET, SKLEARN
    from fusednet.bench.cases_sklearn import digits_case

    case = digits_case(epochs=3, budget_s=None)
    names = [c.name for c in case.contenders]
    assert names == [FUSEDNET, SKLEARN] and case.targets[0].min_ratio == 5.0
    for contender in case.contenders:
        contender.fn()
    error, tolerance = case.check()
    assert tolerance == 0.01 and 0.0 <= error < 0.2
    assert case.samples == 1347 * 3


@quiet_convergence
def test_warm_start_may_switch_early_stopping_on():
    x_train, _, y_train, _ = digits_split()
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=3, warm_start=True, random_state=0)
    clf.fit(x_train, y_train)
    clf.set_params(early_stopping=True).fit(x_train, y_train)
    assert len(clf.validation_scores_) == 3 and clf.n_iter_ == 6
