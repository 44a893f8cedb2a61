"""Listeners of the epoch driver: the progress bar, and the hooks the engine adds (Dask
events, the guard of a scaled learning rate).

A hook's methods do nothing by default; the driver calls ``begin(fit)`` once, with a
:class:`Fit` describing the run, ``epoch_end(record)`` after every epoch with the
epoch's plain-data record (the entry of ``history_``), and ``end()`` always.
:func:`throughput` averages such records (the verbose lines, the dashboard, the demo).
"""

import sys
from typing import NamedTuple

TOPIC = "dasknn"  # the Dask event topic of every epoch's record (see the Dask events hook)


class Fit(NamedTuple):
    """What a hook learns when a fit begins."""

    id: str  # unique per fit (and per replay of one)
    max_iter: int
    client: object = None  # the distributed Client, None in-process


class Hook:
    """A listener that does nothing; subclass and override what you need."""

    def begin(self, fit):
        pass

    def epoch_end(self, record):
        pass

    def end(self):
        pass


def progress_wanted(setting, distributed):
    """Resolve the ``progress`` parameter: 'auto' means on for Dask fits in an
    interactive terminal, off otherwise (logs and CI stay clean)."""
    if setting == "auto":
        return distributed and sys.stderr.isatty()
    return bool(setting)


class ProgressBar(Hook):
    """Epochs done out of ``max_iter`` with the latest loss (tqdm); a no-op when disabled."""

    def __init__(self, enabled):
        self.enabled, self._bar = enabled, None

    def begin(self, fit):
        if self.enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=fit.max_iter, unit="epoch", desc="dasknn", leave=True)

    def epoch_end(self, record):
        if self._bar is not None:
            info = {"loss": f"{record['loss']:.5f}"}
            if record["validation_score"] is not None:
                info["val"] = f"{record['validation_score']:.4f}"
            self._bar.set_postfix(info, refresh=False)
            self._bar.update(1)

    def end(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def throughput(records, last=None):
    """Samples per second over ``records`` (``history_`` entries; the ``last`` of them
    when given): their samples over their seconds, so long epochs weigh more. None
    when they hold no timing.

    Examples
    --------
    >>> throughput([{"seconds": 1.0, "samples_per_second": 100.0},
    ...             {"seconds": 3.0, "samples_per_second": 300.0}])
    250.0
    """
    timed = [r for r in records[-last if last else 0:] if r.get("samples_per_second")]
    seconds = sum(r["seconds"] for r in timed)
    if not seconds:
        return None
    return sum(r["samples_per_second"] * r["seconds"] for r in timed) / seconds

