"""``run_scale``: every point of a scale study, in parallel, resumable; then the summary."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from ..config import ConfigError
from ..device import resolve_device
from .config import ScaleConfig, point_key, resolve_executor
from .point import run_point
from .report import write_outputs
from .store import PointStore, point_setup

Progress = Callable[[str, int, int], Any]


def _safe_run(
    run: dict[str, Any], point: dict[str, Any], settings: dict[str, Any]
) -> dict[str, Any]:
    try:
        return run_point(run, point, settings)
    except Exception as e:  # one failed point is a result, not the end of the study
        return {
            "point": point,
            "status": "error",
            "error": f"{type(e).__name__}: {e}",
            "traceback": traceback.format_exc(limit=5),
        }


def _jobs(cfg: ScaleConfig, todo: list[dict[str, Any]]) -> list[tuple[dict, dict, dict]]:
    # the workers that run at once this call (a point's energy label says when it had company)
    settings = {**cfg.settings.model_dump(), "workers": min(cfg.settings.workers, len(todo))}
    return [(cfg.run_config(p).model_dump(), p, settings) for p in todo]


def _inline(jobs: list[tuple]) -> Iterator[dict[str, Any]]:
    for job in jobs:
        yield _safe_run(*job)


def _process(jobs: list[tuple], workers: int) -> Iterator[dict[str, Any]]:
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters: no forked torch threads
    with cf.ProcessPoolExecutor(min(workers, len(jobs)), mp_context=ctx) as pool:
        futures = [pool.submit(_safe_run, *job) for job in jobs]
        for fut in cf.as_completed(futures):
            yield fut.result()


def _ray(jobs: list[tuple], workers: int) -> Iterator[dict[str, Any]]:
    try:
        import ray
    except ModuleNotFoundError:
        raise ImportError(
            "scale.executor = 'ray' needs Ray: pip install 'hqml[runtime]'"
            " (or use executor = 'process')"
        ) from None
    started = not ray.is_initialized()  # join a running Ray (a cluster), else start one
    if started and os.environ.get("RAY_ADDRESS"):
        ray.init(log_to_driver=False)  # joins the cluster RAY_ADDRESS names
    elif started:
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(_safe_run)
        gpus = _ray_gpus(jobs, workers, ray.cluster_resources().get("GPU", 0))
        pending = [
            remote.options(num_gpus=g).remote(*job) for job, g in zip(jobs, gpus, strict=True)
        ]
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            yield ray.get(ready[0])
    finally:
        if started:
            ray.shutdown()


def _ray_gpus(jobs: list[tuple], workers: int, cluster_gpus: float) -> list[float]:
    """The GPU share each Ray task asks for: Ray hides the GPUs from a task that asks for none
    (``CUDA_VISIBLE_DEVICES`` empty), so a CUDA point asks for ``1 / workers`` of one (points
    share a GPU), an ``"auto"`` point too when the cluster has GPUs, a CPU point none. A CUDA
    point on a cluster without GPUs is refused (it would wait for one forever)."""
    out = []
    for run, point, _ in jobs:
        device = run["training"]["device"]
        if device.startswith("cuda") and not cluster_gpus:
            raise ConfigError(
                f"scale point {point_key(point)}: training.device = {device!r} but the Ray"
                " cluster has no GPU; set training.device = 'cpu' or 'auto'"
            )
        wants = device.startswith("cuda") or (device == "auto" and cluster_gpus > 0)
        out.append(1.0 / workers if wants else 0.0)
    return out


def _check_devices(cfg: ScaleConfig, todo: list[dict[str, Any]]) -> None:
    """Points run in this machine's processes: a CUDA device it lacks is refused now, in one
    line, rather than as every point's error."""
    for name in {cfg.run_config(p).training.device for p in todo}:
        resolve_device(name)


def run_scale(
    cfg: ScaleConfig, progress: Progress | None = None, max_points: int | None = None
) -> dict[str, Any]:
    """Run the study's missing points (at most ``max_points`` of them this time), append each
    to ``points.jsonl`` as it finishes, then write results.json/.csv, report.md and the plots.
    Points that failed before run again; finished points made with another setup (the config
    was edited) are refused with a ``ConfigError`` naming what changed.

    Returns:
        The summary written to results.json.
    """
    out = cfg.out_dir()
    out.mkdir(parents=True, exist_ok=True)
    store = PointStore(out / "points.jsonl")
    points = cfg.points()
    settings = cfg.settings.model_dump()
    setups = {point_key(p): point_setup(cfg.run_config(p).model_dump(), settings) for p in points}
    for p in points:  # a finished point of another config is not a result of this one
        store.check_setup(p, setups[point_key(p)])
    todo = [p for p in points if p not in store]
    if max_points is not None:
        todo = todo[:max_points]
    done = len(points) - len([p for p in points if p not in store])
    if progress:
        progress("points", done, len(points))
    if todo:
        jobs = _jobs(cfg, todo)
        workers = cfg.settings.workers
        executor = resolve_executor(cfg.settings.executor)
        if executor != "ray":
            _check_devices(cfg, todo)
        runner = {
            "inline": lambda: _inline(jobs),
            "process": lambda: _process(jobs, workers),
            "ray": lambda: _ray(jobs, workers),
        }[executor]
        for record in runner():
            record["setup"] = setups[point_key(record["point"])]
            store.add(record)
            done += 1
            if progress:
                progress(f"points (last: {point_key(record['point'])})", done, len(points))
    return write_outputs(
        cfg, [store.records[point_key(p)] for p in points if point_key(p) in store.records]
    )


__all__ = ["run_scale"]
