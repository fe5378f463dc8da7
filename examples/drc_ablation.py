"""hqml's own ablation table of the data re-uploading classifier on a bundled dataset.

The study published its ablations of ``DataReuploadingClassifier`` (NoCost, NoScaling,
NoTrainableEmbedding, Separable) on MNIST PCA only, which is not bundled (a local file). This
runs the same five models on one of the study's generated datasets with one setting for all
(no grid search per variant, unlike the study's figure), seeds 0-4, the study's training rule
(Adam, batch 32, its convergence test) and stores the result in
``docs/results/drc-ablation-<suite>-<value>.json``; the markdown table it prints is the one in
docs/compare.md.

    python examples/drc_ablation.py                                   # linearly separable d=6
    python examples/drc_ablation.py --suite hidden_manifold --value 6
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
from hqml.nn import zoo

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = (
    "DataReuploadingClassifier",
    "DataReuploadingClassifierSeparable",
    "DataReuploadingClassifierNoScaling",
    "DataReuploadingClassifierNoTrainableEmbedding",
    "DataReuploadingClassifierNoCost",
)


def run_variant(name: str, ds, settings: dict, seeds: range) -> dict:
    test, train, times, steps, converged = [], [], [], [], []
    for seed in seeds:
        model = getattr(zoo, name)(**settings, random_state=seed)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(ds.x_train, ds.y_train)
        times.append(time.perf_counter() - t0)
        steps.append(int(model.n_iter_))
        converged.append(bool(model.converged_))
        train.append(float(model.score(ds.x_train, ds.y_train)))
        test.append(float(model.score(ds.x_test, ds.y_test)))
        print(f"  {name} seed {seed}: test {test[-1]:.4f}, {steps[-1]} steps ({times[-1]:.1f} s)")
    return {"model": name, "test": test, "train": train, "fit_seconds": times, "steps": steps,
            "converged": converged}  # fmt: skip


def table(doc: dict) -> str:
    rows = [
        "| model | test accuracy | train accuracy | steps (mean) | converged | fit (s, mean) |",
        "|---|---|---|---|---|---|",
    ]
    for r in doc["results"]:
        t, tr = np.asarray(r["test"]), np.asarray(r["train"])
        rows.append(
            f"| {r['model']} | {t.mean():.3f} ± {t.std():.3f} | {tr.mean():.3f} ± {tr.std():.3f}"
            f" | {np.mean(r['steps']):.0f} | {sum(r['converged'])}/{len(r['converged'])}"
            f" | {np.mean(r['fit_seconds']):.1f} |"
        )
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="linearly_separable")
    ap.add_argument("--value", type=int, default=6)
    ap.add_argument("--learning-rate", type=float, default=0.01)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--observable", default="full")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--table", action="store_true", help="only print the stored table")
    args = ap.parse_args()
    out = ROOT / "docs" / "results" / f"drc-ablation-{args.suite}-{args.value}.json"
    if not args.table:
        ds = load_benchmark(args.suite, args.value)
        settings = {"learning_rate": args.learning_rate, "n_layers": args.layers,
                    "observable_type": args.observable}  # fmt: skip
        doc = {
            "suite": args.suite,
            "value": args.value,
            "settings": settings,
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
            "torch_threads": os.environ.get("OMP_NUM_THREADS", "default"),
            "results": [run_variant(v, ds, settings, range(args.seeds)) for v in VARIANTS],
        }
        out.write_text(json.dumps(doc, indent=1) + "\n")
    print(table(json.loads(out.read_text())))


if __name__ == "__main__":
    main()
