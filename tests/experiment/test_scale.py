"""``hqml scale``: config, resumability, the measurements' instruments, thresholds, outputs."""

from __future__ import annotations

import importlib.util
import json
import math
import time

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from hqml.backends.base import Backend, Capabilities
from hqml.backends.registry import get_backend
from hqml.cli.main import app
from hqml.experiment import build_hybrid, parse_config
from hqml.experiment.callbacks import TrainContext
from hqml.experiment.config import ConfigError
from hqml.experiment.runner import load_data
from hqml.experiment.scale import load_scale_config, run_scale
from hqml.experiment.scale.aggregate import axis_summary
from hqml.experiment.scale.config import resolve_executor
from hqml.experiment.scale.measure import (
    EnergyMeter,
    GradientTracker,
    PeakMemory,
    worker_peak_rss,
)
from hqml.experiment.scale.point import SPLIT, _init_variance_groups
from hqml.experiment.scale.store import PointStore
from hqml.experiment.scale.thresholds import (
    accuracy_plateau,
    time_departure,
    variance_collapse,
)
from hqml.experiment.timing import TimedBackend
from hqml.runtime.client import RemoteBackend
from hqml.runtime.sharding import ShardedBackend
from hqml.runtime.wire import tensor_to_json

TINY = """
name = "tiny"
output_dir = "{out}"
[data]
name = "digits"
n_classes = 2
max_train = 40
[model]
pattern = "dressed"
n_qubits = 2
layers = 1
[training]
epochs = 2
batch_size = 20
[tracking]
mlflow = false
[scale]
seeds = [0, 1]
executor = "inline"
grad_samples = 8
{extra}
[scale.axes]
layers = [1, 2]
qubits = [2, 3]
"""


def _write(tmp_path, extra="", **fmt):
    path = tmp_path / "scale.toml"
    path.write_text(TINY.format(out=tmp_path / "out", extra=extra, **fmt))
    return path


def test_points_one_at_a_time_and_grid(tmp_path):
    cfg = load_scale_config(_write(tmp_path))
    keys = [(p["layers"], p["qubits"], p["seed"]) for p in cfg.points()]
    # the base config has layers=1, qubits=2: the (1, 2) point is shared by both axes
    assert keys == [(1, 2, 0), (1, 2, 1), (2, 2, 0), (2, 2, 1), (1, 3, 0), (1, 3, 1)]
    grid = load_scale_config(_write(tmp_path, extra='mode = "grid"'))
    assert len(grid.points()) == 8
    assert grid.run_config({"layers": 2, "qubits": 3, "seed": 1}).model.n_qubits == 3


@pytest.mark.parametrize(
    "extra,needle",
    [
        ("workers = 0", "scale.workers: Input should be greater than or equal to 1"),
        ("colour = 1", "scale.colour: Extra inputs are not permitted"),
    ],
)
def test_bad_scale_settings_are_one_line_errors(tmp_path, extra, needle):
    with pytest.raises(ConfigError, match=needle):
        load_scale_config(_write(tmp_path, extra=extra))


def test_an_axis_value_that_makes_a_bad_run_config_names_the_point(tmp_path):
    text = TINY.format(out=tmp_path, extra="").replace("layers = [1, 2]", "layers = [1, 0]")
    (tmp_path / "s.toml").write_text(text)
    with pytest.raises(ConfigError, match=r"scale point layers=0,seed=0: .*model.layers"):
        load_scale_config(tmp_path / "s.toml")
    (tmp_path / "n.toml").write_text("[model]\nlayers = 2\n")
    with pytest.raises(ConfigError, match="no \\[scale\\] table"):
        load_scale_config(tmp_path / "n.toml")


def test_noise_dataset_size_input_dim_and_dotted_axes_set_the_run_config(tmp_path):
    text = (
        TINY.format(out=tmp_path / "out", extra="")
        .replace('pattern = "dressed"', 'pattern = "dressed"\nbackend = "density_matrix"')
        .replace("max_train = 40", "max_train = 40\nsize = 4")
        .replace("layers = [1, 2]\nqubits = [2, 3]", "")
    )
    axes = (
        "noise = [0.0, 0.2]\ndataset_size = [20, 40]\ninput_dim = [4, 8]\n"
        '"training.learning_rate" = [0.1]\n'
    )
    (tmp_path / "s.toml").write_text(text + axes)
    cfg = load_scale_config(tmp_path / "s.toml")
    got = {
        (
            p["noise"],
            p["dataset_size"],
            p["input_dim"],
            p["training.learning_rate"],
            p["seed"],
        ): cfg.run_config(p)
        for p in cfg.points()
    }
    lr0 = cfg.base_cfg.training.learning_rate
    # one axis at a time, the others at the base config's own values (noise: none, so 0)
    assert set(got) == {
        (*combo, s)
        for combo in [
            (0.0, 40, 4, lr0),
            (0.2, 40, 4, lr0),
            (0.0, 20, 4, lr0),
            (0.0, 40, 8, lr0),
            (0.0, 40, 4, 0.1),
        ]
        for s in (0, 1)
    }
    for (noise, size, dim, lr, seed), rc in got.items():
        assert rc.noise.depolarizing == noise and rc.data.max_train == size
        assert rc.data.size == dim and rc.training.learning_rate == lr and rc.seed == seed


def test_resumes_without_running_a_point_twice(tmp_path):
    cfg = load_scale_config(_write(tmp_path))
    run_scale(cfg, max_points=2)
    store = cfg.out_dir() / "points.jsonl"
    first = [json.loads(line) for line in store.read_text().splitlines()]
    assert len(first) == 2
    with open(store, "a") as f:  # a study killed while writing its third line
        f.write('{"key": "layers=2,qubits=2,seed=0", "point": {"lay')
    summary = run_scale(cfg)
    lines = [json.loads(line) for line in store.read_text().splitlines()]
    assert lines[:2] == first  # finished points were kept as they were, not run again
    assert len(lines) == len(cfg.points())  # the cut line was dropped, every point once
    keys = [r["key"] for r in summary["records"]]
    assert len(keys) == len(set(keys)) == len(cfg.points()) == summary["points"]
    assert summary["failed"] == []
    rec = summary["records"][0]
    # the circuit's resources are those of the model's circuit
    assert rec["circuit"]["width"] == 2 and rec["circuit"]["two_qubit_gates"] == 1
    assert rec["hybrid"]["parameters"] == rec["baseline"]["parameters"]
    h = rec["hybrid"]
    for split, epoch in zip(h["time_split_per_epoch"], h["history"]["epoch_s"], strict=True):
        assert sum(split.values()) == pytest.approx(epoch, rel=0.05, abs=2e-3)
    assert rec["grad_variance_init"]["mean"] > 0
    assert rec["grad_variance_init_groups"]["quantum"] > 0
    assert rec["grad_variance_init_groups"]["classical"] > 0
    assert rec["provenance"]["dataset"]["sha256"] and rec["provenance"]["seeds"]["run"] == 0
    assert "quantum" in h["grad_variance_training"][-1]
    out = cfg.out_dir()
    for name in (
        "results.json",
        "results.csv",
        "report.md",
        "accuracy_vs_layers.png",
        "time_vs_qubits.png",
        "grad_variance_vs_qubits.png",
        "memory_vs_qubits.png",
    ):
        assert (out / name).stat().st_size > 0
    report = (out / "report.md").read_text()
    assert "## Axis: layers" in report and "accuracy plateau" in report


def test_a_resumed_study_refuses_points_of_an_edited_config_and_retries_failures(tmp_path):
    path = _write(tmp_path)
    cfg = load_scale_config(path)
    run_scale(cfg, max_points=1)
    store = cfg.out_dir() / "points.jsonl"
    first = json.loads(store.read_text())
    assert first["setup"]["run"]["training"]["epochs"] == 2
    assert first["setup"]["measure"]["grad_samples"] == 8
    # thresholds are computed at report time: changing them reuses the finished point
    relaxed = load_scale_config(_write(tmp_path, extra="plateau_tolerance = 0.2"))
    assert relaxed.points()[0] in PointStore(store)
    # a changed measurement or run setting would make the old point a wrong result: refused
    for old, new, needle in [
        ("epochs = 2", "epochs = 3", r"training\.epochs \(2 -> 3\)"),
        ("grad_samples = 8", "grad_samples = 16", r"measure\.grad_samples \(8 -> 16\)"),
    ]:
        path.write_text(path.read_text().replace(old, new))
        with pytest.raises(ConfigError, match=rf"point layers=1,qubits=2,seed=0 .*{needle}"):
            run_scale(load_scale_config(path), max_points=1)
        path.write_text(path.read_text().replace(new, old))
    # a failed point is not done: the next call runs it again and its new line wins
    failed = {"key": "layers=1,qubits=2,seed=1", "point": {"layers": 1, "qubits": 2, "seed": 1}}
    with open(store, "a") as f:
        f.write(json.dumps({**failed, "status": "error", "error": "RuntimeError: boom"}) + "\n")
    summary = run_scale(load_scale_config(path), max_points=1)
    lines = [json.loads(line) for line in store.read_text().splitlines()]
    assert [r["status"] for r in lines] == ["ok", "error", "ok"]
    assert lines[2]["key"] == failed["key"] and summary["failed"] == []
    assert PointStore(store).records[failed["key"]]["status"] == "ok"


def test_auto_executor_joins_ray_only_when_there_is_a_cluster(monkeypatch):
    import sys
    import types

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setitem(sys.modules, "ray", types.SimpleNamespace(is_initialized=lambda: False))
    assert resolve_executor("auto") == "process" and resolve_executor("inline") == "inline"
    monkeypatch.setitem(sys.modules, "ray", types.SimpleNamespace(is_initialized=lambda: True))
    assert resolve_executor("auto") == "ray"  # Ray already running here: join it
    monkeypatch.delitem(sys.modules, "ray")
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:6379")
    expected = "ray" if importlib.util.find_spec("ray") is not None else "process"
    assert resolve_executor("auto") == expected


def test_cli_runs_and_reports(tmp_path):
    res = CliRunner().invoke(
        app, ["scale", str(_write(tmp_path)), "--max-points", "1", "--no-mlflow"]
    )
    assert res.exit_code == 0, res.output
    assert "1 of 6 points done" in res.output
    bad = CliRunner().invoke(app, ["scale", str(tmp_path / "missing.toml")])
    assert bad.exit_code != 0 and "not found" in bad.output


@pytest.mark.slow  # imports MLflow (about 10 s on a busy machine)
def test_scale_logs_to_mlflow_with_provenance_tags(tmp_path):
    mlflow = pytest.importorskip("mlflow")
    uri = (tmp_path / "mlruns").as_uri()
    path = _write(tmp_path)
    text = path.read_text().replace("mlflow = false", f'mlflow = true\ntracking_uri = "{uri}"')
    path.write_text(text.replace("seeds = [0, 1]", "seeds = [0]").replace("qubits = [2, 3]", ""))
    summary = run_scale(load_scale_config(path))
    client = mlflow.tracking.MlflowClient(uri)
    run = client.get_run(summary["mlflow_run_id"])
    assert run.data.tags["hqml.dataset.sha256"] == summary["provenance"]["dataset"]["sha256"]
    assert run.data.tags["hqml.hqml_version"] == summary["provenance"]["hqml_version"]
    accs = client.get_metric_history(run.info.run_id, "hybrid_test_acc")
    assert sorted(m.value for m in accs) == sorted(
        r["hybrid"]["test_acc"] for r in summary["records"]
    )
    assert len(client.get_metric_history(run.info.run_id, "baseline_test_acc")) == 2
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"report.md", "results.json", "results.csv", "accuracy_vs_layers.png"} <= names


class _SlowBackend(Backend):
    name = "slow"
    capabilities = Capabilities()

    def __init__(self, delay: float):
        self.delay = delay
        self.inner = get_backend("statevector")

    def execute(self, tasks):
        time.sleep(self.delay)
        return self.inner.execute(tasks)


def test_timed_backend_counts_the_seconds_inside_the_backend():
    import hqml

    be = TimedBackend(_SlowBackend(0.05))
    c = hqml.Circuit(1)
    c.ry(c.input("x")[()], 0)
    for _ in range(3):
        hqml.expval(c, hqml.Z(0), inputs={"x": torch.rand(4)}, backend=be)
    assert 0.15 <= be.seconds < 0.15 + 2.0  # the sleeps, plus three tiny simulations
    assert be.wire_seconds == 0.0


@pytest.mark.slow  # starts a worker process (about 10 s)
def test_process_pool_reports_time_on_the_wire():
    import hqml

    be = TimedBackend(get_backend("process_pool", num_workers=1))
    try:
        c = hqml.Circuit(2)
        c.ry(c.input("x")[()], 0)
        hqml.expval(
            c, hqml.Z(0), inputs={"x": torch.rand(64)}, backend=be, diff_method="parameter-shift"
        )
        stats = be.inner.stats
        assert stats["wire_s"] > 0 and stats["compute_s"] > 0
        assert be.wire_seconds + stats["compute_s"] <= be.seconds + 1e-3
        # the worker's own peak memory: it imported torch, so well over 50 MiB
        (pid,) = be.inner.worker_pids()
        assert worker_peak_rss([be]) > 50 * 2**20
        assert worker_peak_rss([TimedBackend(get_backend("statevector"))]) is None
        assert pid > 0
    finally:
        be.close()


@pytest.mark.slow  # starts a process pool for the point (about 30 s on a busy machine)
def test_a_process_pool_point_splits_out_communication_and_counts_its_workers(tmp_path):
    path = _write(tmp_path, extra="init_models = 0\nbaseline = false")  # one pool only
    text = path.read_text().replace("seeds = [0, 1]", "seeds = [0]")
    text = text.replace("layers = [1, 2]\nqubits = [2, 3]", 'backend = ["process_pool"]')
    path.write_text(text)
    (rec,) = run_scale(load_scale_config(path))["records"]
    h = rec["hybrid"]
    assert rec["status"] == "ok", rec.get("error")
    assert all(e["communication"] > 0 for e in h["time_split_per_epoch"])
    for split, epoch in zip(h["time_split_per_epoch"], h["history"]["epoch_s"], strict=True):
        assert sum(split.values()) == pytest.approx(epoch, rel=0.05, abs=2e-3)
    assert h["memory"]["peak_worker_rss_bytes"] > 50 * 2**20
    if h["energy_method"].startswith("estimate"):
        assert "the backend's workers" in h["energy_method"]


def test_peak_memory_sees_a_large_allocation():
    mem = PeakMemory()
    before = mem.read()["peak_rss_bytes"]
    block = np.ones(200 * 2**20 // 8)  # 200 MiB, touched
    after = mem.read()["peak_rss_bytes"]
    del block
    assert after - before >= 190 * 2**20


def test_energy_estimate_is_cpu_time_times_power():
    meter = EnergyMeter(watts_per_core=12.0)
    if meter.files:
        pytest.skip("RAPL counters readable here: the estimate is not used")
    start, cpu0 = meter.start(), time.process_time()
    x = 0.0
    while time.process_time() - cpu0 < 0.2:
        x += math.sqrt(2.0)
    joules = meter.joules(start)
    assert joules == pytest.approx(12.0 * (time.process_time() - cpu0), rel=0.05)
    assert meter.method.startswith("estimate")


def test_gradient_tracker_variance_across_steps_leaves_frozen_entries_out():
    model = torch.nn.Linear(3, 1)
    ctx = TrainContext(model, lambda params: torch.optim.SGD(params, lr=0.1))
    ctx.freeze(model.weight, torch.tensor([[True, False, False]]))
    grads = torch.randn(5, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    tracker = GradientTracker()
    tracker.on_epoch_begin(ctx, 0)
    for g in grads:
        model.weight.grad = g[:3].reshape(1, 3).float()
        model.bias.grad = g[3:].float()
        tracker.after_backward(ctx)
    tracker.before_evaluate(ctx, 0)
    kept = grads[:, 1:].float().double()  # entry 0 is frozen
    expected = float(np.var(kept.numpy(), axis=0, ddof=1).mean())
    assert tracker.rows == [{"classical": pytest.approx(expected, rel=1e-6)}]


def _zone(root, name, label, energy, top=1000):
    d = root / name
    d.mkdir()
    (d / "name").write_text(label + "\n")
    (d / "energy_uj").write_text(str(energy))
    (d / "max_energy_range_uj").write_text(str(top))
    return d / "energy_uj"


def test_rapl_counts_each_package_once_and_across_a_counter_wrap(tmp_path, monkeypatch):
    import hqml.experiment.scale.measure as measure

    p0 = _zone(tmp_path, "intel-rapl:0", "package-0", 900)
    core = _zone(tmp_path, "intel-rapl:0:0", "core", 100)  # inside package 0
    p1 = _zone(tmp_path, "intel-rapl:1", "package-1", 10)
    psys = _zone(tmp_path, "intel-rapl:2", "psys", 5)  # the whole platform, packages included
    monkeypatch.setattr(measure, "RAPL", tmp_path)
    meter = EnergyMeter(10.0)
    assert [f for f, _ in meter.files] == [p0, p1] and meter.method.startswith("rapl")
    start = meter.start()
    p0.write_text("99")  # 900 -> 1000, wraps to 0, -> 99: 200 uJ
    p1.write_text("310")  # 300 uJ
    core.write_text("600")
    psys.write_text("900")
    assert meter.joules(start) == pytest.approx(500e-6)
    assert "concurrently" in EnergyMeter(10.0, concurrent=True).method


class _Shards(ShardedBackend):
    def _run_shares(self, shares):
        raise AssertionError("not called")


class _Client:  # a job service that gives no job times (an older hqml)
    def __init__(self, server_s):
        self.server_s = server_s

    def submit(self, payload):
        return {"id": "j"}

    def wait_timed(self, job_id, timeout):
        time.sleep(0.01)
        return {"values": tensor_to_json(torch.ones(2))}, self.server_s


def _remote(server_s):
    be = RemoteBackend.__new__(RemoteBackend)  # no service: its client is the stub above
    be.client, be.use_session, be.session_id, be.job_timeout = _Client(server_s), False, None, 1
    be.stats = {"jobs": 0, "fallbacks": 0, "wire_s": 0.0, "compute_s": 0.0, "unsplit_s": 0.0}
    return TimedBackend(be)


def test_energy_estimate_counts_worker_compute_and_labels_remote_work():
    workers = TimedBackend(_Shards())
    meter = EnergyMeter(10.0, [workers])
    if meter.files:
        pytest.skip("RAPL counters readable here: the estimate is not used")
    start, cpu0 = meter.start(), time.process_time()
    workers.inner.stats["compute_s"] += 3.0  # the workers computed 3 s
    joules = meter.joules(start)
    assert joules == pytest.approx(10.0 * (3.0 + time.process_time() - cpu0), abs=0.05)
    assert "the backend's workers" in meter.method
    assert "remote service's own work is not included" in EnergyMeter(10.0, [_remote(0.0)]).method


def test_remote_calls_without_server_times_are_reported_unsplit():
    old = _remote(None)
    old.inner._run([{}], "values")
    assert old.wire_seconds == 0.0 and old.unsplit_seconds >= 0.01
    new = _remote(0.004)
    new.inner._run([{}], "values")
    assert new.unsplit_seconds == 0.0 and new.wire_seconds >= 0.005


def test_model_init_variance_per_group_with_the_configs_noise():
    base = {
        "seed": 3,
        "data": {"name": "digits", "size": 4, "n_classes": 2, "max_train": 40},
        "model": {"pattern": "dressed", "n_qubits": 2, "layers": 2, "backend": "density_matrix"},
    }
    cfg = parse_config(base)
    ds = load_data(cfg)
    state = torch.random.get_rng_state()
    got = _init_variance_groups(cfg, ds, 4, rows=16)
    assert torch.equal(torch.random.get_rng_state(), state)  # training's randomness untouched
    # reference: the four models of the documented seeds, their loss gradients by group
    grads = {"quantum": [], "classical": []}
    for k in range(4):
        m = build_hybrid(cfg.model, ds.n_features, ds.n_classes, ds.x_train, 3 + 7919 * (k + 1))
        torch.nn.functional.cross_entropy(m(ds.x_train[:16]), ds.y_train[:16]).backward()
        q = [p.grad.flatten() for p in m.quantum.parameters()]
        c = [p.grad.flatten() for n, p in m.named_parameters() if not n.startswith("quantum.")]
        grads["quantum"].append(torch.cat(q).double().numpy())
        grads["classical"].append(torch.cat(c).double().numpy())
    for g, rows in grads.items():
        assert got[g] == pytest.approx(float(np.var(rows, axis=0, ddof=1).mean()), rel=1e-5)
    # strong depolarizing noise flattens the quantum gradients (a noise-induced plateau)
    noisy = _init_variance_groups(parse_config({**base, "noise": {"depolarizing": 0.3}}), ds, 4)
    assert noisy["quantum"] < 0.01 * got["quantum"]


def test_threshold_rules_on_known_curves():
    acc = accuracy_plateau([2, 4, 6, 8, 10], [0.6, 0.75, 0.8, 0.805, 0.79], 0.01)
    assert acc["value"] == 6
    x = [4, 5, 6, 7, 8, 9, 10]
    t = [0.10, 0.11, 0.12, 0.13, 0.14, 0.40, 1.2]  # linear, then it takes off at 9
    dep = time_departure(x, t, degree=1, tolerance=0.5)
    assert dep["value"] == 9 and dep["evidence"]["trend"][4] == pytest.approx(0.14)
    var = variance_collapse(x, [1e-2, 6e-3, 3e-3, 1.5e-3, 8e-4, 4e-4, 2e-4], 0.1)
    assert var["value"] == 8
    assert variance_collapse(x[:2], [1e-2, 9e-3], 0.1)["value"] is None


def test_threshold_rules_refuse_unsorted_axes_and_do_not_judge_a_non_positive_trend():
    with pytest.raises(ValueError, match="increasing axis values"):
        accuracy_plateau([4, 2], [0.5, 0.6], 0.01)
    # 0.3, 0.2, 0.1 s: the linear trend reaches 0 s at 4 and -0.1 s at 5; flat 0.1 s there is
    # no departure, it is not judged (before: any positive time "exceeded" a zero trend)
    dep = time_departure([1, 2, 3, 4, 5], [0.3, 0.2, 0.1, 0.1, 0.1], degree=1, tolerance=0.5)
    assert dep["value"] is None and dep["evidence"]["not_judged"] == [4, 5]


def _record(layers, seed, acc, seconds, var):
    split = dict.fromkeys(SPLIT, seconds / len(SPLIT))
    return {
        "key": f"layers={layers},seed={seed}",
        "point": {"layers": layers, "seed": seed},
        "status": "ok",
        "circuit": {"width": 2, "depth": layers},
        "grad_variance_init": {"mean": var},
        "hybrid": {
            "parameters": 10 * layers,
            "test_acc": acc,
            "epoch_seconds": seconds,
            "time_split": split,
            "memory": {"peak_rss_bytes": 2**20},
            "energy_j_per_epoch": 1.0,
            "grad_variance_training": [{"quantum": var}],
        },
    }


def test_axis_summary_reads_an_unsorted_axis_in_increasing_order(tmp_path):
    text = TINY.format(out=tmp_path, extra="").replace("layers = [1, 2]", "layers = [3, 1, 2]")
    (tmp_path / "u.toml").write_text(text.replace("qubits = [2, 3]\n", ""))
    cfg = load_scale_config(tmp_path / "u.toml")
    acc = {1: 0.6, 2: 0.8, 3: 0.805}
    var = {n: math.exp(-1.0 - 0.5 * n) for n in acc}
    records = [_record(n, s, acc[n] + 0.01 * s, 0.1 * n, var[n]) for n in (3, 1, 2) for s in (0, 1)]
    s = axis_summary(cfg, "layers", records)
    assert s["values"] == [1, 2, 3]
    assert s["hybrid_test_acc"]["mean"] == pytest.approx([0.605, 0.805, 0.81])
    assert s["thresholds"]["accuracy_plateau"]["value"] == 2
    assert s["grad_variance_fit"]["rate"] == pytest.approx(0.5)
    assert s["parameters"] == [10, 20, 30] and s["other_axes_at"] == {}


def test_variance_fit_of_two_single_seed_values_claims_no_error(tmp_path):
    cfg = load_scale_config(_write(tmp_path))  # layers [1, 2] x qubits [2, 3], base qubits 2
    records = [_record(n, 0, 0.7, 0.1, math.exp(-0.3 * n)) for n in (1, 2)]
    for r in records:
        r["point"]["qubits"] = 2
    s = axis_summary(cfg, "layers", records)
    assert s["other_axes_at"] == {"qubits": 2} and s["seeds_per_value"] == [1, 1]
    assert s["grad_variance_fit"]["rate"] == pytest.approx(0.3)
    assert s["grad_variance_fit"]["rate_stderr"] is None  # was 0.0: an exact-looking fit
    # seeds with spread weight the fit by their standard errors
    seeds = [
        _record(n, k, 0.7, 0.1, math.exp(-0.3 * n) * (1 + 0.1 * k)) for n in (1, 2) for k in (0, 1)
    ]
    for r in seeds:
        r["point"]["qubits"] = 2
    fit = axis_summary(cfg, "layers", seeds)["grad_variance_fit"]
    assert fit["weights"] == "seeds' standard errors" and fit["rate_stderr"] > 0


def test_the_example_config_is_valid():
    from pathlib import Path

    from hqml.experiment import load_config

    path = Path(__file__).resolve().parents[2] / "examples" / "scale_digits.toml"
    cfg = load_scale_config(path)
    assert len(cfg.points()) == 33
    assert max(p["qubits"] for p in cfg.points()) == 12
    assert sorted({p["layers"] for p in cfg.points()}) == [2, 4, 6, 8, 10]
    assert load_config(path).data.size == 4  # `hqml run` reads the same file without [scale]


@pytest.mark.slow  # two CLI processes, one killed mid-study (about 30 s)
def test_a_killed_study_continues_where_it_stopped(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    path = _write(tmp_path)
    store = tmp_path / "out" / "tiny" / "points.jsonl"
    cmd = [sys.executable, "-m", "hqml.cli.main", "scale", str(path)]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 120
    while time.time() < deadline and (not store.exists() or not store.read_text().strip()):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = store.read_text().splitlines()
    assert 1 <= len(before) < 6
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    after = store.read_text().splitlines()
    complete = [line for line in before if line.endswith("}")]
    assert after[: len(complete)] == complete  # finished points kept, not run again
    keys = [json.loads(line)["key"] for line in after]
    assert len(keys) == len(set(keys)) == 6


@pytest.mark.slow  # starts Ray (about 20 s)
def test_ray_executor_runs_the_points(tmp_path):
    pytest.importorskip("ray")
    path = _write(tmp_path, extra="workers = 2")
    path.write_text(path.read_text().replace('executor = "inline"', 'executor = "ray"'))
    cfg = load_scale_config(path)
    summary = run_scale(cfg, max_points=2)
    assert [r["status"] for r in summary["records"]] == ["ok", "ok"]
