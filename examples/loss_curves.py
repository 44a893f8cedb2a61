"""dasknn and scikit-learn loss curves, in memory and on a Dask cluster, plotted.

In memory the two curves are the same curve; on a two-worker cluster, model averaging
with the learning rate scaled by the number of workers follows closely.
Run with ``python examples/loss_curves.py`` (writes loss_curves.png).
"""

import warnings

import dask.array as da
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402

from dasknn import MLPClassifier  # noqa: E402


def main(n_samples=40_000, max_iter=15, path="loss_curves.png"):
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    X, y = make_classification(n_samples=n_samples, n_features=30, n_informative=20,
                               n_classes=4, random_state=0)
    params = dict(hidden_layer_sizes=(64,), max_iter=max_iter, random_state=0)
    curves = {"scikit-learn": SkMLPClassifier(**params).fit(X, y).loss_curve_,
              "dasknn, in memory": MLPClassifier(**params).fit(X, y).loss_curve_}
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster):
        dX = da.from_array(X, chunks=(n_samples // 8, -1))
        dy = da.from_array(y, chunks=n_samples // 8)
        curves["dasknn, 2 Dask workers"] = MLPClassifier(**params).fit(dX, dy).loss_curve_
    fig, ax = plt.subplots(figsize=(6, 4))
    for (name, curve), style in zip(curves.items(), ["-", "--", "-o"]):
        ax.plot(range(1, len(curve) + 1), curve, style, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print(f"wrote {path}")
    return curves


if __name__ == "__main__":
    main()
