"""Save and load models as skops files: sharing a model needs no pickle.

A skops file holds data, not code; :func:`load` reconstructs only the types dasknn
trusts (its estimators, their optimizer and stopping state, and what skops trusts by
default) and refuses a file holding anything else.

Examples
--------
>>> import numpy as np, tempfile, os
>>> from dasknn import MLPClassifier, load, save
>>> X, y = np.random.RandomState(0).rand(30, 3), np.arange(30) % 2
>>> clf = MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0).fit(X, y)
>>> path = os.path.join(tempfile.mkdtemp(), "model.skops")
>>> save(clf, path)
>>> bool((load(path).predict(X) == clf.predict(X)).all())
True
"""

TRUSTED_TYPES = (
    "dasknn.estimators.classifier.MLPClassifier",
    "dasknn.estimators.regressor.MLPRegressor",
    "dasknn.maths.optimizers.AdamState",
    "dasknn.maths.optimizers.SGDState",
    "dasknn.maths.stopping.Progress",
)


def save(model, path):
    """Write ``model`` to ``path`` in the skops format."""
    import skops.io  # imported on use: it takes seconds to import

    skops.io.dump(model, path)


def load(path, trusted=()):
    """Read a model saved by :func:`save`, trusting only dasknn's own types and those
    named in ``trusted``.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.
    trusted : sequence of str, default=()
        Further types to trust, by their full names (e.g. the steps of a pipeline
        around the model, ``"dask_ml.preprocessing.data.StandardScaler"``); name only
        types from sources you trust.

    Raises
    ------
    ValueError
        If the file holds a type neither dasknn nor ``trusted`` trusts.
    """
    import skops.io

    untrusted = skops.io.get_untrusted_types(file=path)
    unknown = [t for t in untrusted if t not in TRUSTED_TYPES and t not in trusted]
    if unknown:
        raise ValueError(
            f"{path} holds types dasknn does not trust: {unknown}. If you trust where "
            "the file comes from, name them: dasknn.load(path, trusted=[...])."
        )
    return skops.io.load(path, trusted=untrusted)
