"""Docstrings of the public estimators, kept apart from the code they describe."""

_COMMON_PARAMETERS = """\
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
    at every step (synchronous SGD; exact but slow).
sync_steps : int or 'auto', default='auto'
    Dask input only: local steps between averages. 'auto' takes the fewer of about
    one second of computation per round (which keeps synchronisation under 5%) and
    ``max(1, round(2048 / W**2))`` for W shards, what kept scikit-learn's accuracy
    at 8 to 64 shards: 419 steps at 2 shards for the benchmark MLP, 8 at 16, 1 at 64.
lr_scaling : {'linear', 'sqrt'} or None, default='linear'
    Dask input only: averaging W models (one per worker thread) makes W times
    fewer sequential updates, so the learning rate is multiplied by W
    ('linear'), sqrt(W) ('sqrt') or kept (None). A fit whose averaged model
    diverges (its loss not finite, or from its third epoch no better than a
    constant prediction) starts again at half the scaling, with a warning.
warmup : float or 'auto', default='auto'
    Dask input only: epochs over which the scaled learning rate ramps up from the
    unscaled one. 'auto' is none below 8x, one epoch up to 16x, two beyond.
device : {'auto', 'cpu', 'cuda'}, default='auto'
    'auto' trains where the data is (CuPy arrays or CuPy chunks on the GPU);
    'cuda' moves numpy data to the GPU (needs CuPy); 'cpu' brings GPU data to
    the host.
persist : bool or 'auto', default='auto'
    Dask input only. True: hold the data on the workers for the whole fit.
    False: stream it, computing each block when a round needs it (for data
    bigger than the cluster's memory; no early stopping). 'auto': stream when
    the data does not fit three times into the workers' free memory.
progress : bool or 'auto', default='auto'
    Show a progress bar over epochs (tqdm). 'auto': on for fits on Dask data
    when writing to an interactive terminal, off otherwise.
"""

_COMMON_ATTRIBUTES = """\
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
"""

CLASSIFIER_DOC = f"""Multi-layer perceptron classifier: scikit-learn's, also on Dask data.

Same parameters, attributes and numbers as
:class:`sklearn.neural_network.MLPClassifier` on in-memory data. It minimises the
cross-entropy of a softmax output (multiclass) or of independent logistic
outputs (binary and multilabel).

Parameters
----------
{_COMMON_PARAMETERS}
Attributes
----------
classes_ : ndarray or list of ndarray
    Class labels.
{_COMMON_ATTRIBUTES}
See Also
--------
MLPRegressor : The regression counterpart.
sklearn.neural_network.MLPClassifier : The model this one reproduces.

Examples
--------
>>> from sklearn.datasets import make_classification
>>> from sklearn.model_selection import train_test_split
>>> from dasknn import MLPClassifier
>>> X, y = make_classification(n_samples=200, random_state=1)
>>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=1)
>>> clf = MLPClassifier(max_iter=1000, random_state=1).fit(X_train, y_train)
>>> clf.predict(X_test[:5])
array([0, 1, 0, 1, 1])
>>> round(clf.score(X_test, y_test), 2)
0.76
>>> clf.n_iter_  # the same epochs, weights and predictions as scikit-learn's
385
"""

REGRESSOR_DOC = f"""Multi-layer perceptron regressor: scikit-learn's, also on Dask data.

Same parameters, attributes and numbers as
:class:`sklearn.neural_network.MLPRegressor` on in-memory data. It minimises half
the squared error (identity output) or half the Poisson deviance (exponential
output).

Parameters
----------
loss : {{'squared_error', 'poisson'}}, default='squared_error'
    Loss to minimise; 'poisson' needs non-negative targets.
{_COMMON_PARAMETERS}
Attributes
----------
{_COMMON_ATTRIBUTES}
See Also
--------
MLPClassifier : The classification counterpart.
sklearn.neural_network.MLPRegressor : The model this one reproduces.

Examples
--------
>>> from sklearn.datasets import make_regression
>>> from dasknn import MLPRegressor
>>> X, y = make_regression(n_samples=200, n_features=5, noise=1, random_state=1)
>>> reg = MLPRegressor(hidden_layer_sizes=(20,), solver="lbfgs", tol=1e-2, max_iter=2000,
...                    random_state=1).fit(X, y)
>>> reg.score(X, y) > 0.99
True
"""


_X_IN = """\
X : {array-like, sparse matrix, dask array, dask DataFrame} of shape \
(n_samples, n_features)
    The input data."""


def _method_doc(summary, parameters, returns):
    return f"{summary}\n\nParameters\n----------\n{parameters}\n\nReturns\n-------\n{returns}\n"


def _prediction_doc(summary, returns):
    return _method_doc(summary, _X_IN, returns)


def _score_doc(summary, y_what, returns):
    parameters = f"""\
X : {{array-like, dask array, dask DataFrame}} of shape (n_samples, n_features)
    Test samples.
y : array-like or dask collection of shape (n_samples,) or (n_samples, n_outputs)
    True {y_what}.
sample_weight : array-like or dask array of shape (n_samples,), default=None
    Sample weights."""
    return _method_doc(summary, parameters, f"score : float\n    {returns}")


def _partial_fit_doc(y_what, extra=""):
    parameters = f"""\
X : {{array-like, sparse matrix}} of shape (n_samples, n_features)
    The input data.
y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    The target {y_what}.
sample_weight : array-like of shape (n_samples,), default=None
    Sample weights.{extra}"""
    return _method_doc("Update the model with one epoch over the given data.", parameters,
                       "self : object\n    The updated estimator.")


PREDICT_LABELS = _prediction_doc("Predict class labels.", """\
y : ndarray of shape (n_samples,) or (n_samples, n_classes)
    The predicted classes; a lazy dask array (dask Series for a dask
    DataFrame) for Dask input.""")
PREDICT_PROBA = _prediction_doc("Probability estimates, one column per class in ``classes_``.",
                                """\
y_prob : ndarray of shape (n_samples, n_classes)
    The predicted probability of each class (lazy for Dask input).""")
PREDICT_LOG_PROBA = _prediction_doc("Logarithm of :meth:`predict_proba`.", """\
log_y_prob : ndarray of shape (n_samples, n_classes)
    The log-probability of each class (lazy for Dask input).""")
PREDICT_VALUES = _prediction_doc("Predict target values.", """\
y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
    The predicted values; lazy (a dask array, or a dask Series for a dask
    DataFrame) for Dask input.""")
SCORE_ACCURACY = _score_doc(
    "Mean accuracy on the given data; computed on the cluster for Dask input.",
    "labels", "Accuracy of ``self.predict(X)`` against ``y``.")
SCORE_R2 = _score_doc(
    "Coefficient of determination R^2; computed on the cluster for Dask input.",
    "values", "R^2 of ``self.predict(X)`` against ``y``.")
PARTIAL_FIT_CLASSIFIER = _partial_fit_doc("labels", """
classes : array of shape (n_classes,), default=None
    Every class of the whole dataset; required on the first call.""")
PARTIAL_FIT_REGRESSOR = _partial_fit_doc("values")


def documented(text):
    """Decorator giving a method its docstring from this module."""
    def attach(method):
        method.__doc__ = text
        return method
    return attach
