"""``hqml info``: what this installation runs on: versions, the simulator's engines and native
kernels (with the CPU, its instruction-set build and vector width), threads, devices, and which
optional extras are installed and what each enables.

Extras are looked up with :func:`importlib.util.find_spec`, never imported, so the command
stays quick whatever is installed.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib import metadata
from importlib.util import find_spec
from typing import Annotated, Any

import torch
import typer

from ..sim import native

# extra -> (the modules it installs, what it enables)
EXTRAS: dict[str, tuple[tuple[str, ...], str]] = {
    "qiskit": (
        ("qiskit", "qiskit_aer"),
        "Qiskit noise models (NoiseModel.from_qiskit); cross-checks in the tests",
    ),
    "pennylane": (("pennylane",), "cross-checks in the tests, the PennyLane bench peer"),
    "optimize": (("dimod", "dwave.samplers", "networkx"), "hqml qubo, QUBO/Ising solvers, QAOA"),
    "chem": (("pyscf", "openfermion"), "molecular Hamiltonians for VQE"),
    "tracking": (("mlflow",), "MLflow logging, hyperparameter search"),
    "runtime": (
        ("fastapi", "uvicorn", "sqlalchemy", "alembic", "httpx", "ray"),
        "hqml serve / jobs: the job service, Ray executors",
    ),
    "mitigation": (("mitiq",), "Mitiq cross-checks of ZNE and PEC in the tests"),
    "qec": (("stim", "pymatching"), "hqml.qec neural decoders, hqml qec bench"),
    "control": (
        ("gymnasium", "stable_baselines3"),
        "hqml.control RL calibration, hqml control bench",
    ),
    "hardware": (
        ("qiskit_ibm_runtime", "braket"),
        "provider backends: qiskit:<device> (Aer, IBM fake devices, IBM Quantum), braket:<device>",
    ),
    "bench": (
        ("pennylane_lightning", "qiskit_machine_learning", "qulacs", "tensorcircuit", "jax"),
        "hqml bench peers",
    ),
}


def _installed(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package that is missing or broken
        return False


def _version() -> str:
    try:
        return metadata.version("hqml")
    except metadata.PackageNotFoundError:
        return "unknown (not installed as a package)"


def collect() -> dict[str, Any]:
    """Everything ``hqml info`` shows, as a JSON-ready dict."""
    kernels = native.describe()
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [
            f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())
        ]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    extras = {}
    for name, (modules, enables) in EXTRAS.items():
        missing = [m for m in modules if not _installed(m)]
        extras[name] = {"installed": not missing, "missing": missing, "enables": enables}
    return {
        "hqml": _version(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": f"{platform.system()} {platform.machine()}",
        "cpu": kernels["cpu"],
        "native_kernels": kernels,
        "engines": _engines(kernels),
        "threads": {
            "torch": torch.get_num_threads(),
            "cpus": os.cpu_count(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        },
        "devices": devices,
        "extras": extras,
    }


def _engines(kernels: dict[str, Any]) -> dict[str, str]:
    """The statevector simulator's CPU engines and whether each runs here."""
    ok = kernels.get("beats_torch", {})

    def compiled(kind: str) -> str:
        if not kernels["available"]:
            return f"off ({kernels['reason']})"
        lost = [d for d, wins in ok.get(kind, {}).items() if not wins]
        return "on" if not lost else f"off for {', '.join(lost)} (slower than torch on this CPU)"

    return {
        "small registers (NumPy, up to 5 qubits)": "on",
        "compiled interpreter (small registers, batched)": compiled("interpreter"),
        "native layer kernels (6+ qubits)": compiled("layer"),
        "native trajectory kernel (noisy circuits by trajectories)": compiled("trajectories"),
        "torch kernels (everything else, CUDA)": "on",
    }


def _print(data: dict[str, Any]) -> None:
    k = data["native_kernels"]
    lines = [
        f"hqml {data['hqml']} (python {data['python']}, torch {data['torch']}, {data['platform']})",
        f"cpu: {data['cpu']} ({' '.join(k['cpu_simd']) or 'no SIMD flags listed'})",
    ]
    if k["available"]:
        lines.append(
            f"native kernels: {k['isa']} build ({k['variant']}), {k['vector_bytes']}-byte "
            f"vectors, {k['lanes']} samples per interpreter block"
        )
        lines.append(f"  library: {k['library']}")
    else:
        lines.append(f"native kernels: off ({k['reason']})")
    lines.append("engines:")
    lines += [f"  {name}: {state}" for name, state in data["engines"].items()]
    t = data["threads"]
    omp = f", OMP_NUM_THREADS={t['OMP_NUM_THREADS']}" if t["OMP_NUM_THREADS"] else ""
    lines.append(f"threads: {t['torch']} (torch) of {t['cpus']} CPUs{omp}")
    lines.append(f"devices: {', '.join(data['devices'])}")
    lines.append("extras:")
    for name, e in data["extras"].items():
        state = "installed" if e["installed"] else f"missing {', '.join(e['missing'])}"
        lines.append(f"  {name} ({state}): {e['enables']}")
    typer.echo("\n".join(lines))


def info(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of text")] = False,
) -> None:
    """Show versions, engines and native kernels (CPU, build, vector width), threads, devices
    and installed extras."""
    data = collect()
    if as_json:
        typer.echo(json.dumps(data, indent=1))
    else:
        _print(data)
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    app.command("info")(info)
