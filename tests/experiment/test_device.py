"""``training.device``: the torch device of a run's models, data and simulation (``hqml run``
and ``hqml scale``); CUDA where there is none refused in one line; the device and its peak
memory in a scale point's record."""

from __future__ import annotations

import json

import pytest
import torch

from hqml.experiment import parse_config, run_experiment
from hqml.experiment.config import ConfigError
from hqml.experiment.device import resolve_device
from hqml.experiment.scale import load_scale_config, run_scale
from hqml.experiment.scale.aggregate import axis_summary
from hqml.experiment.scale.config import point_key
from hqml.experiment.scale.markdown import _axis_table
from hqml.experiment.scale.point import SPLIT, run_point
from hqml.experiment.scale.store import PointStore, point_setup
from hqml.experiment.scale.study import _ray_gpus

CUDA = torch.cuda.is_available()

RUN = {
    "name": "dev",
    "data": {"name": "digits", "n_classes": 2, "max_train": 40},
    "model": {"pattern": "dressed", "n_qubits": 2, "layers": 1},
    "training": {"epochs": 2, "batch_size": 20},
    "tracking": {"mlflow": False},
}
SETTINGS = {"grad_samples": 8, "watts_per_core": 10.0, "init_models": 2, "executor": "inline"}


def _run(device: str, **training) -> dict:
    return {**RUN, "training": {**RUN["training"], "device": device, **training}}


@pytest.mark.parametrize("name", ["gpu", "cuda:", "cuda:x", "CPU", "mps"])
def test_a_device_name_outside_the_torch_conventions_is_a_one_line_error(name):
    with pytest.raises(ConfigError, match=r"training\.device: device .* 'cuda:N'") as e:
        parse_config(_run(name))
    assert "\n" not in str(e.value)
    for good in ("cpu", "cuda", "cuda:1", "auto"):
        assert parse_config(_run(good)).training.device == good


@pytest.mark.skipif(CUDA, reason="checks the refusal where CUDA is missing")
def test_cuda_where_there_is_none_is_refused_in_one_line(tmp_path):
    assert resolve_device("auto") == torch.device("cpu")
    for name in ("cuda", "cuda:1"):
        with pytest.raises(ConfigError, match=rf"training\.device = '{name}' but CUDA is not"):
            resolve_device(name)
    cfg = parse_config({**_run("cuda"), "output_dir": str(tmp_path)})
    with pytest.raises(ConfigError, match="CUDA is not available here") as e:
        run_experiment(cfg)
    assert "\n" not in str(e.value)
    assert not (tmp_path / "dev").exists()  # refused before anything ran or was written
    # a scale study refuses before its first point (not one error record per point)
    toml = (
        f'name = "dev"\noutput_dir = "{tmp_path}"\n[data]\nname = "digits"\nn_classes = 2\n'
        "max_train = 40\n[model]\nn_qubits = 2\nlayers = 1\n"
        '[training]\nepochs = 1\ndevice = "cuda"\n'
        '[tracking]\nmlflow = false\n[scale]\nexecutor = "inline"\n[scale.axes]\nlayers = [1, 2]\n'
    )
    (tmp_path / "s.toml").write_text(toml)
    with pytest.raises(ConfigError, match="CUDA is not available here"):
        run_scale(load_scale_config(tmp_path / "s.toml"))
    assert not (tmp_path / "dev" / "points.jsonl").exists()


@pytest.mark.skipif(CUDA, reason="'auto' resolves to the GPU here")
def test_auto_trains_on_the_cpu_without_a_gpu_and_the_record_says_so():
    rec = run_point(
        _run("auto", epochs=1), {"layers": 1, "seed": 0}, {**SETTINGS, "init_models": 0}
    )
    assert rec["status"] == "ok" and rec["device"] == "cpu"
    assert rec["provenance"]["device"] == "cpu"
    for model in ("hybrid", "baseline"):
        mem = rec[model]["memory"]
        assert mem["device"] == "cpu" and mem["peak_gpu_bytes"] is None
        assert mem["peak_rss_bytes"] > 50 * 2**20  # host RSS always (torch alone is more)


def test_ray_tasks_ask_for_a_gpu_share_only_for_cuda_points():
    jobs = [(_run(d), {"device": d, "seed": 0}, SETTINGS) for d in ("cpu", "cuda", "auto")]
    assert _ray_gpus(jobs, 4, cluster_gpus=1.0) == [0.0, 0.25, 0.25]
    assert _ray_gpus([jobs[0], jobs[2]], 4, cluster_gpus=0) == [0.0, 0.0]
    with pytest.raises(
        ConfigError, match=r"training\.device = 'cuda' but the Ray cluster has no GPU"
    ):
        _ray_gpus(jobs, 4, cluster_gpus=0)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
@pytest.mark.parametrize("schedule", ["none", "layerwise"])
def test_a_point_trains_on_the_gpu_like_on_the_cpu_and_records_its_peak(schedule):
    run = {**_run("cuda"), "schedule": {"kind": schedule, "every": 1}}
    run["model"] = {**RUN["model"], "layers": 2}
    rec = run_point(run, {"layers": 2, "seed": 0}, SETTINGS)
    assert rec["status"] == "ok" and rec["device"].startswith("cuda")
    mem = rec["hybrid"]["memory"]
    assert mem["device"].startswith("cuda") and mem["peak_gpu_bytes"] > 0
    assert mem["peak_rss_bytes"] > 0
    ref = run_point(
        {**run, "training": {**run["training"], "device": "cpu"}}, rec["point"], SETTINGS
    )
    got, want = rec["hybrid"]["history"], ref["hybrid"]["history"]
    # float32 on two devices: the same training up to rounding
    assert got["train_loss"] == pytest.approx(want["train_loss"], rel=1e-3, abs=1e-4)
    assert rec["hybrid"]["final_parameters"] == ref["hybrid"]["final_parameters"]


def _record(layers: int, gpu: int | None, workers: int | None) -> dict:
    memory = {"peak_rss_bytes": 300 * 2**20, "peak_gpu_bytes": gpu}
    if workers is not None:
        memory["peak_worker_rss_bytes"] = workers
    return {
        "key": f"layers={layers},seed=0",
        "point": {"layers": layers, "seed": 0},
        "status": "ok",
        "device": "cuda:0" if gpu is not None else "cpu",
        "circuit": {"width": 2, "depth": layers},
        "grad_variance_init": {"mean": 0.1},
        "hybrid": {
            "parameters": 10,
            "test_acc": 0.5,
            "epoch_seconds": 1.0,
            "time_split": dict.fromkeys(SPLIT, 0.2),
            "memory": memory,
            "energy_j_per_epoch": 1.0,
            "grad_variance_training": [{"quantum": 0.1}],
        },
    }


def test_the_report_shows_gpu_and_worker_peaks_only_where_measured(tmp_path):
    toml = (
        f'output_dir = "{tmp_path}"\n[model]\nn_qubits = 2\n[tracking]\nmlflow = false\n'
        '[scale]\nexecutor = "inline"\nseeds = [0]\n[scale.axes]\nlayers = [1, 2]\n'
    )
    (tmp_path / "s.toml").write_text(toml)
    cfg = load_scale_config(tmp_path / "s.toml")
    cpu = axis_summary(cfg, "layers", [_record(1, None, None), _record(2, None, None)])
    head = _axis_table("layers", cpu)[0]
    assert "GPU" not in head and "workers'" not in head
    gpu = [_record(1, 64 * 2**20, None), _record(2, 96 * 2**20, 500 * 2**20)]
    table = _axis_table("layers", axis_summary(cfg, "layers", gpu))
    cols = [c.strip() for c in table[0].strip("|").split("|")]
    rows = [[c.strip() for c in r.strip("|").split("|")] for r in table[2:]]
    assert [r[cols.index("peak GPU MiB")] for r in rows] == ["64", "96"]
    assert [r[cols.index("workers' peak RSS MiB")] for r in rows] == ["nan", "500"]
    assert [r[cols.index("peak RSS MiB")] for r in rows] == ["300", "300"]


def test_a_point_recorded_before_the_device_setting_existed_resumes_as_a_cpu_point(tmp_path):
    settings = {
        "baseline": True,
        "baseline_shape": "mlp-tanh",
        "grad_samples": 8,
        "init_models": 0,
        "watts_per_core": 10.0,
        "threads_per_worker": 1,
    }
    setup = point_setup(parse_config(RUN).model_dump(), settings)
    old = json.loads(json.dumps(setup))
    del old["run"]["training"]["device"]  # an older hqml had neither field
    del old["run"]["noise"]["channels"]
    point = {"layers": 1, "seed": 0}
    line = {"key": point_key(point), "point": point, "status": "ok", "setup": old}
    (tmp_path / "points.jsonl").write_text(json.dumps(line) + "\n")
    store = PointStore(tmp_path / "points.jsonl")
    store.check_setup(point, setup)  # the new fields at their defaults: the same setup
    cuda = point_setup(parse_config(_run("cuda")).model_dump(), settings)
    with pytest.raises(ConfigError, match=r'training\.device \(null -> "cuda"\)'):
        store.check_setup(point, cuda)
    epochs = json.loads(json.dumps(setup))
    epochs["run"]["training"]["epochs"] = 3  # a field the old record has: compared as before
    with pytest.raises(ConfigError, match=r"training\.epochs \(2 -> 3\)"):
        store.check_setup(point, epochs)
