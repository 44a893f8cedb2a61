"""Plans of a distributed fit, computed on the client from sizes alone: seeds, how
parts group into shards, rounds per epoch, the learning-rate rule, whether to stream.

Plain functions of numbers (no Dask, no cluster), so a plan is the same whatever
the placement and can be tested without a cluster.
"""

import math
from typing import NamedTuple

import numpy as np

from ..training.config import check_validation_size


class Distribution(NamedTuple):
    """How to distribute: the estimators' keyword-only parameters of that name (their
    defaults live in the estimators alone)."""

    sync: str  # 'model' (local SGD + averaging) or 'gradient'
    sync_steps: object  # local steps between averages, or 'auto'
    lr_scaling: str | None  # learning-rate rule for W averaged shards
    warmup: object  # epochs over which the scaled rate ramps up, or 'auto'
    persist: object  # hold the data on the cluster (True) or stream it (False), or 'auto'
    device: str  # 'auto' follows the chunks, 'cuda' / 'cpu' move them


class Seeds:
    """Deterministic seeds of a fit, one stream per use, drawn once from its random
    state: the same fit, layout and seed give the same model wherever tasks run.

    Examples
    --------
    >>> seeds = Seeds(np.random.RandomState(0))
    >>> seeds.round(0, 2) == seeds.round(0, 2), seeds.round(0, 2) == seeds.round(0, 3)
    (True, False)
    """

    SPLIT, ROUND, BLOCK_ORDER = 0, 1, 2  # the streams

    def __init__(self, rng):
        self.base = int(rng.randint(np.iinfo(np.int32).max))

    def _draw(self, *path):
        return int(np.random.SeedSequence([self.base, *path]).generate_state(1)[0])

    def split(self, block):
        """The validation split of row block ``block``."""
        return self._draw(self.SPLIT, block)

    def round(self, epoch, shard, *index):
        """A shard's shuffle and dropout masks in an epoch (held: the rounds of an
        epoch take consecutive batches of one shuffle; streamed: one per round
        ``index``)."""
        return self._draw(self.ROUND, epoch, shard, *index)

    def block_order(self, epoch, shard):
        """The order a streamed shard visits its blocks in an epoch."""
        return self._draw(self.BLOCK_ORDER, epoch, shard)


def lr_factor(rule, n_shards):
    """Learning-rate multiplier for ``n_shards`` averaged models.

    Averaging W models makes 1/W as many sequential updates per epoch; 'linear'
    scales the rate by W, 'sqrt' by sqrt(W), None keeps it.

    Examples
    --------
    >>> lr_factor("linear", 4), lr_factor("sqrt", 4), lr_factor(None, 4)
    (4, 2.0, 1)
    """
    if rule == "linear":
        return n_shards
    if rule == "sqrt":
        return math.sqrt(n_shards)
    return 1


def warmup_epochs(setting, factor):
    """Epochs over which the scaled rate ramps up (Goyal et al. 2017 warm large rates
    up gradually): 'auto' is none below 8x, one epoch up to 16x, two beyond, what the
    scale benchmark needed (docs/benchmarks.md, "Scaling out").

    Examples
    --------
    >>> [warmup_epochs("auto", f) for f in (4, 8, 16, 32, 64)], warmup_epochs(0.5, 16)
    ([0.0, 1.0, 1.0, 2.0, 2.0], 0.5)
    """
    if setting == "auto":
        return 0.0 if factor < 8 else 1.0 if factor <= 16 else 2.0
    return float(setting)


class RoundRate(NamedTuple):
    """How a fit's rounds scale the user's learning rate: by ``scale``
    (:func:`lr_factor`), ramped up over ``warmup`` epochs. Optimizer states and the
    :class:`~dasknn.training.config.Config` keep the user's rate; a round's task
    applies these factors (:func:`~.tasks.at_step_size`)."""

    scale: float = 1.0
    warmup: float = 0.0  # epochs

    def warm(self, progress):
        """The share of the scaled rate a round trains at after ``progress`` epochs:
        from the unscaled rate (``1 / scale``) linearly up to 1 over the warm-up.

        Examples
        --------
        >>> [RoundRate(16, 1.0).warm(p) for p in (0.0, 0.5, 2.0)]
        [0.0625, 0.53125, 1.0]
        """
        if not self.warmup or progress >= self.warmup or self.scale <= 1:
            return 1.0
        return (1.0 + (self.scale - 1.0) * progress / self.warmup) / self.scale


def auto_sync_steps(layout, batch_size, dtype, target_seconds=1.0):
    """Local steps per round so that a round computes for about ``target_seconds``.

    A deterministic estimate (the model must not depend on timing): 6 flops per
    weight and sample for a forward and backward pass, at 40 GFLOP/s per core in
    float32 and 20 in float64 (measured on a worker: 2.1 ms per float32 step of the
    100-256-128-10 benchmark MLP, batch 256), plus 0.1 ms of fixed cost a step. A
    round's synchronisation costs a few milliseconds worker to worker (20-30 through
    the scheduler), so rounds of a second keep it under 5% either way.

    Examples
    --------
    >>> from dasknn.maths.network import Layout
    >>> auto_sync_steps(Layout((100, 256, 128, 10)), 256, "float32")
    419
    """
    weights = sum(i * o for i, o in layout.shapes)
    flops_per_second = 4e10 if np.dtype(dtype).itemsize <= 4 else 2e10
    step_seconds = 1e-4 + 6.0 * batch_size * weights / flops_per_second
    return max(8, math.ceil(target_seconds / step_seconds))


ROUNDS_AN_EPOCH = 64  # shards of many minibatches average at most this often an epoch


def accurate_sync_steps(n_shards, batches=0):
    """The most local steps between averages for ``n_shards`` shards of ``batches``
    minibatches an epoch each, chosen on three datasets (docs/benchmarks.md, "Scaling
    out"): the more models averaged, at a larger rate, the more often they must meet,
    ``round(512 / W**2)``; but shards of many minibatches meet at
    most :data:`ROUNDS_AN_EPOCH` times an epoch (1,800,000 rows on 64 shards kept the
    accuracy with 2 and 4 steps between averages).

    Examples
    --------
    >>> [accurate_sync_steps(w) for w in (1, 2, 8, 16, 32, 64)]
    [512, 128, 8, 2, 1, 1]
    >>> accurate_sync_steps(64, batches=110)  # 1,800,000 rows, batch 256
    2
    """
    return max(1, round(512 / n_shards**2), math.ceil(batches / ROUNDS_AN_EPOCH))


def sync_steps(distribution, layout, batch_size, dtype, n_shards=1, batches=0):
    """Local steps between averages: 1 for gradient sync, else the setting; 'auto'
    takes the fewer of about a second of computation and :func:`accurate_sync_steps`
    (``batches``: minibatches a shard trains an epoch)."""
    if distribution.sync == "gradient":
        return 1
    if distribution.sync_steps == "auto":
        return min(auto_sync_steps(layout, batch_size, dtype),
                   accurate_sync_steps(n_shards, batches))
    return int(distribution.sync_steps)


SMALL_SHARD_BATCHES = 32  # fewer minibatches a shard an epoch than this: warn


def small_shards(rows, batch_size):
    """A warning's text when the smallest shard holds few minibatches, else None.

    Examples
    --------
    >>> print(small_shards([3000, 40], 200))  # doctest: +ELLIPSIS
    dasknn: the 2 shards hold 40 to 3000 training rows; the smallest trains 1 ...
    """
    batches = min(math.ceil(n / batch_size) for n in rows)
    if len(rows) < 2 or batches >= SMALL_SHARD_BATCHES:
        return None
    return (f"dasknn: the {len(rows)} shards hold {min(rows)} to {max(rows)} training rows; "
            f"the smallest trains {batches} minibatch(es) an epoch. Averaging many small "
            "shards needs more epochs than scikit-learn for the same accuracy: use fewer "
            "workers (or threads per worker), more data, or leave max_iter and tol at "
            "their defaults so that the fit runs until it converges.")


def val_fraction(cfg):
    """Share of the rows held out for validation (0 without early stopping)."""
    return cfg.validation_fraction if cfg.early_stopping else 0.0


def validation_counts(row_chunks, fraction):
    """Rows each non-empty block holds out for validation: scikit-learn's
    ``ceil(fraction * n)`` of all ``n`` rows, shared in proportion to the blocks' sizes
    (the leftover rows go to the largest remainders, the earlier block on a tie), so
    that tiny blocks do not each round a row up.

    Examples
    --------
    >>> validation_counts((9000, 0, 1000), 0.1), validation_counts((5,) * 4, 0.1)
    ([900, 100], [1, 1, 0, 0])
    >>> validation_counts((5, 5), 0.0)
    [0, 0]
    """
    rows = [r for r in row_chunks if r > 0]
    if not fraction or not rows:
        return [0] * len(rows)
    n = sum(rows)
    total = int(np.ceil(fraction * n))
    shares = [total * r / n for r in rows]
    counts = [min(r, int(share)) for r, share in zip(rows, shares)]
    by_remainder = sorted(range(len(rows)), key=lambda i: (counts[i] - shares[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _offsets(sizes):
    """Where each of ``sizes`` starts in their concatenation, and the total."""
    offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
    return [int(o) for o in offsets[:-1]], int(offsets[-1])


def _even_runs(sizes, n_runs):
    """``n_runs`` contiguous runs of nearly equal length over the concatenation of
    ``sizes``: for each run, ``{index: (start, stop)}`` within the items it covers."""
    offsets, total = _offsets(sizes)
    bounds = [round(k * total / n_runs) for k in range(n_runs + 1)]
    runs = []
    for lo, hi in zip(bounds, bounds[1:]):
        run = {}
        for i, (start, size) in enumerate(zip(offsets, sizes)):
            a, b = max(lo, start), min(hi, start + size)
            if a < b:
                run[i] = (a - start, b - start)
        runs.append(run)
    return runs


class Piece(NamedTuple):
    """What a shard takes from one part: rows ``[start, stop)`` of its training rows
    and of its validation rows."""

    part: int
    train: tuple
    val: tuple


def balanced_shards(rows, n_shards):
    """The pieces of each shard: the parts' training rows (``rows`` gives
    ``(training, validation)`` rows per part) cut into ``n_shards`` contiguous runs of
    nearly equal length, and their validation rows likewise, whatever the block sizes.
    Whole parts stay whole when the cuts fall between them (equal blocks, as many
    shards as blocks or a divisor of them).

    Examples
    --------
    >>> [[(p.part, p.train) for p in s] for s in balanced_shards([(6, 0), (6, 0), (1, 0)], 2)]
    [[(0, (0, 6))], [(1, (0, 6)), (2, (0, 1))]]
    >>> [[(p.part, p.train) for p in s] for s in balanced_shards([(8, 0)], 2)]  # one block
    [[(0, (0, 4))], [(0, (4, 8))]]
    """
    train = _even_runs([r[0] for r in rows], n_shards)
    val = _even_runs([r[1] for r in rows], n_shards)
    return [[Piece(i, t.get(i, (0, 0)), v.get(i, (0, 0))) for i in sorted({*t, *v})]
            for t, v in zip(train, val)]


def row_groups(rows, n_groups):
    """Block indices of ``n_groups`` contiguous groups of whole blocks, each of at least
    one block, whose row totals are as near equal as the blocks allow (a streamed fit
    cannot cut a lazy block). ``rows``: rows per block.

    Examples
    --------
    >>> row_groups([100, 100, 100, 100, 5], 2)
    [[0, 1], [2, 3, 4]]
    >>> row_groups([400, 10, 10, 10], 2)
    [[0], [1, 2, 3]]
    """
    offsets, total = _offsets(rows)
    cuts = [0]
    for k in range(1, n_groups):
        target = k * total / n_groups
        lowest, highest = cuts[-1] + 1, len(rows) - (n_groups - k)
        # the block boundary nearest the target, the even one on a tie (as round() does)
        cut = min(range(lowest, highest + 1),
                  key=lambda i: (abs(offsets[i] - target), i % 2))
        cuts.append(cut)
    cuts.append(len(rows))
    return [list(range(a, b)) for a, b in zip(cuts, cuts[1:])]


def part_rows(row_chunks, cfg):
    """``(training rows, validation rows)`` of each non-empty row block.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> part_rows((10, 0, 5), SimpleNamespace(early_stopping=True, validation_fraction=0.2))
    [(8, 2), (4, 1)]
    """
    counts = validation_counts(row_chunks, val_fraction(cfg))
    return [(r - v, v) for r, v in zip((r for r in row_chunks if r > 0), counts)]


def shard_sizes(pieces, cfg):
    """``(training rows, validation rows)`` of each shard from its ``pieces``; refuses
    a shard without training rows or a validation set under 2 rows."""
    sizes = [(sum(p.train[1] - p.train[0] for p in shard), sum(p.val[1] - p.val[0] for p in shard))
             for shard in pieces]
    if min(s[0] for s in sizes) == 0:
        raise ValueError("A shard of X has no training rows after the validation split: "
                         "use fewer workers or more data.")
    check_validation_size(sum(s[1] for s in sizes), cfg)
    return sizes


def plan_homes(slots, where, groups):
    """The worker each shard trains on, from the training ``slots`` (a worker address
    per thread), ``where[i]`` (the workers holding part ``i``) and each shard's
    ``groups`` of part indices.

    Consecutive shards go to one worker, as many as it has threads or its share of the
    shards, so the first level of the averaging tree (consecutive shards) stays inside
    a worker; each run goes where most of its parts already are.

    Examples
    --------
    >>> slots = ["a", "b", "a", "b"]
    >>> plan_homes(slots, [set(), {"b"}, {"b"}, set()], [[0], [1], [2], [3]])  # runs of 2
    ['b', 'b', 'a', 'a']
    >>> plan_homes(slots, [{"b"}, set()], [[0], [1]])  # fewer shards: one a worker
    ['b', 'a']
    """
    left = {w: slots.count(w) for w in dict.fromkeys(slots)}
    order = list(left)
    per_worker = max(1, math.ceil(len(groups) / len(order)))
    homes, k = [], 0
    while k < len(groups):
        def held(w):
            run = groups[k : k + min(left[w], per_worker)]
            return sum(w in where[i] for g in run for i in g)

        home = max((w for w in order if left[w]), key=lambda w: (held(w), -order.index(w)))
        n = min(left[home], per_worker, len(groups) - k)
        homes += [home] * n
        left[home] -= n
        k += n
    return homes


def round_plan(rows, batch_size, steps):
    """Rounds per epoch, and batches per shard per round, so that every shard (of
    ``rows`` training rows each) ends its epoch in the same round.

    Examples
    --------
    >>> round_plan([1000, 600], 100, 4)
    (3, [4, 2])
    """
    batches = [math.ceil(n / min(batch_size, n)) for n in rows]
    n_rounds = max(1, math.ceil(max(batches) / steps))
    return n_rounds, [math.ceil(b / n_rounds) for b in batches]
