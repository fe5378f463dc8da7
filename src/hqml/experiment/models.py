"""Build the hybrid model of a config and its parameter-matched classical baseline."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ..backends.base import Backend
from ..backends.registry import get_backend
from ..circuit.circuit import Circuit
from ..circuit.observables import Z
from ..circuit.templates import (
    amplitude_encoding_angles,
    angle_encoding,
    data_reuploading,
    hardware_efficient,
    identity_blocks,
    iqp_encoding,
    strongly_entangling,
    tree_tensor_network,
    zz_feature_map,
)
from ..nn import (
    AmplitudeEncoded,
    DressedQuantumLayer,
    PCAReduction,
    QuantumClassifier,
    QuantumFeatureModel,
    QuantumHead,
    QuantumKitchenSinks,
    QuantumLayer,
    Quanvolution2d,
    count_parameters,
)
from ..noise import NoiseModel
from .config import ConfigError, MitigationConfig, ModelConfig, NoiseConfig
from .mitigation import mitigated_backend
from .noise_config import noise_model_of


def build_circuit(cfg: ModelConfig) -> Circuit:
    """Encoding followed by the ansatz (data re-uploading interleaves them)."""
    n = cfg.n_qubits
    if cfg.encoding == "reuploading":
        if cfg.init == "identity_block":
            raise ConfigError(
                "model.init: 'identity_block' does not apply to encoding 'reuploading'"
            )
        return data_reuploading(n, cfg.layers)
    enc = {
        "angle": lambda: angle_encoding(n),
        "zz": lambda: zz_feature_map(n, reps=1),
        "iqp": lambda: iqp_encoding(n),
        "amplitude": lambda: amplitude_encoding_angles(n, input_name="x"),
    }[cfg.encoding]()
    if cfg.ansatz == "tree_tensor_network":
        if n & (n - 1) or n < 2:
            raise ConfigError(
                f"model.n_qubits: the tree tensor network needs a power of two >= 2, got {n}"
            )
        ansatz = tree_tensor_network(n)
    elif cfg.init == "identity_block":
        block = (
            hardware_efficient(n, 1)
            if cfg.ansatz == "hardware_efficient"
            else strongly_entangling(n, 1)
        )
        ansatz = identity_blocks(block, n_blocks=cfg.layers)
    elif cfg.ansatz == "hardware_efficient":
        ansatz = hardware_efficient(n, cfg.layers)
    else:
        ansatz = strongly_entangling(n, cfg.layers)
    return enc.compose(ansatz)


def _noise_for(cfg: ModelConfig, noise: NoiseConfig | None) -> NoiseModel | None:
    nm = noise_model_of(noise)
    if nm is not None and cfg.pattern not in ("dressed", "head"):
        raise ConfigError(
            f"noise: a noise model applies to patterns 'dressed' and 'head', not {cfg.pattern!r}"
        )
    return nm


def _features_in(circuit: Circuit, cfg: ModelConfig) -> int:
    """How many features the model's quantum part takes (the amplitude encoding: 2^n)."""
    if cfg.encoding == "amplitude":
        return 2**cfg.n_qubits
    return sum(a.size for a in circuit.inputs.values())


def _encoded(layer: QuantumLayer, cfg: ModelConfig) -> nn.Module:
    """The layer as the model sees it: features in. The amplitude encoding's circuit takes its
    gate angles, computed from the features by :class:`AmplitudeEncoded`."""
    return AmplitudeEncoded(layer, cfg.n_qubits) if cfg.encoding == "amplitude" else layer


def _layer(circuit: Circuit, cfg: ModelConfig, seed: int, **kw: Any) -> QuantumLayer:
    if "probs_wires" not in kw:
        kw["observables"] = [Z(q) for q in range(circuit.n_qubits)]
    nm, mitigation = kw.get("noise_model"), kw.pop("mitigation", None)
    backend = mitigated_backend(model_backend(cfg), mitigation, nm, circuit.n_qubits, seed)
    return QuantumLayer(
        circuit,
        backend=backend,
        diff_method=cfg.diff_method,
        init=cfg.init,
        seed=seed,
        shots=cfg.shots,
        **kw,
    )


def build_hybrid(
    cfg: ModelConfig,
    n_features: int,
    n_classes: int,
    x_train: torch.Tensor,
    seed: int,
    noise: NoiseConfig | None = None,
    mitigation: MitigationConfig | None = None,
) -> nn.Module:
    """The hybrid model of the config's split pattern (``noise``, ``mitigation``: the config's
    tables; mitigation wraps the quantum layer's backend).

    Raises:
        ConfigError: when the pattern does not fit the data (e.g. feature counts).
    """
    torch.manual_seed(seed)  # classical layers' initialisation
    nm = _noise_for(cfg, noise)
    if cfg.pattern == "quanvolution":
        return _quanvolution_model(cfg, x_train, n_classes, seed)
    if x_train.dim() != 2:
        raise ConfigError(
            f"model.pattern {cfg.pattern!r} needs flat features: set data.images = false"
        )
    if cfg.pattern == "feature":
        qks = QuantumKitchenSinks(
            n_features, cfg.n_qubits, cfg.n_episodes, seed=seed, backend=model_backend(cfg)
        )
        return QuantumFeatureModel(qks, nn.Linear(n_features + qks.n_outputs, n_classes))
    circuit = build_circuit(cfg)
    n_in = _features_in(circuit, cfg)
    if cfg.pattern == "dressed":
        return DressedQuantumLayer(
            n_features,
            n_classes,
            _encoded(_layer(circuit, cfg, seed, noise_model=nm, mitigation=mitigation), cfg),
        )
    if cfg.pattern == "head":
        if n_in > n_features:
            raise ConfigError(
                f"model: the circuit takes {n_in} features but the data has {n_features};"
                " lower model.n_qubits or choose another encoding"
            )
        reduction = PCAReduction(n_features, n_in).fit(x_train)
        return QuantumHead(
            reduction,
            _encoded(_layer(circuit, cfg, seed, noise_model=nm, mitigation=mitigation), cfg),
            n_classes,
            squash=cfg.encoding != "amplitude",
        )
    return _monolithic_model(cfg, circuit, n_features, n_classes, seed)


def _quanvolution_model(
    cfg: ModelConfig, x_train: torch.Tensor, n_classes: int, seed: int
) -> nn.Module:
    """Quanvolution over the images, then a linear read-out of its feature maps."""
    if x_train.dim() != 4:
        raise ConfigError(
            "model.pattern 'quanvolution' needs images: set data.images = true"
            " (datasets 'digits' or 'bars_and_stripes')"
        )
    # pixels are used as angles directly: scale the data to [0, pi] (data.scale = "minmax")
    quanv = Quanvolution2d(
        x_train.shape[1],
        cfg.kernel_size,
        trainable=cfg.trainable_quanvolution,
        layers=cfg.layers,
        seed=seed,
        backend=model_backend(cfg),
        diff_method=cfg.diff_method,
        input_scale=1.0,
    )
    with torch.no_grad():
        n_out = quanv(x_train[:1]).numel()
    return nn.Sequential(quanv, nn.Flatten(), nn.Linear(n_out, n_classes))


def _monolithic_model(
    cfg: ModelConfig, circuit: Circuit, n_features: int, n_classes: int, seed: int
) -> nn.Module:
    """The features go straight into the circuit, the classes are read from its first wires."""
    n_in = _features_in(circuit, cfg)
    if n_in != n_features:
        hint = (
            f"use encoding 'amplitude' with n_qubits = {math.ceil(math.log2(n_features))}"
            if n_features > cfg.n_qubits
            else f"set model.n_qubits = {n_features}"
        )
        raise ConfigError(
            f"model.pattern 'monolithic': the circuit takes {n_in} features, the data"
            f" has {n_features}; {hint}"
        )
    wires = max(1, math.ceil(math.log2(n_classes)))
    if wires > cfg.n_qubits:
        raise ConfigError(f"model.n_qubits: {n_classes} classes need {wires} readout qubits")
    model = QuantumClassifier(
        circuit,
        n_classes,
        wires=list(range(wires)),
        backend=model_backend(cfg),
        diff_method=cfg.diff_method,
        init=cfg.init,
        seed=seed,
        shots=cfg.shots,
    )
    model.quantum = _encoded(model.quantum, cfg)  # type: ignore[arg-type]
    return model


def _gains(module: nn.Module, n_features: int, n_classes: int, rest: int) -> None:
    """Spend ``rest`` leftover parameters as elementwise gains on the first inputs, then on the
    first logits (so a model matches its budget exactly)."""
    n_in = min(max(0, rest), n_features)
    module.in_gain = nn.Parameter(torch.ones(n_in))
    module.out_gain = nn.Parameter(torch.ones(min(max(0, rest) - n_in, n_classes)))


def _apply_gains(module: nn.Module, x: torch.Tensor, net: nn.Module) -> torch.Tensor:
    x = x.reshape(len(x), -1)
    k = len(module.in_gain)
    x = torch.cat([x[:, :k] * module.in_gain, x[:, k:]], dim=1)
    out = net(x)
    m = len(module.out_gain)
    return torch.cat([out[:, :m] * module.out_gain, out[:, m:]], dim=1)


class MatchedMLP(nn.Module):
    """A one-hidden-layer MLP with exactly ``budget`` trainable parameters.

    The hidden width is the largest that fits; the few parameters left over become elementwise
    trainable gains on the first inputs and then on the first logits, so the count matches
    exactly (when ``budget`` allows at least one hidden unit).
    """

    def __init__(self, n_features: int, n_classes: int, budget: int, activation: str = "relu"):
        super().__init__()
        per_unit = n_features + n_classes + 1
        hidden = max(1, (budget - n_classes) // per_unit)
        act = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation]()
        self.net = nn.Sequential(nn.Linear(n_features, hidden), act, nn.Linear(hidden, n_classes))
        _gains(self, n_features, n_classes, budget - (hidden * per_unit + n_classes))
        self.hidden = hidden
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _apply_gains(self, x, self.net)


class MatchedLinear(nn.Module):
    """A linear classifier (logits ``W x + b``) with exactly ``budget`` trainable parameters:
    multinomial logistic regression when it fits, else a rank-``r`` factorised weight
    ``W = B A`` with the largest ``r`` that fits; leftovers become gains as in
    :class:`MatchedMLP`. It has no hidden units that can die, so it learns at any size."""

    def __init__(self, n_features: int, n_classes: int, budget: int):
        super().__init__()
        full = n_features * n_classes + n_classes
        if budget >= full:
            self.net: nn.Module = nn.Linear(n_features, n_classes)
            self.rank, used = min(n_features, n_classes), full
        else:
            rank = max(1, (budget - n_classes) // (n_features + n_classes))
            self.net = nn.Sequential(
                nn.Linear(n_features, rank, bias=False), nn.Linear(rank, n_classes)
            )
            self.rank, used = rank, rank * (n_features + n_classes) + n_classes
        _gains(self, n_features, n_classes, budget - used)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _apply_gains(self, x, self.net)


class MatchedCNN(nn.Module):
    """For images ``(C, H, W)``: a 2x2 convolution with stride 2 (the patches a quanvolution
    reads) into as many channels as fit, ReLU, and a linear read-out of all patch features;
    exactly ``budget`` trainable parameters (leftovers as gains, as in :class:`MatchedMLP`)."""

    def __init__(self, image_shape: tuple[int, ...], n_classes: int, budget: int):
        super().__init__()
        c_in, h, w = image_shape
        patches = (h // 2) * (w // 2)
        per_channel = 4 * c_in + 1 + patches * n_classes
        channels = max(1, (budget - n_classes) // per_channel)
        self.conv = nn.Conv2d(c_in, channels, 2, stride=2)
        self.head = nn.Linear(channels * patches, n_classes)
        self.channels = channels
        _gains(self, c_in * h * w, n_classes, budget - (channels * per_channel + n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        net = nn.Sequential(
            nn.Unflatten(1, shape[1:]), self.conv, nn.ReLU(), nn.Flatten(), self.head
        )
        return _apply_gains(self, x, net)


# The shapes a baseline of a given size may take (see hqml.experiment.baseline); "cnn" only for
# image data.
BASELINE_SHAPES = ("mlp-relu", "mlp-tanh", "linear", "cnn")


def build_baseline(
    n_features: int,
    n_classes: int,
    budget: int,
    seed: int,
    shape: str = "mlp-relu",
    image_shape: tuple[int, ...] | None = None,
) -> nn.Module:
    """A classical model of one of :data:`BASELINE_SHAPES` with (as far as possible) ``budget``
    trainable parameters, initialised from ``seed`` (``cnn`` needs ``image_shape``, (C, H, W))."""
    torch.manual_seed(seed)
    if shape == "linear":
        return MatchedLinear(n_features, n_classes, budget)
    if shape == "cnn":
        if image_shape is None or len(image_shape) != 3 or min(image_shape[1:]) < 2:
            raise ValueError("baseline shape 'cnn' needs images of shape (C, H, W), H, W >= 2")
        return MatchedCNN(tuple(image_shape), n_classes, budget)
    if shape in ("mlp-relu", "mlp-tanh"):
        return MatchedMLP(n_features, n_classes, budget, activation=shape.removeprefix("mlp-"))
    raise ValueError(f"unknown baseline shape {shape!r}; choose one of {BASELINE_SHAPES}")


def model_backend(cfg: ModelConfig) -> str | Backend:
    """The config's backend: its name, or an instance built with ``backend_options``."""
    if not cfg.backend_options:
        return cfg.backend
    try:
        return get_backend(cfg.backend, **cfg.backend_options)
    except TypeError as e:
        raise ConfigError(f"model.backend_options: {e}") from None


def truncation_of(model: nn.Module) -> dict[str, Any] | None:
    """What the MPS simulations of ``model``'s quantum layers discarded over the run (worst
    rows), or None when no layer ran on an MPS backend (named ``"mps"``, an instance, wrapped
    by mitigation, or picked by ``"auto"``: each layer keeps its outputs' reports)."""
    found = [m.worst_truncation for m in model.modules() if isinstance(m, QuantumLayer)]
    reports = [r for r in found if r is not None]
    if not reports:
        return None
    return {
        "max_discarded_weight": max(float(r.discarded.max()) for r in reports),
        "min_fidelity_estimate": min(float(r.fidelity.min()) for r in reports),
        "max_bond": max(r.max_bond for r in reports),
        "exact": all(r.exact for r in reports),
        "full_rank": all(r.full_rank for r in reports),  # no cut at all: gradients exact
    }


def quantum_circuit_of(model: nn.Module) -> Circuit | None:
    """The circuit of the first quantum layer inside ``model`` (for drawing and resources)."""
    for m in model.modules():
        if isinstance(m, QuantumLayer):
            return m.circuit
    return None


__all__ = [
    "model_backend",
    "truncation_of",
    "build_circuit",
    "build_hybrid",
    "build_baseline",
    "MatchedMLP",
    "MatchedLinear",
    "MatchedCNN",
    "BASELINE_SHAPES",
    "quantum_circuit_of",
    "count_parameters",
]
