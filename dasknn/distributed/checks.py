"""What dasknn can take, and the messages that say what to do when it cannot.

A network needs finite numbers, to train and to predict. Values that are not (NaN,
infinity) and columns that hold no numbers (text, categories) are refused with a
message naming the column (by name when the data has column names, by index
otherwise) and the fix. The messages are written once here and used by the in-memory
checks of the estimators and by the worker tasks that read or predict on Dask blocks;
this module imports numpy and the array namespace helpers only, so a worker stays
lean.

Examples
--------
>>> import numpy as np
>>> X = np.array([[1.0, 2.0], [3.0, np.nan]])
>>> refuse_nonfinite(X, "X", np)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
dasknn.distributed.checks.BadValues: Input X contains NaN in column 1. ...
>>> print(non_numeric_message(["carrier"], on_dask=False))  # doctest: +ELLIPSIS
X has non-numeric columns ['carrier']: an MLP needs numbers. Encode them first, ...
"""

import numpy as np

from ..maths.namespace import to_host

__all__ = ["FIX_MISSING_DASK", "FIX_MISSING_MEMORY", "ZERO_WEIGHTS", "BadValues", "columns_text",
           "non_numeric_message", "nonfinite_columns", "refuse_nonfinite"]

ZERO_WEIGHTS = ("Sample weights must contain at least one non-zero number: every row of "
                "sample_weight is zero.")
FIX_MISSING_MEMORY = ("dasknn cannot use missing values: fill or drop them first, e.g. "
                      "sklearn.impute.SimpleImputer in a Pipeline, or df.fillna(...) / "
                      "df.dropna().")
FIX_MISSING_DASK = ("dasknn cannot use missing values: fill or drop them first on "
                    "the cluster, e.g. ddf.fillna(...) / ddf.dropna(), or "
                    "dask_ml.impute.SimpleImputer.")
FIX_INFINITE = ("Replace them first, e.g. df.replace([np.inf, -np.inf], np.nan) and then "
                "fill or drop the missing values.")
FIX_TEXT_MEMORY = ("Encode them first, e.g. with sklearn.preprocessing.OneHotEncoder "
                   "(in a ColumnTransformer), or drop them.")
FIX_TEXT_DASK = ("Encode them on the cluster first, e.g. ddf.categorize(columns=[...]) "
                 "then dd.get_dummies(ddf, columns=[...], dtype='float64') (or dask-ml's "
                 "Categorizer + DummyEncoder), or drop them.")


class BadValues(ValueError):
    """Values a network cannot train on: NaN or infinity in some columns.

    Raised in the worker task that reads a block; the estimator re-raises it with the
    column names of a DataFrame (:meth:`named`). It pickles with its fields, so it
    travels from a worker to the client whole.

    Parameters
    ----------
    what : str
        ``'X'``, ``'y'`` or ``'sample_weight'``.
    kind : str
        ``'NaN'`` or ``'infinity'``.
    columns : list
        Column indices (or names), empty for 1-D data.
    on_dask : bool
        Whether the data was a Dask collection (the fix suggested differs).
    """

    def __init__(self, what, kind, columns=(), on_dask=True):
        self.what, self.kind, self.columns, self.on_dask = what, kind, list(columns), on_dask
        where = f" in {columns_text(self.columns)}" if self.columns else ""
        if kind == "NaN":
            fix = FIX_MISSING_DASK if on_dask else FIX_MISSING_MEMORY
        else:
            fix = FIX_INFINITE
        super().__init__(f"Input {what} contains {kind}{where}. {fix}")

    def __reduce__(self):
        return type(self), (self.what, self.kind, self.columns, self.on_dask)

    def named(self, names):
        """The same error with column indices replaced by ``names`` (if given)."""
        if names is None or not self.columns:
            return BadValues(self.what, self.kind, self.columns, self.on_dask)
        return BadValues(self.what, self.kind, [str(names[i]) for i in self.columns],
                         self.on_dask)


def columns_text(columns, at_most=5):
    """``"column 'a'"``, ``"columns 3, 7"``, ``"columns 'a', 'b' and 4 more"``."""
    shown = [repr(c) if isinstance(c, str) else str(c) for c in columns[:at_most]]
    more = f" and {len(columns) - at_most} more" if len(columns) > at_most else ""
    return f"column{'s' if len(columns) > 1 else ''} {', '.join(shown)}{more}"


def nonfinite_columns(X, xp, kind):
    """Indices of the columns of a 2-D ``X`` holding ``kind`` ('NaN' or 'infinity')."""
    bad = xp.isnan(X) if kind == "NaN" else xp.isinf(X)
    found = xp.any(bad, axis=0)
    return [int(i) for i in np.flatnonzero(to_host(found))]


def refuse_nonfinite(X, what, xp, on_dask=True):
    """Raise :class:`BadValues` if ``X`` (1-D or 2-D, any array namespace) holds NaN or
    infinity; one pass over ``X`` when it is clean, more only to name the columns."""
    if bool(xp.all(xp.isfinite(X))):
        return
    kind = "NaN" if bool(xp.any(xp.isnan(X))) else "infinity"
    named = X.ndim == 2 and (what == "X" or X.shape[1] > 1)  # y's one column: no name
    columns = nonfinite_columns(X, xp, kind) if named else []
    raise BadValues(what, kind, columns, on_dask)


def non_numeric_message(columns, on_dask):
    """The message for columns (names, or ``(name, dtype)`` descriptions) without numbers."""
    fix = FIX_TEXT_DASK if on_dask else FIX_TEXT_MEMORY
    return f"X has non-numeric columns {list(columns)}: an MLP needs numbers. {fix}"
