"""``hqml bench`` works from a built wheel outside any checkout (the harness is inside the
package, not a ``benchmarks/`` folder of the source tree), and users' plug-in workload files are
found through ``$HQML_BENCH_PLUGINS``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hqml.bench.registry import PLUGINS_ENV, discover

ROOT = Path(__file__).resolve().parents[2]


AS_MINUS_M = (
    "import runpy, sys, hqml; print(hqml.__file__, flush=True); sys.argv[0] = 'hqml'; "
    "runpy.run_module('hqml', run_name='__main__', alter_sys=True)"
)


@pytest.mark.slow
def test_built_wheel_runs_bench_quick_outside_the_checkout(tmp_path):
    wheels, site, outside = tmp_path / "wheels", tmp_path / "site", tmp_path / "outside"
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)],
        check=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("hqml-*.whl")
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True, timeout=300
    )
    outside.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    # `python -m hqml bench ...` (runpy, as -m does), saying first which hqml it imported: one
    # process (a start of Python, torch and hqml costs seconds) for both checks
    run = subprocess.run(
        [sys.executable, "-c", AS_MINUS_M, "bench", "--quick", "-w", "W1", "-f", "torch",
         "--no-plot"],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    where = run.stdout.splitlines()[0] if run.stdout else ""
    assert where.startswith(str(site)), where  # the wheel's copy, not the checkout's
    assert run.returncode == 0, run.stderr[-2000:]
    (result,) = (outside / "bench-results").glob("bench-*-quick.json")
    doc = json.loads(result.read_text())
    ok = {r["framework"] for r in doc["results"] if r["status"] == "ok"}
    assert ok == {"hqml", "torch"}, doc["results"]


PLUGIN = """
import numpy as np
from hqml.bench.registry import Impl, Prepared, Workload

def _one(case, data):
    return Prepared(step=lambda: np.ones(2), values=lambda out: {"v": out})

WORKLOAD = Workload(name="W77", title="plug-in from a user folder", cases=[{"n": 1}],
                    quick_cases=[{"n": 1}], make_data=lambda case: {},
                    impls=[Impl("hqml", _one), Impl("other", _one)])
"""


def test_plugin_folder_from_the_environment_joins_the_package_workloads(tmp_path, monkeypatch):
    (tmp_path / "w77_user.py").write_text(PLUGIN)
    assert "W77" not in discover()
    monkeypatch.setenv(PLUGINS_ENV, str(tmp_path))
    found = discover()
    assert {"W1", "W2", "W3", "W4", "W77"} <= set(found)
    assert found["W77"].title == "plug-in from a user folder"
