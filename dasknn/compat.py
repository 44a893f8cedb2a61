"""Working with other Dask libraries where their releases lag behind Dask's.

dask-ml's incremental searches (``HyperbandSearchCV``, ``SuccessiveHalvingSearchCV``,
``IncrementalSearchCV``, ``InverseDecaySearchCV``) run their loop as a coroutine on the
client's event loop and call ``dask.persist`` there. Since dask 2025.3, ``dask.persist``
refuses a Client used from inside its own loop ("Attempting to use an asynchronous
Client in a synchronous context of `dask.compute`"), so those searches fail before
they train anything, with any estimator. :func:`patch_dask_ml` gives that module a
``persist`` that hands the collections straight to the Client, as ``dask.persist``
itself ends up doing, without the refusal. Nothing is patched on import.
"""

import importlib
import logging
import types

logger = logging.getLogger(__name__)

_MODULE = "dask_ml.model_selection._incremental"


def patch_dask_ml():
    """Make dask-ml's incremental searches run on current dask and distributed.

    Call it once before fitting a ``HyperbandSearchCV`` (or another incremental search
    of ``dask_ml.model_selection``); calling it again does nothing more.

    Returns
    -------
    patched : bool
        True when dask-ml now runs with the patch (applied now or before), False when
        the installed dask needs none (then nothing is changed, and a note is logged).

    Examples
    --------
    >>> from dasknn.compat import patch_dask_ml
    >>> patch_dask_ml() in (True, False)
    True
    """
    try:
        incremental = importlib.import_module(_MODULE)
    except ImportError as exc:
        raise ImportError("patch_dask_ml needs dask-ml: pip install dask-ml") from exc
    if getattr(incremental.dask, "dasknn_patched", False):
        return True
    if not _dask_refuses_loop_clients():
        logger.info("dasknn.compat.patch_dask_ml: this dask lets dask.persist use a Client "
                    "from its own event loop; dask-ml needs no patch, none applied.")
        return False
    incremental.dask = _DaskWithLoopPersist(incremental.dask)
    return True


def _dask_refuses_loop_clients():
    """Whether ``dask.persist`` refuses a Client used from its own event loop."""
    import dask.base

    return hasattr(dask.base, "_ensure_not_async")


class _DaskWithLoopPersist(types.SimpleNamespace):
    """The ``dask`` module, but for a ``persist`` that goes to the default Client."""

    dasknn_patched = True

    def __init__(self, module):
        super().__init__()
        self._module = module

    def __getattr__(self, name):
        return getattr(self._module, name)

    @staticmethod
    def persist(*args, **kwargs):
        from dask.base import unpack_collections
        from distributed import default_client

        collections, repack = unpack_collections(*args)
        if not collections:
            return args
        return repack(default_client().persist(collections, **kwargs))
