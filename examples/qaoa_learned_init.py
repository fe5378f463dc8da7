"""Learned QAOA initial angles vs the fixed-angle table, INTERP and the ramp, on held-out graphs.

    PYTHONPATH=src python examples/qaoa_learned_init.py --out results/qaoa_init [--quick]

Trains :class:`hqml.algorithms.AngleNetwork` ("learned": small MLPs on local-structure
features, hyperparameters chosen on validation graphs by ``examples/qaoa_angle_selection.py``)
on INTERP-optimised angles (p = 1..5) of 133 graphs with 6..12 nodes: random 3-, 4-, 5-regular
and Erdos-Renyi graphs, rings, ladders and random trees (46), and 87 more of the random
families and odd rings from their own seed (:func:`extra_graphs`). Then compares initial
points at p = 3, before and after a few L-BFGS-B steps, on larger held-out graphs: 14 nodes
(every family; INTERP's lower depths fully optimised), 20 and 16 nodes (3-regular and
Erdos-Renyi, drawn in that order, then the other families unless ``--large-families 3reg-er``;
INTERP's lower depths at most ``--large-interp-maxiter`` iterations), and 64-node ladders and
rings on the MPS backend (INTERP's lower depths optimised on the MPS too; on the MPS the
angles' gradient is taken by central finite differences, see
:func:`hqml.algorithms.qaoa_angles.compare_initialisations`).
"learned-ridge" is the previous model (:class:`hqml.algorithms.AngleRegressor`, six features)
on the 46 graphs, "learned-base" the same ridge without the rings, ladders and trees.
Writes ``qaoa_init.json``, ``qaoa_init.md`` and ``qaoa_init.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np

from hqml.algorithms.qaoa_angle_net import AngleNetwork
from hqml.algorithms.qaoa_angles import (
    AngleRegressor,
    compare_initialisations,
    graph_family,
    ladder_graph,
    optimised_angles,
    ring_graph,
)
from hqml.algorithms.qaoa_features import STRUCTURE_FEATURES
from hqml.backends import get_backend

FAMILIES = ("3reg", "4reg", "5reg", "er")
LOW_DEGREE = ("ring", "ladder", "tree")  # drawn from their own generator (see train)
ORDER = ("learned", "learned-ridge", "learned-base", "fixed", "interp", "ramp")
# AngleNetwork's hyperparameters, chosen on validation graphs (examples/qaoa_angle_selection.py,
# docs/results/search/qaoa_init_selection.json), never on the held-out graphs below
NETWORK = {"hidden": 16, "weight_decay": 3e-3, "n_models": 3, "epochs": 1500, "random_state": 0}
QUICK_NETWORK = {**NETWORK, "n_models": 1, "epochs": 300}  # --quick: a smoke run, not a model
EXTRA_SEEDS = 3  # extra training graphs per family and size (extra_graphs)
SEEDS = {"train": 2026, "low": 2027, "extra": 2028}


def _angles(graphs, cache: Path, key: str, p_max: int) -> tuple[list[dict], float | None]:
    """INTERP-optimised angles of ``graphs``, cached under ``key`` in ``cache`` after each
    graph (a stopped run resumes where it was), and the seconds their labelling took (summed
    over runs; ``None`` for a cache written before the time was stored)."""
    store = json.loads(cache.read_text()) if cache.exists() else {}
    done = store.setdefault(key, [])
    assert len(done) <= len(graphs), f"{cache} is from another training set; delete it"
    seconds = store.setdefault("seconds", {})
    if done and key not in seconds:
        seconds[key] = None  # labelled by an older run that did not record the time
    for g in graphs[len(done) :]:
        t0 = time.perf_counter()
        done.append({p: a.tolist() for p, a in optimised_angles(g, p_max).items()})
        if seconds.get(key, 0.0) is not None:
            seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - t0
        cache.write_text(json.dumps(store))
    labels = [{int(p): np.array(a) for p, a in d.items()} for d in done]
    return labels, seconds.get(key, 0.0)


def extra_graphs(sizes, seeds: int, rng) -> list:
    """More training graphs (drawn from their own generator, so the other training graphs and
    the held-out ones stay the same): every size in ``sizes`` (odd ones too), ``seeds`` graphs
    per family and size (3- and 5-regular at even sizes, 5-regular from 8), odd rings."""
    out = []
    for n in sizes:
        for k in ("3reg", "4reg", "5reg", "er", "tree"):
            if (k in ("3reg", "5reg") and n % 2) or (k == "5reg" and n < 8):
                continue
            out += [graph_family(k, n, rng) for _ in range(seeds)]
        if n % 2:
            out.append(graph_family("ring", n, rng))
    return out


def train(sizes, seeds, p_max, rng, rng_low, rng_extra, low: bool, cache: Path, extra_sizes,
          extra_seeds: int = EXTRA_SEEDS, network: dict | None = None):  # fmt: skip
    """Fit on INTERP-optimised angles (cached in ``cache``; graphs are redrawn from the same
    seeds, so a rerun sees the same held-out graphs). The low-degree graphs (rings, ladders,
    random trees) come from ``rng_low`` and the extra graphs (:func:`extra_graphs`) from
    ``rng_extra``, so adding them leaves the other graphs unchanged.

    Returns ``(models, timing, counts)``: ``models`` maps a start's name to its model:
    ``"learned"`` (:class:`AngleNetwork` on every training graph, its hyperparameters chosen on
    validation graphs by ``examples/qaoa_angle_selection.py``), ``"learned-ridge"`` (the
    previous model: :class:`AngleRegressor` on the regular, Erdos-Renyi and low-degree graphs,
    not the extra ones) and ``"learned-base"`` (the ridge on the regular and Erdos-Renyi graphs
    only), the latter two when ``low``; ``timing`` holds this run's seconds (``"run_seconds"``)
    and the labelling's, cached runs included (``"label_seconds"``, ``None`` when a cache did
    not record it); ``counts`` the training graphs per set."""
    t0 = time.perf_counter()
    sets = training_sets(sizes, seeds, rng, rng_low, rng_extra, low, extra_sizes, extra_seeds)
    labels, label_s = {}, 0.0
    for key, graphs in sets.items():
        labels[key], s = _angles(graphs, cache, key, p_max)
        label_s = None if label_s is None or s is None else label_s + s
    every = [g for key in sets for g in sets[key]]
    net = AngleNetwork(**(network or NETWORK))
    models = {"learned": net.fit(every, [a for k in sets for a in labels[k]])}
    if low:
        models["learned-ridge"] = AngleRegressor().fit(
            sets["base"] + sets["low"], labels["base"] + labels["low"]
        )
        models["learned-base"] = AngleRegressor().fit(sets["base"], labels["base"])
    timing = {"run_seconds": time.perf_counter() - t0, "label_seconds": label_s}
    return models, timing, {k: len(v) for k, v in sets.items()}


def training_sets(
    sizes, seeds, rng, rng_low, rng_extra, low: bool, extra_sizes, extra_seeds: int = EXTRA_SEEDS
) -> dict:
    """The training graphs by set: ``"base"`` (3-, 4-, 5-regular and Erdos-Renyi), ``"low"``
    (rings, ladders, trees; when ``low``) and ``"extra"`` (:func:`extra_graphs`; when
    ``low``), drawn in this order from their generators."""
    sets = {
        "base": [
            graph_family(k, n, rng)
            for n in sizes
            for k in FAMILIES
            for _ in range(seeds)
            if not (k == "5reg" and n < 8)  # K6 is the only 5-regular graph on 6 nodes
        ]
    }
    if low:
        sets["low"] = [  # rings and ladders are one graph per size; trees are drawn
            graph_family(k, n, rng_low)
            for n in sizes
            for k in LOW_DEGREE
            for _ in range(seeds if k == "tree" else 1)
        ]
        sets["extra"] = extra_graphs(extra_sizes, extra_seeds, rng_extra)
    return sets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="results/qaoa_init")
    ap.add_argument("--quick", action="store_true", help="fewer, smaller graphs (a smoke run)")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--mps-nodes", default="64", help="ring and ladder sizes on the MPS backend")
    ap.add_argument("--mps-bond", type=int, default=32)
    ap.add_argument("--mps-interp-maxiter", type=int, default=50)
    ap.add_argument("--mps-steps", type=int, help="optimiser steps on MPS (default: --steps)")
    ap.add_argument("--train-seeds", type=int, default=2, help="graphs per family and size")
    ap.add_argument(
        "--no-low-degree", action="store_true", help="train without rings/ladders/trees"
    )
    ap.add_argument("--sv-sizes", default="14", help="held-out sizes, every family, full INTERP")
    ap.add_argument(
        "--large-sizes", default="20,16", help="held-out sizes, 3-regular and ER only (in order)"
    )
    ap.add_argument("--large-interp-maxiter", type=int, default=30)
    ap.add_argument("--large-steps", type=int, help="optimiser steps there (default: --steps)")
    ap.add_argument(
        "--large-families", choices=("all", "3reg-er"), default="all",
        help="families there: all (3reg and ER drawn first, then the others) or 3reg and ER",
    )  # fmt: skip
    ap.add_argument("--resume", action="store_true", help="keep the rows of qaoa_init.json")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng, rng_low = np.random.default_rng(SEEDS["train"]), np.random.default_rng(SEEDS["low"])
    low = not args.no_low_degree
    sizes = (6, 8) if args.quick else (6, 8, 10, 12)
    extra_sizes = (7,) if args.quick else tuple(range(6, 13))
    seeds = 1 if args.quick else args.train_seeds
    models, timing, counts = train(
        sizes, seeds, 5, rng, rng_low, np.random.default_rng(SEEDS["extra"]), low,
        out / "train_angles.json", extra_sizes, 1 if args.quick else EXTRA_SEEDS,
        QUICK_NETWORK if args.quick else NETWORK,
    )  # fmt: skip
    model = models.pop("learned")
    others = models  # learned-ridge and learned-base, when trained with the low-degree graphs
    # the 20- and 16-node graphs are drawn right after the training graphs, whatever --sv-sizes
    rng_large, rng_low_large = copy.deepcopy(rng), copy.deepcopy(rng_low)
    n_train = sum(counts.values())
    print(f"trained on {n_train} graphs {counts} (p = 1..5): {_train_cost(timing)}")
    rows = []
    if args.resume and (out / "qaoa_init.json").exists():
        rows = json.loads((out / "qaoa_init.json").read_text())["rows"]
    done = {(r["kind"], r["n"]) for r in rows}
    meta = {
        "n_train": n_train,
        "n_low_degree": counts.get("low", 0),
        "train_sets": counts,
        "model": {
            "learned": "AngleNetwork",
            **(QUICK_NETWORK if args.quick else NETWORK),
            "features": list(STRUCTURE_FEATURES),
        },
        "model_selection": "hyperparameters chosen on validation graphs only (other seeds and"
        " sizes than the held-out graphs): examples/qaoa_angle_selection.py,"
        " docs/results/search/qaoa_init_selection.json",
        "train_seconds": timing["run_seconds"],
    }
    meta["label_seconds"] = timing["label_seconds"]

    def record(graph_kind, g, res, backend, seconds):
        rows.append({"kind": graph_kind, "n": g.n, "backend": backend, "seconds": seconds, **res})
        ratios = ", ".join(f"{m} {r['before']:.4f}->{r['after']:.4f}" for m, r in res.items())
        print(f"{graph_kind} n={g.n} [{backend}]: {ratios} ({seconds:.0f} s)", flush=True)
        (out / "qaoa_init.json").write_text(json.dumps({**meta, "rows": rows}, indent=1))

    sv_sizes = (10,) if args.quick else [int(n) for n in args.sv_sizes.split(",") if n]
    for n in sv_sizes:
        held_out = [(k, graph_family(k, n, rng)) for k in FAMILIES]
        held_out += [(k, graph_family(k, n, rng_low)) for k in LOW_DEGREE if low]
        for kind, g in held_out:
            if (kind, n) in done:
                continue
            t0 = time.perf_counter()
            res = compare_initialisations(g, model, p=3, steps=args.steps, others=others)
            record(kind, g, res, "statevector", time.perf_counter() - t0)
    if not args.quick:
        mps_graphs = [
            (kind, make(int(n)))
            for n in args.mps_nodes.split(",")
            if n
            for kind, make in (("ring", ring_graph), ("ladder", ladder_graph))
        ]
        for kind, g in mps_graphs:
            if (kind, g.n) in done:
                continue
            be = get_backend("mps", max_bond=args.mps_bond)
            half = len(g.edges) / 2  # bipartite: max cut = |E|, E_min = -|E|/2
            t0 = time.perf_counter()
            res = compare_initialisations(
                g, model, p=3, steps=args.steps if args.mps_steps is None else args.mps_steps,
                backend=be, optimum=(-half, half),
                interp_maxiter=args.mps_interp_maxiter, others=others,
            )  # fmt: skip
            worst = float(be.last_truncation.discarded.max())
            label = f"mps({args.mps_bond}), discarded {worst:.1e}"
            record(kind, g, res, label, time.perf_counter() - t0)
        large = [int(n) for n in args.large_sizes.split(",") if n]
        draws = [(k, n, rng_large) for n in large for k in ("3reg", "er")]  # the first rows
        if args.large_families == "all":  # drawn after those, so they stay the same graphs
            draws += [(k, n, rng_large) for n in large for k in ("4reg", "5reg")]
            draws += [(k, n, rng_low_large) for n in large for k in LOW_DEGREE if low]
        for kind, n, gen in draws:
            g = graph_family(kind, n, gen)
            if (kind, n) in done:
                continue
            t0 = time.perf_counter()
            res = compare_initialisations(
                g, model, p=3, steps=args.steps if args.large_steps is None else args.large_steps,
                interp_maxiter=args.large_interp_maxiter, others=others,
            )  # fmt: skip
            record(kind, g, res, "statevector", time.perf_counter() - t0)
    write_report(rows, out, meta, args.steps)


def _train_cost(t: dict) -> str:
    """This run's training seconds, and the labelling's when its angles came from the cache."""
    run, label = t["run_seconds"], t["label_seconds"]
    if label is None:
        return f"labels from cache (labelling time not recorded), {run:.0f} s this run"
    if label > run:  # most of the labelling was done by an earlier run
        return f"labelling {label:.0f} s (cached), {run:.0f} s this run"
    return f"{run:.0f} s"


def write_report(rows, out: Path, meta: dict, steps: int) -> None:
    METHODS = [m for m in ORDER if any(m in r for r in rows)]
    cost = _train_cost(
        {"run_seconds": meta["train_seconds"], "label_seconds": meta.get("label_seconds")}
    )

    def stepped(r) -> bool:  # rows run with steps=0 have after == before everywhere
        return any(r[m]["after"] != r[m]["before"] for m in METHODS if m in r)

    single = "" if all(stepped(r) for r in rows) else " (a row with one value: before any step)"
    counts = meta.get("train_sets", {})
    lines = [
        f"Trained on {meta['n_train']} graphs ({', '.join(f'{k} {v}' for k, v in counts.items())}):"
        f" {cost}. learned: {meta.get('model', {}).get('learned', 'AngleRegressor')} on every"
        " training graph (hyperparameters chosen on validation graphs, see"
        " qaoa_init_selection.json); learned-ridge: the ridge regression on six features without"
        " the extra graphs (the previous model); learned-base: the ridge without the rings,"
        " ladders, trees and extra graphs. Approximation ratio <cut>/max cut at p = 3, before ->"
        f" after {steps} L-BFGS-B steps{single}. On the MPS backend the steps (and INTERP's lower"
        " depths) take the angles' gradient by central finite differences of the MPS energy (the"
        " backend's autograd gradient of a truncated simulation is inexact).",
        "",
        "| graph | n | backend | " + " | ".join(METHODS) + " |",
        "|---|---|---|" + "---|" * len(METHODS),
    ]

    for r in rows:
        cells = [
            (
                f"{r[m]['before']:.4f} -> {r[m]['after']:.4f}"
                if stepped(r)
                else f"{r[m]['before']:.4f}"
            )
            if m in r
            else "-"
            for m in METHODS
        ]
        lines.append(f"| {r['kind']} | {r['n']} | {r['backend']} | " + " | ".join(cells) + " |")
    lines += ["", "| mean over graphs with every method | " + " | ".join(METHODS) + " |"]
    lines.append("|---|" + "---|" * len(METHODS))
    full = [r for r in rows if all(m in r for m in METHODS)]
    after = [r for r in full if stepped(r)]
    for label, group, key in (("before", full, "before"), ("after steps", after, "after")):
        if group:
            means = [np.mean([r[m][key] for r in group]) for m in METHODS]
            lines.append(
                f"| {label} ({len(group)} graphs) | " + " | ".join(f"{v:.4f}" for v in means) + " |"
            )
    (out / "qaoa_init.md").write_text("\n".join(lines) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    labels = [f"{r['kind']}\n{r['n']}" for r in rows]
    for i, m in enumerate(METHODS):
        ys = [r[m]["before"] if m in r else np.nan for r in rows]
        width = 0.8 / len(METHODS)
        ax.bar(np.arange(len(rows)) + width * (i - (len(METHODS) - 1) / 2), ys, width, label=m)
    ax.set_xticks(np.arange(len(rows)), labels, fontsize=6)
    ax.set_ylim(0.6, 1.0)
    ax.set_ylabel("approximation ratio before optimisation (p = 3)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "qaoa_init.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
