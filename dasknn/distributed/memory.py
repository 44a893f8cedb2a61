"""How much of the workers' memory a fit may use: whether to stream the data, whether
a streamed round may compute its next blocks ahead, and what to say when the blocks are
too big or the workers were restarted for memory (pure functions of sizes in bytes);
what the cluster says of its memory (:func:`room_per_slot`, :func:`memory_restarts`);
:func:`warn_if_blocks_too_big` and :func:`memory_explained`, which warn and explain on a
cluster.
"""

import contextlib
import math
import time
import warnings


def should_stream(persist, nbytes, free):
    """Stream blocks through the workers instead of holding them: ``persist=False``,
    or 'auto' when ``nbytes`` of data does not fit three times into the workers'
    ``free`` memory (None: unknown), as building shards holds a block's part and the
    concatenated shard at once.

    Examples
    --------
    >>> should_stream("auto", 10, 100), should_stream("auto", 40, 100), should_stream(False, 1, None)
    (False, True, True)
    """
    if persist is True:
        return False
    if persist is False:
        return True
    return free is not None and 3 * nbytes > free


BLOCKS_AHEAD = 4  # a slot's blocks in memory when streaming ahead: two, each with its part
BLOCKS_AT_LEAST = 2  # ... and when each block is computed only when its round is due


def stream_ahead(block_bytes, room):
    """Whether a streamed round may compute the next round's blocks while it trains
    (:data:`BLOCKS_AHEAD` blocks' bytes a training slot), given ``room``, the memory a
    worker has left per slot before Dask pauses it (None: no limit). When it may not, each round computes
    its own blocks only (:data:`BLOCKS_AT_LEAST`): slower, but a worker of 320 MiB
    streams blocks of 40 MB without a restart (2.4 million rows, 48 blocks: 40 s,
    where computing ahead had the workers restarted 16 times).

    Examples
    --------
    >>> stream_ahead(10 * 2**20, 200 * 2**20), stream_ahead(80 * 2**20, 200 * 2**20)
    (True, False)
    """
    return room is None or BLOCKS_AHEAD * block_bytes <= room


def largest_block_bytes(X, y=None):
    """Bytes of a Dask array ``X``'s largest row block with its targets ``y`` (0 when
    the chunk sizes are unknown or X is not an array).

    Examples
    --------
    >>> import dask.array as da
    >>> largest_block_bytes(da.ones((10, 4), chunks=(6, 4)), da.ones(10, chunks=6))
    240.0
    """
    if not hasattr(X, "chunks"):
        return 0
    rows = max(X.chunks[0], default=0)
    if not math.isfinite(rows) or not math.isfinite(X.shape[0]):
        return 0
    per_row = X.nbytes / max(1, X.shape[0])
    if y is not None and hasattr(y, "nbytes"):
        per_row += y.nbytes / max(1, y.shape[0])
    return rows * per_row


def mib(nbytes):
    """``nbytes`` in MiB, for a message: '40 MiB', '0.15 MiB'."""
    size = nbytes / 2**20
    return f"{size:.0f} MiB" if size >= 10 else f"{size:.2g} MiB"


def restarts_message(restarts, block_bytes=0):
    """What a fit that failed after workers were restarted for memory says: ``restarts``
    are the nannies' events (``rss``, ``limit``), ``block_bytes`` X's largest block.

    Examples
    --------
    >>> print(restarts_message([{"rss": 310 * 2**20, "limit": 320 * 2**20}], 40e6))
    ... # doctest: +ELLIPSIS
    dasknn: the fit failed after the workers' nannies restarted workers 1 time(s) for ...
    """
    limit = min((r["limit"] for r in restarts if r.get("limit")), default=None)
    per = f" of {mib(limit)}" if limit else ""
    blocks = f" X's row blocks hold up to {mib(block_bytes)}." if block_bytes else ""
    return (f"dasknn: the fit failed after the workers' nannies restarted workers "
            f"{len(restarts)} time(s) for passing their memory limit{per} (at up to "
            f"{mib(max(r['rss'] for r in restarts))}).{blocks} Rechunk X into smaller row "
            "blocks (X.rechunk({0: rows})), give the workers more memory or fewer threads, "
            "or, if the data was held on the cluster, stream it (persist=False).")


def block_room_note(block_bytes, room):
    """A warning when streaming blocks of up to ``block_bytes`` cannot fit in ``room``,
    the memory a worker has left per training slot (None: no limit), or None: a round
    holds at least one block per slot beside the part built from it.

    Examples
    --------
    >>> block_room_note(10 * 2**20, 200 * 2**20) is None
    True
    >>> print(block_room_note(160 * 2**20, 200 * 2**20))  # doctest: +ELLIPSIS
    dasknn: X's row blocks hold up to 160 MiB; a pass over them needs about 320 MiB a ...
    """
    if room is None or BLOCKS_AT_LEAST * block_bytes <= room:
        return None
    return (f"dasknn: X's row blocks hold up to {mib(block_bytes)}; a pass over them needs "
            f"about {mib(BLOCKS_AT_LEAST * block_bytes)} a worker thread, but a worker "
            f"has {mib(max(room, 0))} left under its memory "
            "limit, so it may be restarted mid-fit. Rechunk X into smaller row blocks "
            "(X.rechunk({0: rows})) or give the workers more memory.")


def warn_if_blocks_too_big(X, y=None):
    """Before a fit's first pass over Dask data: warn (:func:`block_room_note`) when
    one of X's row blocks, with y's, does not fit twice in what a worker has left per
    thread, measured on the workers, which it does only for blocks over a sixteenth of
    the smallest memory limit per thread. True when it warned, False when the blocks
    fit, None when it cannot tell (no client, X's block sizes unknown); called by
    :func:`~.data.prepare_fit` on the aligned arrays."""
    from .runner import _scope

    kind, client = _scope()
    block = largest_block_bytes(X, y)
    if kind != "client" or not block:
        return None
    limits = [w["memory_limit"] / max(1, w["nthreads"]) for w in _limited(client)]
    if not limits or 16 * block <= min(limits):
        return False
    note = block_room_note(block, room_per_slot(client))
    if note:
        warnings.warn(note)
    return note is not None


@contextlib.contextmanager
def memory_explained(X, y=None):
    """Within: a fit on a cluster that fails (Dask's ``KilledWorker``, a
    :class:`~.watchdog.Stalled` fit, :class:`~.runner.LostTooOften`) after the workers' nannies
    restarted workers for memory raises a ``MemoryError`` saying so, from the original
    error, with the size of X's (and y's) largest row block."""
    from distributed import KilledWorker

    from .runner import LostTooOften, _scope
    from .watchdog import Stalled, connected

    since = time.time()
    try:
        yield
    except (KilledWorker, Stalled, LostTooOften) as exc:
        kind, client = _scope()
        restarts = (memory_restarts(client, since)
                    if kind == "client" and connected(client) else [])
        if restarts:
            raise MemoryError(restarts_message(restarts, largest_block_bytes(X, y))) from exc
        raise


def _limited(client):
    """The scheduler's records of the workers that have a memory limit."""
    return [w for w in client.scheduler_info()["workers"].values() if w.get("memory_limit")]


def memory_restarts(client, since):
    """The workers restarted by their nannies for passing their memory limit since
    the time ``since``: one dict (``worker``, ``rss``, ``limit``: the least memory
    limit of today's workers, as the restarted worker left) each, from the events
    the nannies log on the scheduler (topic ``worker-restart-memory``). Asks the
    scheduler only: right after restarts the cluster may have no worker."""
    limit = min((w["memory_limit"] for w in _limited(client)), default=None)
    return [dict(msg, limit=limit)
            for when, msg in client.get_events("worker-restart-memory")
            if when >= since and isinstance(msg, dict) and "rss" in msg]


def room_per_slot(client, below_pause=False):
    """The least memory a worker has left per thread, measured on the workers now
    (the scheduler's figures lag a heartbeat behind a pass over the data): under its
    memory limit, or under the share of it at which Dask pauses the worker
    (``below_pause``). None when a worker has no limit."""
    rooms = list(client.run(_room_here, below_pause).values())
    return None if not rooms or None in rooms else min(rooms)


def _room_here(below_pause, dask_worker=None):
    manager = dask_worker.memory_manager
    if not manager.memory_limit:
        return None
    share = (manager.memory_pause_fraction or 1.0) if below_pause else 1.0
    used = dask_worker.monitor.get_process_memory()
    return (share * manager.memory_limit - used) / max(1, dask_worker.state.nthreads)
