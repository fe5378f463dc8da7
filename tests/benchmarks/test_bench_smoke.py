"""Smoke tests of the benchmark suite (hqml.bench) on tiny sizes: agreement checks, plug-in
discovery, refusal of a disagreeing framework, report outputs, the ``hqml bench`` command and
its device option (cpu by default; cuda refused without a GPU, peers without a GPU variant
skipped with the reason; the quick suite on cuda where a GPU is present).

The peers here are the ones that start in well under a second; TensorCircuit-NG (jit
compilation), Qiskit Machine Learning (seconds per step even at 3 qubits) and TorchQuantum (a
subprocess in its own venv) run in ``hqml bench --quick``.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch

from hqml.bench.devices import NO_GPU_VARIANT
from hqml.bench.registry import discover
from hqml.bench.report import print_report, summary_rows, write_outputs
from hqml.bench.suite import run_suite
from hqml.bench.timing import time_step
from hqml.bench.worker import run_one

pytestmark = pytest.mark.slow  # servers, Ray, subprocesses: `make test-fast` skips these

FAST_PEERS = [
    "torch",
    "cirq",
    "pennylane",
    "lightning",
    "lightning.kokkos",
    "qulacs",
    "qiskit-aer",
    "qsim",
]
HAS_CUDA = torch.cuda.is_available()
CUDA_ERROR = "error: --device cuda needs a CUDA build of torch and a visible GPU; none found"


def _dense_vqc_expz(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """<Z_i> of the W1 ansatz by dense matrices (wire 0 = most significant bit)."""
    n, layers = x.shape[1], w.shape[0]
    eye, zm = np.eye(2), np.diag([1.0, -1.0])

    def on(gate: np.ndarray, q: int) -> np.ndarray:
        out = np.array([[1.0 + 0j]])
        for k in range(n):
            out = np.kron(out, gate if k == q else eye)
        return out

    def ry(t: float) -> np.ndarray:
        return np.array([[np.cos(t / 2), -np.sin(t / 2)], [np.sin(t / 2), np.cos(t / 2)]])

    def rz(t: float) -> np.ndarray:
        return np.diag([np.exp(-0.5j * t), np.exp(0.5j * t)])

    def cnot(c: int, t: int) -> np.ndarray:
        p0, p1 = np.diag([1.0, 0.0]), np.diag([0.0, 1.0])
        a = on(p0, c)
        b = np.array([[1.0 + 0j]])
        for k in range(n):
            b = np.kron(b, p1 if k == c else (np.array([[0, 1], [1, 0]]) if k == t else eye))
        return a + b

    out = np.zeros((x.shape[0], n))
    for s, xs in enumerate(x):
        psi = np.zeros(2**n, complex)
        psi[0] = 1
        for i in range(n):
            psi = on(ry(xs[i]), i) @ psi
        for layer in range(layers):
            for i in range(n):
                psi = on(rz(w[layer, i, 1]), i) @ on(ry(w[layer, i, 0]), i) @ psi
            for i in range(n):
                psi = cnot(i, (i + 1) % n) @ psi
        out[s] = [np.real(psi.conj() @ on(zm, i) @ psi) for i in range(n)]
    return out


def test_hqml_w1_matches_dense_reference_and_finite_differences():
    from hqml.bench.w1_vqc import WORKLOAD, make_data

    case = WORKLOAD.quick_cases[0]
    result, values = run_one("W1", "hqml", case, repeats=1)
    assert result["status"] == "ok" and result["median_s"] > 0
    data = make_data(case)
    e = _dense_vqc_expz(data["x"], data["w"])
    np.testing.assert_allclose(values["expval"], e, atol=1e-5)
    np.testing.assert_allclose(values["loss"], (e**2).sum(1).mean(), atol=1e-5)
    grad, h = np.zeros_like(data["w"]), 1e-5
    for idx in np.ndindex(*data["w"].shape):
        wp, wm = data["w"].copy(), data["w"].copy()
        wp[idx] += h
        wm[idx] -= h
        lp = (_dense_vqc_expz(data["x"], wp) ** 2).sum(1).mean()
        lm = (_dense_vqc_expz(data["x"], wm) ** 2).sum(1).mean()
        grad[idx] = (lp - lm) / (2 * h)
    np.testing.assert_allclose(values["grad_w"], grad, atol=1e-4)


def test_quick_suite_every_installed_peer_agrees_with_hqml():
    # W10 (noisy fake-device simulation, seconds per step) has its own checks:
    # tests/benchmarks/test_bench_hardware.py
    names = [w for w in discover() if w != "W10"]
    doc = run_suite(names, quick=True, repeats=1, frameworks=FAST_PEERS, bandwidth=False)
    assert set(doc["workloads"]) >= {"W1", "W2", "W3", "W6", "W7", "W8", "W9"}
    assert doc["device"] == "cpu" and doc["gpu"] is None  # the default device, recorded
    by = {(r["workload"], r["label"], r["framework"]): r for r in doc["results"]}
    for r in doc["results"]:
        assert r["status"] in ("ok", "not installed", "skipped"), r
        assert r["device"] == "cpu"
        if r["status"] == "ok":
            assert r["memory"] == "rss"
        if r["framework"] == "hqml":
            assert r["status"] == "ok", r
            assert r["min_s"] <= r["median_s"] <= r["max_s"] and r["first_call_s"] > 0
    # W3's deep case is hqml-only; W2 complex64 is not run by Qulacs (complex128 only)
    assert by[("W3", "n=4 L=8", "lightning")]["status"] == "skipped"
    assert by[("W2", "n=4 c64", "qulacs")]["status"] in ("skipped", "not installed")
    ran = {(r["workload"], r["framework"]) for r in doc["results"] if r["status"] == "ok"}
    new = {("W6", "qiskit-aer"), ("W6", "cirq"), ("W6", "pennylane"), ("W6", "qulacs")}
    new |= {("W7", "pennylane"), ("W8", "qiskit-aer"), ("W9", "pennylane")}
    new |= {("W8", "hqml-forward")}  # hqml's energy alone agrees with its full step
    assert new <= ran  # issue 17's workloads: these peers agree with hqml
    ran = {framework for _, framework in ran}
    assert "torch" in ran  # the hand-written torch statevector needs nothing extra


PLUGIN = """
import numpy as np
from hqml.bench.registry import Impl, Prepared, Workload

def make_data(case):
    return {"v": np.arange(case["n"], dtype=float)}

def _impl(shift_forward, shift_grad):
    def setup(case, data):
        v = data["v"]
        return Prepared(lambda: v, lambda out: {"value": out + shift_forward,
                                                "grad_v": 2 * out + shift_grad})
    return setup

WORKLOAD = Workload(name="W9", title="plug-in test", cases=[{"n": 8}], quick_cases=[{"n": 3}],
                    make_data=make_data,
                    impls=[Impl("hqml", _impl(0.0, 0.0)), Impl("close", _impl(5e-6, 5e-5)),
                           Impl("off", _impl(0.0, 3e-4)), Impl("absent", _impl(0.0, 0.0),
                                                               modules=("no_such_module_xyz",))])
"""


@pytest.fixture
def plugin_dir(tmp_path):
    (tmp_path / "w9_plugin_test.py").write_text(PLUGIN)
    (tmp_path / "w8_script_test.py").write_text("X = 1  # a standalone script, no WORKLOAD\n")
    (tmp_path / "w7_broken_test.py").write_text("import no_such_module_abc\n")
    return tmp_path


def test_plugin_discovered_and_disagreeing_framework_refused(plugin_dir, tmp_path):
    doc = run_suite(quick=True, repeats=2, bandwidth=False, directory=plugin_dir)
    assert list(doc["workloads"]) == ["W9"]
    assert set(doc["plugin_problems"]) == {"w8_script_test.py", "w7_broken_test.py"}
    status = {r["framework"]: r for r in doc["results"]}
    assert status["hqml"]["status"] == "ok" and status["hqml"]["repeats"] == 2
    assert status["close"]["status"] == "ok"
    assert status["off"]["status"] == "disagrees" and "median_s" not in status["off"]
    assert "grad_v" in status["off"]["detail"]
    assert status["absent"]["status"] == "not installed"
    paths = write_outputs(doc, tmp_path / "out")
    saved = json.loads(paths["json"].read_text())
    assert saved["summary"]["W9"][0]["peers"]["off"]["status"] == "disagrees"
    assert paths["png"].stat().st_size > 0
    from rich.console import Console

    buf = io.StringIO()
    print_report(doc, Console(file=buf, width=200))
    assert "DISAGREES" in buf.getvalue() and "w7_broken_test.py" in buf.getvalue()


def test_summary_ratios():
    def res(fw, t):
        return {"workload": "W1", "framework": fw, "label": "n=4", "status": "ok", "median_s": t}

    doc = {
        "workloads": {"W1": {"title": "t", "cases": ["n=4"], "size_key": "n"}},
        "results": [
            res("hqml", 0.5),
            res("a", 2.0),
            res("b", 1.0),
            {**res("c", None), "status": "disagrees"},
        ],
    }
    (row,) = summary_rows(doc, "W1")
    assert row["peers"]["a"]["ratio"] == pytest.approx(0.25)
    assert row["fastest_peer"] == "b" and row["speedup_vs_fastest"] == pytest.approx(2.0)
    assert row["peers"]["c"]["median_s"] is None


def test_summary_ratios_set_a_forward_only_peer_against_hqml_forward():
    """W8's case: qsim gives the energy only. Its ratio is hqml's energy-only run against it,
    the full-step ratio kept beside; without hqml-forward the ratio is marked unlike."""

    def res(fw, t, **extra):
        return {"workload": "W8", "framework": fw, "label": "n=20", "status": "ok",
                "median_s": t, "first_call_s": 2 * t, "peak_mb": 1.0, **extra}  # fmt: skip

    results = [
        res("hqml", 0.4),
        res("hqml-forward", 0.05),
        res("lightning", 1.2),
        res("qsim", 0.1, outputs=["energy"]),
    ]
    doc = {"workloads": {"W8": {"title": "t", "cases": ["n=20"], "size_key": "n"}},
           "results": results}  # fmt: skip
    (row,) = summary_rows(doc, "W8")
    assert "hqml-forward" not in row["peers"] and row["hqml_forward_s"] == 0.05
    q = row["peers"]["qsim"]
    assert q["against"] == "hqml-forward" and q["like_for_like"]
    assert q["ratio"] == pytest.approx(0.5) and q["ratio_full"] == pytest.approx(4.0)
    assert row["peers"]["lightning"]["ratio"] == pytest.approx(0.4 / 1.2)
    # the peer hqml leads least, like for like: qsim at 2x (lightning 3x)
    assert row["fastest_peer"] == "qsim" and row["speedup_vs_fastest"] == pytest.approx(2.0)
    assert row["like_for_like"]
    buf = io.StringIO()
    from rich.console import Console

    print_report(doc, Console(file=buf, width=200))
    assert "0.50 forward; full step 4.00" in buf.getvalue()
    assert "W8 first call < 1 s at every n: yes" in buf.getvalue()
    doc["results"] = [r for r in results if r["framework"] != "hqml-forward"]
    (row,) = summary_rows(doc, "W8")
    q = row["peers"]["qsim"]
    assert q["against"] == "hqml" and not q["like_for_like"] and q["ratio"] == pytest.approx(4.0)
    assert row["fastest_peer"] == "qsim" and not row["like_for_like"]
    assert row["speedup_vs_fastest"] == pytest.approx(0.25)


def test_time_step_counts_warmup_and_repeats():
    calls = []
    timing = time_step(lambda: calls.append(1), first_call_s=1e-4, repeats=4)
    assert len(calls) == timing.warmup + 4 and timing.warmup == 2
    assert timing.min_s <= timing.median_s <= timing.max_s and timing.repeats == 4


def test_time_step_synchronizes_after_every_call():
    calls, synced = [], []
    timing = time_step(
        lambda: calls.append(1),
        first_call_s=1e-4,
        repeats=3,
        sync=lambda: synced.append(len(calls)),
    )
    assert synced == list(range(1, timing.warmup + 3 + 1))  # once after each call, in order


def _quick_case(workload: str, framework: str) -> tuple:
    wl = discover()[workload]
    return wl.impl(framework), wl.quick_cases[0]


@pytest.mark.parametrize(
    "workload, framework",
    [
        ("W2", "qulacs"),
        ("W3", "pennylane"),
        ("W4", "hqml"),
        ("W4", "qiskit-ml"),
        ("W4", "qiskit-ml-fqk"),
        ("W4", "pennylane"),
    ],
)
def test_cuda_skips_peers_without_gpu_variant(workload, framework):
    impl, case = _quick_case(workload, framework)
    assert impl.gpu is None
    assert impl.skip_reason(case, "cuda").startswith(NO_GPU_VARIANT)
    assert impl.gpu_problem().startswith(NO_GPU_VARIANT)
    assert impl.skip_reason(case, "cpu") == impl.supports(case)  # cpu: the case rule only


def test_cuda_variants_declared_per_workload():
    found = discover()
    on_gpu = {
        name: {i.framework for i in wl.impls if i.gpu is not None}
        for name, wl in found.items()
        if name in ("W1", "W2", "W3")
    }
    assert on_gpu == {
        "W1": {
            "hqml",
            "torch",
            "pennylane",
            "lightning",
            "qiskit-ml",
            "tensorcircuit",
            "torchquantum",
        },
        "W2": {"hqml", "lightning", "qiskit-aer"},
        "W3": {"hqml", "lightning"},
    }
    for name in on_gpu:  # a declared variant passes the static check; the case rule still holds
        wl = found[name]
        for impl in wl.impls:
            if impl.gpu is not None:
                for case in wl.quick_cases:
                    assert impl.skip_reason(case, "cuda") == impl.supports(case)


def test_worker_request_carries_device_and_skips_without_gpu_variant(tmp_path):
    from hqml.bench.worker import main

    _, case = _quick_case("W2", "qulacs")
    req, out = tmp_path / "req.json", tmp_path / "out.json"
    req.write_text(
        json.dumps(
            {
                "workload": "W2",
                "framework": "qulacs",
                "case": case,
                "threads": 1,
                "repeats": 1,
                "device": "cuda",
            }
        )
    )
    assert main([str(req), str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["device"] == "cuda" and result["status"] == "skipped"
    assert result["detail"].startswith(NO_GPU_VARIANT) and "Qulacs" in result["detail"]


@pytest.mark.skipif(HAS_CUDA, reason="checks the messages of a machine without a GPU")
def test_cuda_variants_missing_here_are_skipped_with_reason():
    hqml_impl, case = _quick_case("W1", "hqml")
    assert "CUDA" in hqml_impl.gpu_problem() or "GPU" in hqml_impl.gpu_problem()
    lightning, _ = _quick_case("W2", "lightning")
    assert "lightning.gpu" in lightning.gpu_problem()
    aer, _ = _quick_case("W2", "qiskit-aer")
    assert "GPU" in aer.gpu_problem()
    result, values = run_one("W3", "lightning", {"n": 4, "layers": 2}, repeats=1, device="cuda")
    assert result["status"] == "skipped" and "lightning.gpu" in result["detail"]
    assert values is None


@pytest.mark.skipif(HAS_CUDA, reason="checks the refusal on a machine without a GPU")
def test_device_cuda_without_gpu_fails_before_any_work(tmp_path):
    from typer.testing import CliRunner

    from hqml.cli.main import app

    out = CliRunner().invoke(
        app, ["bench", "--quick", "--device", "cuda", "--out", str(tmp_path / "out"), "--no-plot"]
    )
    assert out.exit_code == 2
    (line,) = out.output.strip().splitlines()  # one line, no progress: nothing ran
    assert line.startswith(CUDA_ERROR) and line.endswith("use --device cpu)")
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="needs a CUDA build of torch"):
        run_suite(quick=True, device="cuda")
    bad = CliRunner().invoke(app, ["bench", "--quick", "--device", "tpu"])
    assert bad.exit_code == 2 and "unknown device 'tpu'" in bad.output


@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA build of torch and a GPU")
def test_quick_suite_on_cuda():
    doc = run_suite(
        ["W1", "W2", "W3"],
        quick=True,
        repeats=1,
        frameworks=FAST_PEERS,
        bandwidth=False,
        device="cuda",
    )
    assert doc["device"] == "cuda" and doc["gpu"] == torch.cuda.get_device_name()
    assert doc["machine"]["gpu"] == doc["gpu"]
    by = {(r["workload"], r["label"], r["framework"]): r for r in doc["results"]}
    for r in doc["results"]:
        assert r["device"] == "cuda"
        assert r["status"] in ("ok", "not installed", "skipped"), r
        if r["framework"] in ("hqml", "torch") and r["status"] != "not installed":
            assert r["status"] == "ok", r
            assert r["memory"] == "cuda max_memory_allocated" and r["peak_mb"] >= 0
            assert r["min_s"] <= r["median_s"] <= r["max_s"]
        if r["status"] == "ok" and r["framework"] == "lightning":
            assert "lightning.gpu" in r["info"]  # never lightning.qubit under a cuda label
        if r["status"] == "ok" and r["framework"] == "qiskit-aer":
            assert "GPU" in r["info"]
    assert by[("W1", "n=3", "torch")]["status"] == "ok"
    for label in ("n=4 c128", "n=4 c64"):
        assert by[("W2", label, "qulacs")]["status"] in ("skipped", "not installed")
    qulacs = by[("W2", "n=4 c128", "qulacs")]
    assert qulacs["status"] == "not installed" or qulacs["detail"].startswith(NO_GPU_VARIANT)
    assert by[("W3", "n=4 L=2", "pennylane")]["detail"].startswith(NO_GPU_VARIANT)


def test_cli_bench_quick_and_bad_workload(tmp_path):
    from typer.testing import CliRunner

    from hqml.cli.main import app

    runner = CliRunner()
    out = runner.invoke(
        app, ["bench", "--quick", "-w", "W2", "-f", "qulacs", "--out", str(tmp_path), "--no-plot"]
    )
    assert out.exit_code == 0, out.output
    assert "W2" in out.output and "memory bandwidth" in out.output
    (path,) = tmp_path.glob("bench-*-quick.json")
    doc = json.loads(path.read_text())
    assert doc["bandwidth"]["best_gbs"] > 0 and doc["limit"]
    assert doc["device"] == "cpu" and "device: cpu" in out.output and "W2 on cpu" in out.output
    bad = runner.invoke(app, ["bench", "--quick", "-w", "W42"])
    assert bad.exit_code == 2 and "unknown workload" in bad.output
    bad = runner.invoke(app, ["bench", "--quick", "-w", "W2", "-f", "qulaks", "--no-plot"])
    assert bad.exit_code == 2
    assert bad.output.strip() == (
        "error: unknown framework(s) qulaks; available: cudaq, hqml, lightning,"
        " lightning.kokkos, qiskit-aer, qsim, qulacs"
    )


WARNING_PLUGIN = """
import sys, warnings
import numpy as np
from hqml.bench.registry import Impl, Prepared, Workload

def _impl(noisy):
    def setup(case, data):
        if noisy:
            warnings.warn("peer deprecation", DeprecationWarning)
            print("optional thing not installed", file=sys.stderr)
        v = np.arange(case["n"], dtype=float)
        return Prepared(lambda: v, lambda out: {"value": out})
    return setup

WORKLOAD = Workload(name="W9", title="warnings test, N samples", cases=[{"n": 8}],
                    quick_cases=[{"n": 3}], make_data=lambda case: {},
                    impls=[Impl("hqml", _impl(False)), Impl("noisy", _impl(True))])
"""


def test_peer_warnings_go_to_the_result_not_the_terminal(tmp_path, capfd):
    (tmp_path / "w9_warn.py").write_text(WARNING_PLUGIN)
    doc = run_suite(quick=True, repeats=1, bandwidth=False, directory=tmp_path)
    captured = capfd.readouterr()
    assert "peer deprecation" not in captured.err + captured.out
    assert "optional thing" not in captured.err + captured.out
    noisy = next(r for r in doc["results"] if r["framework"] == "noisy")
    assert noisy["status"] == "ok"
    assert noisy["warnings"] == [
        "DeprecationWarning: peer deprecation",
        "optional thing not installed",
    ]
    assert "warnings" not in next(r for r in doc["results"] if r["framework"] == "hqml")


def test_quick_titles_and_single_size_plot(tmp_path):
    w4 = discover()["W4"]
    assert "N=200" not in w4.title and all(c["N"] == 8 for c in w4.quick_cases)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hqml.bench.report import draw_panel

    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / "w9_warn.py").write_text(WARNING_PLUGIN)
    doc = run_suite(quick=True, repeats=1, bandwidth=False, directory=plugin)
    fig, ax = plt.subplots()
    draw_panel(ax, doc, "W9")
    assert not ax.lines and len(ax.patches) == 2  # one size: a bar per framework, no lines
    assert [t.get_text() for t in ax.get_xticklabels()] == ["hqml", "noisy"]
    doc["results"] += [{**r, "case": {"n": 5}, "label": "n=5"} for r in doc["results"]]
    ax.clear()
    draw_panel(ax, doc, "W9")
    assert len(ax.lines) == 2 and not ax.patches  # two sizes: a line per framework
    plt.close(fig)
    paths = write_outputs(doc, tmp_path / "out")
    assert paths["png"].stat().st_size > 0
