"""The job of ``dasknn demo``: a fit on a generated dataset on a Dask cluster.

It prints the dashboard's address, trains with ``verbose=True`` (scikit-learn's lines,
and each epoch's time and samples/s beside the fit's average), reports accuracy, time
and throughput, and writes a PNG of the training loss and validation score per epoch
beside the samples per second per epoch, with the cluster size in its title (the PNG
needs matplotlib, the ``demo`` extra: without it the demo says how to get it). With
``--keep-open`` the cluster and its dashboard stay open until Enter or Ctrl-C.
"""

import time

import numpy as np

from .dashboard import ROUTE
from .training.hooks import throughput

PATIENCE = 3  # epochs without a better validation score before early stopping ends the fit


def run(args, client):
    """Train and report on ``client``'s cluster (``args``: the demo's options); 0."""
    import dask.array as da
    from sklearn.datasets import make_classification

    from . import MLPClassifier

    link = client.dashboard_link
    if link:
        print(f"Dask dashboard: {link} (dasknn's page: {link.rsplit('/', 1)[0] + ROUTE})")
    X, y = make_classification(n_samples=args.n_samples, n_features=40, n_informative=30,
                               n_classes=10, class_sep=1.5, random_state=0)
    X, n_test = X.astype(np.float32), args.n_samples // 10
    workers = len(client.nthreads())
    chunks = max(1000, (args.n_samples - n_test) // (4 * workers))
    dX, dy = client.persist([da.from_array(X[n_test:], chunks=(chunks, -1)),
                             da.from_array(y[n_test:], chunks=chunks)])
    print(f"generated {args.n_samples:,} rows x 40 features, 10 classes: training an MLP "
          f"(128, 64) on {args.n_samples - n_test:,} of them (10% held out for validation) "
          f"on {workers} worker(s), testing on the other {n_test:,}")
    print("each epoch: its time, samples/s, and the share of it spent synchronising "
          "(averaging the workers' models and waiting for them, not computing)")
    clf = MLPClassifier(hidden_layer_sizes=(128, 64), max_iter=args.max_iter,
                        early_stopping=True, n_iter_no_change=PATIENCE, random_state=0,
                        verbose=True)
    start = time.perf_counter()
    clf.fit(dX, dy)
    seconds = time.perf_counter() - start
    _report(clf, seconds, clf.score(dX, dy), clf.score(X[:n_test], y[:n_test]))
    _write_png(clf, args.png, workers)
    _keep_open(args.keep_open, link)
    return 0


def _report(clf, seconds, train_acc, test_acc):
    print(f"fit: {seconds:.1f} s for {clf.n_iter_} epochs; "
          f"{clf.history_[-1]['samples_per_second']:,.0f} samples/s in the last epoch, "
          f"{throughput(clf.history_):,.0f} on average over the fit")
    print(f"train accuracy {train_acc:.4f}, best validation score "
          f"{max(clf.validation_scores_):.4f}, test accuracy {test_acc:.4f}")


def _write_png(clf, path, workers):
    """:func:`plot` to ``path`` and say so; without matplotlib, say how to get it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print('no PNG of the fit: it needs matplotlib, pip install "dasknn[demo]"')
        return
    plot(clf, path, workers)
    print(f"loss, validation score and samples/s per epoch written to {path}")


def _keep_open(keep, link):
    """With ``keep``, wait for Enter or Ctrl-C before the cluster closes; else say how."""
    if not keep:
        print("(run with --keep-open to keep the cluster and its dashboard open after "
              "the fit)")
        return
    print(f"the cluster and its dashboard stay open{f' at {link}' if link else ''}: "
          "press Enter or Ctrl-C to close them", flush=True)
    try:
        input()
    except (EOFError, KeyboardInterrupt):
        print()


def plot(clf, path, workers):
    """Write a PNG of two panels per epoch: training loss and validation score;
    samples per second with the fit's average. The cluster size is in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    epochs = range(1, len(clf.loss_curve_) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.plot(epochs, clf.loss_curve_, marker="o", label="training loss")
    left.set(xlabel="epoch", ylabel="training loss", title="Loss and validation score")
    score = left.twinx()
    score.plot(epochs, clf.validation_scores_, marker="s", color="darkorange",
               label="validation score")
    score.set_ylabel("validation accuracy")
    left.legend(handles=left.get_lines() + score.get_lines(), loc="center right")
    rates = [r["samples_per_second"] or 0.0 for r in clf.history_]
    right.bar(epochs, rates, color="seagreen", label="epoch")
    right.axhline(throughput(clf.history_), color="black", linestyle="--",
                  label="fit average")
    right.set(xlabel="epoch", ylabel="samples per second", title="Throughput",
              ylim=(0, 1.3 * max(rates, default=0.0) or 1.0))  # room for the legend
    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    right.legend(loc="upper left", framealpha=0.9)
    fig.suptitle(f"dasknn MLPClassifier on a Dask cluster of {workers} worker(s)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
