"""scikit-learn estimators trained by fusednet: ``MLPClassifier`` and ``MLPRegressor``.

Drop-in replacements for ``sklearn.neural_network``'s estimators of the same names: the same
parameters where they apply (``hidden_layer_sizes``, ``activation``, ``solver`` 'adam' or 'sgd',
``alpha``, ``batch_size``, ``learning_rate``, ``learning_rate_init``, ``max_iter``,
``early_stopping``, ``validation_fraction``, ``n_iter_no_change``, ``tol``, ``random_state``,
``verbose``, ``warm_start``, ...), the same stopping rules and fitted attributes (``classes_``,
``n_features_in_``, ``feature_names_in_``, ``loss_curve_``, ``coefs_``, ``intercepts_``,
``n_iter_``, ...), ``partial_fit``, ``predict_proba`` and ``score``. Each epoch runs in one C++
call of the fitted ``model_`` (a ``fusednet.Sequential``); Python only decides between epochs.

Importing this module imports scikit-learn (``import fusednet`` does not).

Where it differs from scikit-learn: float32 compute (inputs are converted once, results are
float64 like scikit-learn's); no 'lbfgs' solver and no sparse input; ``alpha``'s L2 term also
reaches the intercepts and uses the batch size of the first fit (scikit-learn's is per batch:
the same for full batches); initial intercepts are zero (Glorot-uniform weights as scikit-learn);
``device`` ('cpu', 'cuda' or 'auto') picks where the model trains.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any, Optional, Union

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets, type_of_target
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "fusednet.sklearn needs scikit-learn >= 1.6: pip install 'scikit-learn>=1.6'"
    ) from e

from . import _core
from . import layers as _layers
from . import losses as _losses
from . import optimizers as _optimizers
from .model import Sequential

__all__ = ["MLPClassifier", "MLPRegressor"]

# scikit-learn's activation names -> fusednet's
_ACTIVATIONS = {"identity": None, "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
_SOLVERS = ("adam", "sgd")
_LEARNING_RATES = ("constant", "invscaling", "adaptive")
_DEVICES = ("cpu", "cuda", "auto")


class _L2Adam(_optimizers.Adam):
    """Adam with ``weight_decay`` added to the gradient (g += wd p, L2), scikit-learn's form of
    ``alpha``; fusednet's Adam decays decoupled, as Keras does."""

    def _spec(self) -> Any:
        return _core.OptimSpec(
            _core.OptimKind.adam,
            weight_decay=self.weight_decay or 0.0,
            beta1=self.beta_1,
            beta2=self.beta_2,
            eps=self.epsilon,
        )


def _check_real(value: Any, name: str, lo: float, hi: Optional[float] = None) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        bounds = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{name}: expected a number {bounds}, got {value!r}")
    return float(value)


def _check_int(value: Any, name: str, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lo:
        raise ValueError(f"{name}: expected an int >= {lo}, got {value!r}")
    return int(value)


class _BaseMLP(BaseEstimator):  # type: ignore[misc]  # scikit-learn has no type information
    """What MLPClassifier and MLPRegressor share: parameters, validation, the training loop."""

    def __init__(
        self,
        hidden_layer_sizes: Union[int, tuple[int, ...]] = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Union[int, str] = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Union[int, np.random.RandomState, None] = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        device: str = "cpu",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.device = device

    # ---- what the subclasses define ----------------------------------------------------------
    def _loss(self) -> _losses.Loss:
        raise NotImplementedError

    def _targets(self, y: np.ndarray, first: bool, classes: Any) -> np.ndarray:
        """y as the model's targets; defines or checks the label set / output width."""
        raise NotImplementedError

    def _validation_score(self, x: np.ndarray, y: np.ndarray) -> float:
        raise NotImplementedError

    def _loss_scale(self) -> float:
        """scikit-learn's loss over fusednet's (the squared error is halved there)."""
        return 1.0

    # ---- parameters --------------------------------------------------------------------------
    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = list(sizes)
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s <= 0:
                raise ValueError(f"hidden_layer_sizes must be > 0 (ints), got {sizes}")
        return [int(s) for s in sizes]

    def _check_params(self) -> None:
        if self.activation not in _ACTIVATIONS:
            raise ValueError(
                f"activation: expected one of {', '.join(map(repr, _ACTIVATIONS))}, "
                f"got {self.activation!r}"
            )
        if self.solver not in _SOLVERS:
            raise ValueError(
                f"solver: expected 'adam' or 'sgd' (fusednet has no 'lbfgs'), got {self.solver!r}"
            )
        if self.learning_rate not in _LEARNING_RATES:
            raise ValueError(
                f"learning_rate: expected one of {', '.join(map(repr, _LEARNING_RATES))}, "
                f"got {self.learning_rate!r}"
            )
        if self.device not in _DEVICES:
            raise ValueError(f"device: expected 'cpu', 'cuda' or 'auto', got {self.device!r}")
        if self.batch_size != "auto":
            _check_int(self.batch_size, "batch_size", 1)
        _check_real(self.alpha, "alpha", 0.0)
        lr = _check_real(self.learning_rate_init, "learning_rate_init", 0.0)
        if lr == 0.0:
            raise ValueError("learning_rate_init: expected a number > 0, got 0")
        _check_real(self.power_t, "power_t", 0.0)
        _check_int(self.max_iter, "max_iter", 1)
        _check_real(self.tol, "tol", 0.0)
        _check_real(self.momentum, "momentum", 0.0, 1.0)
        _check_real(self.validation_fraction, "validation_fraction", 0.0, 1.0)
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(
                f"validation_fraction: expected a number in (0, 1), got {self.validation_fraction}"
            )
        for name in ("beta_1", "beta_2"):
            b = _check_real(getattr(self, name), name, 0.0, 1.0)
            if b >= 1.0:
                raise ValueError(f"{name}: expected a number in [0, 1), got {b}")
        _check_real(self.epsilon, "epsilon", 0.0)
        _check_int(self.n_iter_no_change, "n_iter_no_change", 1)

    # ---- the model ---------------------------------------------------------------------------
    def _optimizer(self, weight_decay: float) -> _optimizers.Optimizer:
        if self.solver == "adam":
            return _L2Adam(
                learning_rate=float(self.learning_rate_init),
                beta_1=float(self.beta_1),
                beta_2=float(self.beta_2),
                epsilon=float(self.epsilon),
                weight_decay=weight_decay,
            )
        return _optimizers.SGD(
            learning_rate=float(self.learning_rate_init),
            momentum=float(self.momentum),
            nesterov=bool(self.nesterovs_momentum) and self.momentum > 0,
            weight_decay=weight_decay,
        )

    def _new_model(self, n_features: int, n_outputs: int, seed: int) -> Sequential:
        act = _ACTIVATIONS[self.activation]
        widths = [*self._hidden_sizes(), n_outputs]
        layers = [
            _layers.Dense(
                units,
                activation=act if i < len(widths) - 1 else None,
                input_shape=(n_features,) if i == 0 else None,
                name=f"hidden_{i}" if i < len(widths) - 1 else "output",
            )
            for i, units in enumerate(widths)
        ]
        return Sequential(layers, device=self.device, seed=seed)

    def _l2_strength(self, batch: int) -> float:
        """L2 strength: scikit-learn adds alpha * w / batch to its loss gradient."""
        return float(self.alpha) / batch

    def _grad_scale(self) -> float:
        """scikit-learn's loss gradient over fusednet's (per sample)."""
        return 1.0

    def _compile(self, weight_decay: float, state: Optional[dict] = None) -> None:
        opt = self._optimizer(weight_decay)
        self.model_.compile(optimizer=opt, loss=self._loss())
        if state is not None:
            opt.load_state_dict(state)

    # ---- training ----------------------------------------------------------------------------
    def _fit(self, X: Any, y: Any, incremental: bool, classes: Any = None) -> _BaseMLP:
        self._check_params()
        first = not hasattr(self, "model_") or not (self.warm_start or incremental)
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        X, y = validate_data(
            self,
            X,
            y,
            dtype=np.float32,
            order="C",
            multi_output=True,
            y_numeric=not isinstance(self, ClassifierMixin),
            reset=first,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        targets = self._targets(y, first, classes)
        n = X.shape[0]
        rng = check_random_state(self.random_state)
        if self.batch_size == "auto":
            batch = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. It is going to be "
                    "clipped",
                    stacklevel=3,
                )
            batch = int(np.clip(self.batch_size, 1, n))
        if first:
            self.model_ = self._new_model(X.shape[1], self.n_outputs_, int(rng.randint(2**31 - 1)))
            self._weight_decay = self._l2_strength(batch)
            self._compile(self._weight_decay)
            self.n_layers_ = len(self._hidden_sizes()) + 2
            self.n_iter_ = 0
            self.t_ = 0
            self.loss_curve_: list[float] = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_: Optional[list[float]] = []
                self.best_validation_score_: Optional[float] = -np.inf
                self.best_loss_: Optional[float] = None
            else:
                self.validation_scores_ = None
                self.best_validation_score_ = None
                self.best_loss_ = np.inf
        elif not incremental:  # warm start: a fresh optimizer, as scikit-learn's
            self._compile(self._weight_decay)
        return self._train(X, targets, y, rng, batch, incremental)

    def _train(
        self,
        X: np.ndarray,
        targets: np.ndarray,
        y: np.ndarray,
        rng: np.random.RandomState,
        batch: int,
        incremental: bool,
    ) -> _BaseMLP:
        model = self.model_
        opt = model.optimizer
        lr = float(self.learning_rate_init)
        opt.learning_rate = lr
        x_val = y_val = None
        if self.early_stopping and self.validation_scores_ is None:  # switched on for a warm fit
            self.validation_scores_, self.best_validation_score_ = [], -np.inf
        if not self.early_stopping and self.best_loss_ is None:  # switched off likewise
            self.best_loss_ = np.inf
        if self.early_stopping:
            stratify = y if isinstance(self, ClassifierMixin) else None
            X, x_val, targets, _, _, y_val = train_test_split(
                X,
                targets,
                y,
                random_state=rng,
                test_size=self.validation_fraction,
                stratify=stratify,
            )
            if x_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' or the "
                    "size of your dataset."
                )
        n = X.shape[0]
        n_batches = -(-n // batch)
        best_weights = model.get_weights() if self.early_stopping else None
        # SGD steps are not scale-free: scikit-learn's gradient of the squared error is
        # n_outputs / 2 times fusednet's, so the rate is scaled to take the same steps.
        sgd_scale = self._grad_scale() if self.solver == "sgd" else 1.0
        sgd_schedule = self.solver == "sgd" and self.learning_rate != "constant"
        for _ in range(1 if incremental else int(self.max_iter)):
            opt.learning_rate = lr * sgd_scale
            history = model.fit(
                X, targets, batch_size=batch, epochs=1, verbose=0, shuffle=bool(self.shuffle)
            )
            penalty = sum(float(np.dot(k.ravel(), k.ravel())) for k in self._kernels())
            loss = history.history["loss"][-1] * self._loss_scale()
            loss += 0.5 * float(self.alpha) * penalty * n_batches / n
            self.n_iter_ += 1
            self.t_ += n
            self.loss_curve_.append(loss)
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")
            if not np.isfinite(loss):
                break
            if self.early_stopping:
                score = self._validation_score(x_val, y_val)
                self.validation_scores_.append(score)
                if self.verbose:
                    print(f"Validation score: {score:f}")
                if score < self.best_validation_score_ + self.tol:
                    self._no_improvement_count += 1
                else:
                    self._no_improvement_count = 0
                if score > self.best_validation_score_:
                    self.best_validation_score_ = score
                    best_weights = model.get_weights()
            else:
                if loss > self.best_loss_ - self.tol:
                    self._no_improvement_count += 1
                else:
                    self._no_improvement_count = 0
                self.best_loss_ = min(self.best_loss_, loss)
            if sgd_schedule and self.learning_rate == "invscaling":
                lr = float(self.learning_rate_init) / (self.t_ + 1) ** float(self.power_t)
            if self._no_improvement_count > self.n_iter_no_change:
                what = "Validation score" if self.early_stopping else "Training loss"
                msg = (
                    f"{what} did not improve more than tol={self.tol:f} for "
                    f"{self.n_iter_no_change} consecutive epochs."
                )
                if sgd_schedule and self.learning_rate == "adaptive" and lr > 1e-6:
                    lr /= 5.0
                    self._no_improvement_count = 0
                    if self.verbose:
                        print(msg + f" Setting learning rate to {lr:f}")
                else:
                    if self.verbose:
                        print(msg + " Stopping.")
                    break
            if not incremental and self.n_iter_ == self.max_iter:
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                    "optimization hasn't converged yet.",
                    ConvergenceWarning,
                    stacklevel=4,  # the caller of fit
                )
        if best_weights is not None:
            model.set_weights(best_weights)
        if not all(np.isfinite(w).all() for w in model.get_weights()):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain large "
                "values and need to be preprocessed."
            )
        self._sync_weights()
        return self

    def _kernels(self) -> list[np.ndarray]:
        return [v.numpy() for v in self.model_.trainable_variables if v.name.endswith("/kernel")]

    def _sync_weights(self) -> None:
        """scikit-learn's ``coefs_`` and ``intercepts_`` (float32 copies of the model's)."""
        weights = self.model_.get_weights()
        self.coefs_ = weights[0::2]
        self.intercepts_ = weights[1::2]

    def _outputs(self, X: Any) -> np.ndarray:
        """The model's outputs (float64) for validated X."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float32, order="C", reset=False)
        return self.model_.predict(X, batch_size=4096).astype(np.float64)

    # ---- pickling: the model travels as its layers, weights and optimizer state --------------
    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())
        model = state.pop("model_", None)
        if model is not None:
            net = model._net
            state["_model_state"] = {
                "config": model.get_config(),
                "weights": model.get_weights(),
                "optimizer": model.optimizer.state_dict(),
                # the dropout and shuffle streams continue where they were
                "counters": (int(net.train_forwards), int(net.epochs_shuffled)),
            }
        return state

    def __setstate__(self, state: dict) -> None:
        saved = state.pop("_model_state", None)
        super().__setstate__(state)
        if saved is not None:
            cfg = saved["config"]
            layers = [_layers.deserialize(c) for c in cfg["layers"]]
            device = "auto" if cfg["device"] == "cuda" else "cpu"
            self.model_ = Sequential(layers, device=device, seed=cfg["seed"], name=cfg["name"])
            self.model_.set_weights(saved["weights"])
            self._compile(self._weight_decay, saved["optimizer"])
            net = self.model_._net
            net.train_forwards, net.epochs_shuffled = saved["counters"]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


class MLPClassifier(ClassifierMixin, _BaseMLP):  # type: ignore[misc]
    """Multi-layer perceptron classifier (log loss), scikit-learn's ``MLPClassifier`` on
    fusednet: softmax output for several classes, one logistic unit for two.

    ``MLPClassifier(hidden_layer_sizes=(100,), activation="relu", alpha=1e-4, batch_size="auto",
    learning_rate_init=1e-3, max_iter=200, random_state=0).fit(X, y).predict(X)``; the
    parameters are scikit-learn's (see the module docstring for what differs).
    """

    def _loss(self) -> _losses.Loss:
        if len(self.classes_) == 2:
            return _losses.BinaryCrossentropy(from_logits=True)
        return _losses.SparseCategoricalCrossentropy(from_logits=True)

    def _targets(self, y: np.ndarray, first: bool, classes: Any) -> np.ndarray:
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind not in ("binary", "multiclass"):
            raise ValueError(
                f"y: expected class labels (binary or multiclass), got {kind} targets; "
                "multilabel is not supported"
            )
        labels = np.unique(y)
        if first:
            if classes is not None:
                classes = np.unique(np.asarray(classes))
            self.classes_ = labels if classes is None else classes
            if len(self.classes_) < 2:
                raise ValueError(
                    f"y: the classifier needs at least 2 classes, got 1 class "
                    f"({self.classes_[0]!r})"
                )
            self.n_outputs_ = 1 if len(self.classes_) == 2 else len(self.classes_)
            self.out_activation_ = "logistic" if len(self.classes_) == 2 else "softmax"
        elif self.warm_start and classes is None and set(labels) != set(self.classes_):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in the previous "
                f"call to fit. Previously got {self.classes_}, `y` has {labels}"
            )
        unknown = np.setdiff1d(labels, self.classes_)
        if len(unknown):
            raise ValueError(
                f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                f"'y' has {labels}."
            )
        codes = np.searchsorted(self.classes_, y)
        if len(self.classes_) == 2:
            return codes.astype(np.float32).reshape(-1, 1)
        return codes.astype(np.int64)

    def _validation_score(self, x: np.ndarray, y: np.ndarray) -> float:
        out = self.model_.predict(x, batch_size=4096)
        return float(accuracy_score(y, self._labels(out)))

    def _labels(self, out: np.ndarray) -> np.ndarray:
        if out.shape[1] == 1:
            return self.classes_[(out[:, 0] > 0).astype(np.intp)]
        return self.classes_[np.argmax(out, axis=1)]

    def fit(self, X: Any, y: Any) -> MLPClassifier:
        """Trains on X (n_samples, n_features) and class labels y for up to ``max_iter``
        epochs (fewer when the loss or validation score stops improving by ``tol``)."""
        self._fit(X, y, incremental=False)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> MLPClassifier:
        """One epoch over X, y; ``classes`` (every label there will be) on the first call."""
        if not hasattr(self, "model_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        first = not hasattr(self, "model_")
        if first:
            self._check_params()  # before anything is set
        self._fit(X, y, incremental=True, classes=classes if first else None)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The predicted class of each sample (values of ``classes_``)."""
        return self._labels(self._outputs(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (n_samples, n_classes), float64, columns in ``classes_`` order."""
        out = self._outputs(X)
        if out.shape[1] == 1:
            p = 1.0 / (1.0 + np.exp(-out[:, 0]))
            return np.stack([1.0 - p, p], axis=1)
        out -= out.max(axis=1, keepdims=True)
        np.exp(out, out=out)
        out /= out.sum(axis=1, keepdims=True)
        return out

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """``log(predict_proba(X))``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class MLPRegressor(RegressorMixin, _BaseMLP):  # type: ignore[misc]
    """Multi-layer perceptron regressor (squared error, identity output), scikit-learn's
    ``MLPRegressor`` on fusednet; y may have several columns.

    ``MLPRegressor(hidden_layer_sizes=(64, 64), max_iter=300, random_state=0).fit(X, y)``.
    """

    def _loss(self) -> _losses.Loss:
        return _losses.MeanSquaredError()

    def _loss_scale(self) -> float:
        return 0.5  # scikit-learn's squared error is half the mean

    def _grad_scale(self) -> float:
        # scikit-learn: (pred - y) / n per output; fusednet: 2 (pred - y) / (n n_outputs)
        return self.n_outputs_ / 2.0

    def _l2_strength(self, batch: int) -> float:
        # fusednet's squared-error gradient is 1 / _grad_scale() times scikit-learn's
        return float(self.alpha) / (batch * self._grad_scale())

    def _targets(self, y: np.ndarray, first: bool, classes: Any) -> np.ndarray:
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        if first:
            self.n_outputs_ = y2.shape[1]
            self._y_1d = y.ndim == 1
            self.out_activation_ = "identity"
        elif y2.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y: the model was fitted on {self.n_outputs_} target column(s), got {y2.shape[1]}"
            )
        return np.ascontiguousarray(y2, dtype=np.float32)

    def _validation_score(self, x: np.ndarray, y: np.ndarray) -> float:
        pred = self.model_.predict(x, batch_size=4096).astype(np.float64)
        return float(r2_score(y, pred.ravel() if y.ndim == 1 else pred))

    def fit(self, X: Any, y: Any) -> MLPRegressor:
        """Trains on X (n_samples, n_features) and targets y (n_samples,) or (n_samples,
        n_targets) for up to ``max_iter`` epochs."""
        self._fit(X, y, incremental=False)
        return self

    def partial_fit(self, X: Any, y: Any) -> MLPRegressor:
        """One epoch over X, y."""
        if not hasattr(self, "model_"):
            self._check_params()
        self._fit(X, y, incremental=True)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions, float64: (n_samples,) when fitted on 1-D y, else (n_samples, n_targets)."""
        out = self._outputs(X)
        return out.ravel() if self._y_1d else out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
