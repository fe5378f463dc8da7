"""Architecture search for quantum classifiers (regularized evolution) on datasets hqml ships.

    PYTHONPATH=src python examples/architecture_search.py --out results/search [--quick]

For each dataset: features reduced to 4 by PCA (fitted on the training part) and scaled to
[0, pi]; the search runs on the training part only (its own validation split), starting from a
population that holds the fixed ansatz; the best circuit, the fixed hardware-efficient ansatz
of the same parameter count and two classical baselines (logistic regression; an MLP with a
4-unit hidden layer) are then retrained from scratch on the whole training part (5 seeds,
300 full-batch Adam epochs by default) and scored on the untouched test part; the table gives
the searched-minus-fixed difference per seed, mean +- standard error.
Writes ``search.json``, ``search.md`` and ``search.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from hqml.datasets import load
from hqml.nn.search import evolutionary_search, fixed_ansatz, seed_accuracies


def prepare(name: str, n_features: int = 4):
    ds = load(name, seed=0, scale="standard")
    x_tr, x_te = ds.x_train, ds.x_test
    if x_tr.shape[1] > n_features:
        pca = PCA(n_features, random_state=0).fit(x_tr)
        x_tr, x_te = pca.transform(x_tr), pca.transform(x_te)
    lo, hi = x_tr.min(0), x_tr.max(0)
    scale = lambda x: np.clip((x - lo) / (hi - lo), 0, 1) * np.pi  # noqa: E731
    return scale(x_tr), ds.y_train, scale(x_te), ds.y_test


def classical(x_tr, y_tr, x_te, y_te, seeds) -> dict[str, list[float]]:
    out = {"logistic": [], "mlp(4)": []}
    for s in seeds:
        lr = LogisticRegression(max_iter=2000).fit(x_tr, y_tr)
        out["logistic"].append(float(lr.score(x_te, y_te)))
        mlp = MLPClassifier((4,), max_iter=3000, random_state=s).fit(x_tr, y_tr)
        out["mlp(4)"].append(float(mlp.score(x_te, y_te)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="results/search")
    ap.add_argument("--datasets", default="iris,wine,breast_cancer")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=5, help="retrainings from scratch (0..N-1)")
    ap.add_argument("--retrain-epochs", type=int, default=300, help="Adam epochs per retraining")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--resume", action="store_true", help="keep the datasets of search.json")
    args = ap.parse_args()
    seeds = tuple(range(args.seeds))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pop, cycles, epochs = (4, 4, 15) if args.quick else (8, 16, 25)
    retrain = 2 * epochs if args.quick else args.retrain_epochs
    rows = json.loads((out / "search.json").read_text()) if args.resume else []
    for name in args.datasets.split(","):
        if any(r["dataset"] == name for r in rows):
            continue
        x_tr, y_tr, x_te, y_te = prepare(name)
        fixed = fixed_ansatz(x_tr.shape[1], args.layers)
        search = evolutionary_search(
            x_tr,
            y_tr,
            n_layers=args.layers,
            population=pop,
            cycles=cycles,
            epochs=epochs,
            start=(fixed,),  # the baseline is a candidate: replaced only if it validates worse
        )
        t0 = time.perf_counter()
        acc = {
            "searched": seed_accuracies(search.best, x_tr, y_tr, x_te, y_te, seeds, retrain),
            "fixed": seed_accuracies(fixed, x_tr, y_tr, x_te, y_te, seeds, retrain),
            **classical(x_tr, y_tr, x_te, y_te, seeds),
        }
        row = {
            "dataset": name,
            "train_rows": len(x_tr),
            "test_rows": len(x_te),
            "searched": search.best.describe(),
            "fixed": fixed.describe(),
            "parameters": fixed.num_parameters,
            "search_candidates": search.n_candidates,
            "search_trainings": search.n_trainings,
            "search_circuit_evaluations": search.n_circuit_evaluations,
            "search_seconds": search.seconds,
            "search_val_accuracy": search.best_fitness,
            "fixed_val_accuracy": search.history[0][1],
            "retrain_seconds": time.perf_counter() - t0,
            "retrain_epochs": retrain,
            "test_accuracy": acc,
        }
        rows.append(row)
        means = ", ".join(f"{k} {np.mean(v):.3f}+-{np.std(v):.3f}" for k, v in acc.items())
        print(f"{name}: {row['searched']} ({search.n_trainings} trainings,"
              f" {search.seconds:.0f} s): {means}", flush=True)  # fmt: skip
        (out / "search.json").write_text(json.dumps(rows, indent=1))
    write_report(rows, out)


def paired(r) -> str:
    """Searched minus fixed test accuracy, per seed: mean +- standard error."""
    d = np.subtract(r["test_accuracy"]["searched"], r["test_accuracy"]["fixed"])
    se = d.std(ddof=1) / np.sqrt(d.size) if d.size > 1 else float("nan")
    return f"{round(d.mean(), 9) + 0.0:+.3f} +- {se:.3f}"  # + 0.0: no "-0.000"


def write_report(rows, out: Path) -> None:
    keys = list(rows[0]["test_accuracy"])
    n_seeds = len(rows[0]["test_accuracy"]["fixed"])
    lines = [
        f"Test accuracy, mean +- std over {n_seeds} retrainings from scratch"
        f" ({rows[0].get('retrain_epochs', 50)} Adam epochs; quantum: 4 qubits,"
        f" {rows[0]['parameters']} circuit parameters + a linear read-out); searched - fixed:"
        " the per-seed difference, mean +- standard error.",
        "",
        "| dataset | searched circuit | search cost | "
        + " | ".join(keys)
        + " | searched - fixed |",
        "|---|---|---|" + "---|" * (len(keys) + 1),
    ]
    for r in rows:
        cost = (
            f"{r['search_candidates']} candidates, {r['search_trainings']} trainings,"
            f" {r['search_circuit_evaluations']} circuit evaluations, {r['search_seconds']:.0f} s"
        )
        cells = [
            f"{np.mean(r['test_accuracy'][k]):.3f} +- {np.std(r['test_accuracy'][k]):.3f}"
            for k in keys
        ]
        lines.append(
            f"| {r['dataset']} | {r['searched']} | {cost} | " + " | ".join(cells)
            + f" | {paired(r)} |"
        )  # fmt: skip
    (out / "search.md").write_text("\n".join(lines) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for i, k in enumerate(keys):
        means = [np.mean(r["test_accuracy"][k]) for r in rows]
        stds = [np.std(r["test_accuracy"][k]) for r in rows]
        ax.bar(np.arange(len(rows)) + 0.2 * (i - 1.5), means, 0.2, yerr=stds, label=k)
    ax.set_xticks(np.arange(len(rows)), [r["dataset"] for r in rows])
    ax.set_ylabel(f"test accuracy ({n_seeds} seeds)")
    ax.set_ylim(0.4, 1.0)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "search.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
