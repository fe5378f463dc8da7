"""The compiled trajectory kernel's binding: whole noisy circuits, one trajectory per row.

:func:`run_trajectories` hands the kernel (``traj_impl.h``) a flat program: per operation a
gate on one or two wires and the channel steps after it on those wires, every matrix and Kraus
operator in complex128, and the uniform draws of every step and row. The kernel starts each row
from ``|0>`` and draws each row's operators exactly as the torch path
(:func:`hqml.backends.trajectories.trajectory_states`) does from the same draws.
"""

from __future__ import annotations

import torch

from . import _DTYPES, _load

OP_FIELDS = 8  # k, pos0, pos1, matrix offset, per sample, first step, end step, sparse
STEP_FIELDS = 4  # mixture, Kraus count, Kraus offset, cdf offset (TRAJ_STEP)


def run_trajectories(
    rows: int,
    n: int,
    dtype: torch.dtype,
    per_sample: int,
    ops: torch.Tensor,
    steps: torch.Tensor,
    matrices: torch.Tensor,
    cdfs: torch.Tensor,
    uniform: torch.Tensor,
    states: bool = True,
    single_z: bool = False,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """The final states ``(rows, 2**n)`` of ``dtype`` (complex64/complex128) if ``states``, and
    every wire's ``<Z>`` per row ``(rows, n)`` (float64) if ``single_z`` (without ``states``
    no row is kept: each thread reuses one).

    Args:
        rows: trajectories in all (row ``r`` uses sample ``r // per_sample``'s matrices).
        n: qubits.
        dtype: of the states.
        per_sample: rows per sample.
        ops: ``(O, 8)`` int64: ``k`` (1 or 2), the bit positions of the wires (``n - 1 - wire``,
            the first wire the most significant in the matrix index), the offset of the gate's
            matrix in ``matrices`` (in complex numbers), whether it holds one matrix per
            sample, the range of the operation's steps, and whether the gate and every Kraus
            operator of its channels have at most one nonzero per row and column (then the
            branch probabilities need only the wires' populations).
        steps: ``(S, 4)`` int64: mixture of unitaries or not, the number of Kraus operators
            (up to 4, or 16 for a mixture), their offset in ``matrices`` (complex numbers; a
            mixture's scaled to unitaries), the offset in ``cdfs`` of a mixture's cumulative
            weights or, for another channel, of the least eigenvalue of ``K_0^H K_0`` (a draw
            below it picks ``K_0`` without a pass over the state).
        matrices: complex128, flat.
        cdfs: float64, flat.
        uniform: ``(S, rows)`` float64 draws in ``[0, 1)``.
        states, single_z: what to return (at least one).
    """
    lib = _load()
    if lib is None:
        raise RuntimeError("the native kernels are not available; use the torch path")
    if not (states or single_z):
        raise ValueError("ask for the states, single_z or both")
    out = torch.empty(rows, 2**n, dtype=dtype) if states else None
    zs = torch.empty(rows, n, dtype=torch.float64) if single_z else None
    ops, steps = ops.contiguous(), steps.contiguous()
    mats = torch.view_as_real(matrices.to(torch.complex128).contiguous()).contiguous()
    cdfs, uniform = cdfs.to(torch.float64).contiguous(), uniform.to(torch.float64).contiguous()
    if uniform.shape != (steps.shape[0], rows):
        raise ValueError(f"uniform must be ({steps.shape[0]}, {rows}), got {tuple(uniform.shape)}")
    fn = getattr(lib, f"hqml_traj_run_{_DTYPES[dtype]}")
    rc = fn(
        None if out is None else out.data_ptr(), None if zs is None else zs.data_ptr(), rows, n,
        per_sample, ops.shape[0], ops.data_ptr(), steps.data_ptr(), mats.data_ptr(),
        cdfs.data_ptr(), uniform.data_ptr(), torch.get_num_threads(),
    )  # fmt: skip
    if rc:
        raise ValueError("native trajectory kernel refused the program (code 1)")
    if zs is not None and torch.isnan(zs).any():
        raise MemoryError("native trajectory kernel: no memory for its row buffers")
    return out, zs
