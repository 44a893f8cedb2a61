"""Everything that runs inside a worker task, and nothing that runs on the client.

Pure functions of plain data (numpy arrays, NamedTuples), so a task can run them on
any worker and the in-process fallback can call them directly. A *part* is one
row block of X with its targets and weights; a *shard* is the parts one training
slot trains on, concatenated once. A worker imports numpy and the maths (scipy
only for sparse data and the Poisson loss), never the estimators.
"""

import time
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from ..maths import optimizers as optim
from ..maths import scores
from ..maths.namespace import (
    as_dtype,
    is_array_api_input,
    is_numpy_namespace,
    move_to_device,
    namespace_of,
    state_to_namespace,
    to_host,
    to_namespace,
)
from ..maths.network import flat_loss_and_grad, penalty, predict_raw, unpack
from ..training.batches import dropout_noise, epoch_batches, rows_in, run_batches, take_rows
from .checks import BadValues, refuse_nonfinite
from .heap import roomy_heap

_WARMED = set()
_POOL_LOCK = threading.Lock()


class Part(NamedTuple):
    """Training rows and held-out validation rows of one block (or one shard)."""

    X: np.ndarray
    Y: np.ndarray
    sw: np.ndarray | None
    X_val: np.ndarray
    Y_val: np.ndarray
    sw_val: np.ndarray | None


def _check_finite(X, what, xp):
    refuse_nonfinite(X, what, xp)  # names the columns; the estimator adds their names


def _check_rows(X, y, sw, rows):
    if rows is not None and X.shape[0] != rows:
        raise ValueError(_wrong_chunks(f"a block of X holds {X.shape[0]} rows where its "
                                       f"chunk size says {rows}"))
    for name, a in (("y", y), ("sample_weight", sw)):
        if a is not None and a.shape[0] != X.shape[0]:
            raise ValueError(_wrong_chunks(f"a block of {name} holds {a.shape[0]} rows "
                                           f"where the block of X beside it holds "
                                           f"{X.shape[0]}"))


class Encoding(NamedTuple):
    """How a block becomes a part: its targets' encoding, dtype and device."""

    targets: object  # maths.targets.Targets
    dtype: object
    device: str = "auto"  # 'cuda' moves a numpy block to the GPU, 'cpu' a GPU block home


def make_part(X, y, sw, encoding, n_val, seed, rows=None):
    """Check and encode one block; hold out ``n_val`` of its rows (drawn with ``seed``)
    for validation.

    ``encoding`` (an :class:`Encoding`) encodes ``y`` with its targets in its dtype;
    the block stays in its namespace (numpy or CuPy) unless the encoding's device
    moves it. ``rows`` is the block's row count as X's chunk sizes give it, if known.
    """
    targets, dtype, device = encoding
    _check_rows(X, y, sw, rows)
    X = as_dtype(move_to_device(X, device), dtype)
    if isinstance(X, np.ndarray):  # a pandas partition's values come column-major:
        X = np.ascontiguousarray(X)  # minibatch row gathers were 3-10x slower
    xp = namespace_of(X)
    _check_finite(X, "X", xp)
    Y = to_namespace(targets.encode(to_host(y), dtype), xp, like=X)
    _check_finite(Y, "y", xp)
    sw = None if sw is None else to_namespace(to_host(sw).astype(dtype), xp, like=X)
    if sw is not None:
        _check_finite(sw, "sample_weight", xp)
    if n_val == 0:  # no copy: the shard concatenates the parts anyway
        empty = slice(0, 0)
        return Part(X, Y, sw, X[empty], Y[empty], None if sw is None else sw[empty])
    order = np.random.RandomState(seed).permutation(X.shape[0])
    val, train = np.sort(order[:n_val]), np.sort(order[n_val:])
    rows = lambda a, idx: take_rows(a, idx, xp)  # noqa: E731
    return Part(rows(X, train), rows(Y, train), rows(sw, train),
                rows(X, val), rows(Y, val), rows(sw, val))


def _warm_blas(dtype):
    """Run one large GEMM per process: OpenBLAS is slow on small ones until then."""
    if dtype not in _WARMED:
        a = np.ones((512, 512), dtype=dtype)
        a @ a
        _WARMED.add(dtype)


def warm_up(dtype):
    """Ready a worker for training: unpickling this task loads the kernels, and BLAS
    runs its first large product (submitted while the client still prepares the fit)."""
    _warm_blas(np.dtype(dtype))


def make_shard(expected, cuts, *parts):
    """Concatenate the pieces of ``parts`` a slot trains on into one contiguous shard.

    ``cuts`` gives, for each part, the ``(start, stop)`` of its training rows and of
    its validation rows this shard takes; ``expected`` is ``(training rows, validation
    rows)`` as the driver planned them from X's chunk sizes: a shard of another size
    means the chunk sizes were wrong.
    """
    xp = namespace_of(parts[0].X)
    if is_numpy_namespace(xp):
        _warm_blas(parts[0].X.dtype)
    pieces = [_piece(part, train, val) for part, (train, val) in zip(parts, cuts)]
    join = lambda arrays: None if arrays[0] is None else xp.concat(arrays)  # noqa: E731
    shard = Part(*(join([p[i] for p in pieces]) for i in range(len(Part._fields))))
    held = (shard.X.shape[0], shard.X_val.shape[0])
    if held != tuple(expected):
        raise ValueError(_wrong_chunks(
            f"X's blocks hold {held[0]} training and {held[1]} validation rows where its "
            f"chunk sizes plan {expected[0]} and {expected[1]}"))
    return shard


def _piece(part, train, val):
    """Rows ``train`` of a part's training rows and ``val`` of its validation rows."""
    if train == (0, part.X.shape[0]) and val == (0, part.X_val.shape[0]):
        return part  # the whole part
    t, v = slice(*train), slice(*val)
    cut = lambda a, rows: None if a is None else a[rows]  # noqa: E731
    return Part(cut(part.X, t), cut(part.Y, t), cut(part.sw, t),
                cut(part.X_val, v), cut(part.Y_val, v), cut(part.sw_val, v))


def _wrong_chunks(what):
    return (f"{what}: the Dask arrays' chunk sizes are wrong. Call "
            "X.compute_chunk_sizes() (and the same on y and sample_weight), or build "
            "them with their true chunk sizes, first.")


class Plan(NamedTuple):
    """Which minibatches of its shard a slot runs in one round, and at what rate."""

    seed: int
    first_batch: int
    n_batches: int
    batch_size: int
    shuffle: bool
    learning_rate: float | None  # the schedule's current rate ('sgd'), else None
    scale: float = 1.0  # the rate's scaling for averaging (see planning.lr_factor)
    warm: float = 1.0  # the warm-up's share of that scaled rate this round


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
    return list(epoch_batches(n, plan.batch_size, order, plan.first_batch, plan.n_batches))


def _optimizer_of(start):
    """The optimizer state a round continues from: a shard's previous round's, or
    the initial state."""
    return start.opt_state if isinstance(start, RoundResult) else start


def at_step_size(opt, cfg, plan):
    """The optimizer state and config of a round at its step size: the user's rate
    (``cfg`` and ``opt`` hold it, the schedule's current SGD rate in ``plan``) times
    the averaging scale times the warm-up share. The one place a rate is scaled."""
    opt = optim.with_rate(opt, plan.learning_rate)
    for factor in (plan.scale, plan.warm):
        if factor != 1.0:
            opt = optim.scale_rate(opt, factor)
            cfg = cfg._replace(hyper=cfg.hyper._replace(
                learning_rate_init=cfg.hyper.learning_rate_init * factor))
    return opt, cfg


def train_round(params, start, shard, plan, cfg):
    """Run a round of local minibatch steps from ``params`` (host numpy).

    ``start`` is this shard's previous :class:`RoundResult` (its optimizer state
    carries over, on the shard's device) or an initial optimizer state; ``cfg`` and
    the optimizer states hold the user's learning rate, which :func:`at_step_size`
    scales for this round. Returns the new parameters on the host, ready to be averaged.
    """
    xp = namespace_of(shard.X)
    opt, cfg = at_step_size(state_to_namespace(_optimizer_of(start), xp, like=shard.X), cfg,
                            plan)
    tic = time.perf_counter()
    batches = _round_batches(shard.X.shape[0], plan, xp, like=shard.X)
    with roomy_heap():
        params, opt, loss_sum = run_batches(to_namespace(params, xp, like=shard.X), opt,
                                            shard.X, shard.Y, shard.sw, batches, cfg, xp,
                                            exact=False, noise=dropout_noise(cfg.net, plan.seed))
    rows = sum(rows_in(b) for b in batches)
    weight = rows if shard.sw is None else sum(
        float(xp.sum(take_rows(shard.sw, b, xp))) for b in batches)
    return RoundResult(to_host(params), opt, float(loss_sum), rows, time.perf_counter() - tic,
                       weight)


class RunResult(NamedTuple):
    """A round of a worker's run of shards: each shard's :class:`RoundResult` without
    its parameters (their optimizer states go on to the next round) and the weighted
    sum of their parameters, which :func:`partial_of` hands on to the average."""

    results: tuple
    partial: object  # Partial


def train_run(params, starts, shards, plans, cfg):
    """:func:`train_round` on each of a worker's ``shards`` side by side, one thread
    each (the worker has a thread per shard), their models summed in this process:
    the scheduler sees one task a worker a round. ``starts`` is the run's previous
    :class:`RunResult` or one initial optimizer state per shard."""
    starts = starts.results if isinstance(starts, RunResult) else starts
    jobs = list(zip(starts, shards, plans))
    tic = time.perf_counter()
    if len(jobs) == 1:
        results = [train_round(params, *jobs[0], cfg)]
    else:
        results = list(_threads(len(jobs)).map(lambda job: train_round(params, *job, cfg),
                                               jobs))
    # the run's compute time is its wall time: threads share the worker's cores
    partial = reduce_results(*results)._replace(slowest=time.perf_counter() - tic)
    return RunResult(tuple(r._replace(params=None) for r in results), partial)


_POOL = {}  # this process's threads for runs of shards, kept between rounds


def _threads(n):
    """A pool of ``n`` threads kept for the process's later rounds: the same threads
    every round (a thread's BLAS buffers and heap arenas are set up once)."""
    with _POOL_LOCK:
        pool = _POOL.get(n)
        if pool is None:
            pool = _POOL[n] = ThreadPoolExecutor(n, thread_name_prefix=f"dasknn-run{n}")
        return pool


def partial_of(run):
    """The weighted sum of a :class:`RunResult` (a task on the run's worker, so that only
    the sum travels to the average)."""
    return run.partial


class Partial(NamedTuple):
    """A node of the averaging tree: weighted sums over the round results below it."""

    weighted: np.ndarray  # sum of weight * parameters, in float64
    weight: float  # their sample weight (rows when unweighted)
    loss_sum: float
    n_rows: int
    slowest: float  # seconds of the slowest round below
    seconds: float  # seconds of all rounds below
    ended: float = 0.0  # worker wall clock (time.time()) when this node finished


def reduce_results(*results):
    """First level of the averaging tree: round results -> one :class:`Partial`."""
    weighted = np.zeros(results[0].params.shape, np.float64)
    for r in results:
        if r.weight:
            weighted += r.weight * r.params
    return Partial(weighted, sum(r.weight for r in results), sum(r.loss_sum for r in results),
                   sum(r.n_rows for r in results), max(r.seconds for r in results),
                   sum(r.seconds for r in results), time.time())


def reduce_partials(*partials):
    """Upper levels of the averaging tree: partials (or runs, read for theirs) -> one
    :class:`Partial`."""
    partials = [p.partial if isinstance(p, RunResult) else p for p in partials]
    return Partial(sum(p.weighted for p in partials), sum(p.weight for p in partials),
                   sum(p.loss_sum for p in partials), sum(p.n_rows for p in partials),
                   max(p.slowest for p in partials), sum(p.seconds for p in partials),
                   max(time.time(), *(p.ended for p in partials)))


def averaged(partial, fallback):
    """The average at the root of the tree, in the dtype of ``fallback`` (the round's
    starting parameters, kept when nothing was trained)."""
    if partial.weight == 0:
        return fallback
    return (partial.weighted / partial.weight).astype(fallback.dtype)


def summary(partial):
    """Scalars of a round for the client: loss sum, rows, slowest and total seconds,
    and when its average was complete (a worker's ``time.time()``)."""
    return (partial.loss_sum, partial.n_rows, partial.slowest, partial.seconds, partial.ended)


def average_states(*results):
    """One optimizer state for the whole model (on the host), from the shards' last
    round results (or the runs holding them, or the exchange's epoch runs holding those)."""
    runs = [getattr(x, "run", x) for x in results]
    results = [r for x in runs for r in (x.results if isinstance(x, RunResult) else [x])]
    return optim.average([r.opt_state for r in results], [max(r.n_rows, 1) for r in results])


def target_stats(shard):
    """Weight, weighted column sums and sums of squares of a shard's encoded targets
    (what the loss of a constant prediction needs)."""
    Y = np.asarray(to_host(shard.Y), dtype=np.float64)
    w = np.ones(Y.shape[0]) if shard.sw is None else to_host(shard.sw).astype(np.float64)
    return float(w.sum()), w @ Y, w @ (Y * Y)


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


# ----------------------------------------------------------- synchronous gradients
class StepGrad(NamedTuple):
    grad_sum: np.ndarray  # gradient times the batch's weight
    loss_sum: float  # loss times the batch's weight
    n_rows: int
    weight: float  # the batch's sample weight (rows when unweighted)


def start_step(params, start):
    """The step state of an epoch: given parameters, optimizer state carried over."""
    return RoundResult(params, _optimizer_of(start), 0.0, 1, 0.0, 1.0)


def grad_at(state, shard, plan, net):
    """:func:`step_grad` at the parameters of a step state."""
    return step_grad(state.params, shard, plan, net)


def step_grad(params, shard, plan, net):
    """Gradient of one minibatch (``plan`` names exactly one batch), times its weight;
    a network that drops units draws its masks from the plan's seed."""
    rows = _round_batches(shard.X.shape[0], plan)
    if not rows:
        return StepGrad(np.zeros_like(params), 0.0, 0, 0.0)
    xp = namespace_of(shard.X)
    batch = [take_rows(a, rows[0], xp) for a in shard[:3]]
    loss, grad = flat_loss_and_grad(to_namespace(params, xp, like=shard.X), *batch, net, xp,
                                    dropout_noise(net, plan.seed))
    n = batch[0].shape[0]
    weight = n if batch[2] is None else float(xp.sum(batch[2]))
    return StepGrad(to_host(grad) * weight, float(loss) * weight, n, weight)


def apply_step(state, cfg, plan, *grads):
    """One optimizer step with the gradient of the shards' batches taken together:
    their data terms weighted by rows (or sample weight), the penalty once; at the
    step size of ``plan`` (the combined batch is W batches: the rate scaled as for
    averaging, see :func:`at_step_size`)."""
    n, weight = sum(g.n_rows for g in grads), sum(g.weight for g in grads)
    if n == 0:
        return state
    _, pen_grad = penalty(state.params, cfg.net.layout, cfg.net.alpha, weight)
    grad = sum(g.grad_sum for g in grads) / weight + pen_grad
    opt, cfg = at_step_size(state.opt_state, cfg, plan)
    params, opt = optim.update(state.params, grad, opt, cfg.hyper, np)
    return RoundResult(params, opt, 0.0, n, 0.0, weight)


def step_summary(state, cfg, *grads):
    """Round summary of a step: the loss (penalty included once) summed by rows, as
    for model averaging, and when the step's gradients were all in."""
    weight = sum(g.weight for g in grads)
    n = sum(g.n_rows for g in grads)
    if not weight:
        return (0.0, n, 0.0, 0.0, time.time())
    pen, _ = penalty(state.params, cfg.net.layout, cfg.net.alpha, weight)
    return ((sum(g.loss_sum for g in grads) / weight + pen) * n, n, 0.0, 0.0, time.time())


def params_of(result):
    return result.params


# ------------------------------------------------------------------------- scoring
def score_stats(params, shard, net, classifier):
    """Sufficient statistics of the score on a shard's validation rows (see
    :func:`dasknn.maths.scores.statistics`); None without validation rows. The
    forward pass runs on the shard's device; the statistics come back to the host."""
    X, Y, sw = shard.X_val, shard.Y_val, shard.sw_val
    if X.shape[0] == 0:
        return None
    xp = namespace_of(X)
    coefs, intercepts = unpack(to_namespace(params, xp, like=X), net.layout, xp)
    pred = to_host(predict_raw(coefs, intercepts, X, net, xp))
    w = np.ones(X.shape[0]) if sw is None else to_host(sw).astype(np.float64)
    thresholded = pred.shape[1] == 1 or net.out_activation == "logistic"
    return scores.statistics(pred, to_host(Y), w, classifier, thresholded)


# ---------------------------------------------------------------------- prediction
BLOCK_CHUNK = 1024  # rows a block's forward pass takes at a time (cache-sized)


def predict_block(block, model, method, names=None):
    """``method`` of a :class:`~dasknn.maths.model.Model` on one in-memory block, in
    the block's own namespace (numpy or CuPy); NaN or infinity in the block is an error
    naming the column (by its name in ``names``, if given)."""
    if is_array_api_input(block):
        xp = namespace_of(block)
        if not xp.isdtype(block.dtype, "real floating"):
            block = xp.astype(block, xp.float64)
    else:
        xp, block = np, np.asarray(block)
        if block.dtype not in (np.float32, np.float64):
            block = block.astype(np.float64)
    try:  # NaN would predict class 0, or NaN, in silence
        refuse_nonfinite(block, "X", xp)
    except BadValues as bad:
        raise bad.named(names) from None
    with roomy_heap():
        return model.predict(block, method, chunk=BLOCK_CHUNK)
