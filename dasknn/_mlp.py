"""The scikit-learn facade: parameters, input checks and fitted attributes.

No maths and no training loop live here: the estimators validate, build a plain
:class:`~dasknn._config.Config`, call a training loop and store what it returns.
"""

import copy
import numbers

import dask.array as da
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from . import _engine, _local, _predict, _progress
from . import _kernel as kernel
from . import _optimizers as optim
from . import _stopping as stopping
from ._activations import OUTPUT_LOSS
from ._config import Config
from ._dask_data import feature_names, is_dask, prepare
from ._shard import TargetEncoder
from ._device import (
    is_numpy_namespace,
    check_array_api_X,
    state_to_host,
    state_to_namespace,
    host_dtype,
    is_array_api_input,
    move_to_device,
    namespace_of,
    to_host,
    to_namespace,
)
from ._network import Layout, Network, init_params, pack, predict_raw, unpack
from ._validation import (
    Boolean,
    Interval,
    LayerSizes,
    Options,
    RandomState,
    Verbose,
    check_sample_weight,
    refuse_negative_targets,
    refuse_zero_weights,
    validate_params,
)
from ._docs import CLASSIFIER_DOC, REGRESSOR_DOC

Integral, Real = numbers.Integral, numbers.Real
STOCHASTIC_SOLVERS = ("sgd", "adam")

# Fitted attributes shared with scikit-learn's estimators (see ``to_sklearn``).
FITTED_ATTRIBUTES = (
    "classes_", "coefs_", "intercepts_", "loss_", "best_loss_", "loss_curve_",
    "validation_scores_", "best_validation_score_", "t_", "n_iter_", "n_layers_",
    "n_outputs_", "out_activation_", "n_features_in_", "feature_names_in_",
)


class _BaseMLP(BaseEstimator):
    """Shared behaviour of :class:`MLPClassifier` and :class:`MLPRegressor`."""

    _parameter_constraints = {
        "hidden_layer_sizes": [LayerSizes()],
        "activation": [Options("identity", "logistic", "tanh", "relu")],
        "solver": [Options("lbfgs", "sgd", "adam")],
        "alpha": [Interval(Real, 0, None, "left")],
        "batch_size": [Options("auto"), Interval(Integral, 1, None, "left")],
        "learning_rate": [Options("constant", "invscaling", "adaptive")],
        "learning_rate_init": [Interval(Real, 0, None, "neither")],
        "power_t": [Interval(Real, 0, None, "left")],
        "max_iter": [Interval(Integral, 1, None, "left")],
        "shuffle": [Boolean()],
        "random_state": [RandomState()],
        "tol": [Interval(Real, 0, None, "left")],
        "verbose": [Verbose()],
        "warm_start": [Boolean()],
        "momentum": [Interval(Real, 0, 1, "both")],
        "nesterovs_momentum": [Boolean()],
        "early_stopping": [Boolean()],
        "validation_fraction": [Interval(Real, 0, 1, "left")],
        "beta_1": [Interval(Real, 0, 1, "left")],
        "beta_2": [Interval(Real, 0, 1, "left")],
        "epsilon": [Interval(Real, 0, None, "neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, "left"), Options(np.inf, kind="float")],
        "max_fun": [Interval(Integral, 1, None, "left")],
        "sync": [Options("model", "gradient")],
        "sync_steps": [Options("auto"), Interval(Integral, 1, None, "left")],
        "lr_scaling": [Options("linear", "sqrt", None)],
        "device": [Options("auto", "cpu", "cuda")],
        "progress": [Options("auto"), Boolean()],
        "persist": [Options("auto"), Boolean()],
    }

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data ``X`` and targets ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (classification) or real numbers (regression).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        validate_params(self.get_params(deep=False), self._parameter_constraints,
                        type(self).__name__)
        return self._fit(X, y, sample_weight, incremental=False)

    def _check_solver(self):
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                f"{self.solver} is not stochastic: use solver='adam' or 'sgd'."
            )
        return True

    def _start_partial_fit(self):
        validate_params(self.get_params(deep=False), self._parameter_constraints,
                        type(self).__name__)
        if self.early_stopping:
            raise ValueError(
                "partial_fit does not support early_stopping=True: it runs one epoch "
                "on the data given. Set early_stopping=False, or use fit."
            )

    def _fit(self, X, y, sample_weight, incremental):
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        if is_dask(X):
            return self._fit_dask(X, y, sample_weight, incremental, first_pass)
        if is_dask(y) or is_dask(sample_weight):
            y, sample_weight = (v.compute() if is_dask(v) else v for v in (y, sample_weight))
        X = move_to_device(X, self.device)
        if is_array_api_input(X):
            X = check_array_api_X(self, X, reset=first_pass)
            y = to_host(y)
            n_y = y.shape[0] if hasattr(y, "shape") else len(y)
            if n_y != X.shape[0]:
                raise ValueError("Found input variables with inconsistent numbers of "
                                 f"samples: [{X.shape[0]}, {n_y}]")
            Y = to_namespace(self._encode_targets(y, incremental, host_dtype(X)),
                             namespace_of(X), like=X)
        else:
            X, Y = self._validate_input(X, _host_if_array(y), incremental, reset=first_pass)
        xp = namespace_of(X)
        # numpy: float weights keep their dtype, as in scikit-learn; a device: X's dtype
        sw = check_sample_weight(_host_if_array(sample_weight), X.shape[0],
                                 None if is_numpy_namespace(xp) else host_dtype(X))
        sw = None if sw is None else to_namespace(sw, xp, like=X)
        return self._fit_in_memory(X, Y, sw, incremental, first_pass, xp)

    def _fit_in_memory(self, X, Y, sw, incremental, first_pass, xp):
        """Train on arrays held by this process (any array namespace)."""
        self.n_outputs_ = Y.shape[1]
        layout = Layout((X.shape[1], *_hidden_sizes(self.hidden_layer_sizes), Y.shape[1]))
        rng = check_random_state(self.random_state)
        if first_pass:
            self._initialize(layout, host_dtype(X), rng)
        self._check_layout(layout)
        cfg = self._config(layout)
        state = self._fit_state(cfg, incremental, xp, like=X)
        if self.solver == "lbfgs":
            _local.fit_lbfgs(state, X, Y, sw, cfg, xp)
        else:
            _local.fit_stochastic(state, X, Y, sw, cfg, rng, self._validation_score, incremental, xp)
        self._store(state, layout, xp)
        if hasattr(self, "history_"):  # per-epoch records describe distributed fits only
            del self.history_
        return self

    def _fit_dask(self, X, y, sample_weight, incremental, first_pass):
        """Train on Dask collections with the distributed engine."""
        data = _engine.Data(*prepare(X, y, sample_weight))
        if data.sample_weight is not None:
            refuse_zero_weights(bool((data.sample_weight != 0).any().compute()))
        self._check_dask_features(X, data.X, reset=first_pass)
        encode = TargetEncoder(self._dask_binarizer(data.y, incremental, first_pass),
                               data.X.dtype, nonnegative=getattr(self, "loss", None) == "poisson")
        self.n_outputs_ = self._dask_n_outputs(data.y)
        layout = Layout((data.X.shape[1], *_hidden_sizes(self.hidden_layer_sizes), self.n_outputs_))
        rng = check_random_state(self.random_state)
        if first_pass:
            self._initialize(layout, data.X.dtype, rng)
        self._check_layout(layout)
        cfg = self._config(layout, distributed=True)
        # the engine starts a fresh optimizer itself, at its scaled learning rate
        state = self._fit_state(cfg, incremental, np, like=None, fresh_optimizer=False)
        if self.solver == "lbfgs":
            _engine.fit_lbfgs(state, data, cfg, encode, rng, self.device)
        else:
            options = _engine.Options(sync=self.sync, sync_steps=self.sync_steps,
                                      lr_scaling=self.lr_scaling, persist=self.persist,
                                      device=self.device)
            _engine.fit_stochastic(state, data, cfg, options, encode, rng,
                                   is_classifier(self), incremental)
        self._store(state, layout, np)
        self.history_ = state.history
        return self

    def _check_dask_features(self, X, dX, reset):
        if reset:
            self.n_features_in_ = dX.shape[1]
            names = feature_names(X)
            if names is not None:
                self.feature_names_in_ = names
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            return
        _predict.check_features(self, X, dX)

    def _initialize(self, layout, dtype, rng):
        """Set up a new model: attributes of an unfitted start and initial weights."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_layers_ = len(layout.units)
        self.out_activation_ = self._output_activation()
        self.coefs_, self.intercepts_ = init_params(layout, self.activation, rng, dtype)
        self._best_params = pack(self.coefs_, self.intercepts_, np)
        if self.solver in STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._progress = stopping.start(self.early_stopping)
            self.validation_scores_ = [] if self.early_stopping else None
            self.best_loss_ = self._progress.best_loss
            self.best_validation_score_ = self._progress.best_validation_score

    def _check_layout(self, layout):
        shapes = [c.shape for c in self.coefs_]
        if shapes != layout.shapes:
            raise ValueError(
                f"The fitted model has layer shapes {shapes} but hidden_layer_sizes="
                f"{self.hidden_layer_sizes!r} and the data ask for {layout.shapes}. "
                "Keep hidden_layer_sizes unchanged with warm_start=True or partial_fit, "
                "or set warm_start=False to train a new model."
            )

    def _config(self, layout, distributed=False):
        out = self.out_activation_
        net = Network(layout, self.activation, out, OUTPUT_LOSS[out], float(self.alpha))
        hyper = optim.Hyper(
            self.solver, self.learning_rate_init, self.learning_rate, self.momentum,
            self.nesterovs_momentum, self.power_t, self.beta_1, self.beta_2, self.epsilon,
        )
        return Config(
            net, hyper, self.max_iter, self.batch_size, self.shuffle, self.tol,
            self.n_iter_no_change, self.early_stopping, self.validation_fraction,
            is_classifier(self) and self.n_outputs_ == 1, self.verbose, self.max_fun,
            _progress.wanted(self.progress, distributed),
        )

    def _fit_state(self, cfg, incremental, xp, like, fresh_optimizer=True):
        """The training state a loop continues from, built from the fitted attributes."""
        params = to_namespace(pack(self.coefs_, self.intercepts_, np), xp, like=like)
        state = _local.FitState(params=params, t=self.t_)
        if self.solver not in STOCHASTIC_SOLVERS:
            return state
        keep = incremental and getattr(self, "_optimizer_state", None) is not None
        if keep:
            state.optimizer = state_to_namespace(self._optimizer_state, xp, like=params)
        elif fresh_optimizer:
            state.optimizer = optim.init(params, cfg.hyper, xp)
        state.progress = self._progress
        state.loss_curve = self.loss_curve_
        state.validation_scores = self.validation_scores_
        state.best_params = to_namespace(self._best_params, xp, like=like)
        return state

    def _store(self, state, layout, xp):
        """Copy a finished loop's state to the fitted attributes."""
        params = to_host(state.params)
        if not np.isfinite(params).all():
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may "
                "contain large values and need to be preprocessed (e.g. with "
                "StandardScaler), or learning_rate_init may be too large."
            )
        self.coefs_, self.intercepts_ = unpack(params, layout, np)
        self.n_iter_, self.loss_, self.t_ = state.n_iter, state.loss, state.t
        if self.solver in STOCHASTIC_SOLVERS:
            self._optimizer_state = state_to_host(state.optimizer)
            self._progress = state.progress
            self.loss_curve_ = state.loss_curve
            self.validation_scores_ = state.validation_scores
            self.best_loss_ = state.progress.best_loss
            self.best_validation_score_ = state.progress.best_validation_score
            self._best_params = to_host(state.best_params)

    # --------------------------------------------------------------- prediction
    def _network(self):
        units = (self.coefs_[0].shape[0], *(c.shape[1] for c in self.coefs_))
        out = self.out_activation_
        return Network(Layout(units), self.activation, out, OUTPUT_LOSS[out], float(self.alpha))

    def _forward(self, X, params=None, chunk=None):
        """Output activations for validated ``X`` (current or given flat parameters);
        dense numpy ``X`` is taken ``chunk`` rows at a time (None: all at once)."""
        net = self._network()
        xp = namespace_of(X)
        if params is None:
            coefs, intercepts = self.coefs_, self.intercepts_
            if not is_numpy_namespace(xp):
                coefs, intercepts = ([to_namespace(a, xp, like=X) for a in arrays]
                                     for arrays in (coefs, intercepts))
        else:
            coefs, intercepts = unpack(params, net.layout, xp)
        if isinstance(X, np.ndarray) and X.dtype in (np.float32, np.float64):
            return kernel.predict_rows(coefs, intercepts, X, net, chunk)
        return predict_raw(coefs, intercepts, X, net, xp)

    def _predict_any(self, X, method):
        """``method`` on in-memory data (eager) or on a Dask collection (lazy)."""
        check_is_fitted(self)
        if is_dask(X):
            return _predict.lazy(self, X, method)
        if is_array_api_input(X):
            X = check_array_api_X(self, X, reset=False)
        else:
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        return self._from_raw(self._forward(X), method)

    def _score_any(self, X, y, sample_weight, in_memory_score):
        if is_dask(X):
            check_is_fitted(self)
            return _predict.score(self, X, y, sample_weight, is_classifier(self))
        return in_memory_score(X, y, sample_weight=sample_weight)

    def _validation_score(self, params, X, Y, sw):
        """Score of flat ``params`` on encoded validation data (early stopping)."""
        pred = to_host(self._forward(X, params))
        if not np.isfinite(pred).all():
            return np.nan
        return self._score_encoded(to_host(Y), pred, None if sw is None else to_host(sw))

    # ---------------------------------------------------------------- utilities
    def to_sklearn(self):
        """Return an equivalent fitted scikit-learn estimator.

        The result predicts exactly like this model and needs neither Dask nor
        dasknn, which makes it suitable for deployment.

        Returns
        -------
        estimator : sklearn.neural_network.MLPClassifier or MLPRegressor

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from dasknn import MLPClassifier
        >>> X, y = make_classification(n_samples=100, random_state=0)
        >>> clf = MLPClassifier(hidden_layer_sizes=(5,), solver="lbfgs",
        ...                     random_state=0).fit(X, y)
        >>> sk = clf.to_sklearn()
        >>> type(sk).__module__, bool((sk.predict(X) == clf.predict(X)).all())
        ('sklearn.neural_network._multilayer_perceptron', True)
        """
        check_is_fitted(self)
        sk = self._sklearn_class()(**self._sklearn_params())
        for name in FITTED_ATTRIBUTES:
            if hasattr(self, name):
                value = getattr(self, name)
                setattr(sk, name, copy.deepcopy(value))  # nothing shared with this model
        self._export_extra(sk)
        return sk

    def _sklearn_params(self):
        sk_names = self._sklearn_class()().get_params(deep=False)
        return {k: v for k, v in self.get_params(deep=False).items() if k in sk_names}

    def _export_extra(self, sk):
        pass

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _fit_binarizer(y):
    """A LabelBinarizer for the labels of ``y``, refusing a single class."""
    binarizer = LabelBinarizer().fit(y)
    if not binarizer.y_type_.startswith("multilabel") and len(binarizer.classes_) < 2:
        raise ValueError(
            f"y has only one class ({binarizer.classes_[0]!r}): a classifier needs at "
            "least two. Check the labels, or use partial_fit with every class in `classes`."
        )
    return binarizer


def _host_if_array(a):
    return to_host(a) if is_array_api_input(a) else a


def _hidden_sizes(hidden_layer_sizes):
    if isinstance(hidden_layer_sizes, Integral):
        return [int(hidden_layer_sizes)]
    return [int(h) for h in hidden_layer_sizes]


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = CLASSIFIER_DOC

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        sync="model",
        sync_steps="auto",
        lr_scaling="linear",
        device="auto",
        progress="auto",
        persist="auto",
    ):
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
        self.max_fun = max_fun
        self.sync = sync
        self.sync_steps = sync_steps
        self.lr_scaling = lr_scaling
        self.device = device
        self.progress = progress
        self.persist = persist

    @staticmethod
    def _sklearn_class():
        from sklearn.neural_network import MLPClassifier as SkMLPClassifier

        return SkMLPClassifier

    def _output_activation(self):
        if self._label_binarizer.y_type_ == "multiclass":
            return "softmax"
        return "logistic"

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
            dtype=(np.float64, np.float32), reset=reset,
        )
        return X, self._encode_targets(y, incremental, X.dtype)

    def _encode_targets(self, y, incremental, dtype):
        """Host labels -> 2-D float indicator columns; (re)fits the label binarizer."""
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = _fit_binarizer(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            self._check_known_classes(y)
        return self._label_binarizer.transform(y).astype(dtype)

    def _check_known_classes(self, y):
        classes = unique_labels(y)
        if self.warm_start:
            if set(classes) != set(self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as in "
                    f"the previous call to fit. Previously got {self.classes_}, `y` "
                    f"has {classes}. Set warm_start=False to train a new model."
                )
        elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
            raise ValueError(
                f"`y` has classes not in `self.classes_`. `self.classes_` has "
                f"{self.classes_}. 'y' has {classes}. Pass every class in `classes` "
                "on the first call to partial_fit."
            )

    def _first_partial_fit_call(self, classes):
        """Set ``classes_`` on the first call of partial_fit; True if it was the first."""
        if getattr(self, "classes_", None) is None and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: give every "
                "class label of the whole dataset, e.g. classes=np.unique(y_all)."
            )
        if classes is None:
            return False
        classes = unique_labels(classes)
        if getattr(self, "classes_", None) is not None:
            if not np.array_equal(self.classes_, classes):
                raise ValueError(
                    f"`classes={classes!r}` is not the same as on the first call to "
                    f"partial_fit, which was {self.classes_!r}."
                )
            return False
        self.classes_ = classes
        return True

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        classes : array of shape (n_classes,), default=None
            Every class of the whole dataset; required on the first call.

        Returns
        -------
        self : object
            The updated estimator.
        """
        self._start_partial_fit()
        if self._first_partial_fit_call(classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(self.classes_)
        return self._fit(X, y, sample_weight, incremental=True)

    def _score_encoded(self, Y, pred, sw):
        decode = self._label_binarizer.inverse_transform
        labels = decode(pred.ravel() if self.n_outputs_ == 1 else pred)
        return accuracy_score(decode(Y), labels, sample_weight=sw)

    def _from_raw(self, out, method):
        """Labels, probabilities or log-probabilities from output activations, in
        the namespace of ``out``."""
        xp = namespace_of(out)
        if method == "predict":
            if is_numpy_namespace(xp):
                return self._label_binarizer.inverse_transform(
                    out.ravel() if self.n_outputs_ == 1 else out
                )
            return self._decode(out, xp)
        if self.n_outputs_ == 1:
            out = xp.concat([1 - out, out], axis=1)
        return xp.log(out) if method == "predict_log_proba" else out

    def _decode(self, out, xp):
        """The label binarizer's inverse, written for any array namespace."""
        if self._label_binarizer.y_type_.startswith("multilabel"):
            return xp.astype(out > 0.5, xp.int64)
        if self.n_outputs_ == 1:
            index = xp.astype(out[:, 0] > 0.5, xp.int64)
        else:
            index = xp.argmax(out, axis=1)
        if self.classes_.dtype.kind in "biuf":
            return xp.take(to_namespace(self.classes_, xp, like=out), index)
        return self.classes_[to_host(index)]  # text labels stay on the host

    def _dask_binarizer(self, y, incremental, first_pass):
        """Fit (or check against) the label binarizer with a small compute on ``y``."""
        if y.ndim == 2:  # multilabel indicator matrix
            sample = y[: min(y.shape[0], 100)].compute()
            classes = np.arange(y.shape[1])
        else:
            sample = classes = np.unique(da.unique(y).compute())
            if classes.dtype.kind == "f" and np.isnan(classes).any():
                raise ValueError("Input y contains NaN: drop or label those rows first.")
        refit = not hasattr(self, "classes_") or (not self.warm_start and not incremental)
        if refit:
            self._label_binarizer = _fit_binarizer(sample)
            self.classes_ = self._label_binarizer.classes_
        else:
            self._check_known_classes(classes)
        return self._label_binarizer

    def _dask_n_outputs(self, y):
        lb = self._label_binarizer
        return 1 if lb.y_type_ == "binary" else len(lb.classes_)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask DataFrame} of shape \
(n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The predicted classes; a lazy dask array (dask Series for a dask
            DataFrame) for Dask input.
        """
        return self._predict_any(X, "predict")

    def predict_proba(self, X):
        """Probability estimates, one column per class in ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask DataFrame} of shape \
(n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            The predicted probability of each class (lazy for Dask input).
        """
        return self._predict_any(X, "predict_proba")

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask DataFrame} of shape \
(n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            The log-probability of each class (lazy for Dask input).
        """
        return self._predict_any(X, "predict_log_proba")

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on the given data; computed on the cluster for Dask input.

        Parameters
        ----------
        X : {array-like, dask array, dask DataFrame} of shape (n_samples, n_features)
            Test samples.
        y : array-like or dask collection of shape (n_samples,) or (n_samples, n_outputs)
            True labels.
        sample_weight : array-like or dask array of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Accuracy of ``self.predict(X)`` against ``y``.
        """
        return self._score_any(X, y, sample_weight, super().score)

    def _export_extra(self, sk):
        sk._label_binarizer = self._label_binarizer

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = REGRESSOR_DOC

    _parameter_constraints = {
        **_BaseMLP._parameter_constraints,
        "loss": [Options("squared_error", "poisson")],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        sync="model",
        sync_steps="auto",
        lr_scaling="linear",
        device="auto",
        progress="auto",
        persist="auto",
    ):
        self.loss = loss
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
        self.max_fun = max_fun
        self.sync = sync
        self.sync_steps = sync_steps
        self.lr_scaling = lr_scaling
        self.device = device
        self.progress = progress
        self.persist = persist

    @staticmethod
    def _sklearn_class():
        from sklearn.neural_network import MLPRegressor as SkMLPRegressor

        return SkMLPRegressor

    def _output_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
            y_numeric=True, dtype=(np.float64, np.float32), reset=reset,
        )
        return X, self._encode_targets(y, incremental, None)

    def _encode_targets(self, y, incremental, dtype):
        """Host targets -> 2-D columns (of ``dtype``, or their own one when None)."""
        y = check_array(y, ensure_2d=False, dtype="numeric", input_name="y")
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson":
            refuse_negative_targets(y)
        # numpy input: y keeps its own dtype, as in scikit-learn (float64 targets make
        # float64 errors and gradients even for float32 X); ``dtype`` (array-API input,
        # on a GPU say) casts it to X's
        y = np.reshape(y, (y.shape[0], -1))
        return y if dtype is None else y.astype(dtype)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            The updated estimator.
        """
        self._start_partial_fit()
        return self._fit(X, y, sample_weight, incremental=True)

    def _score_encoded(self, Y, pred, sw):
        return r2_score(Y, pred.ravel() if pred.shape[1] == 1 else pred, sample_weight=sw)

    def _from_raw(self, out, method):
        return namespace_of(out).reshape(out, (-1,)) if out.shape[1] == 1 else out

    def _dask_binarizer(self, y, incremental, first_pass):
        if not np.issubdtype(y.dtype, np.number) or np.issubdtype(y.dtype, np.complexfloating):
            raise ValueError(
                f"y has dtype {y.dtype}: MLPRegressor needs numeric targets. For class "
                "labels use MLPClassifier."
            )
        return None

    def _dask_n_outputs(self, y):
        return 1 if y.ndim == 1 else y.shape[1]

    def predict(self, X):
        """Predict target values.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask DataFrame} of shape \
(n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values; lazy (a dask array, or a dask Series for a dask
            DataFrame) for Dask input.
        """
        return self._predict_any(X, "predict")

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination R^2; computed on the cluster for Dask input.

        Parameters
        ----------
        X : {array-like, dask array, dask DataFrame} of shape (n_samples, n_features)
            Test samples.
        y : array-like or dask collection of shape (n_samples,) or (n_samples, n_outputs)
            True values.
        sample_weight : array-like or dask array of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            R^2 of ``self.predict(X)`` against ``y``.
        """
        return self._score_any(X, y, sample_weight, super().score)
