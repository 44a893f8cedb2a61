"""Training progress in the Dask dashboard: events, a scheduler plugin, a Bokeh page.

Every distributed fit publishes one event per epoch on the topic ``"dasknn"`` (epoch,
loss, validation score, samples/s, share of time synchronising, learning rate,
workers). :class:`DasknnPlugin` keeps their history on the scheduler, and the page
``/individual-dasknn`` (listed in the dashboard's "More..." menu) plots the current
fit's loss and validation score live.

Importing dasknn registers the page, so a ``LocalCluster`` started afterwards shows
it; a remote scheduler gets it with ``dask scheduler --preload dasknn.dashboard``. The
plugin is installed by the first fit on a cluster (or by the preload).
"""

import warnings
from collections import OrderedDict

from distributed.diagnostics.plugin import SchedulerPlugin

from .distributed.runner import TOPIC
from .training import hooks

ROUTE = "/individual-dasknn"
PLUGIN_NAME = "dasknn"
MAX_FITS = 20


class DasknnPlugin(SchedulerPlugin):
    """Keeps the per-epoch records of the last fits, keyed by fit id."""

    name = PLUGIN_NAME

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


def dask_setup(scheduler):
    """Preload hook (``dask scheduler --preload dasknn.dashboard``)."""
    if PLUGIN_NAME not in scheduler.plugins:
        scheduler.add_plugin(DasknnPlugin())


def ensure_plugin(client):
    """Install the plugin on the client's scheduler unless it is there already. The
    dashboard is an extra: a scheduler that cannot take it (dasknn not installed
    there, say) costs the live page, not the fit."""
    try:
        present = client.run_on_scheduler(
            lambda dask_scheduler: PLUGIN_NAME in dask_scheduler.plugins)
        if not present:
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


def _page(scheduler, extra, doc):
    """The Bokeh document of ``/individual-dasknn``."""
    from bokeh.layouts import column
    from bokeh.models import ColumnDataSource, Div
    from bokeh.plotting import figure

    source = ColumnDataSource({"epoch": [], "loss": [], "score": []})
    status = Div(text="No dasknn fit has reported yet.", sizing_mode="stretch_width")
    loss = figure(title="Training loss", x_axis_label="epoch", height=260,
                  sizing_mode="stretch_width")
    loss.line("epoch", "loss", source=source, line_width=2)
    loss.scatter("epoch", "loss", source=source, size=6)
    score = figure(title="Validation score", x_axis_label="epoch", height=260,
                   sizing_mode="stretch_width", x_range=loss.x_range)
    score.line("epoch", "score", source=source, line_width=2, color="darkorange")
    score.scatter("epoch", "score", source=source, size=6, color="darkorange")

    def update():
        plugin = scheduler.plugins.get(PLUGIN_NAME)
        records = plugin.latest() if plugin is not None else []
        if not records:
            return
        source.data = {
            "epoch": [r["epoch"] for r in records],
            "loss": [r["loss"] for r in records],
            "score": [r["validation_score"] if r["validation_score"] is not None
                      else float("nan") for r in records],
        }
        status.text = _status(records[-1])

    update()
    doc.add_periodic_callback(update, 500)
    doc.add_root(column(status, loss, score, sizing_mode="stretch_width"))
    doc.title = "Dask: dasknn training"


def _status(r):
    val = "" if r["validation_score"] is None else f", validation {r['validation_score']:.4f}"
    return (f"<b>dasknn fit {r['fit']}</b>: epoch {r['epoch']} of at most {r['max_iter']}, "
            f"loss {r['loss']:.5f}{val}, {r['samples_per_second']:,.0f} samples/s, "
            f"{100 * r['sync_share']:.1f}% synchronising, {r['workers']} workers, "
            f"learning rate {r['learning_rate']:.2g}")


def register_page():
    """Add the page to the dashboard of schedulers started from now on."""
    try:
        from distributed.dashboard.scheduler import applications
    except ImportError:  # bokeh missing: the dashboard itself is unavailable
        return False
    applications.setdefault(ROUTE, _page)
    return True


register_page()
hooks.register(_InstallPlugin)
