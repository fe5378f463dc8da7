"""Architecture search for quantum classifiers (regularized evolution) on datasets hqml ships.

    PYTHONPATH=src python examples/architecture_search.py --out results/search [--quick]

For each dataset: features reduced to 4 (``--features``) by PCA (fitted on the training part)
and scaled to [0, pi]. Everything that is chosen is chosen on the training part only: the search
runs on its own validation folds (fitness: validation log-likelihood by default, which does not
saturate like accuracy), starting from a population that holds the fixed ansatz; then, for each
of the four models (the best circuit, the fixed hardware-efficient ansatz of the same parameter
count, logistic regression and an MLP with a 4-unit hidden layer, all trained by the same
full-batch Adam), the retraining length is picked from a grid by validation log-likelihood
(``--criterion accuracy``: by validation accuracy) by stratified 3-fold cross-validation of the
training part (``--folds``) (``hqml.nn.selection.choose_epochs``, the same rule for all four).
Each model is then retrained from scratch on the whole training part for its chosen length (5
seeds) and scored once on the untouched test part; the table gives the searched-minus-fixed
difference per seed, mean +- standard error.
Writes ``search.json``, ``search.md`` and ``search.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from torch import nn

from hqml.datasets import load
from hqml.nn.search import evolutionary_search, fixed_ansatz, seed_accuracies
from hqml.nn.selection import CRITERIA, DEFAULT_EPOCH_GRID, choose_epochs

SELECTION_NOTE = (
    "Every setting is chosen without the test part: the searched circuit by the evolution's"
    " fitness ({fitness}); the retraining length of each model (searched, fixed, logistic,"
    " mlp(4)) from the epoch grid by hqml.nn.selection.choose_epochs on {split} (split seed 0,"
    " the same seeds as the retrainings), rule: {rule}. The models are then retrained on the"
    " whole training part for the chosen length and the test part is scored once, for these"
    " accuracies. The learning rate (0.05) is the library default, not tuned."
)


def prepare(name: str, n_features: int = 4):
    ds = load(name, seed=0, scale="standard")
    x_tr, x_te = ds.x_train, ds.x_test
    if x_tr.shape[1] > n_features:
        pca = PCA(n_features, random_state=0).fit(x_tr)
        x_tr, x_te = pca.transform(x_tr), pca.transform(x_te)
    lo, hi = x_tr.min(0), x_tr.max(0)
    scale = lambda x: np.clip((x - lo) / (hi - lo), 0, 1) * np.pi  # noqa: E731
    return scale(x_tr), ds.y_train, scale(x_te), ds.y_test


def classical_model(n_inputs: int, hidden: int = 0):
    """A ``(seed, n_classes) -> nn.Module`` factory: logistic regression (``hidden=0``) or a
    one-hidden-layer tanh MLP, initialised like torch's ``nn.Linear`` from a seeded generator."""

    def make(seed: int, n_classes: int) -> nn.Module:
        sizes = [n_inputs, hidden, n_classes] if hidden else [n_inputs, n_classes]
        layers: list[nn.Module] = []
        gen = torch.Generator().manual_seed(seed)
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            lin = nn.utils.skip_init(nn.Linear, a, b)
            with torch.no_grad():
                lin.weight.uniform_(-(a**-0.5), a**-0.5, generator=gen)
                lin.bias.uniform_(-(a**-0.5), a**-0.5, generator=gen)
            layers += [lin] if i == len(sizes) - 2 else [lin, nn.Tanh()]
        return nn.Sequential(*layers)

    return make


def _split_words(folds: int) -> str:
    if folds == 1:
        return "a stratified 30% validation split of the training part"
    return f"stratified {folds}-fold cross-validation of the training part"


def _fitness_words(settings: dict) -> str:
    metric = "accuracy" if settings["fitness"] == "accuracy" else "log-likelihood"
    lengths = "/".join(map(str, np.atleast_1d(settings["search_epochs"])))
    return (
        f"mean validation {metric} on {_split_words(settings['folds'])},"
        f" {settings['fitness_seeds']} initialisation(s) per split, at the best of {lengths}"
        " epochs"
    )


def select(x_tr, y_tr, settings: dict) -> dict:
    """The search and the retraining lengths, from the training part only (no test rows here)."""
    fixed = fixed_ansatz(x_tr.shape[1], settings["layers"])
    search = evolutionary_search(
        x_tr,
        y_tr,
        n_layers=settings["layers"],
        population=settings["population"],
        cycles=settings["cycles"],
        epochs=settings["search_epochs"],
        fitness_seeds=settings["fitness_seeds"],
        fitness=settings["fitness"],
        folds=settings["folds"],
        start=(fixed,),  # the baseline is a candidate: replaced only if it validates worse
    )
    models = {
        "searched": search.best,
        "fixed": fixed,
        "logistic": classical_model(x_tr.shape[1]),
        "mlp(4)": classical_model(x_tr.shape[1], hidden=4),
    }
    t0 = time.perf_counter()
    choices = {
        k: choose_epochs(
            m,
            x_tr,
            y_tr,
            settings["grid"],
            settings["seeds"],
            criterion=settings["criterion"],
            folds=settings["folds"],
        )
        for k, m in models.items()
    }
    return {
        "search": search,
        "models": models,
        "choices": choices,
        "select_seconds": time.perf_counter() - t0,
    }


def run_dataset(name, x_tr, y_tr, x_te, y_te, settings: dict) -> dict:
    sel = select(x_tr, y_tr, settings)
    search, choices = sel["search"], sel["choices"]
    t0 = time.perf_counter()
    acc = {  # the only place the test part is read
        k: seed_accuracies(m, x_tr, y_tr, x_te, y_te, settings["seeds"], choices[k].epochs)
        for k, m in sel["models"].items()
    }
    return {
        "dataset": name,
        "qubits": x_tr.shape[1],
        "train_rows": len(x_tr),
        "test_rows": len(x_te),
        "searched": search.best.describe(),
        "fixed": sel["models"]["fixed"].describe(),
        "parameters": sel["models"]["fixed"].num_parameters,
        "search_candidates": search.n_candidates,
        "search_trainings": search.n_trainings,
        "search_circuit_evaluations": search.n_circuit_evaluations,
        "search_seconds": search.seconds,
        "search_fitness": search.best_fitness,
        "fixed_fitness": search.history[0][1],
        "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()},
        "selection": SELECTION_NOTE.format(
            rule=choices["fixed"].rule,
            fitness=_fitness_words(settings),
            split=_split_words(settings["folds"]),
        ),
        "epoch_selection": {
            k: {
                "epochs": c.epochs,
                "grid": list(c.grid),
                "val_accuracy": list(c.val_accuracy),
                "val_loss": list(c.val_loss),
                "fit_rows": c.fit_rows,
                "val_rows": c.val_rows,
                "folds": c.folds,
            }
            for k, c in choices.items()
        },
        "selection_seconds": sel["select_seconds"],
        "retrain_epochs": {k: c.epochs for k, c in choices.items()},
        "retrain_seconds": time.perf_counter() - t0,
        "test_accuracy": acc,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="results/search")
    ap.add_argument("--datasets", default="iris,wine,breast_cancer")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument(
        "--features",
        type=int,
        default=4,
        help="PCA features = qubits (a dataset with fewer features keeps all of them)",
    )
    ap.add_argument("--population", type=int, default=8, help="search population")
    ap.add_argument("--cycles", type=int, default=16, help="search cycles (children scored)")
    ap.add_argument("--seeds", type=int, default=5, help="retrainings from scratch (0..N-1)")
    ap.add_argument(
        "--epoch-grid",
        default=",".join(map(str, DEFAULT_EPOCH_GRID)),
        help="retraining lengths to choose from on the validation split",
    )
    ap.add_argument(
        "--criterion",
        choices=tuple(CRITERIA),
        default="log_likelihood",
        help="validation metric that picks each model's retraining length",
    )
    ap.add_argument(
        "--fitness",
        choices=tuple(CRITERIA),
        default="log_likelihood",
        help="validation metric of the search's fitness",
    )
    ap.add_argument(
        "--search-epochs",
        default="25,50,100,200",
        help="training lengths each candidate is scored at (its fitness: the best of them)",
    )
    ap.add_argument("--fitness-seeds", type=int, default=1, help="initialisations per fold")
    ap.add_argument(
        "--folds",
        type=int,
        default=3,
        help="cross-validation folds of the training part for the fitness and the epoch choice"
        " (1: one 30%% validation split)",
    )
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--resume", action="store_true", help="keep the datasets of search.json")
    args = ap.parse_args()
    pop, cycles = (4, 4) if args.quick else (args.population, args.cycles)
    epochs = (5, 15) if args.quick else tuple(int(g) for g in args.search_epochs.split(","))
    grid = (10, 30) if args.quick else tuple(int(g) for g in args.epoch_grid.split(","))
    settings = {
        "layers": args.layers,
        "population": pop,
        "cycles": cycles,
        "search_epochs": epochs,
        "fitness_seeds": args.fitness_seeds,
        "folds": 2 if args.quick else args.folds,
        "fitness": args.fitness,
        "grid": grid,
        "criterion": args.criterion,
        "seeds": tuple(range(args.seeds)),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = json.loads((out / "search.json").read_text()) if args.resume else []
    for name in args.datasets.split(","):
        if any(r["dataset"] == name for r in rows):
            continue
        row = run_dataset(name, *prepare(name, args.features), settings)
        rows.append(row)
        acc = row["test_accuracy"]
        means = ", ".join(
            f"{k} {np.mean(v):.3f}+-{np.std(v):.3f} ({row['retrain_epochs'][k]} ep)"
            for k, v in acc.items()
        )
        print(f"{name}: {row['searched']} ({row['search_trainings']} trainings,"
              f" {row['search_seconds']:.0f} s): {means}", flush=True)  # fmt: skip
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
    qubits = sorted({r.get("qubits", 4) for r in rows})  # rows written before "qubits": 4
    params = sorted({r["parameters"] for r in rows})
    lines = [
        f"Test accuracy, mean +- std over {n_seeds} retrainings from scratch (full-batch Adam"
        " for the number of epochs in brackets, chosen per model on a validation split of the"
        f" training part; quantum: {'/'.join(map(str, qubits))} qubits,"
        f" {'/'.join(map(str, params))} circuit parameters + a"
        " linear read-out); searched - fixed: the per-seed difference, mean +- standard error.",
        "",
        rows[0]["selection"],
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
            f" ({r['retrain_epochs'][k]})"
            for k in keys
        ]
        lines.append(
            f"| {r['dataset']} | {r['searched']} | {cost} | " + " | ".join(cells)
            + f" | {paired(r)} |"
        )  # fmt: skip
    (out / "search.md").write_text("\n".join(lines) + "\n")
    plot_report(rows, out)


def plot_report(rows, out: Path) -> None:
    keys = list(rows[0]["test_accuracy"])
    n_seeds = len(rows[0]["test_accuracy"]["fixed"])
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9, 3.6), width_ratios=(2, 1))
    x = np.arange(len(rows))
    for i, k in enumerate(keys):
        means = [np.mean(r["test_accuracy"][k]) for r in rows]
        stds = [np.std(r["test_accuracy"][k]) for r in rows]
        ax.bar(x + 0.2 * (i - 1.5), means, 0.2, yerr=stds, label=k)
    ax.set_xticks(x, [r["dataset"] for r in rows])
    ax.set_ylabel(f"test accuracy ({n_seeds} seeds, mean +- std)")
    lo = min(np.mean(r["test_accuracy"][k]) for r in rows for k in keys)
    ax.set_ylim(max(0.0, np.floor(lo * 20) / 20 - 0.05), 1.0)
    ax.legend(fontsize=7, ncol=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    diffs = [np.subtract(r["test_accuracy"]["searched"], r["test_accuracy"]["fixed"]) for r in rows]
    ses = [d.std(ddof=1) / np.sqrt(d.size) if d.size > 1 else 0.0 for d in diffs]
    ax2.errorbar(x, [d.mean() for d in diffs], yerr=ses, fmt="o", capsize=4)
    ax2.axhline(0.0, color="grey", lw=0.8)
    ax2.set_xticks(x, [r["dataset"] for r in rows], fontsize=8)
    ax2.set_ylabel("searched - fixed (per seed, mean +- s.e.)")
    fig.tight_layout()
    fig.savefig(out / "search.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
