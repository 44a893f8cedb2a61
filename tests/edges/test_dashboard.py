"""The dasknn page of the Dask dashboard (read from the scheduler's events), its
preload, the progress bar, and the demo's optional PNG."""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request

import dask.array as da
import pytest
from distributed import Client, LocalCluster
from sklearn.datasets import make_classification

from dasknn import MLPClassifier
from dasknn.dashboard import MOVING, ROUTE, TOPIC, _columns, _status
from dasknn.training.hooks import throughput

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
METRICS = {"epoch", "loss", "validation_score", "samples_per_second", "sync_share",
           "learning_rate", "workers", "max_iter", "fit"}
PRELOAD = {"preload": ["dasknn.dashboard"]}  # a LocalCluster's scheduler_kwargs


def _data():
    X, y = make_classification(n_samples=20000, n_features=20, n_informative=10,
                               random_state=0)
    return da.from_array(X, chunks=(2000, -1)), da.from_array(y, chunks=2000)


def _get(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read()


def _served(base):
    """The plotted columns and the status line that the page at ``base`` serves now,
    read from a Bokeh session on it, as a browser gets them."""
    from bokeh.client import pull_session
    from bokeh.models import ColumnDataSource, Div

    with pull_session(url=base + ROUTE) as session:
        (source,) = session.document.select({"type": ColumnDataSource})
        (status,) = session.document.select({"type": Div})
        return dict(source.data), status.text


def _epochs_seen(base):
    return len(_served(base)[0]["epoch"])


def _fit_in_background(max_iter=40):
    dX, dy = _data()
    clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=max_iter, early_stopping=True,
                        n_iter_no_change=max_iter, random_state=0)
    thread = threading.Thread(target=clf.fit, args=(dX, dy))
    thread.start()
    return clf, thread


def _check_live_page(client, base):
    """While a fit runs: the page is listed and serves the fit's epochs as they come;
    after it, all of them and the status line of the last."""
    plots = json.loads(_get(base + "/individual-plots.json")[1])
    assert ROUTE in plots.values()
    clf, thread = _fit_in_background()
    deadline, seen = time.monotonic() + 120, []
    while thread.is_alive() and time.monotonic() < deadline:
        seen.append(_epochs_seen(base))
        status, body = _get(base + ROUTE)
        assert status == 200 and b"bokeh" in body.lower()
        time.sleep(0.3)
    thread.join()
    assert any(0 < s < clf.n_iter_ for s in seen), seen  # observed mid-fit
    columns, status = _served(base)
    assert columns["epoch"] == list(range(1, clf.n_iter_ + 1))
    assert columns["loss"] == clf.loss_curve_
    assert columns["score"] == clf.validation_scores_
    events = [msg for _, msg in client.get_events(TOPIC)]
    assert METRICS <= set(events[-1]) and events[-1]["epoch"] == clf.n_iter_
    last = clf.history_[-1]["samples_per_second"]
    assert (f"epoch {clf.n_iter_} of at most 40" in status
            and f"{last:,.0f} samples/s (last {MOVING} epochs "
                f"{throughput(clf.history_, MOVING):,.0f}, fit "
                f"{throughput(clf.history_):,.0f})" in status), status
    assert not client.run_on_scheduler(  # the page keeps no copy: no plugin of ours
        lambda dask_scheduler: [n for n in dask_scheduler.plugins if "dasknn" in n])
    return clf


def _record(epoch, seconds, rate, sync=0.05):
    return {"fit": "f", "max_iter": 9, "epoch": epoch, "loss": 0.5, "validation_score": None,
            "seconds": seconds, "samples_per_second": rate, "sync_share": sync,
            "rounds": 1, "workers": 2, "learning_rate": 0.001}


def test_status_line_gives_the_epoch_beside_moving_and_fit_averages():
    # six epochs of 1000 samples: five at 1 s, the last at 0.25 s
    records = [_record(e, 1.0, 1000.0) for e in range(1, 6)] + [_record(6, 0.25, 4000.0)]
    status = _status(records)
    assert "epoch 6 of at most 9" in status and "5.0% synchronising" in status
    # the last five epochs: 5000 samples in 4.25 s; the fit: 6000 in 5.25 s
    assert "4,000 samples/s (last 5 epochs 1,176, fit 1,143)" in status, status
    columns = _columns(records)
    assert columns["rate"] == [1000.0] * 5 + [4000.0]
    assert columns["moving"][:5] == [1000.0] * 5
    assert columns["moving"][5] == pytest.approx(5000 / 4.25)
    first = _status(records[:1])
    assert "1,000 samples/s (fit 1,000)" in first, first  # no moving average yet


def test_dashboard_page_on_a_local_cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address="127.0.0.1:0",
                      scheduler_kwargs=PRELOAD) as c, Client(c) as client:
        _check_live_page(client, client.dashboard_link.rsplit("/", 1)[0])


def test_dashboard_page_with_a_preloaded_remote_scheduler(tmp_path):
    dask_cmd = shutil.which("dask", path=os.path.dirname(sys.executable)) or shutil.which("dask")
    if dask_cmd is None:
        pytest.skip("the `dask` command line is not installed")
    scheduler_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([dask_cmd, "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--dashboard-address", "127.0.0.1:0", "--preload",
                               "dasknn.dashboard", "--scheduler-file", str(scheduler_file)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        procs.append(subprocess.Popen(
            [dask_cmd, "worker", "--scheduler-file", str(scheduler_file), "--nworkers", "2",
             "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with Client(scheduler_file=str(scheduler_file)) as client:
            client.wait_for_workers(2, timeout=60)
            _check_live_page(client, client.dashboard_link.rsplit("/", 1)[0])
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(timeout=30)


def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _screenshot(chromium, url, path, profile, settle=4.0):
    """Open ``url`` in headless Chromium, let Bokeh render over its websocket for
    ``settle`` seconds, then capture the page through the DevTools protocol."""
    import base64

    from tornado.ioloop import IOLoop
    from tornado.websocket import websocket_connect

    port = _free_port()
    browser = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--window-size=1100,720",
         f"--remote-debugging-port={port}", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                targets = json.loads(_get(f"http://127.0.0.1:{port}/json/list")[1])
                page = next(t for t in targets if t["type"] == "page")
                break
            except (OSError, StopIteration):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        time.sleep(settle)

        async def capture():
            ws = await websocket_connect(page["webSocketDebuggerUrl"], max_message_size=2**28)
            ws.write_message(json.dumps({"id": 1, "method": "Page.captureScreenshot"}))
            while True:
                reply = json.loads(await ws.read_message())
                if reply.get("id") == 1:
                    ws.close()
                    return base64.b64decode(reply["result"]["data"])

        path.write_bytes(IOLoop.current().run_sync(capture, timeout=30))
    finally:
        browser.terminate()
        browser.wait(timeout=30)


def test_screenshot_of_the_page_during_a_fit(tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address="127.0.0.1:0",
                      scheduler_kwargs=PRELOAD) as c, Client(c) as client:
        base = client.dashboard_link.rsplit("/", 1)[0]
        clf, thread = _fit_in_background(max_iter=80)
        while thread.is_alive() and _epochs_seen(base) < 5:
            time.sleep(0.2)
        png = tmp_path / "dashboard.png"
        _screenshot(chromium, base + ROUTE, png, tmp_path / "profile")
        seen_at_capture = _epochs_seen(base)
        thread.join()
    assert 0 < seen_at_capture < clf.n_iter_ + 1
    assert png.stat().st_size > 20_000  # a rendered page with plots, not a blank one
    if os.environ.get("DASKNN_SCREENSHOT"):
        shutil.copy(png, os.environ["DASKNN_SCREENSHOT"])


def test_progress_bar_on_demand_and_off_when_not_interactive(capsys):
    X, y = make_classification(n_samples=300, n_features=5, random_state=0)
    MLPClassifier(hidden_layer_sizes=(4,), max_iter=4, progress=True).fit(X, y)
    assert "4/4" in capsys.readouterr().err
    MLPClassifier(hidden_layer_sizes=(4,), max_iter=4).fit(X, y)  # 'auto', no terminal
    dX, dy = da.from_array(X, chunks=(100, -1)), da.from_array(y, chunks=100)
    MLPClassifier(hidden_layer_sizes=(4,), max_iter=4).fit(dX, dy)
    assert "epoch" not in capsys.readouterr().err
    MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, progress=True).fit(dX, dy)
    assert "3/3" in capsys.readouterr().err


def test_progress_bar_on_streamed_fits(client, capsys):
    # the streamed path runs the same epoch driver as the others, bar included
    X, y = make_classification(n_samples=300, n_features=5, random_state=0)
    dX, dy = da.from_array(X, chunks=(100, -1)), da.from_array(y, chunks=100)
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, progress=True, persist=False)
    clf.fit(dX, dy)
    assert "3/3" in capsys.readouterr().err
    assert len(clf.history_) == 3


def test_the_page_shows_the_fit_that_logged_last_from_the_scheduler_events():
    with LocalCluster(n_workers=0, processes=False, dashboard_address="127.0.0.1:0",
                      scheduler_kwargs=PRELOAD) as cluster, Client(cluster) as client:
        base = f"http://127.0.0.1:{cluster.scheduler.http_server.port}"
        assert _served(base) == (_columns([]), "No dasknn fit has reported yet.")
        for fit, epoch in (("a", 1), ("a", 2), ("b", 1), ("a", 3)):
            client.log_event(TOPIC, {**_record(epoch, 1.0, 100.0), "fit": fit})
        client.log_event(TOPIC, "not a record")  # the topic is open to anyone
        deadline = time.monotonic() + 10
        while len(cluster.scheduler.get_events(TOPIC)) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        columns, status = _served(base)
        assert columns["epoch"] == [1, 2, 3] and "<b>dasknn fit a</b>: epoch 3" in status
        assert not [name for name in cluster.scheduler.plugins if "dasknn" in name]


def _in_a_fresh_process(code):
    """The standard output of ``code`` run by a new Python (no dasknn imported yet)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120).stdout.split()


def test_importing_dasknn_changes_no_dask_setting():
    code = ("import dask, distributed; key = 'distributed.scheduler.preload'; "
            "before = dask.config.get(key); import dasknn; "
            "print(dask.config.get(key) == before)")
    assert _in_a_fresh_process(code) == ["True"]


def test_a_local_cluster_serves_the_page_when_it_preloads_it():
    code = f"""
import json, urllib.request
import dasknn
from distributed import LocalCluster

def listed(**kwargs):
    with LocalCluster(n_workers=0, processes=False, dashboard_address="127.0.0.1:0",
                      **kwargs) as cluster:
        url = f"http://127.0.0.1:{{cluster.scheduler.http_server.port}}/individual-plots.json"
        with urllib.request.urlopen(url, timeout=30) as response:
            return {ROUTE!r} in json.loads(response.read()).values()

print(listed(), listed(scheduler_kwargs={PRELOAD!r}))
"""
    assert _in_a_fresh_process(code) == ["False", "True"]


def test_the_commands_local_cluster_preloads_the_page_beside_configured_preloads():
    import dask

    from dasknn.cli import _preloads

    with dask.config.set({"distributed.scheduler.preload": "mine"}):
        assert _preloads() == ["mine", "dasknn.dashboard"]
    with dask.config.set({"distributed.scheduler.preload": ["dasknn.dashboard"]}):
        assert _preloads() == ["dasknn.dashboard"]


def test_the_demo_without_matplotlib_trains_and_says_how_to_get_the_png(
        tmp_path, monkeypatch, capsys):
    from dasknn.cli import main

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    png = tmp_path / "loss.png"
    assert main(["demo", "--n-samples", "20000", "--max-iter", "2", "--n-workers", "1",
                 "--png", str(png)]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and not png.exists()
    assert 'no PNG of the fit: it needs matplotlib, pip install "dasknn[demo]"' in out
