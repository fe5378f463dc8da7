"""``make run`` installs the core dependencies only: the main job must run without any extra.

The test runs ``hqml run examples/digits_hybrid.toml`` (one epoch) in a fresh interpreter in
which every module of every optional extra fails to import, as in a light install.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

pytestmark = pytest.mark.slow  # servers, Ray, subprocesses: `make test-fast` skips these

ROOT = Path(__file__).resolve().parents[1]
# distribution name -> the modules it provides (where they differ)
MODULES = {
    "dwave-samplers": ["dwave"],
    "pennylane-lightning": ["pennylane_lightning"],
    "qiskit-aer": ["qiskit_aer"],
    "qiskit-machine-learning": ["qiskit_machine_learning"],
    "qiskit-qasm3-import": ["qiskit_qasm3_import"],
    "tensorcircuit-ng": ["tensorcircuit"],
    "pytest-timeout": ["pytest_timeout"],
    "qiskit-ibm-runtime": ["qiskit_ibm_runtime"],
    "amazon-braket-sdk": ["braket"],
}

BLOCKER = """
import importlib.abc, runpy, sys
BLOCKED = set({blocked!r})
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (light install)", name=name)
sys.meta_path.insert(0, Block())
sys.argv = ["hqml"] + {args!r}
runpy.run_module("hqml.cli.main", run_name="__main__")
"""


def _name(req: str) -> str:
    return re.split(r"[<>=\[;! (]", req.strip())[0].lower()


def core_closure() -> set[str]:
    """Distributions the core dependencies bring, transitively (torch needs networkx, ...)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo = [_name(d) for d in project["dependencies"]]
    seen: set[str] = set()
    while todo:
        dist = todo.pop()
        if dist in seen:
            continue
        seen.add(dist)
        try:
            reqs = importlib.metadata.requires(dist) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        todo += [_name(r) for r in reqs if "extra ==" not in r]
    return seen


def extra_modules() -> set[str]:
    """Top-level modules of the extras' distributions that the core does not bring anyway."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = core_closure()
    out = set()
    for reqs in project["optional-dependencies"].values():
        for req in reqs:
            dist = _name(req)
            if dist != "hqml" and dist not in core:
                out.update(MODULES.get(dist, [dist.replace("-", "_")]))
    return out


def test_makefile_run_installs_the_core_and_test_every_extra():
    text = (ROOT / "Makefile").read_text()
    core = text.split("$(CORE_STAMP):")[1].split("\n\n")[0]
    assert "$(PIP) install --quiet -e .\n" in core and "[all]" not in core
    assert re.search(r"^run: setup$", text, re.M) and re.search(
        r"^setup: \$\(CORE_STAMP\)", text, re.M
    )
    assert re.search(r"^test: setup-all( lint)?$", text, re.M) and '-e ".[all]"' in text
    core_deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=\[;! ]", d)[0] for d in core_deps}
    assert {"torch", "scikit-learn", "matplotlib"} <= names
    assert not names & {"qiskit", "pennylane", "ray", "mlflow", "fastapi"}


def test_main_job_runs_without_any_extra(tmp_path):
    blocked = sorted(extra_modules() - {"pytest", "hypothesis", "ruff"})
    assert {"qiskit", "pennylane", "ray", "mlflow", "dimod", "fastapi"} <= set(blocked)
    args = [
        "run",
        str(ROOT / "examples" / "digits_hybrid.toml"),
        "--epochs",
        "1",
        "--output-dir",
        str(tmp_path / "runs"),
        "--threads",
        "1",
    ]
    proc = subprocess.run(
        [sys.executable, "-c", BLOCKER.format(blocked=blocked, args=args)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    results = json.loads((tmp_path / "runs" / "digits_hybrid" / "results.json").read_text())
    assert set(results["models"]) == {"hybrid", "baseline"}
    assert results["mlflow_run_id"] is None  # MLflow is an extra: skipped, not an error
