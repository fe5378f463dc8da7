"""The benchmark documents name the CPU they ran on: its model, its SIMD instruction-set flags and
the build of hqml's native kernels that ran (JSON and table titles)."""

from __future__ import annotations

import io

from hqml.bench.report import device_label, print_report
from hqml.bench.suite import machine_info
from hqml.sim import native
from hqml.sim.native import build


def test_machine_info_records_cpu_flags_and_native_build():
    info = machine_info("cpu")
    assert info["cpu"] == build.cpu_model()
    flags = build.cpu_flags()
    assert info["cpu_simd"] == [
        f for f in flags if f.startswith(("sse", "avx", "fma", "asimd", "neon", "sve", "rvv"))
    ]
    k = info["native_kernels"]
    assert k["available"] == native.available()
    if k["available"]:
        lib = native._load()
        assert (k["isa"], k["vector_bytes"]) == (lib.hqml_isa().decode(), lib.hqml_vector_bytes())


def test_table_titles_name_the_cpu_and_the_build():
    machine = {
        "cpu": "Test CPU 9000",
        "cpu_simd": ["avx", "avx2", "fma", "sse2", "ssse3"],
        "native_kernels": {"available": True, "isa": "avx2", "vector_bytes": 32},
    }
    doc = {
        "device": "cpu",
        "gpu": None,
        "threads": 2,
        "machine": machine,
        "workloads": {"W1": {"title": "VQC step", "cases": ["n=4"], "size_key": "n"}},
        "results": [
            {
                "workload": "W1",
                "framework": "hqml",
                "label": "n=4",
                "status": "ok",
                "median_s": 0.001,
                "min_s": 0.001,
                "max_s": 0.001,
                "first_call_s": 0.002,
                "peak_mb": 10.0,
                "detail": "",
            }
        ],
        "plugin_problems": {},
    }
    label = device_label(doc)
    assert label == "cpu (Test CPU 9000: avx2 fma avx sse2; native avx2 build, 32-byte vectors)"
    from rich.console import Console

    buf = io.StringIO()
    print_report(doc, Console(file=buf, width=300))
    out = " ".join(buf.getvalue().split())  # the title wraps at the table's width
    assert f"W1 on {label}" in out
    no_lib = {**machine, "native_kernels": {"available": False, "reason": "no library"}}
    assert device_label({**doc, "machine": no_lib}).endswith("; torch kernels only)")
    assert device_label({"device": "cpu"}) == "cpu"  # documents from before
