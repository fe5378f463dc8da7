"""``hqml info``: versions, engines and native kernels (CPU, build, vector width), threads,
devices and extras, checked against what the test finds itself; no heavy extra is imported."""

import json
import os
import subprocess
import sys
from importlib.util import find_spec

import pytest
import torch
from typer.testing import CliRunner

from hqml.cli.info import EXTRAS
from hqml.cli.main import app
from hqml.sim import native
from hqml.sim.native import build

pytestmark = pytest.mark.slow  # servers, Ray, subprocesses: `make test-fast` skips these


def _installed(module):
    try:
        return find_spec(module) is not None
    except ImportError:
        return False


def test_info_json_reports_this_machine():
    res = CliRunner().invoke(app, ["info", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["torch"] == torch.__version__
    assert data["python"] == ".".join(map(str, sys.version_info[:3]))
    assert data["cpu"] == build.cpu_model()
    assert data["threads"]["torch"] == torch.get_num_threads()
    assert data["devices"][0] == "cpu"
    assert any(d.startswith("cuda") for d in data["devices"]) == torch.cuda.is_available()
    for name, (modules, _) in EXTRAS.items():
        want = [m for m in modules if not _installed(m)]
        assert data["extras"][name]["missing"] == want
        assert data["extras"][name]["installed"] == (not want)
    k = data["native_kernels"]
    assert k["available"] == native.available()
    if k["available"]:
        lib = native._load()
        assert k["isa"] == lib.hqml_isa().decode()
        assert k["vector_bytes"] == lib.hqml_vector_bytes() in (16, 32, 64)
        assert (k["vector_bytes"] == 64) == ("avx512f" in build.cpu_flags())


@pytest.mark.skipif(not native.available(), reason="native kernels not built")
def test_info_text_names_the_build_and_its_vector_width():
    res = CliRunner().invoke(app, ["info"])
    assert res.exit_code == 0, res.output
    k = native.describe()
    assert f"native kernels: {k['isa']} build ({k['variant']}), {k['vector_bytes']}-byte" in (
        res.output
    )
    assert f"cpu: {build.cpu_model()}" in res.output
    assert "native layer kernels (6+ qubits): on" in res.output or "slower than torch" in res.output
    assert "devices: cpu" in res.output


def test_info_without_native_kernels_says_why(monkeypatch):
    monkeypatch.setattr(native, "_state", {"lib": None, "tried": True})
    monkeypatch.setenv("HQML_NATIVE", "1")
    res = CliRunner().invoke(app, ["info"])
    assert res.exit_code == 0, res.output
    assert "native kernels: off (no library" in res.output
    assert "compiled interpreter (small registers, batched): off" in res.output
    monkeypatch.setenv("HQML_NATIVE", "0")
    res = CliRunner().invoke(app, ["info"])
    assert "native kernels: off (disabled by HQML_NATIVE=0)" in res.output


def test_info_imports_no_optional_extra():
    heavy = ["qiskit", "pennylane", "ray", "mlflow", "pyscf", "jax", "fastapi", "mitiq", "qulacs"]
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom hqml.cli.main import app\n"
        "res = CliRunner().invoke(app, ['info'])\nassert res.exit_code == 0, res.output\n"
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
        env={**os.environ, "HQML_NATIVE_CALIBRATE": "0"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
