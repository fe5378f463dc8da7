"""What every quantum kernel shares: the feature map, input checks, weights, the kernel API.

A quantum kernel maps samples to states with a *feature map*: an hqml :class:`Circuit` with
exactly one input array (one value per feature) and optionally weights (trainable kernels). It
behaves like a scikit-learn kernel: ``k(X, Y=None)`` returns the Gram matrix, ``k.diag(X)`` its
diagonal, and ``get_params`` / ``set_params`` / ``clone`` work (nested as ``kernel__gamma``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone

from ..circuit.circuit import Circuit
from ..provenance import dataset_fingerprint, describe_noise, provenance

FeatureMap = Circuit | Callable[[int], Circuit]

_DTYPES = {"complex64": torch.complex64, "complex128": torch.complex128}


def resolve_feature_map(feature_map: FeatureMap, n_features: int) -> Circuit:
    """The feature-map circuit for ``n_features`` features, checked.

    Args:
        feature_map: a circuit, or a callable ``n_features -> Circuit`` (e.g.
            ``hqml.circuit.templates.zz_feature_map`` or a ``functools.partial`` of it).
        n_features: number of features of the data.

    Raises:
        TypeError: the feature map is neither a circuit nor a callable returning one.
        ValueError: the circuit does not have exactly one input, or its size is not ``n_features``.
    """
    circuit = feature_map
    if not isinstance(circuit, Circuit):
        if not callable(feature_map):
            raise TypeError(
                f"feature_map must be an hqml.Circuit or a callable n_features -> Circuit,"
                f" got {type(feature_map).__name__}"
            )
        circuit = feature_map(n_features)
        if not isinstance(circuit, Circuit):
            raise TypeError(
                f"feature_map({n_features}) returned {type(circuit).__name__}, not an hqml.Circuit"
            )
    if len(circuit.inputs) != 1:
        raise ValueError(
            f"a feature map needs exactly one input array (the features); this circuit"
            f" has {sorted(circuit.inputs) or 'none'}; declare one with c.input('x', d)"
        )
    arr = next(iter(circuit.inputs.values()))
    if arr.size != n_features or len(arr.shape) > 1:
        raise ValueError(
            f"the feature map's input '{arr.name}' has shape {arr.shape}, but the data has"
            f" {n_features} feature(s); build the map for {n_features} features"
        )
    return circuit


def check_samples(X: Any, name: str = "X") -> np.ndarray:
    """``X`` as a finite float64 array of shape ``(n_samples, n_features)``."""
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    try:
        arr = np.array(X, dtype=np.float64)  # a writable copy (torch refuses read-only memory)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be an array of real numbers of shape (n_samples, n_features)"
        ) from None
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape};"
            " reshape a single sample with X.reshape(1, -1)"
        )
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has 0 features; a quantum kernel needs at least one")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity; impute or drop those samples first")
    return arr


def complex_dtype(name: str) -> torch.dtype:
    """``"complex64"`` / ``"complex128"`` as a torch dtype (a clear error otherwise)."""
    if name not in _DTYPES:
        raise ValueError(f"dtype must be 'complex64' or 'complex128', got {name!r}")
    return _DTYPES[name]


_CIRCUIT_KEY = "__hqml_circuit_json__"


def circuit_state(state: dict[str, Any]) -> dict[str, Any]:
    """A copy of an object's ``__dict__`` with circuits replaced by their JSON (picklable)."""
    return {
        k: {_CIRCUIT_KEY: v.to_json()} if isinstance(v, Circuit) else v for k, v in state.items()
    }


def restore_circuits(state: dict[str, Any]) -> dict[str, Any]:
    """Undo :func:`circuit_state`."""
    return {
        k: Circuit.from_json(v[_CIRCUIT_KEY]) if isinstance(v, dict) and _CIRCUIT_KEY in v else v
        for k, v in state.items()
    }


class QuantumKernel(BaseEstimator):
    """Base class: a feature map, optional weights, and the scikit-learn kernel interface.

    Subclasses implement :meth:`_gram` (a torch Gram matrix, differentiable in the weights).
    Parameters follow scikit-learn rules: ``__init__`` stores them, nothing is computed there.

    ``last_truncation``: after :meth:`evaluate` on an MPS backend, what its truncations
    discarded for that Gram matrix (a :class:`hqml.backends.mps.Truncation`; ``None`` on
    backends that do not truncate). Check ``last_truncation.exact`` before trusting a Gram
    matrix of a large circuit.
    """

    last_truncation: Any = None

    def __init__(
        self,
        feature_map: FeatureMap,
        *,
        weights: Mapping[str, Any] | None = None,
        shots: int | None = None,
        seed: int | None = None,
        backend: Any = "statevector",
        batch_size: int | None = None,
        dtype: str = "complex128",
        noise_model: Any = None,
        bandwidth: float | str = 1.0,
    ):
        self.feature_map = feature_map
        self.weights = weights
        self.shots = shots
        self.seed = seed
        self.backend = backend
        self.batch_size = batch_size
        self.dtype = dtype
        self.noise_model = noise_model
        self.bandwidth = bandwidth

    # --- copies: circuits travel as JSON (pickle, deepcopy) or as copies (clone) -------------
    def __getstate__(self) -> dict[str, Any]:
        return circuit_state(super().__getstate__())

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(restore_circuits(state))

    def __sklearn_clone__(self) -> QuantumKernel:
        params = {
            k: v.copy() if isinstance(v, Circuit) else clone(v, safe=False)
            for k, v in self.get_params(deep=False).items()
        }
        return type(self)(**params)

    # --- the scikit-learn kernel interface --------------------------------------------------
    def __call__(self, X: Any, Y: Any = None) -> np.ndarray:
        return self.evaluate(X, Y)

    def evaluate(self, X: Any, Y: Any = None) -> np.ndarray:
        """The Gram matrix ``K[i, j] = k(X[i], Y[j])`` (``Y = X`` when omitted), float64."""
        X = check_samples(X, "X")
        Yc = None if Y is None else check_samples(Y, "Y")
        if Yc is not None and Yc.shape[1] != X.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} features but Y has {Yc.shape[1]}; they must match"
            )
        circuit = resolve_feature_map(self.feature_map, X.shape[1])
        weights = self._weight_tensors(circuit)
        b = self.bandwidth_value()
        with torch.no_grad():
            K = self._gram(circuit, X * b, None if Yc is None else Yc * b, weights)
        # an MPS backend's report of what its truncations discarded (None on other backends)
        self.last_truncation = getattr(K, "truncation", None)
        return K.detach().cpu().numpy().astype(np.float64, copy=False)

    def bandwidth_value(self) -> float:
        """The bandwidth as a number: features are multiplied by it before the feature map.

        Raises:
            ValueError: ``"auto"`` (chosen by an estimator's ``fit`` or
                :func:`hqml.kernels.select_bandwidth`), or not a positive finite number.
        """
        b = self.bandwidth
        if isinstance(b, str) and b == "auto":
            raise ValueError(
                "bandwidth='auto' is chosen from training data: fit an estimator (QSVC, QSVR,"
                " QuantumKernelRidge) or call hqml.kernels.select_bandwidth(kernel, X); give a"
                " number to evaluate the kernel directly"
            )
        if (
            isinstance(b, bool)
            or not isinstance(b, (int, float, np.floating, np.integer))
            or not (np.isfinite(b) and b > 0)
        ):
            raise ValueError(f"bandwidth must be a positive number or 'auto', got {b!r}")
        return float(b)

    def provenance(self, X: Any, y: Any = None, **seeds: Any) -> dict[str, Any]:
        """What a result of this kernel on ``(X, y)`` came from
        (:func:`hqml.provenance.provenance`): hqml version and commit, the data's hash, the
        seeds (the kernel's shot seed and ``seeds``), backend, dtype, shots, noise model,
        bandwidth, the feature map (its gates and the hash of its JSON), machine, library
        versions. The estimators keep it as ``provenance_`` after ``fit``."""
        X = check_samples(X, "X")
        arrays = [X] if y is None else [X, np.asarray(y)]
        backend = (
            self.backend
            if isinstance(self.backend, str)
            else getattr(self.backend, "name", type(self.backend).__name__)
        )
        circuit = resolve_feature_map(self.feature_map, X.shape[1])
        return provenance(
            dataset=dataset_fingerprint("fit data", arrays),
            seeds={"kernel": self.seed, **seeds},
            backend=str(backend),
            dtype=self.dtype,
            noise=describe_noise(self.noise_model),
            shots=self.shots,
            kernel=type(self).__name__,
            bandwidth=self.bandwidth,
            feature_map={
                "n_qubits": circuit.n_qubits,
                "gates": circuit.count_ops(),
                "sha256": hashlib.sha256(circuit.to_json().encode()).hexdigest(),
            },
        )

    def diag(self, X: Any) -> np.ndarray:
        """``k(x, x)`` for each sample (ones for fidelity kernels of pure states)."""
        X = check_samples(X, "X")
        return np.ones(X.shape[0])

    def is_stationary(self) -> bool:
        return False

    # --- weights ----------------------------------------------------------------------------
    def _weight_tensors(
        self, circuit: Circuit, requires_grad: bool = False
    ) -> dict[str, torch.Tensor]:
        given = dict(self.weights or {})
        missing = sorted(set(circuit.weights) - set(given))
        if missing:
            raise ValueError(
                f"the feature map has trainable weights {missing} with no values; pass"
                " weights={name: tensor} or train them with hqml.kernels.train_kernel"
            )
        unknown = sorted(set(given) - set(circuit.weights))
        if unknown:
            raise ValueError(
                f"weights {unknown} are not weights of the feature map; it has"
                f" {sorted(circuit.weights) or 'none'}"
            )
        out = {}
        for name, value in given.items():
            t = torch.as_tensor(
                np.asarray(
                    value.detach().cpu() if isinstance(value, torch.Tensor) else value,
                    dtype=np.float64,
                )
            )
            if tuple(t.shape) != circuit.weights[name].shape:
                raise ValueError(
                    f"weight '{name}' has shape {tuple(t.shape)}; the feature map needs"
                    f" {circuit.weights[name].shape}"
                )
            out[name] = t.requires_grad_(requires_grad)
        return out

    # --- subclasses -------------------------------------------------------------------------
    def _gram(
        self,
        circuit: Circuit,
        X: np.ndarray,
        Y: np.ndarray | None,
        weights: Mapping[str, torch.Tensor],
    ) -> torch.Tensor:
        raise NotImplementedError


__all__ = [
    "QuantumKernel",
    "circuit_state",
    "restore_circuits",
    "FeatureMap",
    "resolve_feature_map",
    "check_samples",
    "complex_dtype",
]
