"""Default quantum estimators against classical ones on scikit-learn datasets.

Every model sees the same standardised data reduced to 4 features (StandardScaler, PCA(4)) and
is scored by 3-fold stratified cross-validation (shuffled, seed 0). Prints the Markdown table in
docs/kernels.md:

    python examples/kernel_defaults.py
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.decomposition import PCA
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from hqml.circuit.templates import zz_feature_map
from hqml.kernels import QSVC, FidelityKernel, KernelConcentrationWarning, VQClassifier

DATASETS = {"breast cancer": load_breast_cancer, "iris": load_iris, "wine": load_wine}
MODELS = {
    "QSVC()": lambda: QSVC(),
    "QSVC, bandwidth 1": lambda: QSVC(FidelityKernel(zz_feature_map)),
    "VQClassifier(random_state=0)": lambda: VQClassifier(random_state=0),
    "VQClassifier, bandwidth 1": lambda: VQClassifier(random_state=0, bandwidth=1.0),
    "SVC()": lambda: SVC(),
    "LogisticRegression()": lambda: LogisticRegression(),
    "majority class": lambda: DummyClassifier(),
}


def main() -> None:
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    rows = {}
    for name, load in DATASETS.items():
        X, y = load(return_X_y=True)
        for model, make in MODELS.items():
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", KernelConcentrationWarning)
                scores = cross_val_score(make_pipeline(StandardScaler(), PCA(4), make()), X, y,
                                         cv=cv)
            rows.setdefault(model, {})[name] = float(np.mean(scores))
            print(f"  {name}: {model} {np.mean(scores):.3f} ({time.perf_counter() - t0:.1f} s)")
    print("| model | " + " | ".join(DATASETS) + " |")
    print("|---" * (len(DATASETS) + 1) + "|")
    for model, accs in rows.items():
        print(f"| {model} | " + " | ".join(f"{accs[d]:.3f}" for d in DATASETS) + " |")


if __name__ == "__main__":
    main()
