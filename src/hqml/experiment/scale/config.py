"""The ``hqml scale`` configuration: an ``hqml run`` config plus a ``[scale]`` table.

```toml
name = "scale_digits"          # the hqml run config, as for `hqml run`
[model]
pattern = "dressed"
...
[scale]
seeds = [0, 1]
mode = "one-at-a-time"         # or "grid" (every combination)
executor = "auto"              # Ray when a cluster is there to join, else "process"
workers = 2
[scale.axes]
layers = [2, 4, 6, 8, 10]
qubits = [4, 8, 12]
```

Axis names: ``layers`` (model.layers), ``qubits`` (model.n_qubits), ``input_dim``
(data.size for digits, data.n_features otherwise), ``dataset_size`` (data.max_train),
``backend`` (model.backend), ``noise`` (noise.depolarizing), ``schedule`` (schedule.kind), or
any dotted key of the run config.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..config import ConfigError, RunConfig, parse_config, read_toml

ALIASES = {
    "layers": "model.layers",
    "qubits": "model.n_qubits",
    "dataset_size": "data.max_train",
    "backend": "model.backend",
    "noise": "noise.depolarizing",
    "schedule": "schedule.kind",
}


class ScaleSettings(BaseModel):
    """The ``[scale]`` table."""

    model_config = ConfigDict(extra="forbid")
    axes: dict[str, list[Any]] = Field(..., min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    mode: Literal["one-at-a-time", "grid"] = "one-at-a-time"
    executor: Literal["auto", "inline", "process", "ray"] = "auto"
    workers: int = Field(2, ge=1, le=256)
    threads_per_worker: int = Field(1, ge=1)
    baseline: bool = True
    baseline_shape: Literal["mlp-relu", "mlp-tanh", "linear"] = "mlp-tanh"
    grad_samples: int = Field(64, ge=4, description="random parameter sets for the variance")
    init_models: int = Field(
        16, ge=0, description="model initialisations for the per-group variance (0: off)"
    )
    watts_per_core: float = Field(10.0, gt=0, description="power of one busy core (estimate)")
    plateau_tolerance: float = Field(0.01, ge=0, description="accuracy gain that still counts")
    trend_degree: int = Field(1, ge=1, le=3)
    trend_tolerance: float = Field(0.5, gt=0, description="relative excess over the trend")
    variance_fraction: float = Field(0.1, gt=0, lt=1)
    max_points: int = Field(500, ge=1, description="refuse larger studies")

    @field_validator("axes")
    @classmethod
    def _non_empty(cls, axes: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for name, values in axes.items():
            if not values:
                raise ValueError(f"axis {name!r} has no values")
            if len({json.dumps(v) for v in values}) != len(values):
                raise ValueError(f"axis {name!r} repeats a value")
        return axes


def axis_key(name: str, base: dict[str, Any]) -> str:
    """The dotted run-config key an axis sets."""
    if name == "input_dim":
        return (
            "data.size"
            if base.get("data", {}).get("name", "digits") == "digits"
            else "data.n_features"
        )
    return ALIASES.get(name, name)


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    node = data
    *parents, leaf = dotted.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value


def _get(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for p in dotted.split("."):
        if not isinstance(node, dict) or p not in node:
            return None
        node = node[p]
    return node


def point_key(point: dict[str, Any]) -> str:
    """A point's identity in the results file: ``layers=4,qubits=8,seed=0``."""
    return ",".join(f"{k}={json.dumps(v)}" for k, v in point.items())


class ScaleConfig:
    """A validated scale study: the base run config (dict) and its settings."""

    def __init__(self, base: dict[str, Any], settings: ScaleSettings):
        self.base, self.settings = base, settings
        self.base_cfg = parse_config(base)
        self.keys = {name: axis_key(name, base) for name in settings.axes}
        for name in settings.axes:  # every axis value must make a valid run config
            for value in settings.axes[name]:
                self.run_config({name: value, "seed": settings.seeds[0]})

    @property
    def name(self) -> str:
        return self.base_cfg.name

    def out_dir(self) -> Path:
        return self.base_cfg.run_dir()

    def base_value(self, axis: str) -> Any:
        """The run config's own value of an axis (the others' value in one-at-a-time mode)."""
        return _get(self.base_cfg.model_dump(), self.keys[axis])

    def points(self) -> list[dict[str, Any]]:
        """Every point: axis values and a seed, in a stable order."""
        axes = self.settings.axes
        combos: list[dict[str, Any]] = []
        if self.settings.mode == "grid":
            combos = [
                dict(zip(axes, vals, strict=True)) for vals in itertools.product(*axes.values())
            ]
        else:
            for name, values in axes.items():
                for v in values:
                    combo = {a: (v if a == name else self.base_value(a)) for a in axes}
                    if combo not in combos:
                        combos.append(combo)
        pts = [{**c, "seed": s} for c in combos for s in self.settings.seeds]
        if len(pts) > self.settings.max_points:
            raise ConfigError(
                f"scale: {len(pts)} points exceed scale.max_points ="
                f" {self.settings.max_points}; remove axis values or seeds"
            )
        return pts

    def run_config(self, point: dict[str, Any]) -> RunConfig:
        data = json.loads(json.dumps(self.base))
        for name, value in point.items():
            if name != "seed":
                _set(data, self.keys[name], value)
        data["seed"] = point["seed"]
        try:
            return parse_config(data)
        except ConfigError as e:
            raise ConfigError(f"scale point {point_key(point)}: {e}") from None


def resolve_executor(name: str) -> str:
    """The executor that runs the points: ``"auto"`` is Ray when there is a Ray cluster to
    join (``RAY_ADDRESS`` set and Ray installed, or Ray already initialised in this process),
    else the process pool (starting a local Ray by surprise would cost more than it gives)."""
    if name != "auto":
        return name
    ray = sys.modules.get("ray")
    if ray is not None and getattr(ray, "is_initialized", lambda: False)():
        return "ray"
    if os.environ.get("RAY_ADDRESS") and importlib.util.find_spec("ray") is not None:
        return "ray"
    return "process"


def load_scale_config(path: str | Path) -> ScaleConfig:
    """Read a scale study (``ConfigError`` naming the problem)."""
    data = read_toml(path)
    table = data.pop("scale", None)
    data.pop("search", None)
    if table is None:
        raise ConfigError(
            f"{path}: no [scale] table; add [scale.axes] with e.g. layers = [2, 4, 6]"
        )
    try:
        settings = ScaleSettings.model_validate(table)
    except ValidationError as e:
        raise ConfigError(f"invalid config: {_format_scale(e)}") from None
    return ScaleConfig(data, settings)


def _format_scale(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = "scale." + ".".join(str(p) for p in e["loc"])
        parts.append(f"{loc}: {e['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


__all__ = [
    "ScaleConfig",
    "ScaleSettings",
    "load_scale_config",
    "point_key",
    "axis_key",
    "resolve_executor",
]
