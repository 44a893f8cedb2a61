"""A terminal progress bar over epochs (tqdm), for long fits."""

import sys


def wanted(setting, distributed):
    """Resolve the ``progress`` parameter: 'auto' means on for Dask fits in an
    interactive terminal, off otherwise (logs and CI stay clean)."""
    if setting == "auto":
        return distributed and sys.stderr.isatty()
    return bool(setting)


class EpochBar:
    """Epochs done out of ``max_iter``, with the latest loss; a no-op when disabled."""

    def __init__(self, enabled, total):
        self._bar = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, unit="epoch", desc="dasknn", leave=True)

    def update(self, loss, score=None):
        if self._bar is not None:
            info = {"loss": f"{loss:.5f}"}
            if score is not None:
                info["val"] = f"{score:.4f}"
            self._bar.set_postfix(info, refresh=False)
            self._bar.update(1)

    def close(self):
        if self._bar is not None:
            self._bar.close()
