"""The closing devices of docs/control.md again, with the coarse stage in front of Nelder-Mead.

For each static device of the two closing runs (JSON in docs/results/), the same coarse stage
(three experiments of 18 sequences, its own shot noise) and then Nelder-Mead from its pulse at
1, 2, 5 and 10 times 20 shots per sequence on the rest of the agent's budget; writes the shots
from which each held 0.999 to docs/results/control_coarse_then_nm.json.

    PYTHONPATH=src python examples/control_coarse_then_nm.py
"""

import json
from dataclasses import replace

import numpy as np

from hqml.control import CalibrationTask, gate_fidelity, miscalibrated, nelder_mead
from hqml.control.coarse import DeviceFit, best_action, coarse_sequences, model_device
from hqml.control.transmon import measure


def main() -> None:
    task = CalibrationTask(shots=20, tracking=True)
    out = {}
    for sd in (60, 70):
        r = json.load(
            open(f"docs/results/control_bench_feedback_coarse{'' if sd == 60 else '70'}.json")
        )
        for st in r["static"]:
            s = st["seed"]
            dev = miscalibrated(task, s)
            budget = st["ppo"]["shots"][-1]
            rng = np.random.default_rng(s + 500)
            fit = DeviceFit(task)
            x = np.zeros(3)
            fs = []
            for _ in range(3):
                fit.add(
                    task.pulse(x),
                    measure(task.pulse(x), dev, task.shots, rng, coarse_sequences(task)),
                )
                x = best_action(task, model_device(task, *fit.fit()))
                fs.append(gate_fidelity(task.pulse(x), dev))
            spent = 3 * 18 * task.shots
            row = {"coarse_F": fs}
            for f in (1, 2, 5, 10):
                _, tr = nelder_mead(
                    replace(task, shots=f * task.shots), dev, budget - spent, s, start=task.pulse(x)
                )
                shots = [360, 720, 1080] + [spent + v for v in tr.shots]
                fid = fs + tr.fidelity
                # held from: first index from which all later >= 0.999
                k = len(fid)
                while k > 0 and fid[k - 1] >= 0.999:
                    k -= 1
                row[f"{f}x"] = {
                    "held_from": shots[k] if k < len(fid) else None,
                    "final": fid[-1],
                    "min_after_coarse": min(tr.fidelity),
                }
            out[s] = row
            print(
                s,
                [round(v, 5) for v in fs],
                {k: v for k, v in row.items() if k != "coarse_F"},
                flush=True,
            )
    json.dump(out, open("docs/results/control_coarse_then_nm.json", "w"), indent=1)


if __name__ == "__main__":
    main()
