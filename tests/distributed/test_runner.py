"""Where tasks run, without a cluster: the in-process runner and the slot plan."""

import subprocess
import sys

import dask
import numpy as np

from dasknn.distributed.runner import InlineRunner, training_slots


def test_without_a_client_the_runner_is_in_process():
    # a fresh process: this one may hold the suite's session client
    code = ("from dasknn.distributed.runner import InlineRunner, current_runner\n"
            "with current_runner() as runner:\n"
            "    assert isinstance(runner, InlineRunner), runner\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_the_in_process_runner_runs_tasks_at_once():
    runner = InlineRunner()
    parts, where = runner.parts([dask.delayed(np.add)(1, 2), dask.delayed(np.add)(3, 4)])
    assert parts == [3, 7] and where == [None, None]
    assert runner.homes(where, [range(0, 1), range(1, 2)]) == [None, None]
    assert runner.submit(np.multiply, 6, 7, key="x", worker="tcp://a") == 42
    assert runner.gather([1, 2]) == [1, 2] and runner.result(5) == 5
    runner.release([1, 2], 3)  # nothing to release in-process


def test_training_slots_give_a_slot_per_thread_first_slots_first():
    slots = training_slots({"tcp://c:1": 1, "tcp://a:1": 3, "tcp://b:1": 2})
    assert slots == ["tcp://a:1", "tcp://b:1", "tcp://c:1", "tcp://a:1", "tcp://b:1",
                     "tcp://a:1"]
    assert training_slots({}) == []
