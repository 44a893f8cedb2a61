"""Array-namespace and device handling: the one place that knows about array types.

The maths takes ``xp`` from its arrays; this module finds that namespace for data
that may be sparse, and moves arrays between the host and a namespace.
"""

import sys

import numpy as np
from array_api_compat import (
    array_namespace,
    device,
    is_array_api_obj,
    is_cupy_array,
    is_numpy_namespace,
    is_torch_array,
)

__all__ = [
    "namespace_of", "is_numpy_namespace", "to_host", "to_namespace", "device",
    "is_array_api_input", "move_to_device", "host_dtype", "cupy", "state_to_namespace",
    "state_to_host", "as_dtype",
]


def issparse(a):
    """Whether ``a`` is a scipy.sparse matrix or array, without importing scipy (no
    sparse object exists before scipy.sparse is loaded; a worker training on dense
    chunks never loads it)."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(a)


def namespace_of(*arrays):
    """Return the array namespace shared by ``arrays``.

    ``None`` entries are ignored and scipy.sparse matrices count as numpy.

    Examples
    --------
    >>> import numpy as np
    >>> namespace_of(np.ones(2), None).__name__
    'array_api_compat.numpy'
    """
    dense = [a for a in arrays if a is not None and not issparse(a)]
    if not dense:
        return array_namespace(np.empty(0))
    return array_namespace(*dense)


def to_host(a):
    """Return ``a`` as a numpy array on the host (no copy for numpy input)."""
    if isinstance(a, np.ndarray) or np.isscalar(a) or issparse(a):
        return a if issparse(a) else np.asarray(a)
    if is_cupy_array(a):
        return a.get()
    if is_torch_array(a):
        return a.detach().cpu().numpy()
    if not is_array_api_obj(a):
        return np.asarray(a)
    try:
        return np.asarray(a)
    except (RuntimeError, TypeError, ValueError):  # refuses implicit device transfers
        home = array_namespace(a).__array_namespace_info__().default_device()
        return np.asarray(a.to_device(home))


def to_namespace(a, xp, like=None):
    """Return host array ``a`` in namespace ``xp``, on the device of ``like``."""
    if is_numpy_namespace(xp):
        return np.asarray(a)
    if like is None:
        return xp.asarray(a)
    return xp.asarray(a, device=device(like))


def is_array_api_input(X):
    """True for in-memory arrays of another library than numpy (CuPy, PyTorch,
    array_api_strict, ...): they train and predict in their own namespace."""
    return is_array_api_obj(X) and not isinstance(X, np.ndarray) and not issparse(X)


def host_dtype(X):
    """The numpy dtype matching the dtype of array ``X`` of any namespace."""
    return X.dtype if isinstance(X.dtype, np.dtype) else to_host(X[:0, ...]).dtype


def cupy():
    """The ``cupy`` module, or a clear error when CuPy or a GPU is missing."""
    try:
        import cupy as cp
    except ImportError as exc:
        raise ValueError(
            "device='cuda' needs CuPy: install dasknn's 'gpu' extra "
            "(pip install 'dasknn[gpu]') on a machine with an NVIDIA GPU, or use "
            "device='cpu'."
        ) from exc
    try:
        n_gpus = cp.cuda.runtime.getDeviceCount()
    except Exception:  # CUDA driver errors have no common base class
        n_gpus = 0
    if n_gpus == 0:
        raise ValueError("device='cuda' but CuPy finds no GPU on this machine; use device='cpu'.")
    return cp


def move_to_device(X, device_name):
    """Apply the estimator's ``device``: 'cpu' brings arrays to numpy, 'cuda' moves
    them to CuPy, 'auto' leaves them where they are."""
    if X is None or device_name == "auto" or issparse(X):
        return X
    if device_name == "cpu":
        return to_host(X) if is_array_api_input(X) else X
    if is_cupy_array(X):
        return X
    return cupy().asarray(to_host(np.asarray(X) if not is_array_api_obj(X) else X))


def state_to_namespace(state, xp, like):
    """An optimizer state (NamedTuple) with its arrays moved to ``xp`` / ``like``'s device."""
    return type(state)(*(to_namespace(to_host(f), xp, like=like) if is_array_api_obj(f)
                         else f for f in state))


def state_to_host(state):
    """An optimizer state with its arrays as host numpy arrays."""
    return type(state)(*(to_host(f) if is_array_api_obj(f) else f for f in state))


def as_dtype(X, dtype):
    """``X`` cast to the numpy ``dtype``, in its own namespace (no copy if equal)."""
    if isinstance(X, np.ndarray):
        return np.asarray(X, dtype=dtype)
    xp = namespace_of(X)
    target = getattr(xp, np.dtype(dtype).name)
    return X if X.dtype == target else xp.astype(X, target)
