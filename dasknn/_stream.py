"""Training on data bigger than the cluster's memory: blocks stream through workers.

Each shard is a run of row blocks that stays *lazy*. A round trains every shard on
one of its blocks, computed on the shard's worker just before (the next round's
blocks are computed meanwhile) and released after, so a worker holds about two
blocks at a time; the models are averaged after each round, as in the in-memory
engine. Block order within a shard is shuffled every epoch, and rows within a block.
"""

import math
import time
import uuid
import warnings
import weakref

import numpy as np

from . import _local
from . import _shard
from ._engine import (_epoch_record, _part_tasks, contiguous_groups, gather_optimizer,
                      lr_factor, rate_units, starting_optimizer)


def _check_supported(cfg, options):
    if cfg.early_stopping:
        raise ValueError(
            "early_stopping=True needs the validation rows held on the cluster, but "
            "the data is streamed (persist=False, or too big for the cluster's memory). "
            "Set persist=True on a cluster with room for the data, or early_stopping=False."
        )
    if options.sync == "gradient":
        raise ValueError("sync='gradient' needs the data held on the cluster: set "
                         "persist=True or use sync='model'.")


def train_streaming(state, runner, data, cfg, options, encode, seeds, incremental):
    """Fit with 'sgd' or 'adam', streaming X's blocks; updates ``state``."""
    _check_supported(cfg, options)
    token = uuid.uuid4().hex[:12]
    parts = _part_tasks(data, encode, cfg, seeds, token, options.device)
    rows = [r for r in data.X.chunks[0] if r > 0]
    n_shards = max(1, min(runner.n_workers, len(parts)))
    groups = [list(g) for g in contiguous_groups(len(parts), n_shards)]
    homes = runner.workers[:n_shards]
    factor = lr_factor(options.lr_scaling, n_shards)
    cfg = cfg._replace(hyper=cfg.hyper._replace(
        learning_rate_init=cfg.hyper.learning_rate_init * factor))
    state.optimizer = starting_optimizer(state, cfg.hyper, incremental, factor)
    n_train = sum(rows)
    batch_size = _local.batch_size_for(cfg.batch_size, n_train)
    initial = state.optimizer
    starts = [initial] * n_shards
    state.n_iter = 0
    try:
        _epochs(state, runner, parts, rows, groups, homes, cfg, seeds, batch_size, token,
                starts, incremental)
    except KeyboardInterrupt:  # keep the last finished epoch's model, as the held path does
        warnings.warn("Training interrupted by user.")
    else:
        trained = [s for s in starts if s is not initial]  # the shards' last rounds
        if trained:  # one optimizer state for the next partial_fit or warm start
            state.optimizer = gather_optimizer(runner, trained, state.optimizer,
                                               f"dasknn-optstate-{token}")
    finally:
        runner.release(starts)
    state.optimizer = rate_units(state.optimizer, 1 / factor)
    return state


def _epochs(state, runner, parts, rows, groups, homes, cfg, seeds, batch_size, token,
            starts, incremental):
    """The epoch loop; ``starts`` (each shard's last round) is updated in place, so
    the caller releases what is current whatever happens here."""
    n_train, n_shards = sum(rows), len(homes)
    for epoch in range(cfg.max_iter):
        tic = time.perf_counter()
        plan = _Epoch(runner, parts, rows, groups, homes, cfg, seeds, epoch, batch_size,
                      token)
        params, starts[:], summaries = plan.run(state.params, starts, _sgd_rate(state, cfg))
        state.params = np.asarray(params)
        loss = sum(s[0] for s in summaries) / max(1, sum(s[1] for s in summaries))
        stop = _local.end_epoch(state, loss, n_train, cfg, None)
        state.history.append(_epoch_record(state, summaries, n_shards, tic, n_train))
        runner.publish(token, state.history[-1], cfg.max_iter)
        if stop or incremental:
            break
        _local.warn_max_iter(state, cfg)


def _sgd_rate(state, cfg):
    return state.optimizer.learning_rate if cfg.hyper.solver == "sgd" else None


class _Epoch:
    """One epoch of rounds, each training every shard on one of its blocks."""

    def __init__(self, runner, parts, rows, groups, homes, cfg, seeds, epoch, batch_size,
                 token):
        self.runner, self.parts, self.rows, self.homes = runner, parts, rows, homes
        self.cfg, self.seeds, self.epoch, self.batch_size = cfg, seeds, epoch, batch_size
        self.token = token
        self.orders = [
            [g[i] for i in np.random.RandomState(seeds(2, epoch, k)).permutation(len(g))]
            if cfg.shuffle else list(g)
            for k, g in enumerate(groups)
        ]
        self.n_rounds = max(len(o) for o in self.orders)

    def _blocks(self, r):
        """Futures of round ``r``'s blocks, one per shard that still has one."""
        return {k: self._track(self.runner.compute_on(self.parts[order[r]], self.homes[k]))
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
            self.runner.release(list(self.submitted))
            raise

    def _rounds(self, params, starts, learning_rate):
        summaries, pending = [], self._blocks(0)
        for r in range(self.n_rounds):
            ahead = self._blocks(r + 1) if r + 1 < self.n_rounds else {}
            results = {}
            for k, block in pending.items():
                i = self.orders[k][r]
                n_batches = math.ceil(self.rows[i] / min(self.batch_size, self.rows[i]))
                plan = _shard.Plan(self.seeds(1, self.epoch, k, r), 0, n_batches,
                                   min(self.batch_size, self.rows[i]), self.cfg.shuffle,
                                   learning_rate)
                results[k] = self._track(self.runner.submit(
                    _shard.train_round, params, starts[k], block, plan, self.cfg,
                    key=f"dasknn-round-{self.epoch}-{r}-{k}-{self.token}", worker=self.homes[k]))
            params = self._track(self.runner.submit(
                _shard.average, *results.values(),
                key=f"dasknn-average-{self.epoch}-{r}-{self.token}"))
            summary = self._track(self.runner.submit(
                _shard.summarize, *results.values(),
                key=f"dasknn-summary-{self.epoch}-{r}-{self.token}"))
            summaries.append(self.runner.gather(summary))  # throttles to ~2 blocks a worker
            self.runner.release(list(pending.values()))
            for k, result in results.items():
                self.runner.release(starts[k])
                starts[k] = result
            pending = ahead
        return self.runner.gather(params), starts, summaries
