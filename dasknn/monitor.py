"""Training records on the scheduler: the plugin that keeps them, and its installer.

Every distributed fit publishes one event per epoch on the topic ``"dasknn"`` (epoch,
loss, validation score, samples/s, share of time synchronising, learning rate,
workers). :class:`DasknnPlugin` keeps their history on the scheduler for the page of
:mod:`dasknn.dashboard`; the first fit on a cluster installs it. This module imports
no Bokeh and none of the engine (the scheduler unpickles the plugin during a cluster's
first fit, while the workers train): it loads at the cost of a few classes.
"""

import warnings
from collections import OrderedDict

from distributed.diagnostics.plugin import SchedulerPlugin

from .training import hooks
from .training.hooks import TOPIC  # not the runner's module: the scheduler stays lean

PLUGIN_NAME = "dasknn"
MAX_FITS = 20


class DasknnPlugin(SchedulerPlugin):
    """Keeps the per-epoch records of the last fits, keyed by fit id."""

    name = PLUGIN_NAME
    idempotent = True  # registered once per scheduler, however many fits ask at once

    def __init__(self):
        self.fits = OrderedDict()

    def log_event(self, topic, msg):
        if topic != TOPIC or not isinstance(msg, dict) or "fit" not in msg:
            return
        self.fits.setdefault(msg["fit"], []).append(msg)
        self.fits.move_to_end(msg["fit"])
        while len(self.fits) > MAX_FITS:
            self.fits.popitem(last=False)

    def latest(self):
        """Records of the most recent fit (a list of dicts, possibly empty)."""
        return next(reversed(self.fits.values()), []) if self.fits else []


def ensure_plugin(client):
    """Install the plugin on the client's scheduler unless it is there already. The
    dashboard is an extra: a scheduler that cannot take it (dasknn not installed
    there, say) costs the live page, not the fit."""
    try:  # idempotent: the scheduler keeps the plugin it has (concurrent fits too)
        client.register_plugin(DasknnPlugin(), name=PLUGIN_NAME)
    except Exception as exc:  # noqa: BLE001 - any failure here must not stop training
        warnings.warn(f"dasknn: the dashboard page could not be installed on the "
                      f"scheduler ({type(exc).__name__}: {exc}); training goes on "
                      "without it. Install dasknn where the scheduler runs to see it.")


class _InstallPlugin(hooks.Hook):
    """Installs the plugin when a fit on a cluster begins."""

    def begin(self, fit):
        if fit.client is not None:
            ensure_plugin(fit.client)


hooks.register(_InstallPlugin)
