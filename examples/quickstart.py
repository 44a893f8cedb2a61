"""Quickstart: dasknn's MLPClassifier is scikit-learn's, number for number.

Trains dasknn and scikit-learn side by side on the handwritten digits and shows
that they learn the same model. Run with ``python examples/quickstart.py``.
"""

import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.preprocessing import StandardScaler

from dasknn import MLPClassifier


def main(max_iter=60):
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    params = dict(hidden_layer_sizes=(64,), max_iter=max_iter, random_state=0)
    models = {}
    for name, Estimator in [("dasknn", MLPClassifier), ("scikit-learn", SkMLPClassifier)]:
        start = time.perf_counter()
        models[name] = Estimator(**params).fit(X_train, y_train)
        seconds = time.perf_counter() - start
        acc = models[name].score(X_test, y_test)
        print(f"{name:>12}: test accuracy {acc:.4f}, {models[name].n_iter_} epochs, {seconds:.2f} s")
    ours, theirs = models["dasknn"], models["scikit-learn"]
    same = all(np.allclose(a, b) for a, b in zip(ours.coefs_, theirs.coefs_))
    print(f"same weights as scikit-learn: {same}")
    return ours.score(X_test, y_test)


if __name__ == "__main__":
    main()
