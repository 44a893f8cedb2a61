"""What runs inside a worker: building shards, training rounds, averaging, scoring.

Pure functions of plain data (numpy arrays, NamedTuples), so a task can run them on
any worker, and the in-process fallback can call them directly. A *part* is one
row block of X with its targets and weights; a *shard* is the parts one worker
trains on, concatenated once.
"""

import time
from typing import NamedTuple

import numpy as np
from sklearn.utils import gen_batches

from ._device import (
    as_dtype,
    is_numpy_namespace,
    move_to_device,
    namespace_of,
    state_to_host,
    state_to_namespace,
    to_host,
    to_namespace,
)
from ._heap import roomy_heap
from ._local import run_batches, take_rows
from ._network import flat_loss_and_grad, predict_raw, unpack
from ._validation import refuse_negative_targets

_WARMED = set()


class Part(NamedTuple):
    """Training rows and held-out validation rows of one block (or one shard)."""

    X: np.ndarray
    Y: np.ndarray
    sw: np.ndarray | None
    X_val: np.ndarray
    Y_val: np.ndarray
    sw_val: np.ndarray | None


class TargetEncoder:
    """Turns a block of targets into 2-D float columns (one-hot for classifiers)."""

    def __init__(self, binarizer, dtype, nonnegative=False):
        self.binarizer, self.dtype = binarizer, np.dtype(dtype)
        self.nonnegative = nonnegative  # loss='poisson'

    def __call__(self, y):
        if self.binarizer is not None:
            encoded = one_hot(self.binarizer, y, self.dtype)
            return encoded if encoded is not None else \
                self.binarizer.transform(y).astype(self.dtype)
        y = np.asarray(y, dtype=self.dtype)
        if self.nonnegative:
            refuse_negative_targets(y)
        return y.reshape(y.shape[0], -1)


def one_hot(binarizer, y, dtype):
    """What ``binarizer.transform(y)`` gives, built directly (10x faster on a block of
    9,000 labels), for a fitted ``LabelBinarizer`` of two or more classes with its
    default labels and 1-D ``y`` of known labels; None otherwise.

    Examples
    --------
    >>> from sklearn.preprocessing import LabelBinarizer
    >>> lb = LabelBinarizer().fit(["a", "b", "c"])
    >>> one_hot(lb, np.array(["c", "a"]), np.float32)
    array([[0., 0., 1.],
           [1., 0., 0.]], dtype=float32)
    >>> one_hot(lb, np.array(["d"]), np.float32) is None  # unknown: left to sklearn
    True
    """
    classes = binarizer.classes_
    y = np.asarray(y)
    if (binarizer.y_type_ not in ("binary", "multiclass") or binarizer.sparse_output
            or (binarizer.neg_label, binarizer.pos_label) != (0, 1) or y.ndim != 1
            or len(classes) < 2):
        return None
    try:
        index = np.minimum(np.searchsorted(classes, y), len(classes) - 1)
        known = bool(np.all(classes[index] == y))
    except TypeError:  # labels that do not compare with the classes
        return None
    if not known:
        return None
    if binarizer.y_type_ == "binary":
        return (index == 1).astype(dtype)[:, None]
    out = np.zeros((y.shape[0], len(classes)), dtype)
    out[np.arange(y.shape[0]), index] = 1
    return out


def _check_finite(X, what, xp):
    if not bool(xp.all(xp.isfinite(X))):
        raise ValueError(
            f"{what} contains NaN or infinity. Remove or impute those rows first "
            "(e.g. X[da.isfinite(X).all(axis=1)], or sklearn.impute.SimpleImputer)."
        )


def make_part(X, y, sw, encode, val_fraction, seed, device="auto", rows=None):
    """Check and encode one block; hold out ``val_fraction`` of it for validation.

    The block stays in its namespace (numpy or CuPy); ``device='cuda'`` moves a
    numpy block to the GPU, ``device='cpu'`` brings a GPU block to the host.
    ``rows`` is the block's row count as X's chunk sizes give it, if known.
    """
    if rows is not None and X.shape[0] != rows:
        raise ValueError(_wrong_chunks(f"a block of X holds {X.shape[0]} rows where its "
                                       f"chunk size says {rows}"))
    for name, a in (("y", y), ("sample_weight", sw)):
        if a is not None and a.shape[0] != X.shape[0]:
            raise ValueError(_wrong_chunks(f"a block of {name} holds {a.shape[0]} rows "
                                           f"where the block of X beside it holds "
                                           f"{X.shape[0]}"))
    X = as_dtype(move_to_device(X, device), encode.dtype)
    xp = namespace_of(X)
    _check_finite(X, "X", xp)
    Y = to_namespace(encode(to_host(y)), xp, like=X)
    _check_finite(Y, "y", xp)
    sw = None if sw is None else to_namespace(to_host(sw).astype(encode.dtype), xp, like=X)
    if sw is not None:
        _check_finite(sw, "sample_weight", xp)
    n_val = n_validation(X.shape[0], val_fraction)
    if n_val == 0:  # no copy: the shard concatenates the parts anyway
        empty = slice(0, 0)
        return Part(X, Y, sw, X[empty], Y[empty], None if sw is None else sw[empty])
    order = np.random.RandomState(seed).permutation(X.shape[0])
    val, train = np.sort(order[:n_val]), np.sort(order[n_val:])
    rows = lambda a, idx: take_rows(a, idx, xp)  # noqa: E731
    return Part(rows(X, train), rows(Y, train), rows(sw, train),
                rows(X, val), rows(Y, val), rows(sw, val))


def n_validation(n_rows, val_fraction):
    """Rows of an ``n_rows`` block that :func:`make_part` holds out for validation.

    Examples
    --------
    >>> n_validation(9000, 0.1), n_validation(5, 0.1), n_validation(5, 0.0)
    (900, 1, 0)
    """
    return int(np.ceil(val_fraction * n_rows)) if val_fraction else 0


def _warm_blas(dtype):
    """Run one large GEMM per process: OpenBLAS is slow on small ones until then."""
    if dtype not in _WARMED:
        a = np.ones((512, 512), dtype=dtype)
        a @ a
        _WARMED.add(dtype)


def make_shard(expected, *parts):
    """Concatenate a worker's parts into one contiguous shard.

    ``expected`` is ``(training rows, validation rows)`` as the driver planned them
    from X's chunk sizes; a shard of another size means the chunk sizes were wrong.
    """
    xp = namespace_of(parts[0].X)
    if is_numpy_namespace(xp):
        _warm_blas(parts[0].X.dtype)
    join = lambda arrays: None if arrays[0] is None else xp.concat(arrays)  # noqa: E731
    shard = Part(*(join([p[i] for p in parts]) for i in range(len(Part._fields))))
    held = (shard.X.shape[0], shard.X_val.shape[0])
    if held != tuple(expected):
        raise ValueError(_wrong_chunks(
            f"X's blocks hold {held[0]} training and {held[1]} validation rows where its "
            f"chunk sizes plan {expected[0]} and {expected[1]}"))
    return shard


def _wrong_chunks(what):
    return (f"{what}: the Dask arrays' chunk sizes are wrong. Call "
            "X.compute_chunk_sizes() (and the same on y and sample_weight), or build "
            "them with their true chunk sizes, first.")


class Plan(NamedTuple):
    """Which minibatches of its shard a worker runs in one round."""

    seed: int
    first_batch: int
    n_batches: int
    batch_size: int
    shuffle: bool
    learning_rate: float | None  # the schedule's current rate ('sgd'), else None


class RoundResult(NamedTuple):
    params: np.ndarray
    opt_state: object
    loss_sum: float
    n_rows: int
    seconds: float
    weight: float = 0.0  # sample weight trained on (rows when unweighted)


def _round_batches(n, plan, xp=None, like=None):
    order = np.random.RandomState(plan.seed).permutation(n) if plan.shuffle else None
    if order is not None and like is not None and not is_numpy_namespace(xp):
        order = to_namespace(order, xp, like=like)  # one upload a round
    slices = list(gen_batches(n, plan.batch_size))
    for batch in slices[plan.first_batch : plan.first_batch + plan.n_batches]:
        yield batch if order is None else order[batch]


def train_round(params, start, shard, plan, cfg):
    """Run a round of local minibatch steps from ``params`` (host numpy).

    ``start`` is this shard's previous :class:`RoundResult` (its optimizer state
    carries over, on the shard's device) or an initial optimizer state. Returns the
    new parameters on the host, ready to be averaged.
    """
    xp = namespace_of(shard.X)
    opt = start.opt_state if isinstance(start, RoundResult) else start
    opt = state_to_namespace(opt, xp, like=shard.X)
    if plan.learning_rate is not None:
        opt = opt._replace(learning_rate=plan.learning_rate)
    tic = time.perf_counter()
    batches = list(_round_batches(shard.X.shape[0], plan, xp, like=shard.X))
    with roomy_heap():
        params, opt, loss_sum = run_batches(to_namespace(params, xp, like=shard.X), opt,
                                            shard.X, shard.Y, shard.sw, batches, cfg, xp,
                                            exact=False)
    rows = sum(b.stop - b.start if isinstance(b, slice) else b.shape[0] for b in batches)
    weight = rows if shard.sw is None else sum(
        float(xp.sum(take_rows(shard.sw, b, xp))) for b in batches)
    return RoundResult(to_host(params), opt, float(loss_sum), rows, time.perf_counter() - tic,
                       weight)


def average(*results):
    """Average the parameters of round results, weighted by the sample weight (rows,
    without weights) each trained on."""
    weights = np.array([r.weight for r in results], dtype=np.float64)
    if weights.sum() == 0:
        return results[0].params
    out = np.zeros_like(results[0].params)
    for w, r in zip(weights / weights.sum(), results):
        if w:
            out += w * r.params
    return out


def average_states(*results):
    """One optimizer state for the whole model (on the host): moments averaged,
    step count maxed."""
    states = [state_to_host(r.opt_state) for r in results]
    weights = np.array([max(r.n_rows, 1) for r in results], dtype=np.float64)
    weights /= weights.sum()
    mean = lambda name: sum(w * getattr(s, name) for w, s in zip(weights, states))  # noqa: E731
    if hasattr(states[0], "velocity"):
        return states[0]._replace(velocity=mean("velocity"))
    return states[0]._replace(m=mean("m"), v=mean("v"), t=max(s.t for s in states))


def summarize(*results):
    """Scalars of a round for the client: loss sum, rows, slowest and total seconds."""
    return (sum(r.loss_sum for r in results), sum(r.n_rows for r in results),
            max(r.seconds for r in results), sum(r.seconds for r in results))


# ----------------------------------------------------------------- full-batch maths
def loss_grad_sums(params, shard, net):
    """Data loss and gradient summed over a shard (no penalty): the L-BFGS pieces."""
    xp = namespace_of(shard.X)
    weight = shard.X.shape[0] if shard.sw is None else float(xp.sum(shard.sw))
    loss, grad = flat_loss_and_grad(to_namespace(params, xp, like=shard.X), shard.X, shard.Y,
                                    shard.sw, net._replace(alpha=0.0), xp)
    return float(loss) * weight, to_host(grad) * weight, weight


def add(*items):
    """Element-wise sum of tuples (tree reduction of :func:`loss_grad_sums`)."""
    return tuple(sum(vals) for vals in zip(*items))


class StepGrad(NamedTuple):
    grad_sum: np.ndarray  # gradient times the batch's weight
    loss_sum: float  # loss times the batch's weight
    n_rows: int
    weight: float  # the batch's sample weight (rows when unweighted)


def step_grad(params, shard, plan, net):
    """Gradient of one minibatch (``plan`` names exactly one batch), times its rows."""
    rows = list(_round_batches(shard.X.shape[0], plan))
    if not rows:
        return StepGrad(np.zeros_like(params), 0.0, 0, 0.0)
    xp = namespace_of(shard.X)
    batch = [take_rows(a, rows[0], xp) for a in shard[:3]]
    loss, grad = flat_loss_and_grad(to_namespace(params, xp, like=shard.X), *batch, net, xp)
    n = batch[0].shape[0]
    weight = n if batch[2] is None else float(xp.sum(batch[2]))
    return StepGrad(to_host(grad) * weight, float(loss) * weight, n, weight)


# ------------------------------------------------------------------------- scoring
def score_stats(params, shard, net, classifier, validation=True):
    """Sufficient statistics of the score on a shard's validation (or training) rows.

    Classifiers: ``(weighted correct, total weight)``; regressors, per output:
    ``(weight, mean, M2, weighted squared error)`` for a parallel R^2. The forward
    pass runs on the shard's device; the statistics come back to the host.
    """
    X, Y, sw = (shard.X_val, shard.Y_val, shard.sw_val) if validation else shard[:3]
    if X.shape[0] == 0:
        return None
    xp = namespace_of(X)
    coefs, intercepts = unpack(to_namespace(params, xp, like=X), net.layout, xp)
    pred = to_host(predict_raw(coefs, intercepts, X, net, xp))
    if not np.isfinite(pred).all():
        return "nan"
    Y = to_host(Y)
    w = np.ones(X.shape[0]) if sw is None else to_host(sw).astype(np.float64)
    if classifier:
        if pred.shape[1] == 1 or net.out_activation == "logistic":
            correct = ((pred > 0.5) == (Y > 0.5)).all(axis=1)
        else:
            correct = pred.argmax(axis=1) == Y.argmax(axis=1)
        return np.array([np.dot(w, correct), w.sum()])
    total = w.sum()
    mean = (w @ Y) / total
    m2 = w @ (Y - mean) ** 2
    sse = w @ (Y - pred) ** 2
    return np.stack([np.full_like(mean, total), mean, m2, sse])


def _merge_regression(a, b):
    wa, ma, m2a, sa = a
    wb, mb, m2b, sb = b
    w = wa + wb
    delta = mb - ma
    return np.stack([w, ma + delta * wb / w, m2a + m2b + delta**2 * wa * wb / w, sa + sb])


def combine_scores(stats, classifier):
    """Score from the per-shard statistics of :func:`score_stats`."""
    stats = [s for s in stats if s is not None]
    if any(isinstance(s, str) for s in stats):
        return np.nan
    if classifier:
        correct, total = np.sum(stats, axis=0)
        return float(correct / total)
    merged = stats[0]
    for s in stats[1:]:
        merged = _merge_regression(merged, s)
    _, _, sst, sse = merged
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(sst > 0, 1 - sse / sst, np.where(sse > 0, 0.0, 1.0))
    return float(np.mean(r2))
