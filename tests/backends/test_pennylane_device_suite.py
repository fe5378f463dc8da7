"""PennyLane's own device test suite (``pennylane/devices/tests``) against ``hqml.statevector``,
as PennyLane documents it (``pytest <suite> --device=hqml.statevector``), run in a subprocess.

Exact values only: with shots the suite relies on the ``flaky`` plugin's reruns, so it is not
deterministic. The suite imports ``flaky`` and one test uses ``pytest-mock``; when they are not
installed a no-op ``flaky`` decorator is put on the path (reruns never matter for exact values)
and that one test (a legacy-device broadcasting check) is deselected."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

pytest.importorskip("pennylane", reason="needs the pennylane extra")

FLAKY_STUB = """def flaky(*args, **kwargs):
    if args and callable(args[0]):
        return args[0]
    return lambda obj: obj
"""


@pytest.mark.slow
def test_pennylanes_device_suite_passes_for_hqml_statevector(tmp_path):
    if not any(e.name == "hqml.statevector" for e in entry_points(group="pennylane.plugins")):
        pytest.skip("hqml is not installed: the pennylane.plugins entry point is missing")
    import pennylane

    suite = Path(pennylane.__file__).parent / "devices" / "tests"
    paths = [str(Path(__file__).resolve().parents[2] / "src"), *sys.path]
    if importlib.util.find_spec("flaky") is None:
        (tmp_path / "flaky.py").write_text(FLAKY_STUB)
        paths.insert(0, str(tmp_path))
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(suite),
           "--device=hqml.statevector", "-W", "ignore::DeprecationWarning"]  # fmt: skip
    if importlib.util.find_spec("pytest_mock") is None:
        cmd += ["-k", "not test_supports_broadcasting"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    run = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    tail = run.stdout[-3000:] + run.stderr[-2000:]
    assert run.returncode == 0, tail
    summary = run.stdout.strip().splitlines()[-1]
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|errors?|skipped)", summary)}
    assert counts.get("passed", 0) >= 350, summary  # 398 with PennyLane 0.45.1
    assert not counts.get("failed") and not counts.get("error") and not counts.get("errors")
