"""The streamed-data strategy, for data bigger than the cluster's memory.

Each shard is a run of row blocks that stays *lazy*. A round trains every shard on
one of its blocks, computed just before (placed by the scheduler; the next round's
blocks are computed meanwhile when the workers have room for them,
:func:`~.memory.stream_ahead`) and released after, so a worker holds about two
blocks per training slot at a time, or one when memory is short; the models are
averaged after each round, as in the held strategy. Block order within a shard is shuffled every epoch, and rows
within a block.
"""

import math
import weakref
from typing import NamedTuple

import numpy as np

from ..maths import optimizers as optim
from ..training.batches import batch_size_for
from ..training.driver import EpochResult
from . import averaging, tasks
from .planning import row_groups
from .shards import n_shards
from .runner import Regroup


def check_supported(cfg, distribution):
    """Refuse what needs the data held on the cluster."""
    if cfg.early_stopping:
        raise ValueError(
            "early_stopping=True needs the validation rows held on the cluster, but "
            "the data is streamed (persist=False, or too big for the cluster's memory). "
            "Set persist=True on a cluster with room for the data, or early_stopping=False."
        )
    if distribution.sync == "gradient":
        raise ValueError("sync='gradient' needs the data held on the cluster: set "
                         "persist=True or use sync='model'.")


class Blocks(NamedTuple):
    """What a fit streams: one delayed part per non-empty row block, the blocks' rows,
    and the fit's token (in every task key)."""

    parts: list
    rows: list
    token: str


class StreamedEpochs:
    """Epoch source of the streamed strategy over ``blocks`` (:class:`Blocks`).
    ``starts`` holds each shard's last round result (its optimizer state), updated as
    rounds finish, so that :meth:`release` frees whatever is current whatever happens.
    ``ahead``: whether a round computes the next round's blocks while it trains."""

    def __init__(self, runner, blocks, cfg, seeds, rate, ahead=True):
        self.runner, self.cfg, self.seeds, self.rate = runner, cfg, seeds, rate
        self.parts, self.rows, self.token = blocks
        self.ahead = ahead
        count = n_shards(runner, len(self.parts))
        self.groups = row_groups(self.rows, count)  # whole blocks, rows as even as they allow
        self.homes = runner.slots[:count]
        self.batch_size = batch_size_for(cfg.batch_size, sum(self.rows))
        self.starts, self.initial = [], None
        self.first = True

    def epoch(self, epoch, state):
        if not self.first and self.runner.joined(len(self.homes), len(self.parts)):
            raise Regroup  # workers joined: the engine re-plans the shards
        if self.first:
            self.initial = state.optimizer
            self.starts = [state.optimizer] * len(self.homes)
            self.first = False
        run = _Epoch(self, epoch)
        params, self.starts[:], summaries = run.run(state.params, self.starts,
                                                    optim.schedule_rate(state.optimizer))
        state.params = np.asarray(params)
        loss = sum(s[0] for s in summaries) / max(1, sum(s[1] for s in summaries))
        return EpochResult(loss, sum(self.rows), None, summaries, len(self.homes),
                           rate_scale=self.rate.scale)

    def last_results(self):
        """The shards' last round results (empty before any round ran)."""
        return [s for s in self.starts if s is not self.initial]

    def release(self):
        self.runner.release(self.starts)


class _Epoch:
    """One epoch of rounds, each training every shard on one of its blocks."""

    def __init__(self, source, epoch):
        self.source, self.epoch = source, epoch
        self.orders = [
            [g[i] for i in np.random.RandomState(source.seeds.block_order(epoch, k))
             .permutation(len(g))]
            if source.cfg.shuffle else list(g)
            for k, g in enumerate(source.groups)
        ]
        self.n_rounds = max(len(o) for o in self.orders)

    def _blocks(self, r):
        """Futures of round ``r``'s blocks, one per shard that still has one."""
        source = self.source
        return {k: self._track(source.runner.compute(source.parts[order[r]]))
                for k, order in enumerate(self.orders) if r < len(order)}

    def _track(self, future):
        """Remember ``future`` without keeping it alive (a dropped one is released)."""
        if hasattr(future, "release"):
            self.submitted.add(future)
        return future

    def run(self, params, starts, learning_rate):
        """Run the rounds; return the averaged host parameters, the per-shard last
        results (optimizer states) and per-round summaries."""
        self.submitted = weakref.WeakSet()
        try:
            return self._rounds(params, list(starts), learning_rate)
        except BaseException:  # a bad block, say: leave no tasks behind on the cluster
            self.source.runner.release(list(self.submitted))
            raise

    def _submit(self, fn, *args, key, worker=None):
        return self._track(self.source.runner.submit(
            fn, *args, key=f"{key}-{self.source.token}", worker=worker))

    def _plan(self, k, r, learning_rate):
        source = self.source
        n = source.rows[self.orders[k][r]]
        size = min(source.batch_size, n)
        warm = source.rate.warm(self.epoch + r / self.n_rounds)
        return tasks.Plan(source.seeds.round(self.epoch, k, r), 0, math.ceil(n / size), size,
                          source.cfg.shuffle, learning_rate, source.rate.scale, warm)

    def _rounds(self, params, starts, learning_rate):
        source, e = self.source, self.epoch
        runner = source.runner
        summaries, pending = [], self._blocks(0)
        for r in range(self.n_rounds):
            ahead = self._blocks(r + 1) if source.ahead else None
            results = {k: self._submit(tasks.train_round, params, starts[k], block,
                                       self._plan(k, r, learning_rate), source.cfg,
                                       key=f"dasknn-round-{e}-{r}-{k}", worker=source.homes[k])
                       for k, block in pending.items()}
            params, summary = averaging.submit(self._submit, list(results.values()), params,
                                               f"dasknn-average-{e}-{r}")
            summaries.append(runner.gather(summary))  # throttles to ~2 blocks a worker
            runner.release(list(pending.values()))
            for k, result in results.items():
                runner.release(starts[k])
                starts[k] = result
            pending = ahead if ahead is not None else self._blocks(r + 1)
        return runner.gather(params), starts, summaries
