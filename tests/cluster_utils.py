"""Helpers for tests on a real cluster."""

import time


def scheduler_task_count(client):
    return client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))


def wait_for_task_count(client, expected, timeout=10.0):
    """Wait until the scheduler holds ``expected`` tasks (releases are asynchronous)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if scheduler_task_count(client) <= expected:
            return True
        time.sleep(0.05)
    return False


def wait_for(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the command-line cluster did not start")
        time.sleep(0.2)
