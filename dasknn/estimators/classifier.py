"""``MLPClassifier``: scikit-learn's, also on Dask data."""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d

from ..maths.targets import Targets
from .base import BaseMLP


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier: scikit-learn's, also on Dask data.

    It minimises the cross-entropy of a softmax output (multiclass) or of independent
    logistic outputs (binary and multilabel).

    In-memory data (numpy, pandas, scipy.sparse) trains in this process with the
    parameters, attributes and numbers of :class:`sklearn.neural_network.MLPClassifier`.
    A Dask array or DataFrame trains data-parallel on the workers of the current
    ``distributed`` Client, or on dask's local scheduler when there is none (a Client is
    never a parameter): each worker thread trains on its share of the blocks and the
    models are averaged (``sync``, ``sync_steps``, ``lr_scaling``, ``warmup``,
    ``persist``). On Dask input, :meth:`predict` and :meth:`predict_proba` return lazy
    Dask collections and :meth:`score` a float computed on the cluster.

    Parameters
    ----------
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
    classes_ : ndarray or list of ndarray
        Class labels.
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

    The same on Dask arrays: on the workers of a ``Client`` from ``dask.distributed``
    in scope (the model then depends on how many training slots it has), else on
    dask's local scheduler:

    >>> import dask.array as da
    >>> dX, dy = da.from_array(X_train, chunks=50), da.from_array(y_train, chunks=50)
    >>> dclf = MLPClassifier(max_iter=1000, random_state=1).fit(dX, dy)
    >>> dX_test = da.from_array(X_test, chunks=50)
    >>> predicted = dclf.predict(dX_test)  # lazy: nothing is computed yet
    >>> predicted.shape, predicted.chunks
    ((50,), ((50,),))
    >>> dclf.score(dX_test, y_test) > 0.6  # computed where the blocks are
    True
    """

    _y_numeric = False

    @staticmethod
    def _sklearn_class():
        from sklearn.neural_network import MLPClassifier as SkMLPClassifier

        return SkMLPClassifier

    def _output_activation(self):
        if self._label_binarizer.y_type_ == "multiclass":
            return "softmax"
        return "logistic"

    # ---------------------------------------------------------------- targets
    @staticmethod
    def _target_dtype(x_dtype):
        return x_dtype

    @staticmethod
    def _prepare_y(y):
        return column_or_1d(y, warn=True) if y.ndim == 2 and y.shape[1] == 1 else y

    def _learn_targets(self, y, incremental):
        """(Re)fit the label binarizer on labels ``y``, or check them against it."""
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = _fit_binarizer(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            self._check_known_classes(y)
        return self._targets()

    def _targets(self):
        lb = self._label_binarizer
        n_outputs = 1 if lb.y_type_ == "binary" else len(lb.classes_)
        return Targets(lb.y_type_, lb.classes_, n_outputs)

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

        A Dask array or DataFrame trains that epoch data-parallel, as :meth:`fit`
        does; the optimizer's state carries over from one call to the next.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask collection} of shape (n_samples, n_features)
            The input data.
        y : array-like or dask collection of shape (n_samples,) or (n_samples, n_classes)
            The target labels.
        sample_weight : array-like or dask array of shape (n_samples,), default=None
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

    # ------------------------------------------------------------- prediction
    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask collection} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The predicted classes. For Dask input, a lazy dask array (a dask Series for
            a dask DataFrame and one label per sample), computed block by block with a
            copy of the model as it is now.
        """
        return self._predict_any(X, "predict")

    def predict_proba(self, X):
        """Probability estimates, one column per class in ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask collection} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            The predicted probability of each class; a lazy dask array for Dask input.
        """
        return self._predict_any(X, "predict_proba")

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask collection} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            The log-probability of each class; a lazy dask array for Dask input.
        """
        return self._predict_any(X, "predict_log_proba")

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on the given data.

        For Dask ``X`` the predictions and their comparison with ``y`` are computed on
        the cluster (or dask's local scheduler); only the float comes back.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask collection} of shape (n_samples, n_features)
            Test samples.
        y : array-like or dask collection of shape (n_samples,) or (n_samples, n_classes)
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


def _fit_binarizer(y):
    """A LabelBinarizer for the labels of ``y``. A single class is kept, as scikit-learn
    keeps it: one output unit trained towards 0, which predicts that class."""
    return LabelBinarizer().fit(y)
