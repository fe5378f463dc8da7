"""The coarse stage of docs/control.md alone, on 24 fresh devices: how often one fit is enough.

For the miscalibrated devices of seeds 200-223 (none used in development or in the closing
runs), three coarse experiments (18 sequences at 20 shots each, 360 shots an experiment, the
device's own shot noise), each followed by a maximum-likelihood fit and the move to the fitted
device's best pulse; records the true gate fidelity after each move (for scoring only) and
writes docs/results/control_coarse_sample.json.

    PYTHONPATH=src python examples/control_coarse_sample.py [--out DIR]
"""

import argparse
import json
from pathlib import Path

import numpy as np

from hqml.control import CalibrationTask, gate_fidelity, miscalibrated
from hqml.control.coarse import DeviceFit, best_action, coarse_sequences, model_device
from hqml.control.transmon import measure

SEEDS = range(200, 224)
EXPERIMENTS = 3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("docs/results"))
    args = ap.parse_args()
    task = CalibrationTask(shots=20, tracking=True)
    per_experiment = len(coarse_sequences(task)) * task.shots
    rows = []
    for seed in SEEDS:
        device = miscalibrated(task, seed)
        rng = np.random.default_rng(10_000 + seed)  # the experiments' shot noise
        fit, x = DeviceFit(task), np.zeros(3)
        start = gate_fidelity(task.pulse(x), device)
        after = []
        for _ in range(EXPERIMENTS):
            pulse = task.pulse(x)
            fit.add(pulse, measure(pulse, device, task.shots, rng, coarse_sequences(task)))
            x = best_action(task, model_device(task, *fit.fit()))
            after.append(gate_fidelity(task.pulse(x), device))
        rows.append({"seed": seed, "start": start, "after_each_fit": after})
        print(seed, f"start {start:.5f}", " ".join(f"{f:.5f}" for f in after), flush=True)
    first = [r["after_each_fit"][0] for r in rows]
    summary = {
        "devices": len(rows),
        "shots_per_experiment": per_experiment,
        "at_or_above_0.999_after_fit": [
            sum(r["after_each_fit"][k] >= 0.999 for r in rows) for k in range(EXPERIMENTS)
        ],
        "min_after_first_fit": min(first),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "control_coarse_sample.json"
    path.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    print(json.dumps(summary), "\n->", path)


if __name__ == "__main__":
    main()
