"""A fitted network as plain data: what prediction needs, without an estimator.

Estimators build a :class:`Model` from their fitted attributes; in-process
prediction and the lazy prediction tasks on the workers both call
:meth:`Model.predict`, so a worker needs numpy and the maths, not the facade.
"""

from typing import NamedTuple

import numpy as np

from .kernel import outputs
from .namespace import is_numpy_namespace, namespace_of, to_namespace


class Model(NamedTuple):
    """Weights and biases per layer (host numpy), the network and its targets.

    Examples
    --------
    >>> from dasknn.maths.network import Layout, Network, unpack
    >>> from dasknn.maths.targets import Targets
    >>> from array_api_compat import numpy as xp
    >>> net = Network(Layout((2, 3, 1)), "relu", "logistic", "binary_log_loss", 0.0)
    >>> coefs, intercepts = unpack(np.linspace(-1, 1, net.layout.n_params), net.layout, xp)
    >>> model = Model(net, coefs, intercepts, Targets("binary", np.array([3, 7]), 1))
    >>> model.predict(np.array([[0.0, 1.0], [1.0, 0.0]]), "predict")
    array([7, 7])
    """

    net: object
    coefs: list
    intercepts: list
    targets: object

    def raw(self, X, chunk=None):
        """Output activations of validated ``X``, in its namespace (dense numpy:
        ``chunk`` rows at a time, None for all at once)."""
        coefs, intercepts = self.coefs, self.intercepts
        xp = namespace_of(X)
        if not is_numpy_namespace(xp):
            coefs, intercepts = ([to_namespace(a, xp, like=X) for a in arrays]
                                 for arrays in (coefs, intercepts))
        return outputs(coefs, intercepts, X, self.net, chunk)

    def predict(self, X, method, chunk=None):
        """What ``method`` ('predict', 'predict_proba', 'predict_log_proba') returns
        for validated ``X``."""
        return self.targets.decode(self.raw(X, chunk), method)

    def output_meta(self, method, input_dtype):
        """``(width, dtype)`` of ``method``'s output (width None: 1-D), as in-memory
        prediction gives it: float32 only when the data and the model both are."""
        values = np.result_type(input_dtype if input_dtype in (np.float32, np.float64)
                                else np.float64, self.coefs[-1].dtype)
        return self.targets.output_meta(method, values)
