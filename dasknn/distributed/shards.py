"""From Dask blocks to training shards: one part task per row block; the parts' rows cut
into one contiguous shard of equal length per training slot, whatever the block sizes,
and concatenated on the worker that holds most of it."""

import uuid
from typing import NamedTuple

import dask

from . import tasks
from .planning import balanced_shards, part_rows, shard_sizes, val_fraction, validation_counts


def n_shards(runner, most):
    """Shards of a fit: one per training slot, at most ``most`` (the parts of a
    streamed fit, which cannot be cut; the training rows of a held one).

    Examples
    --------
    >>> from dasknn.distributed.runner import InlineRunner
    >>> n_shards(InlineRunner(8), 5), n_shards(InlineRunner(2), 5)
    (5, 2)
    """
    return max(1, min(runner.n_slots, most))


def part_tasks(data, targets, cfg, seeds, token, device):
    """One delayed :func:`~dasknn.distributed.tasks.make_part` per non-empty row block
    of X (``dasknn-part-<i>``) of ``data`` (a :class:`~.data.DaskData`)."""
    blocks = [data.X.to_delayed().ravel(), data.y.to_delayed().ravel()]
    blocks.append(data.sample_weight.to_delayed().ravel() if data.sample_weight is not None
                  else [None] * len(blocks[0]))
    make = dask.delayed(tasks.make_part, pure=True)
    rows = data.X.chunks[0]
    held_out = iter(validation_counts(rows, val_fraction(cfg)))  # one per non-empty block
    encoding = tasks.Encoding(targets, data.X.dtype, device)
    delayed = [make(x, y, w, encoding, next(held_out), seeds.split(i), rows[i],
                    dask_key_name=f"dasknn-part-{i}-{token}")
               for i, (x, y, w) in enumerate(zip(*blocks)) if rows[i] > 0]
    if not delayed:
        raise ValueError("X has no rows: every block is empty.")
    return delayed


class Shards(NamedTuple):
    """The shards of a fit (futures, one per training slot) and what the epochs need."""

    runner: object
    futures: list
    homes: list  # the worker (address) each shard trains on
    rows: list  # training rows per shard
    val_rows: list
    token: str
    max_shards: int  # the most shards these rows could make (their training rows)
    dtype: object  # of X and the parameters

    def submit(self, fn, *args, key, k=None):
        """Submit a task of this fit (``key`` gets the fit's token), on shard ``k``'s worker."""
        return self.runner.submit(fn, *args, key=f"{key}-{self.token}",
                                  worker=None if k is None else self.homes[k])


def build(runner, data, targets, cfg, seeds, device="auto"):
    """Build the shards. Only the shards are waited for when X's blocks are in the
    cluster's memory (see ``ClusterRunner.parts``); the row counts come from X's
    chunk sizes."""
    token = uuid.uuid4().hex[:12]
    delayed = part_tasks(data, targets, cfg, seeds, token, device)  # refuses an empty X
    rows = part_rows(data.X.chunks[0], cfg)
    n_train = sum(r[0] for r in rows)
    # contiguous runs of equal length: the model depends neither on where the scheduler
    # put a part nor on how the rows were cut into blocks
    pieces = balanced_shards(rows, n_shards(runner, n_train))
    sizes = shard_sizes(pieces, cfg)
    keys = [k for k, r in zip(_row_block_keys(data.X), data.X.chunks[0]) if r > 0]
    parts, where = runner.parts(delayed, data.X, keys)
    shards = []
    try:
        homes = runner.homes(where, [[p.part for p in shard] for shard in pieces])
        shards.extend(runner.submit(tasks.make_shard, size, [(p.train, p.val) for p in shard],
                                    *(parts[p.part] for p in shard),
                                    key=f"dasknn-shard-{k}-{token}", worker=h)
                      for k, (size, shard, h) in enumerate(zip(sizes, pieces, homes)))
        runner.release(parts)
        runner.settle(shards)  # the first epoch's timing starts from built shards
    except BaseException:
        runner.release(parts, shards)
        raise
    return Shards(runner, shards, homes, [s[0] for s in sizes], [s[1] for s in sizes], token,
                  n_train, data.X.dtype)


def _row_block_keys(X):
    """The key of each row block of ``X`` (one column block)."""
    return [row[0] for row in X.__dask_keys__()]
