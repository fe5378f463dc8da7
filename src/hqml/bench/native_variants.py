"""Time every build of hqml's native kernels this CPU can run, and the torch fallback, on the
W2 and W1 workloads, back to back.

    python -m hqml.bench.native_variants [--rounds 3] [--threads 2] [--json out.json]

Each configuration runs in its own subprocess with the thread variables set before Python
starts: the ``avx512``, ``avx2`` and ``portable`` builds (``HQML_NATIVE_VARIANT``, with the
calibration against torch switched off so that the chosen build really runs, even where it
loses), the AVX2 build with the 64-byte vectors and 16 lanes that every build used before the
width followed the instruction set (what an AVX2-only CPU ran then), and the torch kernels
(``HQML_NATIVE=0``). The configurations take turns for
``--rounds`` rounds, and every figure is the minimum over rounds and repeats: on a machine
shared with other work the minimum is the least disturbed run. The values of every
configuration are checked against the first one before its times count.

Cases: W2 (10 layers of [RX on every wire; CNOT chain], one state, complex64) at 20 and 22
qubits; W1 (a VQC training step: B = 64, L = 4, forward and backward, complex64) at 4, 8, 12
and 16 qubits (up to 12 the small-register interpreter, whose lanes follow the vector width).
The first call (planning, and a build where the library is missing) is not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from hqml.bench import vqc, w1_vqc, w2_statevector
from hqml.bench.timing import subprocess_env
from hqml.sim import native
from hqml.sim.native import build

CASES = [("W2", 20), ("W2", 22), ("W1", 4), ("W1", 8), ("W1", 12), ("W1", 16)]
REPEATS = {("W2", 20): 5, ("W2", 22): 3, ("W1", 4): 30, ("W1", 8): 30, ("W1", 12): 5, ("W1", 16): 3}
TORCH_SLOW_REPEATS = 1  # the torch path's W1 step at 16 qubits takes 10 s or more


def _configs(folder: Path) -> dict[str, dict[str, str]]:
    out = {
        v: {"HQML_NATIVE_VARIANT": v, "HQML_NATIVE_CALIBRATE": "0"}
        for v in build.variants()
        if v != "native"
    }
    if "avx2" in out:
        # the code before the vector width followed the ISA: 64-byte vectors and 16 lanes on
        # an AVX2 build, which GCC splits into pairs of AVX2 instructions
        flags = (*build.variant_flags("avx2"), "-DVBYTES=64", "-DSW=16")
        lib = build._compile(folder / "avx2-64.so", 300, flags, announce=False)
        if lib is not None:
            out["avx2, 64-byte vectors (before)"] = {
                "HQML_BENCH_LIBRARY": str(lib),
                "HQML_NATIVE_CALIBRATE": "0",
            }
    out["torch"] = {"HQML_NATIVE": "0"}
    return out


def _prepare(workload: str, n: int) -> Any:
    if workload == "W2":
        case = {"n": n, "layers": 10, "dtype": "complex64"}
        return w2_statevector._hqml(case, w2_statevector.make_data(case), "cpu")
    case = {"n": n, "batch": 64, "layers": 4}
    data = w1_vqc.make_data(case)
    return vqc.hqml_vqc(data["x"], data["w"], loss="vqc")


def child(config: str, threads: int) -> dict[str, Any]:
    """One configuration's round: every case's first call, then its repeats (seconds)."""
    import torch

    torch.set_num_threads(threads)
    if os.environ.get("HQML_BENCH_LIBRARY"):  # a build of this script's own
        native._state.update(lib=native.load_library(os.environ["HQML_BENCH_LIBRARY"]), tried=True)
    out: dict[str, Any] = {"config": config, "kernels": native.describe(), "cases": {}}
    for workload, n in CASES:
        prepared = _prepare(workload, n)
        t = time.perf_counter()
        result = prepared.step()
        first = time.perf_counter() - t
        repeats = REPEATS[(workload, n)]
        if config == "torch" and first > 5:
            repeats = TORCH_SLOW_REPEATS
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            prepared.step()
            times.append(time.perf_counter() - t)
        values = {}
        for key, v in prepared.values(result).items():
            v = np.asarray(v).ravel()[:4096].astype(complex)
            values[key] = np.concatenate([v.real, v.imag]).tolist()
        out["cases"][f"{workload} n={n}"] = {"first_s": first, "times_s": times, "values": values}
    return out


def _run_child(config: str, env: dict[str, str], threads: int) -> dict[str, Any]:
    full = subprocess_env(threads, env)
    res = subprocess.run(
        [sys.executable, "-m", "hqml.bench.native_variants", "--child", config,
         "--threads", str(threads)],
        capture_output=True, text=True, env=full, check=False,
    )  # fmt: skip
    if res.returncode != 0:
        raise RuntimeError(f"{config} failed: {res.stderr.strip()[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.threads)))
        return 0
    configs = _configs(Path(tempfile.mkdtemp(prefix="hqml-variants-")))
    best: dict[str, dict[str, float]] = {c: {} for c in configs}
    kernels: dict[str, Any] = {}
    reference: dict[str, Any] = {}
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    for r in range(args.rounds):
        for config, env in configs.items():
            got = _run_child(config, env, args.threads)
            kernels[config] = got["kernels"]
            for label, case in got["cases"].items():
                for key, vals in case["values"].items():
                    ref = reference.setdefault((label, key), vals)
                    if not np.allclose(vals, ref, atol=2e-4, rtol=1e-3):
                        raise RuntimeError(
                            f"{config} disagrees with the first configuration on {label} ({key})"
                        )
                t = min(case["times_s"])
                best[config][label] = min(best[config].get(label, t), t)
            print(f"round {r + 1}: {config} done", file=sys.stderr, flush=True)
    doc = {
        "started": started,
        "rounds": args.rounds,
        "threads": args.threads,
        "cpu": build.cpu_model(),
        "cpu_simd": kernels[next(iter(kernels))]["cpu_simd"],
        "load_average": list(os.getloadavg()),
        "kernels": kernels,
        "best_s": best,
    }
    labels = [f"{w} n={n}" for w, n in CASES]
    print(f"{build.cpu_model()}, {args.threads} threads, minimum of {args.rounds} rounds")
    print("| case | " + " | ".join(configs) + " |")
    print("|---" * (len(configs) + 1) + "|")
    for label in labels:
        cells = [_fmt(best[c][label]) for c in configs]
        print(f"| {label} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
