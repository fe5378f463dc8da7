"""Where the suite runs: ``cpu`` (the default) or ``cuda``, and the GPU variants of the peers.

On ``cuda`` hqml and the hand-written torch statevector put their tensors on the GPU, and every
peer that has a GPU variant uses it when it is installed (each workload declares its variants
with ``registry.Gpu``; docs/benchmarks.md, "GPU", lists them). Each probe below answers, in the
run's own process and after the framework is imported, whether one GPU variant is usable
there: ``None`` when it is, else a one-line reason the run is skipped with. Standard library
only at import time, so the TorchQuantum side venv can import this module too.
"""

from __future__ import annotations

import sys
from typing import Any

DEVICES = ("cpu", "cuda")
NO_GPU_VARIANT = "no GPU variant installed"


def check_device(device: str) -> str:
    """Validate ``device`` and return it normalised (lower case).

    Raises:
        ValueError: an unknown device, or ``cuda`` where torch has no CUDA build or sees no GPU
            (the message names the problem and the fix, on one line).
    """
    name = str(device).strip().lower()
    if name not in DEVICES:
        raise ValueError(f"unknown device {device!r}; use {' or '.join(DEVICES)}")
    if name == "cuda":
        problem = torch_cuda()
        if problem is not None:
            raise ValueError(
                "--device cuda needs a CUDA build of torch and a visible GPU; none"
                f" found ({problem}; use --device cpu)"
            )
    return name


def gpu_name() -> str | None:
    """``torch.cuda.get_device_name()`` of the current GPU, or None without one."""
    try:
        import torch
    except ImportError:
        return None
    return torch.cuda.get_device_name() if torch.cuda.is_available() else None


def torch_cuda() -> str | None:
    """None when torch can run on a GPU here, else why not."""
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if torch.version.cuda is None:
        return f"torch {torch.__version__} is built without CUDA"
    if not torch.cuda.is_available():
        return f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no GPU"
    return None


def cuda_synchronizer() -> Any:
    """A callable that waits for torch's queued CUDA work (a no-op until torch has used CUDA in
    this process), or None when torch is not loaded. Timers call it after every step."""
    torch = sys.modules.get("torch")
    if torch is None or not hasattr(torch, "cuda"):
        return None

    def sync() -> None:
        if torch.cuda.is_initialized():
            torch.cuda.synchronize()

    return sync


def lightning_gpu() -> str | None:
    """None when PennyLane's ``lightning.gpu`` device can be created here, else why not."""
    try:
        import pennylane as qml
        import pennylane_lightning.lightning_gpu  # noqa: F401
    except ImportError:
        return f"{NO_GPU_VARIANT}: lightning.gpu (pennylane_lightning.lightning_gpu) is missing"
    try:
        qml.device("lightning.gpu", wires=1)
    except Exception as e:  # no GPU, no cuStateVec, driver mismatch: all mean "cannot run"
        return f"lightning.gpu is installed but cannot start: {type(e).__name__}: {e}"[:300]
    return None


def aer_gpu() -> str | None:
    """None when Qiskit Aer lists a ``"GPU"`` device, else why not."""
    try:
        from qiskit_aer import AerSimulator
    except ImportError:
        return "qiskit_aer is not installed"
    devices = tuple(AerSimulator().available_devices())
    if "GPU" not in devices:
        return (
            f"{NO_GPU_VARIANT}: Qiskit Aer lists {', '.join(devices) or 'no'} devices, no GPU"
            " (the GPU build is the qiskit-aer-gpu package)"
        )
    return None


def jax_gpu() -> str | None:
    """None when JAX sees a GPU, else why not."""
    try:
        import jax
    except ImportError:
        return "jax is not installed"
    try:
        jax.devices("gpu")
    except RuntimeError:
        return f"{NO_GPU_VARIANT}: JAX sees no GPU (it needs a CUDA build, e.g. jax[cuda12])"
    return None


def jax_device(device: str) -> Any:
    """The JAX device arrays of a run on ``device`` are placed on (explicitly, so a CUDA build
    of JAX does not move a ``cpu`` run onto the GPU)."""
    import jax

    return jax.devices("gpu" if device == "cuda" else "cpu")[0]
