"""A one-time check, per CPU and build, that the compiled kernels beat the torch path.

The compiled kernels are built for the running CPU, but a build can still lose to the torch
kernels it replaces (a portable build on a CPU whose torch uses wider vectors, a compiler that
vectorises badly). So before the native path is first chosen, :func:`calibration` times both
on small cases of the sizes where each is used, and checks that they agree:

- ``layer``: a layer of single-qubit gates on every wire, through the layer kernels (one call)
  against the torch path's 16 x 16 chunk matrices (``apply_matrix`` per 4 wires), at 10 qubits
  with 64 per-sample factors (a training batch) and at 16 qubits on one state (raw simulation);
- ``interpreter``: two layers of RY on every wire and a CNOT ring, per-sample angles, through
  the small-register interpreter against the torch path (per-sample chunk matrices and one
  index gather per ring), at 6 qubits with 64 samples and 10 qubits with 16;
- ``perm_layer``: a CNOT chain's permutation folded into the next layer's first pass (one call
  of ``hqml_layer_apply_perm``) against the compiled path it replaces, the gather by an index
  array (``hqml_gather``) and then the layer kernels in place, at 16 qubits on one state; its
  verdict is "not slower than the unfused compiled path" (both are compiled);
- ``trajectories``: the trajectory kernel running two layers of [RY on every wire; CNOT ring],
  each gate followed by a mixture of Paulis and amplitude damping on each of its wires, 16
  trajectories at 10 qubits, against a lower bound of the torch path it replaces: the same
  gates, each times its no-jump Kraus operators, by ``apply_matrix`` and a renormalisation per
  gate (the torch path does that and draws from reduced density matrices besides). The draws
  are all 0, so both pick the same operators and their states must agree.

Each case takes the minimum of a few interleaved repeats (two where one path is more than twice
as fast); a build wins a kind when it is not slower at any case. A verdict of "slower" is
measured once more before it is kept (a loaded machine can stall one repeat). The whole check
takes about 0.2 s on two idle cores and is cached in a JSON file beside the library (or in the
user's cache where that folder cannot be written), per torch version and thread count: a
rebuilt library is a new file, so it is measured again. When the two paths disagree beyond
rounding, the build is refused for that kind, with one line on stderr.
``HQML_NATIVE_CALIBRATE=0`` skips the check (every build is trusted), for benchmarks that time
a chosen build.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..statevector import apply_matrix, apply_permutation, kron_factors
from . import build as _build
from .library import ABI_VERSION

log = logging.getLogger(__name__)

KINDS = ("layer", "interpreter", "trajectories", "perm_layer")
ENV = "HQML_NATIVE_CALIBRATE"
_DTYPES = {torch.complex64: "c64", torch.complex128: "c128"}
_REPEATS = 5
# (n, batch) of each case; see the module docstring
LAYER_CASES = ((10, 64), (16, 1))
INTERPRETER_CASES = ((6, 64), (10, 16))
TRAJECTORY_CASES = ((10, 16),)
PERM_LAYER_CASES = ((16, 1),)
_LAYERS = 2  # of the interpreter's circuit
_TOL = {torch.complex64: 1e-4, torch.complex128: 1e-10}


def _build_id(library: Path) -> str:
    """Size and modification time of the library file: a rebuild in place (same name, new
    sources) is a new build, measured again."""
    try:
        st = os.stat(library)
    except OSError:
        return "?"
    return f"{st.st_size}-{st.st_mtime_ns}"


def _key(library: Path) -> str:
    return (
        f"abi={ABI_VERSION};build={_build_id(library)};torch={torch.__version__};"
        f"threads={torch.get_num_threads()}"
    )


def cache_file(library: Path) -> Path:
    """Where the verdicts for ``library`` are kept: beside it, or in the user's cache."""
    name = Path(library).name + ".calibration.json"
    folder = Path(library).parent
    if os.access(folder, os.W_OK | os.X_OK):
        return folder / name
    return _build.cache_dir() / name


def calibration(lib: Any, force: bool = False) -> dict[str, Any]:
    """The verdicts for the loaded library ``lib`` (as :func:`hqml.sim.native.load_library`
    returns it): ``{"layer": {"c64": bool, "c128": bool}, "interpreter": {...}, "seconds":
    {case: [native, torch]}}``, from the cache file when it holds them for this torch version and
    thread count and this build of the file, else measured (about 0.1-0.3 s) and stored."""
    path = cache_file(Path(lib.hqml_path))
    key = _key(Path(lib.hqml_path))
    stored: dict[str, Any] = {}
    if not force:
        try:
            stored = json.loads(path.read_text())
        except (OSError, ValueError):
            stored = {}
        if isinstance(stored.get(key), dict) and all(k in stored[key] for k in KINDS):
            return stored[key]
    result = measure(lib)
    build = key.split(";torch=")[0]  # verdicts of earlier builds of this file are dropped
    stored = {k: v for k, v in stored.items() if k.split(";torch=")[0] == build}
    stored[key] = result
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(stored, indent=1))
        os.replace(tmp, path)
    except OSError as exc:  # not cached: measured again by the next process
        log.debug("native calibration not cached in %s: %s", path, exc)
    return result


def measure(lib: Any) -> dict[str, Any]:
    """Time (and compare) both paths on every case; see the module docstring."""
    gen = torch.Generator().manual_seed(0)
    out: dict[str, Any] = {kind: {} for kind in KINDS}
    out["seconds"] = {}
    for dtype, suf in _DTYPES.items():
        for kind, cases, make in (
            ("layer", LAYER_CASES, _layer_case),
            ("interpreter", INTERPRETER_CASES, _interpreter_case),
            ("trajectories", TRAJECTORY_CASES, _trajectory_case),
            ("perm_layer", PERM_LAYER_CASES, _perm_layer_case),
        ):
            wins = True
            for n, batch in cases:
                native_fn, torch_fn = make(lib, dtype, n, batch, gen)
                a, b = native_fn(), torch_fn()
                if not torch.allclose(a, b, atol=_TOL[dtype] * 2 ** (n / 4), rtol=0):
                    print(
                        f"hqml: the native {kind} kernels disagree with the torch kernels on "
                        f"this CPU ({suf}, {n} qubits); using the torch kernels for them",
                        file=sys.stderr,
                    )
                    wins = False
                    break
                t_native, t_torch = _race(native_fn, torch_fn)
                if t_native > t_torch:  # measured once more before it is believed
                    t_native, t_torch = _race(native_fn, torch_fn)
                out["seconds"][f"{kind}_{suf}_n{n}_b{batch}"] = [t_native, t_torch]
                wins = wins and t_native <= t_torch
            out[kind][suf] = wins
    return out


def _race(a: Callable[[], Any], b: Callable[[], Any]) -> tuple[float, float]:
    """The best of up to ``_REPEATS`` interleaved runs of each; from the second run on, it stops
    as soon as one is more than twice as fast as the other (the verdict cannot change)."""
    best = [float("inf"), float("inf")]
    for r in range(_REPEATS):
        for i, fn in enumerate((a, b)):
            t = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t)
        if r >= 1 and max(best) > 2 * min(best):
            break
    return best[0], best[1]


def _unitaries(shape: tuple[int, ...], dtype: torch.dtype, gen: torch.Generator) -> torch.Tensor:
    z = torch.randn(shape + (2, 2), dtype=torch.complex128, generator=gen)
    q, _ = torch.linalg.qr(z)
    return q.to(dtype)


def _layer_case(lib: Any, dtype: torch.dtype, n: int, batch: int, gen: torch.Generator) -> tuple:
    """A layer on every wire: ``(B, n, 2, 2)`` per-sample factors (``(n, 2, 2)`` for one state)."""
    state = torch.randn(batch, 2**n, dtype=dtype, generator=gen)
    factors = _unitaries((batch, n) if batch > 1 else (n,), dtype, gen).contiguous()
    pos = (ctypes.c_int * n)(*[n - 1 - w for w in range(n)])
    fn = getattr(lib, f"hqml_layer_apply_{_DTYPES[dtype]}")
    chunks = [list(range(w, min(w + 4, n))) for w in range(0, n, 4)]

    def native() -> torch.Tensor:
        out = torch.empty_like(state)
        rc = fn(state.data_ptr(), out.data_ptr(), batch, n, n, pos, factors.data_ptr(),
                int(batch > 1), 2**n, torch.get_num_threads())  # fmt: skip
        if rc:
            raise RuntimeError(f"native layer kernel failed (code {rc})")
        return out

    def torch_path() -> torch.Tensor:
        out = state
        for wires in chunks:
            out = apply_matrix(out, n, kron_factors(factors[..., wires, :, :]), wires)
        return out

    return native, torch_path


def _perm_layer_case(
    lib: Any, dtype: torch.dtype, n: int, batch: int, gen: torch.Generator
) -> tuple:
    """The CNOT chain i -> i+1 (gather ``y ^ (y >> 1)``) then a layer on every wire: folded
    into one call against the gather and the layer kernels in place."""
    state = torch.randn(batch, 2**n, dtype=dtype, generator=gen)
    factors = _unitaries((n,), dtype, gen).contiguous()
    pos = (ctypes.c_int * n)(*[n - 1 - w for w in range(n)])
    suf = _DTYPES[dtype]
    layer, folded = (
        getattr(lib, f"hqml_layer_apply_{suf}"),
        getattr(lib, f"hqml_layer_apply_perm_{suf}"),
    )
    y = torch.arange(2**n)
    index = y ^ (y >> 1)
    cols = torch.tensor([(1 << j) | (1 << j >> 1) for j in range(n)], dtype=torch.int64)
    threads = torch.get_num_threads()

    def native() -> torch.Tensor:
        out = torch.empty_like(state)
        rc = folded(state.data_ptr(), out.data_ptr(), batch, n, n, pos, factors.data_ptr(), 0,
                    2**n, threads, cols.data_ptr())  # fmt: skip
        if rc:
            raise RuntimeError(f"native permuted layer kernel failed (code {rc})")
        return out

    def unfused() -> torch.Tensor:
        out = torch.empty_like(state)
        rc = lib.hqml_gather(state.data_ptr(), out.data_ptr(), index.data_ptr(), batch, 2**n,
                             2**n, state.element_size(), threads)  # fmt: skip
        rc = rc or layer(out.data_ptr(), out.data_ptr(), batch, n, n, pos, factors.data_ptr(), 0,
                         2**n, threads)  # fmt: skip
        if rc:
            raise RuntimeError(f"native layer kernel failed (code {rc})")
        return out

    return native, unfused


def _ring(n: int) -> np.ndarray:
    """The index gather of a CNOT ring: amplitude ``i`` takes amplitude ``index[i]``."""
    ar = np.arange(2**n)
    index = ar
    for i in range(n):  # CNOT(i, i + 1 mod n): flip the target bit where the control bit is set
        ctrl, tgt = n - 1 - i, n - 1 - (i + 1) % n
        index = index[np.where(ar >> ctrl & 1, ar ^ (1 << tgt), ar)]
    return index


def _interpreter_case(
    lib: Any, dtype: torch.dtype, n: int, batch: int, gen: torch.Generator
) -> tuple:
    """``_LAYERS`` of [RY(theta) on every wire; CNOT ring], per-sample angles."""
    real = torch.float32 if dtype == torch.complex64 else torch.float64
    p = _LAYERS * n
    theta = (torch.rand(batch, p, dtype=torch.float64, generator=gen) * 6).to(real).contiguous()
    index = _ring(n)
    # exp(-i theta Y / 2): eigenvalues +-1/2 with projectors (I +- Y) / 2, as (re, im) pairs
    proj = [np.array([[0.5, -0.5j], [0.5j, 0.5]]), np.array([[0.5, 0.5j], [-0.5j, 0.5]])]
    ry = np.concatenate([[0.5, -0.5]] + [np.stack([m.real, m.imag], -1).ravel() for m in proj])
    records = []
    for layer in range(_LAYERS):
        for w in range(n):  # kind, k, pos0, pos1, pos2, col, cidx, m
            records.append([1, 1, n - 1 - w, 0, 0, layer * n + w, 0, 2])
        records.append([2, 0, 0, 0, 0, 0, 0, 0])
    code = np.ascontiguousarray(records, dtype=np.int64)
    consts = np.ascontiguousarray(ry, dtype=np.float64)
    perms = np.ascontiguousarray(index, dtype=np.int64)
    vary = np.ones(p, dtype=np.uint8)
    spare_f, spare_i = np.zeros(2), np.zeros(2, dtype=np.int64)
    fn = getattr(lib, f"hqml_small_forward_{_DTYPES[dtype]}")
    index_t = torch.from_numpy(index)
    half = theta.to(dtype) / 2

    def native() -> torch.Tensor:
        out = torch.empty(batch, 2**n, dtype=dtype)
        rc = fn(
            code.ctypes.data, len(records), consts.ctypes.data, perms.ctypes.data, n,
            theta.data_ptr(), p, batch, vary.ctypes.data, spare_f.ctypes.data,
            spare_i.ctypes.data, out.data_ptr(), None, 0, None, torch.get_num_threads(),
        )  # fmt: skip
        if rc:
            raise RuntimeError(f"native small-register kernel failed (code {rc})")
        return out

    def torch_path() -> torch.Tensor:
        out = torch.zeros(batch, 2**n, dtype=dtype)
        out[:, 0] = 1
        c, s = torch.cos(half), torch.sin(half)
        factors = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
        for layer in range(_LAYERS):
            f = factors[:, layer * n : (layer + 1) * n]
            for w in range(0, n, 4):
                wires = list(range(w, min(w + 4, n)))
                out = apply_matrix(out, n, kron_factors(f[:, wires]), wires)
            out = apply_permutation(out, index_t)
        return out

    return native, torch_path


def _trajectory_case(
    lib: Any, dtype: torch.dtype, n: int, rows: int, gen: torch.Generator
) -> tuple:
    """``_LAYERS`` of [RY on every wire; CNOT ring] with noise after every gate, by the
    trajectory kernel with all draws 0, against the torch lower bound (module docstring)."""
    p, g = 0.01, 0.02
    paulis = [
        np.eye(2),
        np.array([[0, 1], [1, 0]]),
        np.array([[0, -1j], [1j, 0]]),
        np.diag([1, -1]),
    ]
    k0 = np.diag([1, np.sqrt(1 - g)])
    k1 = np.array([[0, np.sqrt(g)], [0, 0]])
    cx = np.eye(4)[[0, 1, 3, 2]]
    angles = torch.rand(_LAYERS, n, dtype=torch.float64, generator=gen).numpy() * 6
    mats: list[np.ndarray] = []

    def put(m: np.ndarray) -> int:
        start = sum(a.size for a in mats)
        mats.append(np.asarray(m, dtype=np.complex128).ravel())
        return start

    def on(a: np.ndarray, pos: int, k: int) -> np.ndarray:  # a on position pos of k wires
        eye = np.eye(2 ** (k - 1))
        return np.kron(a, eye) if pos == 0 else np.kron(eye, a)

    lifted = {}  # (channel, position, k) -> offset: Paulis (already unitary), damping
    for k in (1, 2):
        for pos in range(k):
            lifted["pauli", pos, k] = put(np.stack([on(a, pos, k) for a in paulis]))
            lifted["damping", pos, k] = put(np.stack([on(k0, pos, k), on(k1, pos, k)]))
    weights = np.array([1 - p, p / 3, p / 3, p / 3])
    cdfs = np.append(np.cumsum(weights), 1 - g)  # the Paulis' cdf; damping's bound on K0's draw
    ops, steps, gates = [], [], []
    for layer in range(_LAYERS):
        for w in range(n):
            c, s = np.cos(angles[layer, w] / 2), np.sin(angles[layer, w] / 2)
            gates.append(([w], np.array([[c, -s], [s, c]])))
        gates += [([w, (w + 1) % n], cx) for w in range(n)]
    for wires, u in gates:
        k = len(wires)
        first = len(steps)
        for channel in ("pauli", "damping"):
            for pos in range(k):
                steps.append([int(channel == "pauli"), 4 if channel == "pauli" else 2,
                              lifted[channel, pos, k], 0 if channel == "pauli" else 4])  # fmt: skip
        ops.append([k, n - 1 - wires[0], n - 1 - wires[-1], put(u), 0, first, len(steps), 0])
    cplx = np.concatenate(mats)
    code = np.ascontiguousarray(ops, dtype=np.int64)
    stepcode = np.ascontiguousarray(steps, dtype=np.int64)
    re_im = np.ascontiguousarray(np.stack([cplx.real, cplx.imag], -1))
    uniform = np.zeros((len(steps), rows))
    fn = getattr(lib, f"hqml_traj_run_{_DTYPES[dtype]}")
    # the torch side: each gate times its no-jump operators, renormalised
    torch_ops = []
    for wires, u in gates:
        k0s = k0 if len(wires) == 1 else np.kron(k0, k0)
        torch_ops.append((wires, torch.as_tensor(k0s @ u, dtype=dtype)))

    def native() -> torch.Tensor:
        out = torch.empty(rows, 2**n, dtype=dtype)
        rc = fn(
            out.data_ptr(), None, rows, n, rows, len(ops), code.ctypes.data, stepcode.ctypes.data,
            re_im.ctypes.data, cdfs.ctypes.data, uniform.ctypes.data, torch.get_num_threads(),
        )  # fmt: skip
        if rc:
            raise RuntimeError(f"native trajectory kernel failed (code {rc})")
        return out

    def torch_path() -> torch.Tensor:
        out = torch.zeros(rows, 2**n, dtype=dtype)
        out[:, 0] = 1
        for wires, m in torch_ops:
            out = apply_matrix(out, n, m, wires)
            out = out / torch.linalg.vector_norm(out, dim=1, keepdim=True)
        return out

    return native, torch_path
