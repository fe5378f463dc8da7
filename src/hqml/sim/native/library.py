"""The compiled library's functions declared for ctypes (argument and result types), checked
against the ABI version these bindings expect."""

from __future__ import annotations

import ctypes
from typing import Any

ABI_VERSION = 6  # hqml_abi_version() of the library these bindings expect


def load_library(path: Any) -> Any:
    """The library at ``path`` loaded with its functions' signatures declared (``OSError`` when
    it cannot be loaded or is of another ABI version). The bindings use the library that
    :func:`available` loads; this is for tests and benchmarks that compare builds."""
    lib = ctypes.CDLL(str(path))
    if lib.hqml_abi_version() != ABI_VERSION:
        raise OSError("stale library (ABI version mismatch); run `make native`")
    p, i64, i32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int
    for suf in ("c64", "c128"):
        f = getattr(lib, f"hqml_layer_apply_{suf}")
        f.argtypes = [p, p, i64, i32, i32, p, p, i32, i64, i32]
        f.restype = i32
        f = getattr(lib, f"hqml_layer_apply_perm_{suf}")  # a GF(2)-linear permutation first
        f.argtypes = [p, p, i64, i32, i32, p, p, i32, i64, i32, p]
        f.restype = i32
        f = getattr(lib, f"hqml_layer_adjoint_{suf}")
        f.argtypes = [p, p, i64, i32, i32, p, p, i32, p, i32]
        f.restype = i32
        f = getattr(lib, f"hqml_small_forward_{suf}")  # the small-register interpreter
        f.argtypes = [p, i32, p, p, i32, p, i64, i64, p, p, p, p, p, i64, p, i32]
        f.restype = i32
        f = getattr(lib, f"hqml_small_backward_{suf}")
        f.argtypes = [p, i32, p, p, i32, p, i64, i64, p, p, p, p, p, p, i64, p, p, i32, p, i32]
        f.restype = i32
        f = getattr(lib, f"hqml_small_put_{suf}")  # the prepared calls' parameter table
        f.argtypes = [p, i64, i64, i64, i64, i64, p]
        f.restype = None
        f = getattr(lib, f"hqml_small_take_{suf}")
        f.argtypes = [p, i64, i64, i64, i64, i32, p]
        f.restype = None
        f = getattr(lib, f"hqml_traj_run_{suf}")  # noisy circuits by trajectories
        f.argtypes = [p, p, i64, i32, i64, i64, p, p, p, p, p, i32]
        f.restype = i32
    lib.hqml_gather.argtypes = [p, p, p, i64, i64, i64, i32, i32]
    lib.hqml_gather.restype = i32
    lib.hqml_set_pass_gates.argtypes = [i32]  # gates per pass of the layer kernels (tests)
    lib.hqml_set_pass_gates.restype = i32
    lib.hqml_isa.restype = ctypes.c_char_p
    lib.hqml_path = str(path)
    return lib
