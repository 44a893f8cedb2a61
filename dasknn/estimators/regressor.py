"""``MLPRegressor``: scikit-learn's, also on Dask data."""

from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils import check_array
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d

from ..maths.targets import Targets
from .base import BaseMLP
from .validation import OneOf


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor: scikit-learn's, also on Dask data.

    It minimises half the squared error (identity output) or half the Poisson deviance
    (exponential output).

    In-memory data (numpy, pandas, scipy.sparse) trains in this process with the
    parameters, attributes and numbers of :class:`sklearn.neural_network.MLPRegressor`.
    A Dask array or DataFrame trains data-parallel on the workers of the current
    ``distributed`` Client, or on dask's local scheduler when there is none (a Client is
    never a parameter): each worker thread trains on its share of the blocks and the
    models are averaged (``sync``, ``sync_steps``, ``lr_scaling``, ``warmup``,
    ``persist``). On Dask input, :meth:`predict` returns a lazy Dask collection and
    :meth:`score` a float computed on the cluster.

    Parameters
    ----------
    loss : {'squared_error', 'poisson'}, default='squared_error'
        Loss to minimise; 'poisson' needs non-negative targets.
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Width of each hidden layer; ``()`` gives a model with no hidden layer.
    activation : {'identity', 'logistic', 'tanh', 'relu'}, default='relu'
        Activation of the hidden layers: ``z``, ``1 / (1 + exp(-z))``,
        ``tanh(z)`` or ``max(z, 0)``.
    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        'adam' and 'sgd' train on minibatches; 'lbfgs' minimises the full-batch
        loss with scipy's L-BFGS-B, which suits small datasets.
    alpha : float, default=0.0001
        Strength of the L2 penalty on the weights.
    batch_size : int or 'auto', default='auto'
        Minibatch size of the stochastic solvers; 'auto' is ``min(200, n_samples)``.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Schedule of the 'sgd' solver. 'invscaling' uses
        ``learning_rate_init / (t + 1) ** power_t`` after ``t`` samples; 'adaptive'
        divides the rate by 5 whenever ``n_iter_no_change`` epochs in a row fail to
        improve by ``tol``.
    learning_rate_init : float, default=0.001
        Initial step size of 'sgd' and 'adam'.
    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.
    max_iter : int, default=200
        Maximum number of epochs (stochastic solvers) or iterations ('lbfgs').
    shuffle : bool, default=True
        Shuffle the rows before each epoch (stochastic solvers).
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the early-stopping split and the shuffles. Pass
        an int for reproducible results: equal to scikit-learn's for the same int.
    tol : float, default=1e-4
        Improvement of the loss (or validation score) an epoch must make to count.
    verbose : bool or int, default=False
        Print the loss after each epoch.
    warm_start : bool, default=False
        Continue from the previous fit's weights instead of starting anew.
    momentum : float, default=0.9
        Momentum of the 'sgd' solver, in [0, 1].
    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum with 'sgd'.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when its score stops
        improving; the best weights seen are kept.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of Adam's first and second moment estimates, in [0, 1).
    epsilon : float, default=1e-8
        Adam's guard against division by zero.
    n_iter_no_change : int, default=10
        Epochs without improvement of at least ``tol`` before stopping.
    max_fun : int, default=15000
        Maximum number of loss evaluations of 'lbfgs'.
    dropout : float or sequence of float, default=0.0
        Inverted dropout (not in scikit-learn): during training, each hidden unit's output
        is set to 0 with this probability (one rate for every hidden layer, or one per
        layer) and the kept ones are scaled by ``1 / (1 - rate)``; prediction uses every
        unit. The masks are drawn from ``random_state``. A remedy for overfitting beside
        ``alpha``. 0 trains exactly as scikit-learn does. Needs 'adam' or 'sgd'.
    sync : {'model', 'gradient'}, default='model'
        Dask input only. 'model': each worker thread runs ``sync_steps`` local
        minibatch steps on its own shard of the blocks, then the models are
        averaged (weighted by sample weight). 'gradient': gradients are averaged
        at every step (synchronous SGD on a batch W times larger; exact but slow).
    sync_steps : int or 'auto', default='auto'
        Dask input only: local steps between averages. 'auto' takes the fewer of about
        one second of computation per round and ``max(1, round(512 / W**2))`` for W
        shards, chosen on three datasets at 1 to 64 shards (128 steps at 2 shards, 8
        at 8, 2 at 16, 1 at 64); shards of many minibatches average at most 64 times an
        epoch (2 steps at 64 shards of 28,000 rows). See the user guide, "How many
        workers", for the accuracy to expect.
    lr_scaling : {'linear', 'sqrt'} or None, default='linear'
        Dask input only: averaging W models (one per worker thread) makes W times
        fewer sequential updates, so the learning rate is multiplied by W
        ('linear'), sqrt(W) ('sqrt') or kept (None); with ``sync='gradient'`` the
        same rule scales the rate for its W times larger batch. A fit whose model
        diverges (its loss not finite or, from its third epoch, twice a constant
        prediction's, or no better than it and no longer falling) starts again at
        half the scaling, with a warning.
    warmup : float or 'auto', default='auto'
        Dask input only: epochs over which the scaled learning rate ramps up from the
        unscaled one. 'auto' is none below 8x, one epoch up to 16x, two beyond.
    device : {'auto', 'cpu', 'cuda'}, default='auto'
        'auto' trains where the data is (CuPy arrays or CuPy chunks on the GPU);
        'cuda' moves numpy data to the GPU (needs CuPy); 'cpu' brings GPU data to
        the host.
    progress : bool or 'auto', default='auto'
        Show a progress bar over epochs (tqdm). 'auto': on for fits on Dask data
        when writing to an interactive terminal, off otherwise.
    persist : bool or 'auto', default='auto'
        Dask input only. True: hold the data on the workers for the whole fit.
        False: stream it, computing each block when a round needs it (for data
        bigger than the cluster's memory; no early stopping). 'auto': stream when
        the data does not fit three times into the workers' free memory.

    Attributes
    ----------
    loss_ : float
        Loss after the last epoch (or at the 'lbfgs' solution).
    best_loss_ : float or None
        Lowest training loss seen (stochastic solvers without early stopping).
    loss_curve_ : list of float
        Training loss after each epoch (stochastic solvers).
    validation_scores_ : list of float or None
        Validation score after each epoch, with early stopping.
    best_validation_score_ : float or None
        Best validation score, with early stopping.
    t_ : int
        Number of training samples seen by the stochastic solvers.
    coefs_ : list of ndarray
        Weight matrix of each layer, ``coefs_[i]`` of shape
        ``(units[i], units[i + 1])``.
    intercepts_ : list of ndarray
        Bias vector of each layer.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Column names seen during fit, when X had string column names.
    n_iter_ : int
        Number of epochs (or 'lbfgs' iterations) run by the last fit.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of output units.
    out_activation_ : str
        Activation of the output layer.
    history_ : list of dict
        After a fit on Dask data: one JSON-able record per epoch (loss, validation
        score, seconds, samples per second, share of time synchronising, rounds,
        workers (shards trained side by side: one per worker thread), the learning
        rate the epoch trained at, scaled for averaging as the shards use it). An
        epoch that ran while the client handled the one before is timed by its own
        tasks on the workers, so the seconds add up to the training time.

    See Also
    --------
    MLPClassifier : The classification counterpart.
    sklearn.neural_network.MLPRegressor : The model this one reproduces.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from dasknn import MLPRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1, random_state=1)
    >>> reg = MLPRegressor(hidden_layer_sizes=(20,), solver="lbfgs", tol=1e-2,
    ...                    max_iter=2000, random_state=1).fit(X, y)
    >>> reg.score(X, y) > 0.99
    True

    On a Dask array, whichever data the model was fitted on, :meth:`predict` is lazy and
    :meth:`score` is computed where the blocks are:

    >>> import dask.array as da
    >>> dX = da.from_array(X, chunks=50)
    >>> predicted = reg.predict(dX)  # a dask array: nothing is computed yet
    >>> predicted.shape, predicted.chunks
    ((200,), ((50, 50, 50, 50),))
    >>> reg.score(dX, y) > 0.99
    True
    """

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
        # scikit-learn reads the parameters from this signature, so it lists them all,
        # loss first as in scikit-learn's; tests/estimators/test_docstrings.py keeps the
        # rest equal to BaseMLP's
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

    def _learn_targets(self, y, incremental):
        return Targets("continuous", None, 1 if y.ndim == 1 else y.shape[1],
                       self.loss == "poisson")

    def _targets(self):
        return Targets("continuous", None, self.n_outputs_, self.loss == "poisson")

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with one epoch over the given data.

        A Dask array or DataFrame trains that epoch data-parallel, as :meth:`fit`
        does; the optimizer's state carries over from one call to the next.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask collection} of shape (n_samples, n_features)
            The input data.
        y : array-like or dask collection of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like or dask array of shape (n_samples,), default=None
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

    def predict(self, X):
        """Predict target values.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask collection} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values. For Dask input, a lazy dask array (a dask Series for a
            dask DataFrame and one output), computed block by block with a copy of the
            model as it is now.
        """
        return self._predict_any(X, "predict")

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination R^2 on the given data.

        For Dask ``X`` the predictions and the sums of squares are computed on the
        cluster (or dask's local scheduler); only the float comes back.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask collection} of shape (n_samples, n_features)
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
