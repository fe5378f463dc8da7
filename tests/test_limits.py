"""The memory price of a simulation (hqml.limits) against sizes worked out by hand."""

from __future__ import annotations

import pytest
import torch

from hqml.limits import available_memory, check_state_memory, format_bytes, state_bytes


def test_state_bytes_by_hand():
    assert state_bytes(30, 1, torch.complex64) == 2**30 * 8
    assert state_bytes(10, 64, torch.complex128) == 2**10 * 64 * 16
    assert state_bytes(14, 3, torch.complex64, density=True) == 4**14 * 3 * 8
    assert state_bytes(3, 0, torch.complex64) == 8 * 8  # no batch: one row


def test_refusal_is_one_line_naming_the_size():
    with pytest.raises(MemoryError) as info:
        check_state_memory(30, 1, torch.complex64, available=4 * 2**30)
    msg = str(info.value)
    assert "\n" not in msg
    assert "30-qubit statevector in complex64 takes 8.0 GiB per row" in msg
    assert "needs 16.0 GiB" in msg and "only 4.0 GiB is available" in msg
    assert "complex64" not in msg.split(":")[-1]  # fixes that exist: halving is not one here
    assert "backend='mps' (or 'auto')" in msg
    with pytest.raises(MemoryError, match=r"12-qubit density matrix .* 64 rows") as info:
        check_state_memory(12, 64, torch.complex128, density=True, available=2**30)
    assert "fewer qubits or rows, complex64," in str(info.value)  # halving is a fix here
    assert "mps" not in str(info.value)  # an MPS holds no density matrix


def test_fits_passes_and_boundary():
    need = state_bytes(27, 2, torch.complex64) * 2
    check_state_memory(27, 2, torch.complex64, available=need)  # exactly enough
    with pytest.raises(MemoryError):
        check_state_memory(27, 2, torch.complex64, available=need - 1)
    check_state_memory(10, 10, torch.complex64, available=0)  # small: never refused


def test_available_memory_of_this_machine():
    free = available_memory()
    assert free is None or free > 0
    if free is not None:
        # a state four times larger than what is free is refused; the real check, no mock
        n = (free * 4 // 8).bit_length()
        with pytest.raises(MemoryError):
            check_state_memory(n, 1, torch.complex64)
    assert available_memory("meta") is None


def test_format_bytes():
    assert format_bytes(512) == "512 B"
    assert format_bytes(1536) == "1.5 KiB"
    assert format_bytes(8 * 2**30) == "8.0 GiB"


@pytest.mark.parametrize(
    "backend, kind", [("statevector", "statevector"), ("density_matrix", "density matrix")]
)
def test_execute_prices_the_state_before_allocating(monkeypatch, backend, kind):
    # the front door refuses in one line before any allocation (torch's allocator error was seen)
    import hqml.limits

    monkeypatch.setattr(hqml.limits, "available_memory", lambda device=None: 2**30)
    n = 28 if backend == "statevector" else 14
    c = hqml.Circuit(n)
    c.h(0)
    with pytest.raises(MemoryError, match=f"a {n}-qubit {kind} in complex64") as info:
        hqml.state(c) if backend == "statevector" else hqml.probs(c, backend=backend)
    assert "\n" not in str(info.value)
