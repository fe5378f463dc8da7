"""Price a simulation's memory before allocating it.

A statevector of ``n`` qubits holds ``2^n`` complex amplitudes per row of the batch (a density
matrix ``4^n``); 30 qubits in complex64 is 8 GiB per row. :func:`check_state_memory` compares
that size (times the working copies a simulation keeps) with the memory the process can still
get, and refuses with one line naming the size, instead of letting the allocator fail (or the
machine swap) half-way through.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

# A simulation keeps the state plus at least one working buffer of the same size (gates are
# applied out of place where autograd records them).
WORKING_COPIES = 2


def format_bytes(n: float) -> str:
    """``n`` bytes as a short human-readable size (``8.0 GiB``)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _cgroup_available() -> int | None:
    """Bytes left under a cgroup v2 memory limit (a container), or None without one."""
    base = Path("/sys/fs/cgroup")
    try:
        limit = (base / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(0, int(limit) - int((base / "memory.current").read_text()))
    except (OSError, ValueError):
        return None


def available_memory(device: Any = None) -> int | None:
    """Bytes the process can still allocate on ``device`` (CPU: the OS's available memory,
    within a container's limit; CUDA: free device memory), or None when it cannot be told."""
    dev = torch.device(device) if device is not None else torch.device("cpu")
    if dev.type == "cuda":
        try:
            return int(torch.cuda.mem_get_info(dev)[0])
        except (RuntimeError, AssertionError):
            return None
    if dev.type != "cpu":
        return None
    free: int | None = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    free = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if free is None:
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    capped = _cgroup_available()
    return free if capped is None else min(free, capped)


def state_bytes(n_qubits: int, rows: int, dtype: torch.dtype, *, density: bool = False) -> int:
    """Bytes of ``rows`` states of ``n_qubits`` qubits (density matrices with ``density``)."""
    per_row = (4 if density else 2) ** n_qubits
    return per_row * max(1, rows) * dtype.itemsize


def check_state_memory(
    n_qubits: int,
    rows: int,
    dtype: torch.dtype,
    device: Any = None,
    *,
    density: bool = False,
    copies: int = WORKING_COPIES,
    available: int | None = None,
) -> None:
    """Refuse, before allocating, a simulation whose states do not fit in memory.

    Args:
        n_qubits: qubits of the circuit.
        rows: batch rows simulated at once.
        dtype: the complex dtype of the state.
        device: where the state lives (CPU memory or a CUDA device's free memory).
        density: density matrices (``4^n`` entries per row) instead of statevectors.
        copies: states of that size the simulation holds at once.
        available: bytes available (default: asked from the OS / the CUDA driver).

    Raises:
        MemoryError: one line naming the size needed, the memory available and the fix.

    Example:
        >>> check_state_memory(10, 64, torch.complex64)   # 1 MiB: fine
        >>> check_state_memory(30, 1, torch.complex64, available=2**30)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        MemoryError: a 30-qubit statevector in complex64 takes 8.0 GiB per row; 1 row ...
    """
    need = state_bytes(n_qubits, rows, dtype, density=density) * copies
    if need < 64 * 2**20:  # small states: not worth a system call
        return
    free = available_memory(device) if available is None else available
    if free is None or need <= free:
        return
    kind = "density matrix" if density else "statevector"
    per_row = state_bytes(n_qubits, 1, dtype, density=density)
    where = "" if device is None or torch.device(device).type == "cpu" else f" on {device}"
    halve = ", complex64" if dtype == torch.complex128 else ""
    mps = "" if density else ", backend='mps' (or 'auto')"
    raise MemoryError(
        f"a {n_qubits}-qubit {kind} in {str(dtype).removeprefix('torch.')} takes"
        f" {format_bytes(per_row)} per row; {rows} row{'s' if rows != 1 else ''} with {copies}"
        f" working copies needs {format_bytes(need)} but only {format_bytes(free)} is"
        f" available{where}: use fewer qubits or rows{halve}{mps}, or a machine with more memory"
    )
