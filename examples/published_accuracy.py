"""hqml's zoo beside the qml-benchmarks study's published test accuracies.

Each entry takes the study's best hyperparameters for one dataset (its
``*_GridSearchCV-best-hyperparams.csv``, or the first rank-1 row of its ``*_GridSearchCV.csv``,
which is what ``GridSearchCV.best_params_`` picks), fits hqml's model with seeds 0-4 on the
training set and scores the test set: the study's ``score_with_best_hyperparameters.py``
protocol. The published test accuracies (``*_GridSearchCV-best-hyperparams-results.csv``,
XanaduAI/qml-benchmarks ``paper/results/``) are copied below. Trained models cannot match digit
for digit (other random streams), so an entry agrees when the two mean test accuracies differ
by at most four standard errors of the difference, ``4 sqrt((s_pub^2 + s_hqml^2) / 5)``
(population standard deviations over the 5 seeds).

The results are stored in ``docs/results/published-accuracy.json`` and drawn in
``docs/results/published-accuracy.png``; a rerun of some entries (``--only``) replaces those
and keeps the others. Fit times are wall-clock on whatever machine ran it (recorded in the
file). The checks that take a few seconds live in ``tests/nn/test_zoo_published.py``; these
take minutes to an hour each on two cores, so they are a script.

    python examples/published_accuracy.py                       # every entry
    python examples/published_accuracy.py --only WeiNet --plot  # one entry, redraw the figure
    python examples/published_accuracy.py --suite hidden_manifold   # the entries of one suite
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np

from hqml.datasets import load_benchmark
from hqml.experiment.compare.registry import get_model

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "results" / "published-accuracy.json"

# (model, suite, value, the study's best hyperparameters, published test accuracies of seeds 0-4)
ENTRIES = [
    ("IQPVariationalClassifier", "linearly_separable", 2,
     {"learning_rate": 0.01, "n_layers": 10, "repeats": 1},
     [0.65, 0.65, 0.6666666666666666, 0.6666666666666666, 0.7]),
    ("CircuitCentricClassifier", "linearly_separable", 2,
     {"learning_rate": 0.1, "n_input_copies": 1, "n_layers": 10},
     [0.5, 0.5666666666666667, 0.43333333333333335, 0.5666666666666667, 0.5]),
    ("QuantumKitchenSinks", "linearly_separable", 2,
     {"n_episodes": 2000, "n_qfeatures": "full"},
     [1.0, 0.8833333333333333, 0.6, 0.9833333333333333, 0.9666666666666667]),
    ("DressedQuantumCircuitClassifier", "linearly_separable", 4,
     {"learning_rate": 0.001, "n_layers": 1},
     [1.0, 1.0, 1.0, 1.0, 1.0]),
    ("MLPClassifier", "linearly_separable", 11,
     {"alpha": 0.01, "hidden_layer_sizes": (10, 10, 10, 10), "learning_rate_init": 0.1},
     [1.0, 1.0, 1.0, 0.9666666666666667, 0.9333333333333333]),
    ("QuantumMetricLearner", "linearly_separable", 2,
     {"learning_rate": 0.01, "n_layers": 1, "batch_size": 16},
     [0.9, 0.8333333333333334, 0.8166666666666667, 0.8833333333333333, 0.8333333333333334]),
    ("ConvolutionalNeuralNetwork", "bars_and_stripes", 4,
     {"learning_rate": 0.001, "kernel_shape": 3},
     [0.955, 0.94, 0.955, 0.96, 0.97]),
    ("QuanvolutionalNeuralNetwork", "bars_and_stripes", 4,
     {"learning_rate": 0.0001, "kernel_shape": 5, "n_qchannels": 5, "qkernel_shape": 2},
     [0.93, 0.915, 0.925, 0.925, 0.925]),
    ("WeiNet", "bars_and_stripes", 4,
     {"learning_rate": 0.0001, "filter_name": "edge_detect"},
     [0.515, 0.54, 0.555, 0.555, 0.56]),
    # ProjectedQuantumKernel_linearly_separable_2d_GridSearchCV.csv: first rank-1 row
    ("ProjectedQuantumKernel", "linearly_separable", 2,
     {"C": 100, "gamma_factor": 0.1, "t": 0.1, "trotter_steps": 1, "convention": "study"},
     [0.9666666666666667, 1.0, 0.9833333333333333, 0.9833333333333333, 0.95]),
    ("ProjectedQuantumKernel", "linearly_separable", 2,
     {"C": 100, "gamma_factor": 0.1, "t": 0.1, "trotter_steps": 1, "convention": "hqml"},
     [0.9666666666666667, 1.0, 0.9833333333333333, 0.9833333333333333, 0.95]),
    # A second dataset: hidden manifold (manifold dimension 6) at d = 2, files
    # <model>_hidden_manifold-6manifold-2d_GridSearchCV{-best-hyperparams,}.csv
    ("IQPVariationalClassifier", "hidden_manifold", 2,
     {"learning_rate": 0.1, "n_layers": 1, "repeats": 1},
     [0.6333333333333333, 0.6166666666666667, 0.65, 0.7, 0.65]),
    ("DataReuploadingClassifier", "hidden_manifold", 2,
     {"learning_rate": 0.001, "n_layers": 1, "observable_type": "single"},
     [0.6666666666666666, 0.6666666666666666, 0.6666666666666666, 0.65, 0.6666666666666666]),
    ("SeparableVariationalClassifier", "hidden_manifold", 2,
     {"encoding_layers": 5, "learning_rate": 0.001},
     [0.6833333333333333, 0.6833333333333333, 0.6833333333333333, 0.6833333333333333,
      0.6666666666666666]),
    ("TreeTensorClassifier", "hidden_manifold", 2, {"learning_rate": 0.01},
     [0.65, 0.6333333333333333, 0.5166666666666667, 0.5333333333333333, 0.55]),
    ("QuantumKitchenSinks", "hidden_manifold", 2, {"n_episodes": 2000, "n_qfeatures": "full"},
     [0.65, 0.6166666666666667, 0.5, 0.6, 0.6333333333333333]),
    ("CircuitCentricClassifier", "hidden_manifold", 2,
     {"learning_rate": 0.001, "n_input_copies": 2, "n_layers": 1},
     [0.6166666666666667, 0.5833333333333334, 0.5666666666666667, 0.5666666666666667,
      0.4166666666666667]),
    ("QuantumBoltzmannMachine", "hidden_manifold", 2,
     {"learning_rate": 0.001, "visible_qubits": "single"},
     [0.7, 0.7333333333333333, 0.7, 0.7166666666666667, 0.6666666666666666]),
    ("MLPClassifier", "hidden_manifold", 2,
     {"alpha": 0.01, "hidden_layer_sizes": (10, 10, 10, 10), "learning_rate_init": 0.1},
     [0.7166666666666667, 0.6833333333333333, 0.6833333333333333, 0.7, 0.7]),
    ("QuantumMetricLearner", "hidden_manifold", 2,
     {"learning_rate": 0.01, "n_layers": 1, "batch_size": 16},
     [0.6666666666666666, 0.65, 0.6166666666666667, 0.6833333333333333, 0.6833333333333333]),
    # ProjectedQuantumKernel_hidden_manifold-6manifold-2d_GridSearchCV.csv: first rank-1 row
    ("ProjectedQuantumKernel", "hidden_manifold", 2,
     {"C": 10, "gamma_factor": 0.1, "t": 0.1, "trotter_steps": 3, "convention": "study"},
     [0.7, 0.7166666666666667, 0.6833333333333333, 0.6833333333333333, 0.7]),
    ("ProjectedQuantumKernel", "hidden_manifold", 2,
     {"C": 10, "gamma_factor": 0.1, "t": 0.1, "trotter_steps": 3, "convention": "hqml"},
     [0.7, 0.7166666666666667, 0.6833333333333333, 0.6833333333333333, 0.7]),
    ("DressedQuantumCircuitClassifier", "hidden_manifold", 2,
     {"learning_rate": 0.01, "n_layers": 10},
     [0.6833333333333333, 0.7166666666666667, 0.7, 0.7333333333333333, 0.7166666666666667]),
]  # fmt: skip


# The study's mean fit time (s) of that best setting in its 5-fold search (fits on 4/5 of the
# training set; mean_fit_time of *_GridSearchCV.csv, the study's cluster nodes).
STUDY_FIT_SECONDS = {
    "IQPVariationalClassifier": 14.21, "CircuitCentricClassifier": 14.37,
    "QuantumKitchenSinks": 327.58, "DressedQuantumCircuitClassifier": 133.20,
    "MLPClassifier": 0.233, "QuantumMetricLearner": 21.39,
    "ConvolutionalNeuralNetwork": 77.73, "WeiNet": 31.17,
    "ProjectedQuantumKernel": 3.20,
}  # fmt: skip
# The same on hidden manifold d = 2 (its *_GridSearchCV.csv).
STUDY_FIT_SECONDS_HM2 = {
    "IQPVariationalClassifier": 7.23, "DataReuploadingClassifier": None,
    "SeparableVariationalClassifier": 5.31, "TreeTensorClassifier": 12.02,
    "QuantumKitchenSinks": 319.74, "CircuitCentricClassifier": 27.75,
    "QuantumBoltzmannMachine": 18.28, "DressedQuantumCircuitClassifier": 35.64,
    "MLPClassifier": 0.159, "QuantumMetricLearner": 15.41, "ProjectedQuantumKernel": 4.36,
}  # fmt: skip
# The study's datasets: 8 tabular families of 19 values, 2 image families of 4 sizes.
STUDY_DATASETS = {"tabular": 8 * 19, "image": 2 * 4}


def entry_key(model: str, suite: str, value: int, params: dict) -> tuple:
    """An entry's identity: model, dataset and settings (tuples and lists alike)."""
    norm = {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
    return (model, suite, value, json.dumps(norm, sort_keys=True))


def agreement(published: list[float], ours: list[float]) -> dict:
    """Difference of the means and four standard errors of it (5 seeds each)."""
    p, o = np.asarray(published, float), np.asarray(ours, float)
    four_se = 4 * float(np.sqrt((p.var() + o.var()) / len(p)))
    diff = float(o.mean() - p.mean())
    return {"difference": diff, "four_se": four_se, "agrees": abs(diff) <= four_se + 1e-12}


def run_entry(model: str, suite: str, value: int, params: dict, published: list[float]) -> dict:
    spec = get_model(model)
    ds = load_benchmark(suite, value)
    test, train, times, steps = [], [], [], []
    for seed in range(len(published)):
        est = spec.factory(**{**spec.defaults, **params, "random_state": seed})
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(ds.x_train, ds.y_train)
        times.append(time.perf_counter() - t0)
        steps.append(int(getattr(est, "n_iter_", 0) or 0))
        train.append(float(est.score(ds.x_train, ds.y_train)))
        test.append(float(est.score(ds.x_test, ds.y_test)))
        print(f"  {model} {suite} {value} seed {seed}: test {test[-1]:.4f} ({times[-1]:.1f} s)")
    return {
        "model": model,
        "suite": suite,
        "value": value,
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
        "defaults": {k: v for k, v in spec.defaults.items()},
        "published_test": published,
        "hqml_test": test,
        "hqml_train": train,
        "fit_seconds": times,
        "steps": steps,
        **agreement(published, test),
    }


def entry_label(r: dict) -> str:
    """The model's name, with a non-default convention it ran with."""
    conv = r["params"].get("convention")
    return r["model"] + (f" ({conv} convention)" if conv else "")


def plot(doc: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = doc["entries"]
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(rows) + 1.2))
    for i, r in enumerate(rows):
        for vals, off, style, label in (
            (r["published_test"], 0.15, "o", "published (study)"),
            (r["hqml_test"], -0.15, "s", "hqml"),
        ):
            ax.errorbar(np.mean(vals), i + off, xerr=np.std(vals), fmt=style, capsize=3,
                        color="C0" if style == "o" else ("C2" if r["agrees"] else "C3"),
                        label=label if i == 0 else None)  # fmt: skip
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{entry_label(r)}\n{r['suite']} {r['value']}" for r in rows], fontsize=7)
    ax.set_xlabel("test accuracy, mean ± std over 5 seeds (red: outside 4 SE)")
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def speed_table(doc: dict) -> str:
    """Markdown: hqml's fit time beside the study's, and the whole study extrapolated."""
    lines = [
        "| model | dataset | hqml fit (s) | study fit (s) | fits per dataset (paper grid) |"
        " hqml hours per dataset | hqml days, whole study (extrapolated) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in doc["entries"]:
        spec = get_model(r["model"])
        grid = int(np.prod([len(v) for v in spec.paper_grid.values()]))
        fits = 5 * grid + 5  # 5 folds per grid point, then 5 seeds
        fit = float(np.mean(r["fit_seconds"]))
        image = r["suite"] == "bars_and_stripes"
        per_dataset = fit * fits / 3600
        total = per_dataset * STUDY_DATASETS["image" if image else "tabular"] / 24
        table = STUDY_FIT_SECONDS_HM2 if r["suite"] == "hidden_manifold" else STUDY_FIT_SECONDS
        study = table.get(r["model"])
        lines.append(
            f"| {entry_label(r)} | {r['suite']} {r['value']} | {fit:.1f} |"
            f" {'' if study is None else f'{study:g}'} | {fits} | {per_dataset:.2f} | {total:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="model names to (re)run")
    ap.add_argument("--suite", help="(re)run only the entries of this suite")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--plot", action="store_true", help="only redraw the figure")
    args = ap.parse_args()
    doc = json.loads(args.out.read_text()) if args.out.exists() else {"entries": []}
    if not args.plot:
        keep = {
            entry_key(e["model"], e["suite"], e["value"], e["params"]): e for e in doc["entries"]
        }
        for model, suite, value, params, published in ENTRIES:
            if (args.only and model not in args.only) or (args.suite and suite != args.suite):
                continue
            key = entry_key(model, suite, value, params)
            keep[key] = run_entry(model, suite, value, params, published)
        order = [entry_key(*e[:4]) for e in ENTRIES]
        doc = {
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
            "torch_threads": os.environ.get("OMP_NUM_THREADS", "default"),
            "entries": [keep[k] for k in order if k in keep],
        }
        args.out.write_text(json.dumps(doc, indent=1) + "\n")
    plot(doc, args.out.with_suffix(".png"))
    print(speed_table(doc))
    for r in doc["entries"]:
        verdict = "agrees" if r["agrees"] else "DIFFERS"
        pub, ours = np.mean(r["published_test"]), np.mean(r["hqml_test"])
        print(
            f"{entry_label(r):35s} {r['suite']} {r['value']}: published {pub:.3f}, hqml {ours:.3f},"
            f" |diff| {abs(r['difference']):.3f} vs 4 SE {r['four_se']:.3f}: {verdict}"
        )


if __name__ == "__main__":
    main()
