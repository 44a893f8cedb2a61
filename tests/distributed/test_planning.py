"""The plans of a distributed fit, from sizes alone: no cluster needed."""

import math

import numpy as np
import pytest

from dasknn.distributed import memory, planning
from dasknn.distributed.planning import Distribution
from dasknn.maths.network import Layout
from dasknn.distributed import tasks
from dasknn.maths import optimizers as optim
from dasknn.maths.optimizers import Hyper
from dasknn.training.config import Config


def _distribution(**kw):
    return Distribution(**{**dict(sync="model", sync_steps="auto", lr_scaling="linear",
                                  warmup="auto", persist="auto", device="auto"), **kw})


def _cfg(early_stopping=False, fraction=0.1, batch_size="auto"):
    from dasknn.maths.network import Network

    net = Network(Layout((4, 3, 2)), "relu", "softmax", "log_loss", 1e-4)
    return Config(net, Hyper("sgd", 0.01), 5, batch_size, True, 1e-4, 10, early_stopping,
                  fraction, False, 0)


LAYOUTS = {
    "remainder block": [2812] * 64 + [32],  # len(X) // 64 rows a block
    "equal": [2813] * 64,
    "one giant block": [50] * 20 + [100_000] + [50] * 20,
    "parquet-like": list(np.random.RandomState(0).randint(1, 9000, 37)),
    "empty blocks": [500, 0, 0, 700, 0, 300],
    "fewer blocks than shards": [10_000, 7_000],
}


@pytest.mark.parametrize("layout", LAYOUTS, ids=list(LAYOUTS))
@pytest.mark.parametrize("n_shards", [1, 2, 8, 16, 64])
def test_shards_are_balanced_by_rows_whatever_the_blocks(layout, n_shards):
    rows = planning.part_rows(LAYOUTS[layout], _cfg(early_stopping=True, fraction=0.1))
    pieces = planning.balanced_shards(rows, n_shards)
    sizes = planning.shard_sizes(pieces, _cfg(early_stopping=True))
    train = [t for t, _ in sizes]
    assert max(train) - min(train) <= 1  # no shard holds more than its share
    assert sum(train) == sum(t for t, _ in rows) and sum(v for _, v in sizes) == sum(
        v for _, v in rows)
    # every row of every part is taken once, in order
    for which, column in ((lambda p: p.train, 0), (lambda p: p.val, 1)):
        taken = {}
        for shard in pieces:
            for piece in shard:
                taken.setdefault(piece.part, []).append(which(piece))
        for part, cuts in taken.items():
            cuts = [c for c in cuts if c[1] > c[0]]
            ends = [0] + [stop for _, stop in cuts]
            assert [start for start, _ in cuts] == ends[:-1] and ends[-1] in (0, rows[part][column])


def test_equal_blocks_stay_whole_parts():
    rows = planning.part_rows([1000] * 8, _cfg())
    for n_shards in (1, 2, 4, 8):
        for shard in planning.balanced_shards(rows, n_shards):
            assert all(p.train == (0, 1000) for p in shard)


@pytest.mark.parametrize("rows,n_groups", [([7] * 9, 2), ([2812] * 8 + [32], 8),
                                          ([400, 10, 10, 10], 2), ([5, 0, 900, 3, 3], 3)])
def test_streamed_groups_are_whole_blocks_with_rows_as_even_as_they_allow(rows, n_groups):
    groups = planning.row_groups(rows, n_groups)
    assert [i for g in groups for i in g] == list(range(len(rows))) and all(groups)
    totals = [sum(rows[i] for i in g) for g in groups]
    share = sum(rows) / n_groups
    assert max(totals) <= share + max(rows)  # a cut misses its target by under one block


def test_part_rows_skip_empty_blocks_and_hold_out_the_validation_share():
    rows = planning.part_rows((100, 0, 9), _cfg(early_stopping=True, fraction=0.1))
    assert rows == [(90, 10), (8, 1)]
    assert planning.part_rows((100, 9), _cfg()) == [(100, 0), (9, 0)]


def test_shard_sizes_refuse_empty_shards_or_validation_sets():
    with pytest.raises(ValueError, match="no training rows"):
        planning.shard_sizes(planning.balanced_shards([(1, 1)], 2), _cfg())
    with pytest.raises(ValueError, match="validation set is too small"):
        planning.shard_sizes(planning.balanced_shards([(9, 1)], 1), _cfg(early_stopping=True))


@pytest.mark.parametrize("rows,batch,steps", [([1000, 600], 100, 4), ([50], 200, 8),
                                              ([9000] * 8, 256, 419), ([10, 3000], 32, 1)])
def test_round_plan_ends_every_shard_in_the_last_round(rows, batch, steps):
    n_rounds, per_round = planning.round_plan(rows, batch, steps)
    for n, k in zip(rows, per_round):
        batches = -(-n // min(batch, n))
        assert k * n_rounds >= batches  # every batch of the epoch runs
        assert k * (n_rounds - 1) < batches or k == 1  # no round of only empty steps
    assert max(per_round) <= steps


def test_lr_factor_follows_the_rule():
    assert planning.lr_factor("linear", 8) == 8
    assert planning.lr_factor("sqrt", 16) == 4.0
    assert planning.lr_factor(None, 64) == 1


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_a_round_scales_the_users_rate_in_one_place(solver):
    cfg = _cfg()._replace(hyper=Hyper(solver, 0.01))
    state = optim.init(np.zeros(3), cfg.hyper, np)
    plan = tasks.Plan(0, 0, 1, 1, False, optim.schedule_rate(state), scale=4.0, warm=0.5)
    opt, scaled = tasks.at_step_size(state, cfg, plan)
    assert scaled.hyper.learning_rate_init == pytest.approx(0.02)  # 0.01 x 4 x 0.5
    assert cfg.hyper.learning_rate_init == 0.01 and state.learning_rate == 0.01  # untouched
    if solver == "sgd":
        assert opt.learning_rate == pytest.approx(0.02)
    unscaled = tasks.Plan(0, 0, 1, 1, False, optim.schedule_rate(state))
    assert tasks.at_step_size(state, cfg, unscaled) == (state, cfg)


def test_sync_steps_follow_the_settings():
    layout = Layout((100, 256, 128, 10))
    auto = planning.sync_steps(_distribution(), layout, 256, "float32")
    assert auto == planning.auto_sync_steps(layout, 256, "float32")
    # more shards average more often; one keeps a second's worth of steps
    steps = [planning.sync_steps(_distribution(), layout, 256, "float32", w)
             for w in (2, 4, 8, 16, 32, 64)]
    assert steps == [128, 32, 8, 2, 1, 1]
    # shards of many minibatches an epoch meet at most 64 times an epoch
    assert planning.sync_steps(_distribution(), layout, 256, "float32", 64, 110) == 2
    assert planning.sync_steps(_distribution(), layout, 256, "float32", 2, 10**6) == auto
    assert planning.auto_sync_steps(layout, 256, "float64") < auto  # float64 steps are slower
    assert planning.sync_steps(_distribution(sync_steps=7), layout, 256, "float32") == 7
    assert planning.sync_steps(_distribution(sync="gradient"), layout, 256, "float32") == 1


def test_should_stream_only_when_asked_or_too_big():
    assert not memory.should_stream(True, 10**12, 1)
    assert memory.should_stream(False, 1, 10**12)
    assert not memory.should_stream("auto", 100, 301)
    assert memory.should_stream("auto", 100, 299)
    assert not memory.should_stream("auto", 10**12, None)  # unknown limits: hold


def test_seeds_are_deterministic_per_path():
    a = planning.Seeds(np.random.RandomState(3))
    b = planning.Seeds(np.random.RandomState(3))
    assert a.round(2, 3) == b.round(2, 3) and a.split(5) == b.split(5)
    assert len({a.round(e, k) for e in range(4) for k in range(4)}) == 16
    assert len({a.round(0, 1), a.split(0), a.split(1), a.block_order(0, 1)}) == 4


def test_large_rates_warm_up_longer():
    assert [planning.warmup_epochs("auto", f) for f in (2, 4, 8, 16, 32, 64)] == \
        [0, 0, 1, 1, 2, 2]
    ramp = [planning.RoundRate(16, 1.0).warm(p) for p in (0.0, 0.25, 0.5, 1.0, 3.0)]
    assert ramp[0] == pytest.approx(1 / 16) and ramp[-2:] == [1.0, 1.0]
    assert ramp == sorted(ramp)
    assert planning.RoundRate(16, 0.0).warm(0.0) == 1.0  # no warm-up


def test_small_shards_are_named_in_a_warning():
    assert planning.small_shards([50_000] * 4, 256) is None
    assert planning.small_shards([3000], 256) is None  # one shard: nothing averaged
    note = planning.small_shards([2812] * 63 + [32], 256)  # a small last block: true sizes
    assert "the 64 shards hold 32 to 2812 training rows; the smallest trains 1 minibatch" in note
    assert "fewer workers" in note and "measured" not in note  # what to do, no figures


def test_tiny_blocks_hold_out_scikit_learns_share_of_all_rows():
    # 40 blocks of 5 rows, validation_fraction=0.1: scikit-learn holds out
    # ceil(0.1 * 200) = 20 rows; rounding up in every block would hold out 40 (20%)
    rows = planning.part_rows((5,) * 40, _cfg(early_stopping=True, fraction=0.1))
    assert sum(v for _, v in rows) == 20
    assert sum(t for t, _ in rows) == 180
    assert {v for _, v in rows} == {0, 1}


@pytest.mark.parametrize("chunks", [(7, 0, 3, 11, 120, 1), (13,) * 9, (1000, 1)])
@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.333])
def test_validation_counts_sum_to_the_ceiling_and_follow_block_sizes(chunks, fraction):
    counts = planning.validation_counts(chunks, fraction)
    blocks = [r for r in chunks if r > 0]
    assert sum(counts) == math.ceil(fraction * sum(blocks))
    assert all(0 <= c <= r for c, r in zip(counts, blocks))
    assert all(abs(c - fraction * r) < 2 for c, r in zip(counts, blocks))
