"""Workload definitions and their discovery: drop a ``w<k>_<name>.py`` file into
``hqml/bench/`` (or a folder named by ``$HQML_BENCH_PLUGINS``).

A workload module defines a module-level ``WORKLOAD = Workload(...)``. The suite imports every
``w[0-9]*.py`` file of both places, keeps those with a ``WORKLOAD`` and runs them in name order.

A workload is a list of cases (small dicts of sizes, e.g. ``{"n": 12}``), a seeded data maker,
and one *implementation* per framework. An implementation is a setup function
``setup(case, data) -> Prepared``: it builds everything (circuits, jit functions) and returns the
step to time and a function that turns a step's result into named NumPy arrays for the
agreement check. Keys of those arrays starting with ``"grad"`` are compared with the gradient
tolerance, all others with the forward tolerance. Heavy imports belong inside ``setup`` so a
missing framework only disables its own implementation, and so the module also loads in the
TorchQuantum side venv (which has torch and numpy but not hqml).

Devices: the suite runs on ``cpu`` (default) or ``cuda``. An implementation with a GPU variant
declares it with ``gpu=Gpu(...)``; its setup then takes the device as a third argument,
``setup(case, data, device)``, and puts its tensors (or picks its simulator) there. On ``cuda``
an implementation without ``gpu`` is skipped with "no GPU variant installed" instead of running
on the CPU under a ``cuda`` label (:meth:`Impl.skip_reason`); one whose GPU variant is missing
on this machine is skipped with the probe's reason (:meth:`Impl.gpu_problem`).

Example (a complete plug-in)::

    from hqml.bench.registry import Gpu, Impl, Prepared, Workload

    def _hqml(case, data, device):
        import hqml, torch
        c = hqml.Circuit(case["n"]).h(0)
        return Prepared(step=lambda: hqml.state(c, device=device),
                        values=lambda out: {"state": out.cpu().numpy()})

    WORKLOAD = Workload(name="W99", title="one Hadamard", cases=[{"n": 20}],
                        quick_cases=[{"n": 3}], make_data=lambda case: {},
                        impls=[Impl("hqml", _hqml, modules=("torch", "hqml"),
                                    gpu=Gpu("torch CUDA tensors"))])
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hqml.bench.devices import NO_GPU_VARIANT

BENCH_DIR = Path(__file__).resolve().parent
FORWARD_TOL = 1e-5
GRAD_TOL = 1e-4
# hqml computing only the outputs of a peer that gives no gradient (W8: the energy), the
# like-for-like reference of that peer's ratio (hqml.bench.report.summary_rows)
HQML_FORWARD = "hqml-forward"
PLUGINS_ENV = "HQML_BENCH_PLUGINS"


def checkout_root(start: Path | None = None) -> Path | None:
    """The hqml source checkout the command runs in (the current folder or a parent of it), else
    the one this package is installed from in editable mode; None outside any checkout."""
    cwd = (start or Path.cwd()).resolve()
    for root in (cwd, *cwd.parents, *BENCH_DIR.parents):
        if (root / "benchmarks" / "make_envs.sh").is_file() and (root / "src" / "hqml").is_dir():
            return root
    return None


def plugin_dirs() -> list[Path]:
    """Folders of the user's own workload files, from ``$HQML_BENCH_PLUGINS`` (``os.pathsep``
    separated)."""
    return [Path(p) for p in os.environ.get(PLUGINS_ENV, "").split(os.pathsep) if p]


Case = Mapping[str, Any]


@dataclass
class Prepared:
    """What an implementation's setup returns.

    Attributes:
        step: the timed call; returns whatever ``values`` needs.
        values: turns a step's result into named arrays for the agreement check.
        info: notes shown with the result (dtype, settings).
        counts: what the steps sent to a quantum provider, per step (jobs, circuits, shots,
            transpilations), recorded after the timing (hardware workloads); None otherwise.
    """

    step: Callable[[], Any]
    values: Callable[[Any], dict[str, np.ndarray]]
    info: str = ""
    counts: Callable[[], dict[str, float]] | None = None


@dataclass(frozen=True)
class Gpu:
    """An implementation's GPU variant: what it runs when the suite runs on ``cuda``.

    Attributes:
        variant: what runs on the GPU, in words (e.g. ``"lightning.gpu"``).
        probe: called in the run's process once the implementation's modules are imported;
            returns None when the variant is usable there, else the one-line reason the run is
            skipped with. ``None``: always usable (the suite has already checked torch's CUDA).
        torch_memory: its device memory goes through torch's caching allocator, so
            ``torch.cuda.max_memory_allocated`` is its peak memory (hqml, torch, PennyLane's
            default.qubit, TorchQuantum); otherwise only the host's resident set is recorded.
    """

    variant: str
    probe: Callable[[], str | None] | None = None
    torch_memory: bool = True


@dataclass
class Impl:
    """One framework's implementation of a workload.

    Attributes:
        framework: display name, e.g. ``"pennylane"``; ``"hqml"`` is the reference.
        setup: ``(case, data) -> Prepared``; ``(case, data, device) -> Prepared`` when ``gpu``
            is set (``device`` is ``"cpu"`` or ``"cuda"``).
        modules: modules imported before the memory baseline is taken; if one is missing the
            framework is reported as not installed.
        supports: ``case -> None`` when the case runs, else the reason it is skipped.
        venv: name of a side venv under the checkout's ``benchmarks/.envs`` to run in
            (e.g. ``"torchquantum"``).
        gpu: the GPU variant; ``None`` when the implementation runs on the CPU only.
        no_gpu: why there is no GPU variant, appended to the skip reason on ``cuda``.
        install: how to install the framework (and why it may not be), appended to the
            "not installed" result.
        outputs: the reference's keys this implementation computes (e.g. ``("energy",)`` for a
            peer without gradients); ``None``: all of them. Only these are compared.
    """

    framework: str
    setup: Callable[..., Prepared]
    modules: tuple[str, ...] = ()
    supports: Callable[[Case], str | None] = lambda case: None
    venv: str | None = None
    gpu: Gpu | None = None
    no_gpu: str = ""
    install: str = ""
    outputs: tuple[str, ...] | None = None

    def skip_reason(self, case: Case, device: str = "cpu") -> str | None:
        """Why this implementation does not run ``case`` on ``device``; None when it does.

        Needs no import: on ``cuda`` an implementation without a GPU variant is skipped with
        ``"no GPU variant installed"`` (never run on the CPU under a ``cuda`` label); then the
        case-level ``supports`` decides. Whether a declared GPU variant is usable on this
        machine is :meth:`gpu_problem`'s question.
        """
        if device == "cuda" and self.gpu is None:
            return self._no_gpu_reason()
        return self.supports(case)

    def gpu_problem(self) -> str | None:
        """On ``cuda``, once the modules are imported: None when the GPU variant is usable in
        this process, else the one-line reason the run is skipped with."""
        if self.gpu is None:
            return self._no_gpu_reason()
        return self.gpu.probe() if self.gpu.probe is not None else None

    def _no_gpu_reason(self) -> str:
        return f"{NO_GPU_VARIANT} ({self.no_gpu})" if self.no_gpu else NO_GPU_VARIANT

    def prepare(self, case: Case, data: dict[str, Any], device: str = "cpu") -> Prepared:
        """Call ``setup``, passing ``device`` to implementations that have a GPU variant."""
        if self.gpu is not None:
            return self.setup(case, data, device)
        if device != "cpu":
            raise ValueError(f"{self.framework} has no GPU variant; it runs on the CPU only")
        return self.setup(case, data)


@dataclass
class Workload:
    """A benchmark workload: the same computation in every framework.

    Attributes:
        name: short id, e.g. ``"W1"``; ``--workload`` selects by it.
        title: one line of what is measured.
        cases: the full suite's cases; ``quick_cases`` the smoke-test sizes.
        make_data: ``case -> dict`` of seeded inputs shared by all implementations.
        impls: the implementations; the one named ``"hqml"`` is the agreement reference.
        size_key: the case key plotted on the x axis.
        label: ``case -> str``, the case's column in tables (default ``key=value, ...``).
        tolerances: ``case -> {output-key prefix: absolute tolerance}`` of the agreement
            check, where the defaults (``FORWARD_TOL``, ``GRAD_TOL``) do not apply: sampled
            outputs (W7) agree only within their standard errors, which depend on the case.
            The longest matching prefix wins.
        within_se: statistical agreement: an output ``key`` for which both runs give standard
            errors (an array ``"se:" + key`` of its shape) agrees when every element differs
            by at most this many standard errors of the difference,
            ``sqrt(se_reference^2 + se_run^2)``; outputs without them use the tolerances.
    """

    name: str
    title: str
    cases: list[dict[str, Any]]
    quick_cases: list[dict[str, Any]]
    make_data: Callable[[Case], dict[str, Any]]
    impls: list[Impl]
    size_key: str = "n"
    label: Callable[[Case], str] | None = None
    notes: list[str] = field(default_factory=list)
    tolerances: Callable[[Case], Mapping[str, float]] | None = None
    within_se: float | None = None

    def case_label(self, case: Case) -> str:
        if self.label is not None:
            return self.label(case)
        return " ".join(f"{k}={v}" for k, v in case.items())

    def impl(self, framework: str) -> Impl:
        for impl in self.impls:
            if impl.framework == framework:
                return impl
        known = ", ".join(i.framework for i in self.impls)
        raise ValueError(f"workload {self.name} has no framework {framework!r}; known: {known}")


def discover(
    directory: Path = BENCH_DIR, problems: dict[str, str] | None = None
) -> dict[str, Workload]:
    """Import every ``w[0-9]*.py`` under ``directory`` and collect their ``WORKLOAD``s.

    Args:
        directory: where to look; the package's own folder also takes in the plug-in folders of
            :func:`plugin_dirs`.
        problems: if given, receives ``file name -> reason`` for files that failed to import
            or define no ``WORKLOAD`` (standalone scripts); those files are skipped.

    Returns:
        ``name -> Workload`` in name order.
    """
    found: dict[str, Workload] = {}
    folders = [directory, *plugin_dirs()] if directory == BENCH_DIR else [directory]
    for path in [p for folder in folders for p in sorted(folder.glob("w[0-9]*.py"))]:
        try:
            module = _load(path)
        except Exception as e:  # a broken plug-in must not take the suite down
            sys.modules.pop(_module_name(path), None)
            if problems is not None:
                problems[path.name] = f"import failed: {type(e).__name__}: {e}"
            continue
        wl = getattr(module, "WORKLOAD", None)
        if not isinstance(wl, Workload) and problems is not None:
            problems[path.name] = "no WORKLOAD defined (a standalone script); run it directly"
        if isinstance(wl, Workload):
            if wl.name in found:
                raise ValueError(
                    f"two workload modules define {wl.name}; rename the one in {path.name}"
                )
            found[wl.name] = wl
    return dict(sorted(found.items(), key=lambda kv: _natural(kv[0])))


def _natural(name: str) -> tuple[str, int]:
    digits = "".join(ch for ch in name if ch.isdigit())
    return (name.rstrip("0123456789"), int(digits) if digits else 0)


def _module_name(path: Path) -> str:
    """``hqml.bench.<stem>`` for the package's own workloads, ``hqml_bench_plugin.<stem>`` for a
    plug-in folder's (plug-ins import the harness as ``hqml.bench.registry``)."""
    inside = path.resolve().parent == BENCH_DIR
    return f"{'hqml.bench' if inside else 'hqml_bench_plugin'}.{path.stem}"


def _load(path: Path) -> Any:
    name = _module_name(path)
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def data_sha256(data: Any) -> str:
    """A SHA-256 of a workload's data (dicts by sorted key, lists, arrays, tensors, scalars,
    strings; other objects by their type name), without importing torch: equal data, equal
    hash, whichever framework's worker computes it.

    >>> data_sha256({"x": np.zeros(2), "n": 3}) == data_sha256({"n": 3, "x": np.zeros(2)})
    True
    """
    h = hashlib.sha256()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            h.update(b"{")
            for key in sorted(node, key=str):
                h.update(str(key).encode() + b":")
                walk(node[key])
            h.update(b"}")
        elif isinstance(node, (list, tuple)):
            h.update(b"[")
            for item in node:
                walk(item)
            h.update(b"]")
        elif isinstance(node, (str, bytes, bool, int, float, complex)) or node is None:
            h.update(repr(node).encode())
        elif isinstance(node, (np.ndarray, np.generic)) or hasattr(node, "detach"):
            arr = node.detach().cpu().numpy() if hasattr(node, "detach") else node
            arr = np.ascontiguousarray(arr)
            h.update(f"{arr.dtype}{arr.shape}".encode() + arr.tobytes())
        else:
            h.update(f"<{type(node).__module__}.{type(node).__qualname__}>".encode())

    walk(data)
    return h.hexdigest()


def compare(
    values: Mapping[str, np.ndarray],
    reference: Mapping[str, np.ndarray],
    keys: Sequence[str] | None = None,
    tolerances: Mapping[str, float] | None = None,
    within_se: float | None = None,
) -> tuple[bool, str]:
    """Check ``values`` against ``reference`` key by key (only ``keys`` of the reference, when
    given), within ``tolerances`` (key prefix -> tolerance, longest prefix first) where one
    matches, else ``GRAD_TOL`` for ``grad*`` keys and ``FORWARD_TOL`` for the others; with
    ``within_se``, a key whose standard errors (``"se:" + key``) both sides give agrees within
    that many standard errors of the difference, element by element (``Workload.within_se``).

    Returns:
        ``(agrees, detail)``: detail names the worst key and its max abs difference.
    """
    worst, detail, ok = -1.0, "", True
    errors = {k: v for k, v in reference.items() if k.startswith("se:")}
    reference = {k: v for k, v in reference.items() if not k.startswith("se:")}
    if keys is not None:
        reference = {k: reference[k] for k in keys if k in reference}
        if not reference:
            return False, f"none of the outputs {list(keys)} is in the reference"
    for key, ref in reference.items():
        if key not in values:
            return False, f"missing output {key!r}"
        got, ref = np.asarray(values[key]), np.asarray(ref)
        if got.shape != ref.shape:
            return False, f"{key}: shape {got.shape} != reference {ref.shape}"
        se = f"se:{key}"
        if within_se is not None and se in errors and se in values:
            z = _in_standard_errors(got, ref, np.asarray(errors[se]), np.asarray(values[se]))
            ok = ok and z <= within_se
            if z / within_se > worst:
                worst = z / within_se
                detail = f"{key}: max|diff| {z:.1f} standard errors (limit {within_se:g})"
            continue
        err = float(np.max(np.abs(got - ref))) if ref.size else 0.0
        tol = GRAD_TOL if key.startswith("grad") else FORWARD_TOL
        for prefix in sorted(tolerances or {}, key=len):
            if key.startswith(prefix):
                tol = (tolerances or {})[prefix]
        if not np.isfinite(err) or err > tol:
            ok = False
        score = err / tol if np.isfinite(err) else np.inf
        if score > worst:
            worst, detail = score, f"{key}: max|diff| {err:.2e} (tol {tol:g})"
    return ok, detail


def _in_standard_errors(got: np.ndarray, ref: np.ndarray, se_ref: Any, se_got: Any) -> float:
    """The largest element difference in standard errors of the difference (inf if not
    finite; a zero standard error admits only an equal value)."""
    diff = np.abs(got - ref)
    se = np.sqrt(np.broadcast_to(se_ref, ref.shape) ** 2 + np.broadcast_to(se_got, got.shape) ** 2)
    if not np.all(np.isfinite(diff)):
        return float("inf")
    z = np.where(se > 0, diff / np.where(se > 0, se, 1.0), np.where(diff > 0, np.inf, 0.0))
    return float(z.max()) if z.size else 0.0
