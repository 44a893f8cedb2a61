"""A Pipeline with a scaler and dasknn's MLP, tuned by GridSearchCV in parallel.

dasknn's estimators are scikit-learn estimators: they clone, pickle and search like
any other. Run with ``python examples/pipeline_search.py``.
"""

import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from dasknn import MLPClassifier


def main(max_iter=50):
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=max_iter, random_state=0))
    grid = {"mlpclassifier__hidden_layer_sizes": [(32,), (64,)],
            "mlpclassifier__alpha": [1e-4, 1e-2]}
    search = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X_train, y_train)
    print(f"best parameters: {search.best_params_}")
    print(f"cross-validated accuracy {search.best_score_:.4f}, "
          f"test accuracy {search.score(X_test, y_test):.4f}")
    return search.score(X_test, y_test)


if __name__ == "__main__":
    main()
