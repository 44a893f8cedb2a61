"""Training progress in the Dask dashboard: the page ``/individual-dasknn``.

The page (listed in the dashboard's "More..." menu) plots the current fit's loss,
validation score and samples per second live, from the records
:class:`~dasknn.monitor.DasknnPlugin` keeps on the scheduler; its status line gives
the last epoch's figures beside the average of the last :data:`MOVING` epochs and of
the whole fit. Importing this module registers the page (it imports Bokeh), so a
scheduler must import it before its dashboard starts: ``import dasknn`` makes
schedulers started afterwards in this process (a ``LocalCluster``) preload it, and a
remote scheduler gets it with ``dask scheduler --preload dasknn.dashboard``. The
plugin is installed by the preload, or by the first fit on a cluster.
"""

from . import monitor
from .monitor import PLUGIN_NAME, TOPIC, DasknnPlugin  # noqa: F401 - the page's names
from .training.hooks import throughput

ROUTE = "/individual-dasknn"
MOVING = 5  # epochs in the moving average of samples per second
NAN = float("nan")


def dask_setup(scheduler):
    """Preload hook (``dask scheduler --preload dasknn.dashboard``)."""
    if PLUGIN_NAME not in scheduler.plugins:
        scheduler.add_plugin(monitor.DasknnPlugin())


def _page(scheduler, extra, doc):
    """The Bokeh document of ``/individual-dasknn``."""
    from bokeh.layouts import column
    from bokeh.models import ColumnDataSource, Div
    from bokeh.plotting import figure

    source = ColumnDataSource(_columns([]))
    status = Div(text="No dasknn fit has reported yet.", sizing_mode="stretch_width")
    loss = figure(title="Training loss", x_axis_label="epoch", height=260,
                  sizing_mode="stretch_width")
    loss.line("epoch", "loss", source=source, line_width=2)
    loss.scatter("epoch", "loss", source=source, size=6)
    score = figure(title="Validation score", x_axis_label="epoch", height=260,
                   sizing_mode="stretch_width", x_range=loss.x_range)
    score.line("epoch", "score", source=source, line_width=2, color="darkorange")
    score.scatter("epoch", "score", source=source, size=6, color="darkorange")
    speed = figure(title="Samples per second", x_axis_label="epoch", height=220,
                   sizing_mode="stretch_width", x_range=loss.x_range)
    speed.scatter("epoch", "rate", source=source, size=6, color="seagreen",
                  legend_label="epoch")
    speed.line("epoch", "moving", source=source, line_width=2, color="seagreen",
               legend_label=f"last {MOVING} epochs")
    speed.legend.location = "bottom_right"

    def update():
        plugin = scheduler.plugins.get(PLUGIN_NAME)
        records = plugin.latest() if plugin is not None else []
        if not records:
            return
        source.data = _columns(records)
        status.text = _status(records)

    update()
    doc.add_periodic_callback(update, 500)
    doc.add_root(column(status, loss, score, speed, sizing_mode="stretch_width"))
    doc.title = "Dask: dasknn training"


def _columns(records):
    """The plotted columns of a fit's records (NaN where a figure is missing)."""
    def nan(value):
        return NAN if value is None else value

    return {
        "epoch": [r["epoch"] for r in records],
        "loss": [r["loss"] for r in records],
        "score": [nan(r["validation_score"]) for r in records],
        "rate": [nan(r["samples_per_second"]) for r in records],
        "moving": [nan(throughput(records[: i + 1], MOVING)) for i in range(len(records))],
    }


def _status(records):
    """The status line: the last epoch's figures, its samples per second beside the
    average of the last :data:`MOVING` epochs (once there are more) and of the fit."""
    r = records[-1]
    val = "" if r["validation_score"] is None else f", validation {r['validation_score']:.4f}"
    moving = (f"last {MOVING} epochs {throughput(records, MOVING):,.0f}, "
              if len(records) > MOVING else "")
    speed = "" if r["samples_per_second"] is None else (
        f", {r['samples_per_second']:,.0f} samples/s ({moving}fit {throughput(records):,.0f})")
    sync = "" if r["sync_share"] is None else f", {100 * r['sync_share']:.1f}% synchronising"
    return (f"<b>dasknn fit {r['fit']}</b>: epoch {r['epoch']} of at most {r['max_iter']}, "
            f"loss {r['loss']:.5f}{val}{speed}{sync}, {r['workers']} workers, "
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
