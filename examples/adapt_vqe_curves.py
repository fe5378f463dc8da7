"""ADAPT-VQE along bond-dissociation curves, against exact diagonalisation and UCCSD.

    PYTHONPATH=src python examples/adapt_vqe_curves.py --out results/adapt [--molecules H2,LiH,H4]

Writes ``adapt.json`` (every point), ``adapt.md`` (a table) and ``adapt_error.png`` (energy error
against bond length, chemical accuracy marked) under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from hqml.algorithms import VQE, AdaptVQE, fermionic_pool, qubit_excitation_pool
from hqml.chem import molecular_hamiltonian, uccsd

CHEMICAL_ACCURACY = 1.6e-3


def chain(symbol: str, n: int):
    return lambda r: [(symbol, (0.0, 0.0, i * r)) for i in range(n)]


MOLECULES = {
    # name: (geometry(r), active space, bond lengths in Angstrom)
    "H2": (chain("H", 2), None, [0.5, 0.735, 1.0, 1.5, 2.0, 2.5]),
    "LiH": (
        lambda r: [("Li", (0, 0, 0)), ("H", (0, 0, r))],
        (2, 3),
        [1.0, 1.6, 2.2, 2.8, 3.4],
    ),
    "BeH2": (
        lambda r: [("H", (0, 0, -r)), ("Be", (0, 0, 0)), ("H", (0, 0, r))],
        (4, 4),
        [1.0, 1.33, 1.8, 2.4],
    ),
    "H4": (chain("H", 4), None, [0.7, 1.0, 1.5, 2.0]),
    "H6": (chain("H", 6), None, [0.8, 1.0, 1.5]),
}
POOLS = {"fermionic": fermionic_pool, "qubit": qubit_excitation_pool}


# tight re-optimisation: L-BFGS-B to the energy's rounding, so the selected operators keep no
# residual gradient that would show up again in the pool's gradient norm
TIGHT = {"ftol": 1e-15, "gtol": 1e-9}


def one_point(
    name: str,
    r: float,
    pool_name: str,
    uccsd_max_qubits: int,
    max_operators: int,
    gradient_tol: float = 1e-4,
    tight: bool = False,
    checkpoint: Path | None = None,
) -> dict:
    geometry, active, _ = MOLECULES[name]
    mol = molecular_hamiltonian(geometry(r), active_space=active)
    # a stopped run continues from its checkpoint: the operators and angles after the last step
    saved = json.loads(checkpoint.read_text()) if checkpoint and checkpoint.exists() else None
    start = (saved["operators"], saved["angles"]) if saved else None
    earlier = saved["seconds"] if saved else 0.0
    # [operator count, error] after each step of the earlier pieces (older checkpoints: none)
    history = saved.get("history", []) if saved else []
    t0 = time.perf_counter()

    def save(operators, angles, energy):
        if checkpoint is not None:
            seconds = earlier + time.perf_counter() - t0
            history.append([len(operators), energy - mol.fci_energy])
            state = {"operators": operators, "angles": angles.tolist(), "seconds": seconds}
            checkpoint.write_text(json.dumps({**state, "history": history}))

    adapt = AdaptVQE(
        mol.hamiltonian,
        POOLS[pool_name](mol),
        mol.hf_bits,
        gradient_tol=gradient_tol,
        max_operators=max_operators,
        options=TIGHT if tight else None,
        maxiter=2000 if tight else 500,
    )
    res = adapt.run(start=start, callback=save)
    seconds = earlier + time.perf_counter() - t0
    ucc = uccsd(mol)
    row = {
        "molecule": name,
        "bond_length": r,
        "pool": pool_name,
        "qubits": mol.n_qubits,
        "fci": mol.fci_energy,
        "hf": mol.hf_energy,
        "adapt": res.energy,
        "adapt_error": res.energy - mol.fci_energy,
        "adapt_parameters": res.n_parameters,
        "adapt_cnots": res.n_cnots,
        "adapt_converged": res.converged,
        "adapt_message": res.message,
        "adapt_resumed_at": len(start[0]) if start else 0,
        "adapt_seconds": seconds,
        "adapt_reoptimize": res.provenance.get("reoptimize"),
        "gradient_tol": gradient_tol,
        "reoptimize_options": TIGHT if tight else "default (maxiter 500)",
        # error and gradient norm after each appended operator (since the checkpoint, if
        # resumed), and the first operator count inside chemical accuracy
        "adapt_trace": [
            [it.energy - mol.fci_energy, it.gradient_norm]
            for it in res.iterations
            if it.energy is not None
        ],
        # the first operator count inside chemical accuracy, over the checkpointed pieces too
        "operators_to_chemical_accuracy": next(
            (k for k, err in history if err < CHEMICAL_ACCURACY), None
        )
        if checkpoint is not None
        else next(
            (
                i + 1 + (len(start[0]) if start else 0)
                for i, it in enumerate(res.iterations)
                if it.energy is not None and it.energy - mol.fci_energy < CHEMICAL_ACCURACY
            ),
            None,
        ),
        "uccsd_parameters": ucc.num_parameters,
        "uccsd_cnots": ucc.count_ops()["cx"],
    }
    first = row["operators_to_chemical_accuracy"]
    if first is not None:  # the ansatz's first `first` operators: its CNOTs at that point
        index = {op.name: k for k, op in enumerate(adapt.pool)}
        head = adapt.ansatz([index[name] for name in res.operators[:first]])
        row["cnots_to_chemical_accuracy"] = head.count_ops().get("cx", 0)
    if mol.n_qubits <= uccsd_max_qubits and pool_name == "fermionic":
        e = VQE(mol.hamiltonian, ucc, maxiter=1000).run().energy
        row["uccsd_error"] = e - mol.fci_energy
    return row


def write_report(rows: list[dict], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "adapt.json").write_text(json.dumps(rows, indent=1))
    lines = [
        "| molecule | r (A) | pool | qubits | ADAPT error (Ha) | params | CNOTs"
        " | UCCSD params | UCCSD CNOTs | UCCSD error (Ha) | first inside chem. acc."
        " (params / CNOTs) | chem. acc. | converged | gradient_tol |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for w in rows:
        ucc_err = f"{w['uccsd_error']:.1e}" if "uccsd_error" in w else "-"
        ok = "yes" if abs(w["adapt_error"]) < CHEMICAL_ACCURACY else "NO"
        first = w.get("operators_to_chemical_accuracy")
        head = f"{first} / {w.get('cnots_to_chemical_accuracy', '-')}" if first else "-"
        lines.append(
            f"| {w['molecule']} | {w['bond_length']} | {w['pool']} | {w['qubits']}"
            f" | {w['adapt_error']:.1e} | {w['adapt_parameters']} | {w['adapt_cnots']}"
            f" | {w['uccsd_parameters']} | {w['uccsd_cnots']} | {ucc_err} | {head} | {ok}"
            f" | {'yes' if w['adapt_converged'] else 'NO: ' + w['adapt_message']}"
            f" | {w.get('gradient_tol', 1e-4):.0e}"
            f"{' tight' if isinstance(w.get('reoptimize_options'), dict) else ''} |"
        )
    (out / "adapt.md").write_text("\n".join(lines) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for key in sorted({(w["molecule"], w["pool"]) for w in rows}):
        pts = [w for w in rows if (w["molecule"], w["pool"]) == key]
        ax.semilogy(
            [w["bond_length"] for w in pts],
            [max(abs(w["adapt_error"]), 1e-12) for w in pts],
            "o-",
            label=f"{key[0]} ({key[1]})",
        )
    ax.axhline(CHEMICAL_ACCURACY, color="k", ls="--", label="chemical accuracy")
    ax.set_xlabel("bond length (Angstrom)")
    ax.set_ylabel("|E_ADAPT - E_FCI| (Ha)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "adapt_error.png", dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--molecules", default="H2,LiH,H4")
    ap.add_argument("--pools", default="fermionic,qubit")
    ap.add_argument("--out", default="results/adapt")
    ap.add_argument("--uccsd-energy-max-qubits", type=int, default=8)
    ap.add_argument("--bond-lengths", default="", help="comma list replacing each molecule's")
    ap.add_argument("--max-operators", type=int, default=200)
    ap.add_argument("--gradient-tol", type=float, default=1e-4)
    ap.add_argument("--tight", action="store_true", help="re-optimise to ftol 1e-15, gtol 1e-9")
    ap.add_argument("--checkpoint", action="store_true", help="save/continue each point's ansatz")
    ap.add_argument("--resume", action="store_true", help="keep the points of adapt.json")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = json.loads((out / "adapt.json").read_text()) if args.resume else []
    done = {(w["molecule"], w["bond_length"], w["pool"]) for w in rows}
    for name in args.molecules.split(","):
        lengths = [float(r) for r in args.bond_lengths.split(",") if r] or MOLECULES[name][2]
        for r in lengths:
            for pool in args.pools.split(","):
                if (name, r, pool) in done:
                    continue
                row = one_point(
                    name, r, pool, args.uccsd_energy_max_qubits, args.max_operators,
                    args.gradient_tol, args.tight,
                    out / f"checkpoint_{name}_{r}_{pool}.json" if args.checkpoint else None,
                )  # fmt: skip
                rows.append(row)
                print(
                    f"{name} r={r} {pool}: error {row['adapt_error']:.1e} Ha,"
                    f" {row['adapt_parameters']} params / {row['adapt_cnots']} CNOTs"
                    f" (UCCSD {row['uccsd_parameters']} / {row['uccsd_cnots']}),"
                    f" {row['adapt_seconds']:.1f} s",
                    flush=True,
                )
                write_report(rows, out)


if __name__ == "__main__":
    main()
