"""The limit: how far hqml is from the memory bandwidth bound of a circuit (W1, W2, W3).

The bound counts the passes over the state that the circuit needs, by a rule applied to the
circuit itself (its gates' wires in order), not to hqml's plan:

1. **Local wires.** A pass streams the state through the cache in tiles of ``2^k`` amplitudes
   in which ``k`` chosen wires vary (the other wires fixed), applies every gate it can to the
   tile while it is in cache, and writes it back. ``k = floor(log2(L2 / (2 * amplitude
   bytes)))``: a tile and its write-back fit the core's L2 cache (1 MiB when the machine does
   not say; 16 for complex64 and 15 for complex128 there).
2. **Blocks.** The gates are cut, in circuit order, into the fewest consecutive blocks whose
   wires number at most ``k`` (greedy: a gate that would take its block over ``k`` wires opens
   the next; greedy gives the fewest for consecutive cuts). Gates are not reordered. Each block
   is one pass: the state read once and written once.
3. **Transfers.** A transfer is one read or one write of the whole state (``B * 2^n`` amplitudes
   for a batch of ``B``). Forward only (W2): ``2 F`` for ``F`` blocks. Forward and gradient
   (W1, W3; the adjoint method): ``2 F`` forward, 1 to read the state for the expectation
   values, 2 to form the adjoint state ``lambda = O psi``, and ``4 F`` backward (two states,
   each read and written once per block): ``6 F + 3``.
4. **Bound** = transfers x state bytes / the measured bandwidth (the better of copy and triad,
   :func:`hqml.bench.timing.memory_bandwidth`). hqml's distance is its median time / bound
   (1 means it runs at the bound; the target is at most 2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_L2 = 2**20
LIMIT_WORKLOADS = {"W1": (12, 16), "W2": None, "W3": None}  # W1 at n = 12, 16 only


def l2_bytes() -> int | None:
    """The L2 data cache of CPU 0 in bytes, from Linux's sysfs; None where it is not listed."""
    root = Path("/sys/devices/system/cpu/cpu0/cache")
    for index in sorted(root.glob("index*")) if root.is_dir() else []:
        try:
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        if level == "2" and kind in ("Data", "Unified"):
            units = {"K": 2**10, "M": 2**20, "G": 2**30}
            return int(size[:-1]) * units[size[-1]] if size[-1] in units else int(size)
    return None


def local_wires(amplitude_bytes: int, l2: int | None = None) -> int:
    """Rule 1's ``k``: the wires a tile of half the L2 cache holds."""
    return int(math.floor(math.log2((l2 or DEFAULT_L2) / (2 * amplitude_bytes))))


def blocks(gates: Sequence[Sequence[int]], k: int) -> int:
    """Rule 2: the fewest consecutive blocks of ``gates`` (each a gate's wires, in circuit
    order) with at most ``k`` wires each.

    >>> blocks([(0,), (1,), (0, 1), (2,)], 2)
    2
    """
    count, current = 0, set()
    for wires in gates:
        if len(set(wires)) > k:
            raise ValueError(f"a gate on {len(set(wires))} wires does not fit {k} local wires")
        if not count or len(current | set(wires)) > k:
            count, current = count + 1, set()
        current |= set(wires)
    return count


def vqc_gates(n: int, layers: int) -> list[tuple[int, ...]]:
    """The W1/W3 ansatz: RY(x_i) on every wire, then per layer RY and RZ on every wire and the
    CNOT ring i -> i+1 mod n."""
    gates: list[tuple[int, ...]] = [(i,) for i in range(n)]
    for _ in range(layers):
        gates += [(i,) for i in range(n) for _ in range(2)]
        gates += [(i, (i + 1) % n) for i in range(n)]
    return gates


def w2_gates(n: int, layers: int) -> list[tuple[int, ...]]:
    """W2: per layer RX on every wire, then the CNOT chain i -> i+1."""
    gates: list[tuple[int, ...]] = []
    for _ in range(layers):
        gates += [(i,) for i in range(n)] + [(i, i + 1) for i in range(n - 1)]
    return gates


def _case_shape(workload: str, case: dict[str, Any]) -> tuple[list, int, int, bool]:
    """(gates, batch, amplitude bytes, with gradient) of a limit workload's case."""
    n, layers = case["n"], case["layers"]
    if workload == "W2":
        return w2_gates(n, layers), 1, 16 if case["dtype"] == "complex128" else 8, False
    return vqc_gates(n, layers), case.get("batch", 1), 8, True  # W1, W3: complex64


def limit_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The bound and hqml's distance from it for every hqml result of W1 (n = 12, 16), W2 and
    W3 in ``doc`` (empty without a bandwidth measurement)."""
    bw = doc.get("bandwidth", {}).get("best_gbs")
    if not bw:
        return []
    l2 = doc.get("machine", {}).get("l2_bytes")
    out = []
    for r in doc["results"]:
        sizes = LIMIT_WORKLOADS.get(r["workload"], ())
        if sizes == () or r["framework"] != "hqml" or r["status"] != "ok":
            continue
        if sizes is not None and r["case"]["n"] not in sizes:
            continue
        gates, batch, width, grad = _case_shape(r["workload"], r["case"])
        k = min(local_wires(width, l2), r["case"]["n"])
        f = blocks(gates, k)
        transfers = 6 * f + 3 if grad else 2 * f
        bound = transfers * batch * 2 ** r["case"]["n"] * width / (bw * 1e9)
        out.append(
            {
                "workload": r["workload"],
                "case": r["label"],
                "local_wires": k,
                "blocks": f,
                "transfers": transfers,
                "bound_s": bound,
                "hqml_s": r["median_s"],
                "distance": r["median_s"] / bound,
            }
        )
    return out
