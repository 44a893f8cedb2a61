"""Array-namespace and device handling: the one place that knows about array types.

The maths takes ``xp`` from its arrays; this module finds that namespace for data
that may be sparse, and moves arrays between the host and a namespace.
"""

import numpy as np
import scipy.sparse as sp
from array_api_compat import array_namespace, device, is_numpy_namespace

__all__ = ["namespace_of", "is_numpy_namespace", "to_host", "to_namespace", "device"]


def namespace_of(*arrays):
    """Return the array namespace shared by ``arrays``.

    ``None`` entries are ignored and scipy.sparse matrices count as numpy.

    Examples
    --------
    >>> import numpy as np
    >>> namespace_of(np.ones(2), None).__name__
    'array_api_compat.numpy'
    """
    dense = [a for a in arrays if a is not None and not sp.issparse(a)]
    if not dense:
        return array_namespace(np.empty(0))
    return array_namespace(*dense)


def to_host(a):
    """Return ``a`` as a numpy array on the host (no copy for numpy input)."""
    if isinstance(a, np.ndarray) or np.isscalar(a):
        return np.asarray(a)
    if hasattr(a, "get"):  # CuPy
        return a.get()
    try:
        return np.asarray(a)
    except Exception:  # array_api_strict and friends refuse implicit conversion
        return np.from_dlpack(a.to_device("cpu") if hasattr(a, "to_device") else a)


def to_namespace(a, xp, like=None):
    """Return host array ``a`` in namespace ``xp``, on the device of ``like``."""
    if is_numpy_namespace(xp):
        return np.asarray(a)
    if like is None:
        return xp.asarray(a)
    return xp.asarray(a, device=device(like))
