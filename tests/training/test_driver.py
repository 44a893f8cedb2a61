"""The one epoch driver, with a plain epoch source: hooks, stopping, Ctrl-C, failures."""

import warnings

import numpy as np
import pytest

from dasknn.maths import stopping
from dasknn.maths.network import Layout, Network
from dasknn.maths.optimizers import Hyper, SGDState
from dasknn.training import driver, hooks
from dasknn.training.config import Config
from dasknn.training.hooks import Fit, Hook
from dasknn.training.state import FitState


class Source:
    """Epochs whose loss and parameters are given; raises at epoch ``fail_at``."""

    def __init__(self, losses, fail_at=None, error=KeyboardInterrupt, seconds=None):
        self.losses, self.fail_at, self.error, self.seen = losses, fail_at, error, []
        self.seconds = seconds or [None] * len(losses)  # the spans the source timed

    def epoch(self, epoch, state):
        self.seen.append(epoch)
        if epoch == self.fail_at:
            state.params = np.full(2, -1.0)  # half-trained: must not be kept
            raise self.error()
        state.params = np.full(2, float(epoch + 1))
        score = (lambda p: 1.0 - self.losses[epoch]) if state.validation_scores is not None \
            else None
        return driver.EpochResult(self.losses[epoch], 10, score, [(0.0, 10, 0.5, 0.5)], 2,
                                  self.seconds[epoch])


class Recorder(Hook):
    def __init__(self):
        self.calls = []

    def begin(self, fit):
        self.calls.append(("begin", fit.max_iter))

    def epoch_end(self, record):
        self.calls.append(("epoch", record["epoch"], record["loss"], record["workers"]))

    def end(self):
        self.calls.append(("end",))


def _state(early_stopping=False):
    return FitState(np.zeros(2), optimizer=SGDState(np.zeros(2), 0.1),
                    progress=stopping.start(early_stopping),
                    validation_scores=[] if early_stopping else None, best_params=np.zeros(2))


def _run(losses, max_iter=None, early_stopping=False, n_iter_no_change=10, state=None,
         verbose=0, **source_kw):
    net = Network(Layout((2, 1)), "relu", "identity", "squared_error", 0.0)
    cfg = Config(net, Hyper("sgd", 0.1), max_iter or len(losses), "auto", True, 1e-4,
                 n_iter_no_change, early_stopping, 0.1, False, verbose)
    state = _state(early_stopping) if state is None else state
    hook, source = Recorder(), Source(losses, **source_kw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        done = driver.run(state, source, cfg, Fit("f", cfg.max_iter), [hook])
    return state, hook, source, done, [str(w.message) for w in caught]


def test_hooks_hear_every_epoch_and_the_end():
    state, hook, _, done, _ = _run([0.5, 0.4, 0.3])
    assert done and state.n_iter == 3 and state.loss_curve == [0.5, 0.4, 0.3]
    assert hook.calls == [("begin", 3), ("epoch", 1, 0.5, 2), ("epoch", 2, 0.4, 2),
                          ("epoch", 3, 0.3, 2), ("end",)]
    assert [r["epoch"] for r in state.history] == [1, 2, 3]
    assert state.t == 30


def test_the_stopping_rule_ends_the_run():
    state, _, source, _, messages = _run([0.5] * 8, n_iter_no_change=2)
    # no improvement by tol in epochs 2, 3 and 4: more than n_iter_no_change=2
    assert source.seen == [0, 1, 2, 3] and state.n_iter == 4
    assert not any("Maximum iterations" in m for m in messages)


def test_ctrl_c_keeps_the_last_finished_epoch_and_closes_the_hooks():
    state, hook, _, done, messages = _run([0.5, 0.4, 0.3], fail_at=2)
    assert not done
    np.testing.assert_array_equal(state.params, [2.0, 2.0])
    assert hook.calls[-1] == ("end",) and "Training interrupted by user." in messages


def test_a_failure_leaves_the_checkpoint_and_propagates():
    state = _state()
    with pytest.raises(MemoryError):
        _run([0.5, 0.4, 0.3], fail_at=1, error=MemoryError, state=state)
    np.testing.assert_array_equal(state.params, [1.0, 1.0])  # epoch 1's, where a replay starts
    assert state.n_iter == 1


def test_early_stopping_returns_the_best_epoch():
    state, *_ = _run([0.5, 0.2, 0.4], early_stopping=True)
    assert state.validation_scores == [0.5, 0.8, 0.6]
    np.testing.assert_array_equal(state.params, [2.0, 2.0])


def test_max_iter_warns_as_scikit_learn():
    *_, messages = _run([0.5, 0.4])
    assert any("Maximum iterations (2) reached" in m for m in messages)


def test_an_epoch_timed_by_its_source_keeps_that_span(capsys):
    # a source whose epoch ran ahead gives its span: 2 s for 10 samples, 0.5 s computing
    state, *_ = _run([0.5, 0.4, 0.3], seconds=[None, 2.0, 0.5], verbose=1)
    first, second, third = state.history
    assert 0 < first["seconds"] < 1  # the driver's clock
    assert second["seconds"] == 2.0 and second["samples_per_second"] == 5.0
    assert second["sync_share"] == 0.75  # 0.5 s computing in a 2 s epoch
    assert third["samples_per_second"] == 20.0 and third["sync_share"] == 0.0
    out = capsys.readouterr().out.splitlines()
    assert out[::2] == ["Iteration 1, loss = 0.50000000", "Iteration 2, loss = 0.40000000",
                        "Iteration 3, loss = 0.30000000"]  # scikit-learn's lines, unchanged
    # beside each epoch, the fit's average so far: its samples over its epochs' seconds
    two, three = 20 / (first["seconds"] + 2.0), 30 / (first["seconds"] + 2.5)
    assert out[3] == f"Epoch 2: 2.00 s, 5 samples/s (fit average {two:,.0f}), 75.0% synchronising"
    assert out[5] == (f"Epoch 3: 0.50 s, 20 samples/s (fit average {three:,.0f}), "
                      "0.0% synchronising")

def test_throughput_weighs_epochs_by_their_seconds():
    records = [{"seconds": 1.0, "samples_per_second": 100.0},
               {"seconds": 3.0, "samples_per_second": 300.0},
               {"seconds": 0.0, "samples_per_second": None}]  # an epoch without timing
    assert hooks.throughput(records) == 250.0
    assert hooks.throughput(records, last=2) == 300.0
    assert hooks.throughput(records[2:]) is None
