"""Training progress in the Dask dashboard: the page ``/individual-dasknn``.

The page (listed in the dashboard's "More..." menu) plots the current fit's loss and
validation score live, from the records :class:`~dasknn.monitor.DasknnPlugin` keeps
on the scheduler. Importing this module registers the page (it imports Bokeh), so a
scheduler must import it before its dashboard starts: ``import dasknn`` makes
schedulers started afterwards in this process (a ``LocalCluster``) preload it, and a
remote scheduler gets it with ``dask scheduler --preload dasknn.dashboard``. The
plugin is installed by the preload, or by the first fit on a cluster.
"""

from . import monitor
from .monitor import PLUGIN_NAME, TOPIC, DasknnPlugin  # noqa: F401 - the page's names

ROUTE = "/individual-dasknn"


def dask_setup(scheduler):
    """Preload hook (``dask scheduler --preload dasknn.dashboard``)."""
    if PLUGIN_NAME not in scheduler.plugins:
        scheduler.add_plugin(monitor.DasknnPlugin())


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
