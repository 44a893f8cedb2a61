"""The scikit-learn facade shared by both estimators: parameters, routing, fitted
attributes.

No maths and no training loop live here: an estimator validates its parameters,
makes its input ready (:mod:`.inputs`), builds a plain
:class:`~dasknn.training.config.Config`, calls the in-process loop or the
distributed engine, and stores what it returns.
"""

import copy
import numbers

import numpy as np
from sklearn.base import BaseEstimator, is_classifier
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..distributed import engine, memory
from ..distributed import predict as dask_predict
from ..distributed.data import feature_names, is_dask, prepare_fit, prepare_X
from ..distributed.planning import Distribution
from ..distributed.runner import workers_warming
from ..distributed.watchdog import SchedulerLost
from ..maths import optimizers as optim
from ..maths import stopping
from ..maths.activations import OUTPUT_LOSS
from ..maths.model import Model
from ..maths.namespace import (
    host_dtype,
    move_to_device,
    namespace_of,
    state_to_host,
    state_to_namespace,
    to_host,
    to_namespace,
)
from ..maths.network import Layout, Network, init_params, pack, unpack
from ..training import local
from ..training.config import Config
from ..training.hooks import progress_wanted
from ..training.state import FitState
from . import inputs
from .validation import (
    Boolean,
    Interval,
    LayerSizes,
    OneOf,
    RandomState,
    Rates,
    Verbose,
    dropout_rates,
    validate_params,
)

Integral, Real = numbers.Integral, numbers.Real
STOCHASTIC_SOLVERS = ("sgd", "adam")

# Fitted attributes shared with scikit-learn's estimators (see ``to_sklearn``).
FITTED_ATTRIBUTES = (
    "classes_", "coefs_", "intercepts_", "loss_", "best_loss_", "loss_curve_",
    "validation_scores_", "best_validation_score_", "t_", "n_iter_", "n_layers_",
    "n_outputs_", "out_activation_", "n_features_in_", "feature_names_in_",
)


class BaseMLP(BaseEstimator):
    """Shared behaviour of :class:`MLPClassifier` and :class:`MLPRegressor`."""

    _parameter_constraints = {
        "hidden_layer_sizes": [LayerSizes()],
        "activation": [OneOf("identity", "logistic", "tanh", "relu")],
        "solver": [OneOf("lbfgs", "sgd", "adam")],
        "alpha": [Interval(Real, 0, None, "left")],
        "batch_size": [OneOf("auto"), Interval(Integral, 1, None, "left")],
        "learning_rate": [OneOf("constant", "invscaling", "adaptive")],
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
        "n_iter_no_change": [Interval(Integral, 1, None, "left"), OneOf(np.inf, kind="float")],
        "max_fun": [Interval(Integral, 1, None, "left")],
        "dropout": [Rates()],
        "sync": [OneOf("model", "gradient")],
        "sync_steps": [OneOf("auto"), Interval(Integral, 1, None, "left")],
        "lr_scaling": [OneOf("linear", "sqrt", None)],
        "warmup": [OneOf("auto"), Interval(Real, 0, None, "left")],
        "device": [OneOf("auto", "cpu", "cuda")],
        "progress": [OneOf("auto"), Boolean()],
        "persist": [OneOf("auto"), Boolean()],
    }

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
        dropout=0.0,
        sync="model",
        sync_steps="auto",
        lr_scaling="linear",
        warmup="auto",
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
        self.dropout = dropout
        self.sync = sync
        self.sync_steps = sync_steps
        self.lr_scaling = lr_scaling
        self.warmup = warmup
        self.device = device
        self.progress = progress
        self.persist = persist

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data ``X`` and targets ``y``.

        In-memory ``X`` trains in this process. A Dask array or DataFrame trains
        data-parallel on the workers of the current ``distributed`` Client, or on dask's
        local scheduler when there is none; ``history_`` then records each epoch.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask collection} of shape (n_samples, n_features)
            The input data.
        y : array-like or dask collection of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (classification) or real numbers (regression).
        sample_weight : array-like or dask array of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        return self._fit(X, y, sample_weight, incremental=False)

    def _validate_params(self):
        validate_params(self.get_params(deep=False), self._parameter_constraints,
                        type(self).__name__)
        self._dropout_rates()

    def _dropout_rates(self):
        return dropout_rates(self.dropout, self.solver,
                             len(_hidden_sizes(self.hidden_layer_sizes)))

    def _check_solver(self):
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                f"{self.solver} is not stochastic: use solver='adam' or 'sgd'."
            )
        return True

    def _start_partial_fit(self):
        self._validate_params()
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
        X, Y, sw, targets = inputs.in_memory(self, X, y, sample_weight, incremental,
                                             reset=first_pass)
        xp = namespace_of(X)
        rng, cfg = self._prepare(X.shape[1], targets, host_dtype(X), first_pass, False)
        state = self._fit_state(cfg, incremental, xp, like=X)
        if self.solver == "lbfgs":
            local.fit_lbfgs(state, X, Y, sw, cfg, xp)
        else:
            local.fit_stochastic(state, X, Y, sw, cfg, rng, self._validation_score,
                                 incremental, xp)
        self._store(state, cfg.net.layout)
        if hasattr(self, "history_"):  # per-epoch records describe distributed fits only
            del self.history_
        return self

    def _fit_dask(self, X, y, sample_weight, incremental, first_pass):
        """Train on Dask collections with the distributed engine; the workers warm up
        while the input is prepared (chunk sizes, labels) in one pass."""
        with workers_warming(getattr(X, "dtype", None)), memory.memory_explained(X, y):
            data = prepare_fit(X, y, sample_weight, is_classifier(self))
            inputs.dask_features(self, data, reset=first_pass)
            targets = self._learn_targets(data.y_sample, incremental)
            rng, cfg = self._prepare(data.X.shape[1], targets, data.X.dtype, first_pass, True)
            state = self._fit_state(cfg, incremental, np, like=None, fresh_optimizer=False)
            try:
                self._train_dask(state, data, cfg, targets, rng, incremental)
            except SchedulerLost as exc:
                if state.history:  # epochs finished: kept, as Ctrl-C keeps them
                    self._store(state, cfg.net.layout, state.history)
                raise exc.keeping(state.n_iter if state.history else 0)
        self._store(state, cfg.net.layout, state.history)
        return self

    def _train_dask(self, state, data, cfg, targets, rng, incremental):
        if self.solver == "lbfgs":
            return engine.fit_lbfgs(state, data, cfg, targets, rng, self.device)
        distribution = Distribution(sync=self.sync, sync_steps=self.sync_steps,
                                    lr_scaling=self.lr_scaling, warmup=self.warmup,
                                    persist=self.persist, device=self.device)
        return engine.fit_stochastic(state, data, cfg, distribution, targets, rng, incremental)

    def _prepare(self, n_features, targets, dtype, first_pass, distributed):
        """Output width, initial weights on a first pass, and the loop's Config."""
        self.n_outputs_ = targets.n_outputs
        layout = Layout((n_features, *_hidden_sizes(self.hidden_layer_sizes), self.n_outputs_))
        rng = check_random_state(self.random_state)
        if first_pass:
            self._initialize(layout, dtype, rng)
        self._check_layout(layout)
        return rng, self._config(layout, distributed)

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
        hyper = optim.Hyper(
            solver=self.solver, learning_rate_init=self.learning_rate_init,
            schedule=self.learning_rate, momentum=self.momentum,
            nesterov=self.nesterovs_momentum, power_t=self.power_t, beta_1=self.beta_1,
            beta_2=self.beta_2, epsilon=self.epsilon,
        )
        return Config(
            net=self._network(layout)._replace(dropout=self._dropout_rates()),
            hyper=hyper, max_iter=self.max_iter, batch_size=self.batch_size,
            shuffle=self.shuffle, tol=self.tol, n_iter_no_change=self.n_iter_no_change,
            early_stopping=self.early_stopping,
            validation_fraction=self.validation_fraction,
            stratify=is_classifier(self) and self.n_outputs_ == 1, verbose=self.verbose,
            max_fun=self.max_fun, progress=progress_wanted(self.progress, distributed),
        )

    def _fit_state(self, cfg, incremental, xp, like, fresh_optimizer=True):
        """The training state a loop continues from, built from the fitted attributes."""
        params = to_namespace(pack(self.coefs_, self.intercepts_, np), xp, like=like)
        state = FitState(params=params, t=self.t_)
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

    def _store(self, state, layout, history=None):
        """Copy a loop's state (and a Dask fit's ``history``) to the fitted attributes."""
        params = to_host(state.params)
        if not np.isfinite(params).all():
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may "
                "contain large values and need to be preprocessed (e.g. with "
                "StandardScaler), or learning_rate_init may be too large."
            )
        self.coefs_, self.intercepts_ = unpack(params, layout, np)
        self.n_iter_, self.loss_, self.t_ = state.n_iter, state.loss, state.t
        if history is not None:
            self.history_ = history
        if self.solver in STOCHASTIC_SOLVERS:
            self._optimizer_state = state_to_host(state.optimizer)
            self._progress = state.progress
            self.loss_curve_ = state.loss_curve
            self.validation_scores_ = state.validation_scores
            self.best_loss_ = state.progress.best_loss
            self.best_validation_score_ = state.progress.best_validation_score
            self._best_params = to_host(state.best_params)

    # --------------------------------------------------------------- prediction
    def _network(self, layout=None):
        if layout is None:
            layout = Layout((self.coefs_[0].shape[0], *(c.shape[1] for c in self.coefs_)))
        out = self.out_activation_
        return Network(layout, self.activation, out, OUTPUT_LOSS[out], float(self.alpha))

    def _model(self, params=None, snapshot=False):
        """The fitted network as a plain :class:`~dasknn.maths.model.Model` (with
        other flat ``params`` if given; ``snapshot``: copies of the arrays, so later
        training cannot change what a lazy prediction computes)."""
        net = self._network()
        if params is None:
            coefs, intercepts = self.coefs_, self.intercepts_
        else:
            coefs, intercepts = unpack(params, net.layout, namespace_of(params))
        model = Model(net, coefs, intercepts, self._targets())
        return copy.deepcopy(model) if snapshot else model

    def _predict_any(self, X, method):
        """``method`` on in-memory data (eager) or on a Dask collection (lazy)."""
        check_is_fitted(self)
        if is_dask(X):
            dX = prepare_X(X, lengths=False)
            inputs.check_features(self, dX.shape[1], feature_names(X))
            return dask_predict.lazy(self._model(snapshot=True), X, dX, method)
        return self._model().predict(inputs.for_prediction(self, X), method)

    def _score_any(self, X, y, sample_weight, in_memory_score):
        if is_dask(X):
            check_is_fitted(self)
            dX = prepare_X(X)
            inputs.check_features(self, dX.shape[1], feature_names(X))
            return dask_predict.score(self._model(snapshot=True), dX, y, sample_weight,
                                      is_classifier(self))
        return in_memory_score(X, y, sample_weight=sample_weight)

    def _validation_score(self, params, X, Y, sw):
        """Score of flat ``params`` on encoded validation data (early stopping)."""
        pred = to_host(self._model(params).raw(X))
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


def _hidden_sizes(hidden_layer_sizes):
    if isinstance(hidden_layer_sizes, Integral):
        return [int(hidden_layer_sizes)]
    return [int(h) for h in hidden_layer_sizes]
