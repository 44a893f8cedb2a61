"""``MLPRegressor``: scikit-learn's, also on Dask data."""

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils import check_array
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d

from ..maths.targets import Targets
from .base import BaseMLP
from .docs import (PARTIAL_FIT_REGRESSOR, PREDICT_VALUES, REGRESSOR_DOC, SCORE_R2,
                   documented)
from .validation import OneOf


class MLPRegressor(RegressorMixin, BaseMLP):
    __doc__ = REGRESSOR_DOC

    _parameter_constraints = {
        **BaseMLP._parameter_constraints,
        "loss": [OneOf("squared_error", "poisson")],
    }
    _y_numeric = True

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
        dropout=0.0,
        sync="model",
        sync_steps="auto",
        lr_scaling="linear",
        warmup="auto",
        device="auto",
        progress="auto",
        persist="auto",
    ):
        self.loss = loss
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha,
            batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
            max_fun=max_fun, dropout=dropout, sync=sync, sync_steps=sync_steps,
            lr_scaling=lr_scaling, warmup=warmup, device=device, progress=progress,
            persist=persist,
        )

    @staticmethod
    def _sklearn_class():
        from sklearn.neural_network import MLPRegressor as SkMLPRegressor

        return SkMLPRegressor

    def _output_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    # ---------------------------------------------------------------- targets
    @staticmethod
    def _target_dtype(x_dtype):
        # numpy input: y keeps its own dtype, as in scikit-learn (float64 targets make
        # float64 errors and gradients even for float32 X)
        return None

    @staticmethod
    def _prepare_y(y):
        y = check_array(y, ensure_2d=False, dtype="numeric", input_name="y")
        return column_or_1d(y, warn=True) if y.ndim == 2 and y.shape[1] == 1 else y

    @staticmethod
    def _dask_targets(y):
        if not np.issubdtype(y.dtype, np.number) or np.issubdtype(y.dtype, np.complexfloating):
            raise ValueError(
                f"y has dtype {y.dtype}: MLPRegressor needs numeric targets. For class "
                "labels use MLPClassifier."
            )
        return y

    def _learn_targets(self, y, incremental):
        return Targets("continuous", None, 1 if y.ndim == 1 else y.shape[1],
                       self.loss == "poisson")

    def _targets(self):
        return Targets("continuous", None, self.n_outputs_, self.loss == "poisson")

    @available_if(lambda est: est._check_solver())
    @documented(PARTIAL_FIT_REGRESSOR)
    def partial_fit(self, X, y, sample_weight=None):
        self._start_partial_fit()
        return self._fit(X, y, sample_weight, incremental=True)

    def _score_encoded(self, Y, pred, sw):
        return r2_score(Y, pred.ravel() if pred.shape[1] == 1 else pred, sample_weight=sw)

    @documented(PREDICT_VALUES)
    def predict(self, X):
        return self._predict_any(X, "predict")

    @documented(SCORE_R2)
    def score(self, X, y, sample_weight=None):
        return self._score_any(X, y, sample_weight, super().score)
