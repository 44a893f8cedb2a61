"""Model averaging as a tree of tasks, so a round's synchronisation grows with log W.

The round results of W shards are reduced in groups of :data:`FAN_IN` consecutive
shards, then groups of groups, to one root; no task receives more than
:data:`FAN_IN` inputs. The groups depend on shard indices only, never on where the
shards run, so the sums are taken in one order and the same data, layout and seed
give the same model. The root gives the averaged parameters and the round's summary.
"""

from . import tasks

FAN_IN = 8


def submit(submit_task, results, start, key, summed=False):
    """Submit the tree over ``results`` (futures of round results, in shard order; or,
    ``summed``, of :class:`~.tasks.Partial` sums of runs of shards) from the round's
    starting parameters ``start``; return futures of the averaged parameters and of
    the round's summary. ``submit_task(fn, *args, key=...)`` submits one task."""
    first = tasks.reduce_partials if summed else tasks.reduce_results
    level = [submit_task(first, *results[i : i + FAN_IN], key=f"{key}-0-{i // FAN_IN}")
             for i in range(0, len(results), FAN_IN)]
    depth = 1
    while len(level) > 1:
        level = [submit_task(tasks.reduce_partials, *level[i : i + FAN_IN],
                             key=f"{key}-{depth}-{i // FAN_IN}")
                 for i in range(0, len(level), FAN_IN)]
        depth += 1
    root = level[0]
    return (submit_task(tasks.averaged, root, start, key=f"{key}-params"),
            submit_task(tasks.summary, root, key=f"{key}-summary"))


def depth(n_shards):
    """Levels of the tree for ``n_shards``.

    Examples
    --------
    >>> [depth(w) for w in (1, 8, 9, 64, 65, 512)]
    [1, 1, 2, 2, 3, 3]
    """
    levels, width = 1, -(-n_shards // FAN_IN)
    while width > 1:
        width, levels = -(-width // FAN_IN), levels + 1
    return levels
