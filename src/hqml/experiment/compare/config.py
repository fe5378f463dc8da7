"""The ``hqml compare`` configuration: models x datasets x seeds, grids, folds, workers.

A TOML file::

    [compare]
    models = ["SVC", "IQPKernelClassifier", "DataReuploadingClassifier"]
    seeds = [0, 1, 2, 3, 4]
    folds = 5
    grid = "paper"        # or "quick"
    max_steps = 10000     # cap on gradient steps of the trained models (optional)
    workers = 2           # trials run in parallel processes (or Ray CPUs)
    executor = "process"  # or "ray" (ray_address = "auto" / "ray://host:10001" for a cluster)

    [[compare.datasets]]
    suite = "linearly_separable"
    values = [2, 3, 4, 5]
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomllib

from ...datasets.benchmarks import SUITES, mnist_file
from .registry import IMAGE_MODELS, get_model

GRIDS = ("paper", "quick")
IMAGE_SUITES = ("bars_and_stripes", "mnist_cg")  # square images, flattened rows first
EXECUTORS = ("process", "ray")


@dataclass(frozen=True)
class CompareConfig:
    """What to compare. ``datasets`` maps a suite name to the values of its varied parameter."""

    models: tuple[str, ...]
    datasets: dict[str, tuple[int, ...]]
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    folds: int = 5
    grid: str = "paper"
    max_steps: int | None = None
    workers: int = 1
    executor: str = "process"
    ray_address: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for m in self.models:
            get_model(m)
        for suite, values in self.datasets.items():
            if suite not in SUITES:
                raise ValueError(f"unknown suite {suite!r}; choose among {sorted(SUITES)}")
            bad = [v for v in values if v not in SUITES[suite].values]
            if bad:
                raise ValueError(
                    f"{suite} varies {SUITES[suite].varied} over {list(SUITES[suite].values)};"
                    f" {bad} not among them"
                )
        if any(SUITES[s].source == "mnist" for s in self.datasets):
            mnist_file()  # the user's local file: refused here, before any trial runs
        images = [m for m in self.models if m in IMAGE_MODELS]
        if images and set(self.datasets) - set(IMAGE_SUITES):
            raise ValueError(
                f"{', '.join(images)} read square images: compare them on"
                f" {' and '.join(IMAGE_SUITES)} only (run the other suites in a config without"
                " them)"
            )
        if self.grid not in GRIDS:
            raise ValueError(f"grid must be one of {GRIDS}, got {self.grid!r}")
        if not (isinstance(self.folds, int) and self.folds >= 2):
            raise ValueError(f"folds must be an integer >= 2, got {self.folds!r}")
        if not self.seeds:
            raise ValueError("seeds must list at least one seed")
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {EXECUTORS}, got {self.executor!r}")
        if self.ray_address is not None and self.executor != "ray":
            raise ValueError("ray_address is set but executor is not 'ray'; set executor = 'ray'")
        if not (isinstance(self.workers, int) and self.workers >= 1):
            raise ValueError(f"workers must be an integer >= 1, got {self.workers!r}")
        if self.max_steps is not None and not (
            isinstance(self.max_steps, int) and self.max_steps >= 1
        ):
            raise ValueError(f"max_steps must be a positive integer, got {self.max_steps!r}")

    @property
    def n_trials(self) -> int:
        return len(self.models) * sum(len(v) for v in self.datasets.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": list(self.models),
            "datasets": {k: list(v) for k, v in self.datasets.items()},
            "seeds": list(self.seeds),
            "folds": self.folds,
            "grid": self.grid,
            "max_steps": self.max_steps,
            "workers": self.workers,
            "executor": self.executor,
            "ray_address": self.ray_address,
        }


def quick_config(**overrides: Any) -> CompareConfig:
    """A small study that runs in a few minutes on two cores: two classical baselines (SVC,
    MLP), the IQP kernel and the data re-uploading classifier each beside its separable
    ablation, on the linearly-separable and hidden-manifold suites at 2 and 3 features; quick
    grids, 3 folds, 2 seeds, training capped at 150 steps."""
    base = CompareConfig(
        models=(
            "SVC",
            "MLPClassifier",
            "IQPKernelClassifier",
            "SeparableKernelClassifier",
            "DataReuploadingClassifier",
            "DataReuploadingClassifierSeparable",
        ),
        datasets={"linearly_separable": (2, 3), "hidden_manifold": (2, 3)},
        seeds=(0, 1),
        folds=3,
        grid="quick",
        max_steps=150,
    )
    return replace(base, **overrides)


def load_config(path: str | Path) -> CompareConfig:
    """Read a ``[compare]`` TOML file (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} not found")
    with path.open("rb") as f:
        doc = tomllib.load(f)
    if "compare" not in doc:
        raise ValueError(f"{path}: no [compare] table; see docs/compare.md for the format")
    c = dict(doc["compare"])
    known = {"models", "datasets", "seeds", "folds", "grid", "max_steps", "workers", "executor"}
    known |= {"ray_address"}
    unknown = sorted(set(c) - known)
    if unknown:
        raise ValueError(f"{path}: unknown keys {unknown} in [compare]; known: {sorted(known)}")
    if "models" not in c or "datasets" not in c:
        raise ValueError(f"{path}: [compare] needs models = [...] and [[compare.datasets]]")
    datasets = {}
    for entry in c.pop("datasets"):
        if "suite" not in entry:
            raise ValueError(f"{path}: each [[compare.datasets]] needs suite = '...'")
        suite = entry["suite"]
        values = entry.get("values", list(SUITES[suite].values) if suite in SUITES else [])
        datasets[suite] = tuple(int(v) for v in values)
    c["models"] = tuple(c["models"])
    if "seeds" in c:
        c["seeds"] = tuple(int(s) for s in c["seeds"])
    return CompareConfig(datasets=datasets, **c)


__all__ = ["CompareConfig", "quick_config", "load_config", "GRIDS"]
