"""Training progress in the Dask dashboard: the page ``/individual-dasknn``.

The page (listed in the dashboard's "More..." menu) plots the latest fit's loss,
validation score and samples per second live; its status line gives the last epoch's
figures beside the average of the last :data:`MOVING` epochs and of the whole fit. It
reads the scheduler's event log: every distributed fit logs one event per epoch on the
topic ``"dasknn"``, and the page shows the records of the fit that logged last. The
scheduler keeps the last ``distributed.admin.low-level-log-length`` events of a topic
(1000 by default, read when it starts), so the page of a longer fit starts at its
oldest kept epoch, and its fit average covers the epochs shown.

Importing this module registers the page (it imports Bokeh), so a scheduler imports it
before its dashboard starts, as a preload: ``dask scheduler --preload dasknn.dashboard``
on the command line, ``LocalCluster(scheduler_kwargs={"preload": ["dasknn.dashboard"]})``
in Python. The module imports none of the engine.
"""

from .training.hooks import TOPIC, throughput

ROUTE = "/individual-dasknn"
MOVING = 5  # epochs in the moving average of samples per second
NAN = float("nan")


def latest(scheduler):
    """The records of the fit that logged last on ``scheduler`` (oldest first).

    Parameters
    ----------
    scheduler : distributed.Scheduler
        The scheduler whose event log for the topic :data:`TOPIC` is read.

    Returns
    -------
    records : list of dict
        The epochs' records of that fit, empty before any fit has logged.
    """
    return last_fit([msg for _, msg in scheduler.get_events(TOPIC)])


def last_fit(messages):
    """The messages of the fit named by the last of ``messages`` that names one.

    Examples
    --------
    >>> last_fit([{"fit": "a", "epoch": 1}, {"fit": "b", "epoch": 1}, "other",
    ...           {"fit": "a", "epoch": 2}])
    [{'fit': 'a', 'epoch': 1}, {'fit': 'a', 'epoch': 2}]
    >>> last_fit([])
    []
    """
    records = [m for m in messages if isinstance(m, dict) and "fit" in m]
    if not records:
        return []
    fit = records[-1]["fit"]
    return [r for r in records if r["fit"] == fit]


def _figures(source):
    """The page's three plots of ``source``: loss, validation score, samples/s."""
    from bokeh.plotting import figure

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
    return loss, score, speed


def _page(scheduler, extra, doc):
    """The Bokeh document of ``/individual-dasknn``, refreshed every half second."""
    from bokeh.layouts import column
    from bokeh.models import ColumnDataSource, Div

    source = ColumnDataSource(_columns([]))
    status = Div(text="No dasknn fit has reported yet.", sizing_mode="stretch_width")
    shown = []

    def update():
        records = latest(scheduler)
        if records and records != shown:
            shown[:] = records
            source.data = _columns(records)
            status.text = _status(records)

    update()
    doc.add_periodic_callback(update, 500)
    doc.add_root(column(status, *_figures(source), sizing_mode="stretch_width"))
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
    """Add the page to the dashboards of the schedulers this process starts from now on.

    Returns
    -------
    registered : bool
        False when Bokeh is missing (then no scheduler serves a dashboard).
    """
    try:
        from distributed.dashboard.scheduler import applications
    except ImportError:  # bokeh missing: the dashboard itself is unavailable
        return False
    applications.setdefault(ROUTE, _page)
    return True


register_page()
