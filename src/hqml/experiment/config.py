"""The ``hqml run`` configuration: a TOML file validated by pydantic.

A bad field gives one line naming the field, the problem and the allowed values, e.g.
``model.pattern: Input should be 'dressed', 'head', ... (got 'hybridd')``.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Annotated, Any, Literal

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the tomli backport
    import tomli as tomllib  # type: ignore[no-redef]

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..datasets import LOADERS
from .noise_config import NoiseConfig


class ConfigError(ValueError):
    """A configuration problem, with a message naming the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(BaseModel):
    """Which dataset; extra keys go to the loader (e.g. ``size``, ``n_classes``, ``n_samples``)."""

    model_config = ConfigDict(extra="allow")
    name: Literal[
        "digits",
        "iris",
        "wine",
        "breast_cancer",
        "linearly_separable",
        "hyperplanes_parity",
        "two_curves",
        "hidden_manifold",
        "bars_and_stripes",
    ] = "digits"
    test_size: float = Field(0.25, gt=0, lt=1)
    scale: Literal["standard", "minmax", "none"] = "standard"
    max_train: int | None = Field(None, ge=4, description="use at most this many training samples")

    @model_validator(mode="after")
    def _loader_options(self) -> DataConfig:
        allowed = set(inspect.signature(LOADERS[self.name]).parameters) - {
            "test_size",
            "seed",
            "scale",
            "as_tensors",
        }
        for key in self.model_extra or {}:
            if key not in allowed:
                raise ValueError(
                    f"unknown option {key!r} for dataset {self.name!r}; allowed:"
                    f" {sorted(allowed) or 'none'}"
                )
        return self

    def loader_kwargs(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ModelConfig(_Strict):
    """The hybrid model: split pattern, circuit, backend."""

    pattern: Literal["dressed", "head", "feature", "monolithic", "quanvolution"] = "dressed"
    n_qubits: int = Field(4, ge=1, le=200, description="above 20: backend 'mps' or 'auto'")
    layers: int = Field(2, ge=1, le=50)
    encoding: Literal["angle", "zz", "iqp", "amplitude", "reuploading"] = "angle"
    ansatz: Literal["hardware_efficient", "strongly_entangling", "tree_tensor_network"] = (
        "hardware_efficient"
    )
    init: Literal["uniform", "normal", "identity_block", "small_angle", "zeros"] = "uniform"
    backend: str = "statevector"
    backend_options: dict[str, float | int | None] = Field(
        default_factory=dict, description="the backend's options, e.g. {max_bond = 32} for 'mps'"
    )
    diff_method: Literal[
        "best", "backprop", "adjoint", "parameter-shift", "finite-diff", "spsa"
    ] = "best"
    shots: int | None = Field(None, ge=1)
    n_episodes: int = Field(
        8, ge=1, description="quantum kitchen sinks episodes (pattern 'feature')"
    )
    kernel_size: int = Field(2, ge=1, description="patch side (pattern 'quanvolution')")
    trainable_quanvolution: bool = False

    @model_validator(mode="after")
    def _wide_needs_mps(self) -> ModelConfig:
        if self.n_qubits > 20 and self.backend not in ("mps", "auto"):
            raise ValueError(
                f"n_qubits = {self.n_qubits} is past a statevector's reach (20 here): set"
                " backend = 'mps' (with backend_options = {max_bond = 32}) or 'auto'"
            )
        return self


ZNE_ONLY = ("scale_factors", "extrapolation", "folding", "order")
_APPLIES = {
    **dict.fromkeys(ZNE_ONLY, "zne"),
    "calibration_shots": "readout",
    "num_samples": "pec",
}


class MitigationConfig(_Strict):
    """Error mitigation of the hybrid model's quantum layer (``hqml.mitigation``), so that a
    mitigated noisy experiment is reproducible from its config alone. A field of another
    method than ``method`` is refused rather than ignored."""

    method: Literal["none", "zne", "readout", "pec"] = "none"
    scale_factors: list[float] = Field(
        [1.0, 3.0, 5.0], min_length=2, description="zne: noise scales, each >= 1"
    )
    extrapolation: Literal["linear", "richardson", "polynomial", "exponential"] = "richardson"
    folding: Literal["global", "from_left", "from_right", "random"] = "global"
    order: int | None = Field(None, ge=1, description="zne: degree of 'polynomial'")
    calibration_shots: int | None = Field(
        None, ge=1, description="readout: shots per calibration circuit (none: exact)"
    )
    num_samples: int = Field(1000, ge=1, description="pec: sampled circuits per estimate")
    seed: int | None = Field(None, ge=0, description="sampling seed (default: the run's seed)")

    @model_validator(mode="after")
    def _fields_of_the_method(self) -> MitigationConfig:
        # a setting differing from its default (so that a dumped config parses again)
        changed = [
            n for n, f in type(self).model_fields.items() if getattr(self, n) != f.get_default()
        ]
        for name in changed:
            needs = _APPLIES.get(name)
            if needs and needs != self.method and self.method != "none":
                raise ValueError(f"{name} applies to method {needs!r}, not {self.method!r}")
        if self.method == "none" and set(changed) - {"method"}:
            raise ValueError(f"{', '.join(changed)} set without a method; set mitigation.method")
        bad = [s for s in self.scale_factors if s < 1]
        if bad:
            raise ValueError(f"scale_factors must be >= 1 (1 = no folding), got {bad}")
        if self.extrapolation == "polynomial" and self.order is None:
            raise ValueError("extrapolation 'polynomial' needs mitigation.order")
        return self


def check_device_name(name: str) -> str:
    """``name`` if it is a device setting runs accept (``ValueError`` naming them otherwise)."""
    if not re.fullmatch(r"cpu|cuda|cuda:\d+|auto", name):
        raise ValueError(
            f"device {name!r} is not one of 'cpu', 'cuda', 'cuda:N' (a GPU index) or 'auto'"
        )
    return name


class TrainingConfig(_Strict):
    epochs: int = Field(10, ge=1, le=10000)
    batch_size: int = Field(32, ge=1)
    optimizer: Literal["adam", "adamw", "sgd", "rmsprop"] = "adam"
    learning_rate: float = Field(0.01, gt=0)
    baseline: bool = Field(True, description="also train the parameter-matched classical baseline")
    # the models', their data's and the simulation's; CUDA where there is none is refused
    device: Annotated[str, AfterValidator(check_device_name)] = "cpu"


class ScheduleConfig(_Strict):
    """A training schedule of the hybrid model's circuit (``hqml.experiment.schedules``)."""

    kind: Literal["none", "layerwise", "adaptive", "pruning"] = "none"
    start_layers: int = Field(1, ge=1, description="layerwise/adaptive: depth at the start")
    every: int = Field(1, ge=1, description="layerwise: epochs per added layer")
    freeze_previous: bool = Field(False, description="layerwise: train only the newest layer")
    max_layers: int | None = Field(None, ge=1, description="adaptive: cap (model.layers)")
    patience: int = Field(1, ge=1, description="adaptive: stalled epochs before growing")
    min_improvement: float = Field(
        0.03, ge=0, lt=1, description="adaptive: relative validation loss gain"
    )
    variance_fraction: float = Field(
        0.05, gt=0, lt=1, description="adaptive: grow while variance > this x first"
    )
    settle_epochs: int = Field(2, ge=0, description="adaptive: no growth in the last epochs")
    validation_fraction: float = Field(
        0.2, gt=0, lt=1, description="adaptive: training rows held out"
    )
    prune_threshold: float = Field(1e-4, gt=0, description="pruning: mean |gradient| below")
    prune_patience: int = Field(2, ge=1, description="pruning: for this many epochs")
    adaptive_epochs: int | None = Field(
        None,
        ge=1,
        le=10000,
        description="adaptive: the hybrid model trains this many epochs (default"
        " training.epochs); its cheaper shallow epochs can buy more of them",
    )


class TrackingConfig(_Strict):
    mlflow: bool | None = Field(None, description="None: log to MLflow when it is installed")
    tracking_uri: str | None = None
    experiment: str = "hqml"


class BudgetConfig(_Strict):
    """Limits on the run's calls to quantum providers, checked before each call is sent."""

    shots: int | None = Field(None, ge=1)
    jobs: int | None = Field(None, ge=1)
    money: float | None = Field(None, gt=0, description="USD, from hqml.accounting's prices")


class PriceConfig(_Strict):
    """A device's price (USD), as :class:`hqml.accounting.Price`."""

    per_task: float = Field(0.0, ge=0)
    per_shot: float = Field(0.0, ge=0)
    per_second: float = Field(0.0, ge=0)
    seconds_per_shot: float = Field(0.0, ge=0, description="device time estimated per shot")
    min_seconds_per_task: float = Field(0.0, ge=0, description="billed at least this per task")
    seconds_per_task: float | None = Field(
        None, ge=0, description="device time estimated per task (for a money budget)"
    )


class RunConfig(_Strict):
    """A whole ``hqml run`` configuration."""

    name: str = "run"
    seed: int = Field(0, ge=0, le=2**32 - 1)  # what NumPy and scikit-learn accept
    output_dir: str = "runs"
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    noise: NoiseConfig = NoiseConfig()
    mitigation: MitigationConfig = MitigationConfig()
    training: TrainingConfig = TrainingConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    tracking: TrackingConfig = TrackingConfig()
    budget: BudgetConfig = BudgetConfig()
    # "<provider>:<device>" shell patterns -> prices, before hqml.accounting's dated defaults
    prices: dict[str, PriceConfig] = {}

    @field_validator("name")
    @classmethod
    def _plain_name(cls, name: str) -> str:
        # the run folder is output_dir/name: a path in the name would write outside output_dir
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", name) or set(name) == {"."}:
            raise ValueError(
                f"{name!r} names the run's folder; use 1 to 100 letters, digits, '_', '-' or"
                " '.' (a folder name, not a path)"
            )
        return name

    @model_validator(mode="after")
    def _mitigation_fits(self) -> RunConfig:
        problem = self.noise.problem(self.model.n_qubits) or mitigation_problem(self)
        if problem:
            raise ValueError(problem)
        return self

    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name


PROVIDER_PREFIXES = ("qiskit:", "braket:", "pennylane:", "cirq:")
_KEEPS = {  # the diff methods each mitigation keeps (folded or sampled circuits repeat parameters)
    "zne": ("best", "backprop", "finite-diff", "spsa"),
    "pec": ("best", "backprop", "finite-diff", "spsa"),
    "readout": ("best", "backprop", "parameter-shift", "finite-diff", "spsa"),
}


def mitigation_problem(cfg: RunConfig) -> str | None:
    """What makes the config's mitigation impossible to apply as asked, or ``None``."""
    m, noise, model = cfg.mitigation, cfg.noise, cfg.model
    if m.method == "none":
        return None
    where = f"mitigation.method {m.method!r}"
    if model.pattern not in ("dressed", "head"):
        return f"{where} applies to patterns 'dressed' and 'head', not {model.pattern!r}"
    if model.diff_method not in _KEEPS[m.method]:
        keeps = list(_KEEPS[m.method])
        return f"{where} needs model.diff_method in {keeps}, got {model.diff_method!r}"
    hardware = model.backend.startswith(PROVIDER_PREFIXES)
    if m.method == "pec":
        if hardware or not noise.gate_noise:
            return f"{where} cancels the gate noise of a [noise] table: set noise.depolarizing"
        if noise.readout:
            return f"{where} cancels gate noise only; noise.readout_flip needs method 'readout'"
    elif m.method == "readout" and not hardware and not noise.readout:
        return f"{where} corrects readout errors: set noise.readout_flip (or a hardware backend)"
    elif not hardware and not noise.active:
        return f"{where} has no noise to mitigate: set a [noise] table or a hardware backend"
    return None


def _allowed(parent: tuple) -> str:
    model: Any = RunConfig
    for part in parent:
        model = model.model_fields[part].annotation
    return ", ".join(model.model_fields)


def _format(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "config"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            lines.append(f"{loc}: unknown field; allowed here: {_allowed(e['loc'][:-1])}")
        else:
            given = e.get("input")
            shown = e["type"] == "missing" or isinstance(given, dict) or repr(given) in msg
            lines.append(f"{loc}: {msg}" + ("" if shown else f" (got {given!r})"))
    return "; ".join(lines)


def parse_config(data: dict[str, Any]) -> RunConfig:
    """Validate a config dict.

    Raises:
        ConfigError: naming each bad field and its allowed values.
    """
    try:
        return RunConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"invalid config: {_format(e)}") from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """A TOML config file's data (``ConfigError`` naming a missing file or bad TOML)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} not found")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read and validate a TOML config; ``overrides`` (dotted keys) replace values. A
    ``[search]`` table (hyperparameter search, ``hqml study``) and a ``[scale]`` table
    (``hqml scale``) are ignored."""
    data = read_toml(path)
    data.pop("search", None)  # a study's table (``hqml study``); a run ignores it
    data.pop("scale", None)  # a scalability study's table (``hqml scale``)
    for key, value in (overrides or {}).items():
        node = data
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return parse_config(data)
