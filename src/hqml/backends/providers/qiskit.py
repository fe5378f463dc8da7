"""``qiskit:<device>``: any Qiskit ``BackendV2`` through the V2 primitives.

Devices: ``aer_simulator`` (Qiskit Aer; exact expectation values with ``shots=None``), the IBM
fake devices of ``qiskit_ibm_runtime.fake_provider`` (``fake_manila``, ``fake_jakarta``, ...: real
coupling maps, basis gates and noise, simulated on this machine) and IBM Quantum devices
(``ibm_*``) when a ``QiskitRuntimeService`` account is saved. All take the same path:

- each circuit structure is transpiled once to the device's ISA with Qiskit's preset pass
  manager (``optimization_level``, ``seed_transpiler``, ``initial_layout``) and cached across
  calls, keyed by the device's target;
- observables are mapped through the transpiled layout (``SparsePauliOp.apply_layout``);
- every task of a call becomes one PUB whose parameter-value array holds all its rows (a
  mini-batch and, for a gradient, every shifted copy), and all PUBs of a call go in one job
  (one for expectation values, one for samples; more only past ``max_circuits_per_job``);
- Aer's MPS method runs a fake device's noisy trajectories (``qiskit_devices.trajectory_device``);
- a local device samples through :class:`.qiskit_sampler.CountsSampler` (Aer's counts and
  ``parameter_binds``, not per-shot memory).
"""

from __future__ import annotations

import math
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ...circuit.gates import real_dtype
from ..base import Expval, Sample, Task
from .base import ProviderBackend, ProviderCapabilities, Submission
from .errors import UnsupportedRequest
from .qiskit_circuits import (
    measurement_groups,
    parameter_columns,
    structure_key,
    to_qiskit,
    to_sparse_pauli,
    unsupported_gate,
)
from .qiskit_devices import (  # fake_device, has_saved_ibm_account: this module's names too
    RuntimeMode,
    aer_device,
    fake_device,
    has_saved_ibm_account,
    ibm_device,
    queue_seconds,
    require_qiskit,
    simulator_device,
    simulator_settings,
    trajectory_device,
)
from .qiskit_dynamic import basis_groups, pub_values, unsupported_condition
from .qiskit_sampler import CountsSampler, counts_fit

__all__ = ["QiskitBackend", "fake_device", "has_saved_ibm_account", "transpile_cache_info"]

# transpiled circuits by (device target, pass-manager options, circuit structure): a backend
# created again by name (each hqml.expval(backend="qiskit:...") call) finds its circuits here
_ISA_CACHE: OrderedDict[tuple, tuple[Any, list[int], tuple]] = OrderedDict()
_ISA_CACHE_SIZE = 256
_CACHE_INFO = {"hits": 0, "misses": 0}
_AER_BASIS = ["cx", "u", "rz", "ry", "rx", "sx", "x", "h", "p"]


def transpile_cache_info() -> dict[str, int]:
    """``hits`` and ``misses`` (= transpilations) of the transpile cache, and its ``size``."""
    return {**_CACHE_INFO, "size": len(_ISA_CACHE)}


class QiskitBackend(ProviderBackend):
    """A Qiskit device; see the module's docstring.

    Args:
        device: ``"aer_simulator"``, ``"fake_<name>"`` or an IBM Quantum device name.
        optimization_level, seed_transpiler, initial_layout: options of Qiskit's preset pass
            manager (``generate_preset_pass_manager``).
        service: a ``QiskitRuntimeService`` (default: the saved account, for IBM devices).
        mode: a ``qiskit_ibm_runtime`` ``Session`` or ``Batch`` to run the primitives in, or
            ``"session"``/``"batch"`` to open one on first use (closed by :meth:`close`).
        resilience_level: IBM devices only: the runtime estimator's own error mitigation, off
            (0) by default so that values are raw and hqml's mitigation (readout calibration,
            ZNE) is not applied on top of IBM's (the runtime's default, 1, corrects readout).
        max_circuits_per_job: split calls into jobs of at most this many circuits.
        simulator_options: local devices only: ``AerSimulator`` options of the simulator that
            runs them, set with the device's ``set_options`` on hqml's own instance of it; a
            ``method`` given here replaces hqml's choice of the trajectory method.
        **options: ``shots``, ``seed``, ``budget``, ``prices``, ``fallback`` (see
            :class:`ProviderBackend`).
    """

    provider = "qiskit"

    def __init__(
        self,
        device: str = "aer_simulator",
        *,
        optimization_level: int = 1,
        seed_transpiler: int | None = 7,
        initial_layout: Sequence[int] | None = None,
        service: Any = None,
        instance: str | None = None,
        mode: Any = None,
        max_circuits_per_job: int | None = None,
        resilience_level: int = 0,
        simulator_options: dict[str, Any] | None = None,
        **options: Any,
    ):
        require_qiskit()
        super().__init__(device, **options)
        if resilience_level not in (0, 1, 2):
            raise ValueError(f"resilience_level must be 0, 1 or 2, got {resilience_level!r}")
        if device == "aer_simulator":
            self.backend = aer_device()
        elif device.startswith("fake_"):
            self.backend = fake_device(device)
        else:
            self.backend = ibm_device(device, service, instance)
        self.local = device == "aer_simulator" or device.startswith("fake_")
        if resilience_level and self.local:
            raise ValueError(
                f"resilience_level={resilience_level} is IBM Runtime's mitigation of a real"
                f" device; {self.name} runs locally without it: drop it, or mitigate with"
                " hqml.mitigation"
            )
        self.resilience_level = resilience_level
        self.simulator_options = simulator_settings(self.name, self.local, simulator_options)
        self.run_backend = (  # what the primitives run on; self.backend's target is transpiled to
            simulator_device(device, tuple(sorted(self.simulator_options.items())))
            if self.simulator_options
            else self.backend
        )
        self.mode, self.runtime_mode = mode, RuntimeMode(self.run_backend, mode)
        self.transpile_options = (
            int(optimization_level),
            seed_transpiler,
            None if initial_layout is None else tuple(int(q) for q in initial_layout),
        )
        self.capabilities = self._capabilities(max_circuits_per_job)
        target = self.backend.target
        cmap = target.build_coupling_map()
        edges = tuple(sorted(cmap.get_edges())) if cmap is not None else ()
        names = tuple(sorted(target.operation_names))
        self._target_key = (self.backend.name, target.num_qubits, names, edges)

    def _capabilities(self, max_circuits: int | None) -> ProviderCapabilities:
        exact = self.device == "aer_simulator"
        try:
            max_shots = int(self.backend.configuration().max_shots)
        except Exception:  # a BackendV2 without a configuration
            max_shots = None
        return ProviderCapabilities(
            max_qubits=int(self.backend.num_qubits),
            # Aer runs control flow; a device does when its target has if_else
            dynamic=exact or "if_else" in self.backend.target.operation_names,
            shots_only=not exact,
            measurements=frozenset({"expval", "sample"}),
            exact=exact,
            native_gates=frozenset(self.backend.target.operation_names),
            max_circuits_per_job=max_circuits or getattr(self.backend, "max_circuits", None),
            max_shots=max_shots,
        )

    def close(self) -> None:
        """Close the runtime session or batch this backend opened (``mode="session"|"batch"``)."""
        self.runtime_mode.close()

    def noise_model(self) -> Any:
        """The Qiskit Aer ``NoiseModel`` this device's simulator runs (``None`` for the ideal
        ``aer_simulator``). A fake device simulates the model it builds from its calibration
        properties, whose readout errors differ from ``NoiseModel.from_backend``'s; for an IBM
        device, ``NoiseModel.from_backend`` of its current target. Convert it with
        ``hqml.noise.NoiseModel.from_qiskit``."""
        if self.device == "aer_simulator":
            return None
        if self.device.startswith("fake_"):
            self.backend._setup_sim()
            return self.backend.sim.options.noise_model
        from qiskit_aer.noise import NoiseModel

        return NoiseModel.from_backend(self.backend)

    # -- what is sent --------------------------------------------------------------------------

    def dynamic_fix(self) -> str:
        return (
            f"{self.name}'s target has no control flow (if_else); use 'qiskit:aer_simulator'"
            " or a device whose target has it (e.g. 'qiskit:fake_manila'), or simulate it with"
            " backend='statevector' or 'density_matrix'"
        )

    def check_gates(self, task: Task) -> None:
        if task.circuit.is_dynamic and isinstance(task.measurement, Expval):
            if self.task_shots(task) is None:
                raise UnsupportedRequest(
                    f"{self.name} gives no exact expectation values of a dynamic circuit (Aer's"
                    " estimator would average sampled branches); pass shots=N, or use"
                    " backend='density_matrix' for exact values"
                )
        cap = self.capabilities.max_circuits_per_job
        if cap is not None and isinstance(task.measurement, Expval):
            groups = measurement_groups(task.measurement.observables)
            if groups > cap:
                raise UnsupportedRequest(
                    f"{self.name} takes {cap} circuits per job; one row of these observables"
                    f" needs {groups} measurement bases: ask for fewer at a time"
                )
        cond = unsupported_condition(task.circuit)
        if cond is not None:
            raise UnsupportedRequest(
                f"{self.name} cannot condition on {cond!r}: Qiskit's if_test reads one bit or"
                " one whole register; put the bits in a register of their own and condition on it"
            )
        bad = unsupported_gate(task.circuit)
        if bad is not None:
            raise UnsupportedRequest(
                f"{self.name} cannot run gate {bad!r} with symbolic parameters (no Qiskit"
                " translation); use built-in gates or bind its parameters"
            )

    def _rows(self, task: Task) -> int:
        """Distinct parameter sets: rows of theta, or one when no column varies."""
        if task.varying is not None and not any(task.varying):
            return 1
        if all(e.is_constant for e in task.circuit.parameter_exprs()):
            return 1
        return int(task.theta.shape[0])

    def _pieces(self, tasks: Sequence[Task]) -> list[tuple[int, int, int, int]]:
        """``(task, first row, last row, circuits)`` pieces, each within one job's limit."""
        cap = self.capabilities.max_circuits_per_job
        out = []
        for i, t in enumerate(tasks):
            groups = (  # estimator PUBs or a dynamic circuit's sampled bases alike
                measurement_groups(t.measurement.observables)
                if isinstance(t.measurement, Expval)
                else 1
            )
            rows = self._rows(t)
            step = rows if cap is None else max(1, cap // groups)
            for a in range(0, rows, step):
                b = min(rows, a + step)
                out.append((i, a, b, (b - a) * groups))
        return out

    def _jobs(self, tasks: Sequence[Task], shots: Sequence[int | None]) -> list[list[tuple]]:
        """Pieces packed into jobs: one primitive (estimator/sampler, exact or not) per job."""
        cap = self.capabilities.max_circuits_per_job
        jobs: dict[tuple, list[list[tuple]]] = {}
        for piece in self._pieces(tasks):
            t = tasks[piece[0]]
            kind = ("sampler" if _sampled(t) else "estimator", shots[piece[0]] is None)
            bins = jobs.setdefault(kind, [[]])
            used = sum(p[3] for p in bins[-1])
            if bins[-1] and cap is not None and used + piece[3] > cap:
                bins.append([])
            bins[-1].append(piece)
        return [job for bins in jobs.values() for job in bins]

    def plan(self, tasks: Sequence[Task], shots: Sequence[int | None]) -> tuple[int, list[int]]:
        circuits = [0] * len(tasks)
        for i, _, _, c in self._pieces(tasks):
            circuits[i] += c
        return len(self._jobs(tasks, shots)), circuits

    def _isa(self, task: Task, basis: dict[int, str] | None = None) -> tuple[Any, list[int]]:
        measure = task.measurement.wires if isinstance(task.measurement, Sample) else None
        if basis is not None:  # a dynamic circuit's expectation values: one sampled basis
            measure = tuple(sorted(basis))
        level, seed, layout = self.transpile_options
        if task.options.get("keep_gates"):  # ZNE folds: level 0 maps gates, never cancels them
            level = 0
        extra = (measure, None if basis is None else tuple(sorted(basis.items())))
        key = (self._target_key, (level, seed, layout), structure_key(task.circuit, extra))
        hit = _ISA_CACHE.get(key)
        if hit is not None:
            _CACHE_INFO["hits"] += 1
            _ISA_CACHE.move_to_end(key)
            return hit[:2]
        from qiskit.transpiler import generate_preset_pass_manager

        target = {"backend": self.backend}
        if self.device == "aer_simulator":
            # Aer's EstimatorV2 binds parameters of controlled rotations wrongly (a parametrised
            # crx gives 0): its circuits are compiled to standard one- and two-qubit gates
            target = {"basis_gates": _AER_BASIS}
        pm = generate_preset_pass_manager(
            optimization_level=level, seed_transpiler=seed,
            initial_layout=list(layout) if layout else None, **target,
        )  # fmt: skip
        isa = pm.run(to_qiskit(task.circuit, measure, basis))
        # The transpiler leaves a global phase summing half of every rotation angle, a
        # symbolic expression the primitives bind again for every parameter set (4 of the
        # 14 s of a 50-sample Gram matrix); a circuit's global phase is unobservable
        isa.global_phase = 0.0
        _CACHE_INFO["misses"] += 1
        # the entry holds the circuit's operations: a user gate without a matrix is keyed by
        # id(), and an id is never reused while its gate lives
        _ISA_CACHE[key] = (isa, parameter_columns(isa), tuple(task.circuit.ops))
        while len(_ISA_CACHE) > _ISA_CACHE_SIZE:
            _ISA_CACHE.popitem(last=False)
        return _ISA_CACHE[key][:2]

    def _pubs(self, task: Task, a: int, b: int, shots: int | None) -> list[tuple]:
        theta = task.theta.detach().to("cpu", torch.float64).numpy()
        if _sampled(task) and isinstance(task.measurement, Expval):
            out = []
            for basis in basis_groups(task.measurement.observables):
                isa, cols = self._isa(task, basis)
                out.append((isa, theta[a:b][:, cols] if cols else None, shots))
            return out
        isa, cols = self._isa(task)
        values = theta[a:b][:, cols] if cols else None
        if isinstance(task.measurement, Sample):
            return [(isa, values, shots)]
        n = task.circuit.n_qubits
        obs = [
            [to_sparse_pauli(o, n).apply_layout(isa.layout) for o in task.measurement.observables]
        ]
        if values is not None:
            values = values[:, None, :]  # (rows, 1, P) x (1, K) observables -> (rows, K)
        # a hair above 1/sqrt(shots), so that ceil(1/precision^2) is exactly `shots`
        precision = 0.0 if shots is None else (1 + 1e-9) / math.sqrt(shots)
        return [(isa, obs, values, precision)]

    def _primitive(self, kind: tuple, seed: int | None, device: Any = None, circuits=()) -> Any:
        sampler, exact = kind
        if exact:
            from qiskit_aer.primitives import EstimatorV2 as AerEstimator

            return AerEstimator()
        if self.local and self.mode is None:
            # the primitives qiskit-ibm-runtime's local mode builds, without its deep copy of the
            # device for every job (whose noise model the copy then builds again, ~0.5 s a job)
            from qiskit.primitives import BackendEstimatorV2, BackendSamplerV2

            if sampler and circuits and counts_fit(circuits):  # Aer's counts, not per-shot memory
                return CountsSampler(device or self.run_backend, seed)
            opts = {} if seed is None else {"seed_simulator": seed}
            cls = BackendSamplerV2 if sampler else BackendEstimatorV2
            return cls(backend=device or self.run_backend, options=opts)
        from qiskit_ibm_runtime import EstimatorV2, SamplerV2

        with warnings.catch_warnings():
            # qiskit-ibm-runtime >= 0.50 deprecates these classes in favour of client-side
            # primitives that older releases lack; they still run the same V2 PUBs
            warnings.filterwarnings(
                "ignore", r"The (Sampler|Estimator)V2 class is deprecated", DeprecationWarning
            )
            prim = (SamplerV2 if sampler else EstimatorV2)(mode=device or self.runtime_mode.get())
        if self.local and seed is not None:  # a local device in a runtime session or batch
            prim.options.simulator.seed_simulator = seed
        if not self.local and not sampler:  # raw values unless asked (see resilience_level)
            prim.options.resilience_level = self.resilience_level
        return prim

    def submit(
        self, tasks: Sequence[Task], shots: Sequence[int | None], seed: int | None
    ) -> Submission:
        parts: list[list[np.ndarray]] = [[] for _ in tasks]
        ids, queue = [], 0.0
        for job_pieces in self._jobs(tasks, shots):
            i0 = job_pieces[0][0]
            kind = (_sampled(tasks[i0]), shots[i0] is None)
            pubs = [self._pubs(tasks[i], a, b, shots[i]) for i, a, b, _ in job_pieces]
            flat = [p for ps in pubs for p in ps]
            device = None if self.mode is not None else trajectory_device(  # a speed choice only
                self.device, self.simulator_options, [p[0] for p in flat], shots[i0]
            )  # fmt: skip
            job = self._primitive(kind, seed, device, [p[0] for p in flat]).run(flat)
            result, start = list(job.result()), 0
            ids.append(str(job.job_id()))
            queue += queue_seconds(job)
            for (i, a, b, _), ps in zip(job_pieces, pubs, strict=True):
                parts[i].append(pub_values(result[start : start + len(ps)], tasks[i], b - a))
                start += len(ps)
        outs = []
        for t, p in zip(tasks, parts, strict=True):
            v = torch.from_numpy(np.concatenate(p, axis=0))
            rows = int(t.theta.shape[0])
            if v.shape[0] != rows:  # one distinct parameter set served every row
                v = v.expand(rows, *v.shape[1:])
            dt = torch.int64 if isinstance(t.measurement, Sample) else real_dtype(t.dtype)
            outs.append(v.to(dt).contiguous())
        return Submission(outs, tuple(ids), queue_s=queue)


def _sampled(task: Task) -> bool:
    """Whether the task runs on the sampler: samples, and a dynamic circuit's expectation
    values (estimated from its sampled bases, :mod:`.qiskit_dynamic`)."""
    return isinstance(task.measurement, Sample) or task.circuit.is_dynamic
