"""Present a results document: rich tables of medians and hqml/peer ratios, the bandwidth
bound of W1-W3 (the limit, :mod:`hqml.bench.bound`), JSON and a PNG plot of time against size
under :func:`results_dir`.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from hqml.bench.bound import limit_rows
from hqml.bench.registry import checkout_root


def results_dir() -> Path:
    """Where results go by default: ``benchmarks/results/`` of the hqml checkout the command
    runs in (or that holds this package), else ``./bench-results``."""
    root = checkout_root()
    return root / "benchmarks" / "results" if root is not None else Path("bench-results")


FIRST_CALL_TARGET_S = 1.0


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


# the SIMD levels named in titles, widest first (the JSON keeps every SIMD flag)
_SIMD_LEVELS = ("avx512f", "avx2", "fma", "avx", "sse4_2", "sse2", "asimd", "sve")


def device_label(doc: dict[str, Any]) -> str:
    """Where the document's runs ran: ``"cuda (<GPU name>)"``, or ``"cpu (<model>: <SIMD
    levels>; native <ISA> build, <n>-byte vectors)"`` (just ``"cpu"`` for older documents)."""
    device = doc.get("device", "cpu")
    if doc.get("gpu"):
        return f"{device} ({doc['gpu']})"
    machine = doc.get("machine", {})
    if "cpu_simd" not in machine:
        return device
    levels = " ".join(f for f in _SIMD_LEVELS if f in machine["cpu_simd"]) or "no SIMD"
    k = machine.get("native_kernels", {})
    kernels = (
        f"native {k['isa']} build, {k['vector_bytes']}-byte vectors"
        if k.get("available")
        else "torch kernels only"
    )
    return f"{device} ({machine.get('cpu', '?')}: {levels}; {kernels})"


def _by_case(doc: dict[str, Any], workload: str) -> tuple[list[str], list[str], dict]:
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    frameworks: list[str] = []
    for r in doc["results"]:
        if r["workload"] != workload:
            continue
        cells[(r["label"], r["framework"])] = r
        if r["framework"] not in frameworks:
            frameworks.append(r["framework"])
    return doc["workloads"][workload]["cases"], frameworks, cells


FORWARD_REFERENCE = "hqml-forward"
"""The framework name of hqml's forward-only run (W6): peers that compute the forward values only
(``Impl.outputs``, recorded as the result's ``outputs``) are compared with it too."""


def summary_rows(doc: dict[str, Any], workload: str) -> list[dict[str, Any]]:
    """Per case: hqml's median, each peer's median and hqml/peer ratio, the fastest peer and
    hqml's speed-up over it (``speedup_vs_fastest``: hqml's whole step, whatever the peer
    computes). Where hqml also ran forward only (:data:`FORWARD_REFERENCE`), a peer that computes
    the forward values only gets ``ratio_forward`` (hqml forward / peer) as well, and the row
    ``hqml_forward_s``; ``speedup_like_for_like`` compares each peer with the hqml run that
    computes what it computes (the forward-only run for forward-only peers) and names the peer
    hqml is least ahead of (``like_for_like_peer``)."""
    cases, frameworks, cells = _by_case(doc, workload)
    rows = []
    for label in cases:
        hq = cells.get((label, "hqml"), {}).get("median_s")
        fwd = cells.get((label, FORWARD_REFERENCE), {})
        hq_fwd = fwd.get("median_s") if fwd.get("status") == "ok" else None
        row: dict[str, Any] = {"case": label, "hqml_s": hq, "peers": {}}
        if hq_fwd is not None:
            row["hqml_forward_s"] = hq_fwd
        best: tuple[float, str] | None = None
        like: tuple[float, str] | None = None
        for fw in frameworks:
            r = cells.get((label, fw))
            if fw in ("hqml", FORWARD_REFERENCE) or r is None:
                continue
            t = r.get("median_s") if r["status"] == "ok" else None
            row["peers"][fw] = entry = _peer_entry(r, t, hq, hq_fwd)
            if t is None:
                continue
            if best is None or t < best[0]:
                best = (t, fw)
            mine = hq_fwd if entry.get("ratio_forward") else hq
            if mine and (like is None or t / mine < like[0]):
                like = (t / mine, fw)
        if best is not None:
            row["fastest_peer"], row["fastest_peer_s"] = best[1], best[0]
            if hq:
                row["speedup_vs_fastest"] = best[0] / hq
        if like is not None:
            row["speedup_like_for_like"], row["like_for_like_peer"] = like
        rows.append(row)
    return rows


def _peer_entry(
    r: dict[str, Any], t: float | None, hq: float | None, hq_fwd: float | None
) -> dict[str, Any]:
    entry = {
        "median_s": t,
        "ratio": hq / t if t and hq else None,
        "status": r["status"],
        "detail": r.get("detail", ""),
    }
    if r.get("outputs") is not None:
        entry["outputs"] = r["outputs"]
        if t and hq_fwd:
            entry["ratio_forward"] = hq_fwd / t
    return entry


def _table_line(row: dict[str, Any], peers: list[str]) -> list[str]:
    """A summary row as table cells; forward-only comparisons (``ratio_forward``) are shown
    beside the whole-step ratio, and the like-for-like speed-up beside the plain one."""
    hq = fmt_time(row["hqml_s"])
    if row.get("hqml_forward_s") is not None:
        hq += f"\n(forward {fmt_time(row['hqml_forward_s'])})"
    line = [row["case"], hq]
    for fw in peers:
        p = row["peers"].get(fw)
        if p is None:
            line.append("-")
        elif p["median_s"] is None:
            line.append(p["status"].upper() if p["status"] == "disagrees" else p["status"])
        else:
            ratio = f" ({p['ratio']:.2f})" if p["ratio"] else ""
            if p.get("ratio_forward"):
                ratio += f"\n(forward {p['ratio_forward']:.2f})"
            line.append(fmt_time(p["median_s"]) + ratio)
    s = row.get("speedup_vs_fastest")
    cell = f"{s:.2f}x ({row['fastest_peer']})" if s else "-"
    like = row.get("speedup_like_for_like")
    if like and any(p.get("ratio_forward") for p in row["peers"].values()):
        cell += f"\nlike for like {like:.2f}x ({row['like_for_like_peer']})"
    line.append(cell)
    return line


def per_step_text(c: dict[str, float]) -> str:
    """What a hardware run sent per step, in words.

    >>> per_step_text({"jobs": 2, "circuits": 18, "shots": 9000, "transpilations": 1, "steps": 5})
    '2 jobs, 18 circuits, 9,000 shots per step; 1 transpilation in 5 steps'
    """
    t = int(c.get("transpilations", 0))
    return (
        f"{c['jobs']:,.0f} jobs, {c['circuits']:,.0f} circuits, {c['shots']:,.0f} shots per step;"
        f" {t} transpilation{'s' if t != 1 else ''} in {int(c.get('steps', 0))} steps"
    )


def print_report(doc: dict[str, Any], console: Any = None) -> None:
    """Print the summary tables, the targets' checks, the bandwidth bound (the limit) and the
    peers not in the suite."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    console.print(f"device: {device_label(doc)}", highlight=False)
    for name, meta in doc["workloads"].items():
        _, frameworks, cells = _by_case(doc, name)
        peers = [f for f in frameworks if f not in ("hqml", FORWARD_REFERENCE)]
        table = Table(title=f"{name} on {device_label(doc)}: {meta['title']}", title_justify="left")
        table.add_column("case")
        table.add_column("hqml", justify="right")
        for fw in peers:
            table.add_column(f"{fw}\n(hqml/peer)", justify="right")
        table.add_column("hqml speed-up vs\nfastest peer", justify="right")
        for row in summary_rows(doc, name):
            table.add_row(*_table_line(row, peers))
        console.print(table)
        for r in doc["results"]:
            if r["workload"] == name and r["status"] in ("disagrees", "error", "timeout"):
                console.print(
                    f"  [red]{r['framework']} {r['label']}: {r['status']}[/] {r['detail']}"
                )
            if r["workload"] == name and r.get("note"):
                console.print(f"  {r['framework']} {r['label']}: {r['note']}")
            if r["workload"] == name and r.get("per_step"):
                console.print(f"  {r['framework']} {r['label']}: {per_step_text(r['per_step'])}")
        hq = [
            r
            for r in doc["results"]
            if r["workload"] == name and r["framework"] == "hqml" and r["status"] == "ok"
        ]
        if hq:
            firsts = ", ".join(f"{r['label']} {fmt_time(r['first_call_s'])}" for r in hq)
            mems = ", ".join(f"{r['label']} {r['peak_mb']:.0f} MiB" for r in hq)
            kind = (
                "GPU, torch.cuda.max_memory_allocated"
                if hq[0].get("memory", "rss").startswith("cuda")
                else "resident set"
            )
            console.print(f"  hqml first call: {firsts}")
            console.print(f"  hqml extra peak memory ({kind}): {mems}")
            if name == "W1":
                ok = all(r["first_call_s"] < FIRST_CALL_TARGET_S for r in hq)
                console.print(
                    f"  W1 first step < {FIRST_CALL_TARGET_S:g} s at every n: "
                    f"{'yes' if ok else 'NO'}"
                )
    _print_footer(doc, console)


def _print_footer(doc: dict[str, Any], console: Any) -> None:
    """The bandwidth and the limit, the peers not installed (with the reason) or not in the
    suite, and the plug-ins not run (their text printed as is, not as rich markup)."""
    from rich.markup import escape

    bw = doc.get("bandwidth")
    if bw:
        where = "GPU" if doc.get("device", "cpu") == "cuda" else f"{doc['threads']} threads"
        console.print(
            f"memory bandwidth ({where}, {bw['array_mib']:.0f} MiB "
            f"arrays): copy {bw['copy_gbs']:.1f} GB/s, triad {bw['triad_gbs']:.1f} GB/s"
        )
        for b in limit_rows(doc):
            console.print(
                f"  {b['workload']} {b['case']}: {b['blocks']} blocks of {b['local_wires']} "
                f"wires, {b['transfers']} state transfers, bound {fmt_time(b['bound_s'])}; "
                f"hqml {fmt_time(b['hqml_s'])} = {b['distance']:.2f}x the bound"
            )
    for name, why in doc.get("peers_not_in_suite", {}).items():
        console.print(escape(f"  peer {name}: {why}"))
    for fname, why in doc.get("plugin_problems", {}).items():
        console.print(escape(f"  plug-in {fname} not run: {why}"))
    absent = {r["framework"]: r["detail"] for r in doc["results"] if r["status"] == "not installed"}
    for name, why in absent.items():
        console.print(escape(f"  {name} not installed: {why}"))


def write_outputs(
    doc: dict[str, Any], directory: Path | None = None, plot: bool = True
) -> dict[str, Path]:
    """Write ``bench-<UTC time>[-cuda][-quick].json`` (and ``.png``) under ``directory``
    (default :func:`results_dir`)."""
    directory = directory if directory is not None else results_dir()
    directory.mkdir(parents=True, exist_ok=True)
    stem = "bench-" + time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    stem += "-cuda" if doc.get("device") == "cuda" else ""
    stem += "-quick" if doc["quick"] else ""
    paths = {"json": directory / f"{stem}.json"}
    doc = {
        **doc,
        "summary": {n: summary_rows(doc, n) for n in doc["workloads"]},
        "limit": limit_rows(doc),
    }
    paths["json"].write_text(json.dumps(doc, indent=1, default=str))
    if plot:
        paths["png"] = directory / f"{stem}.png"
        plot_times(doc, paths["png"])
    return paths


def plot_times(doc: dict[str, Any], path: Path) -> None:
    """One panel per workload: median time (log scale) against its size key, a line per
    framework (and per dtype for W2)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(doc["workloads"])
    fig, axes = plt.subplots(1, len(names), figsize=(5.5 * len(names), 4.2), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        draw_panel(ax, doc, name)
    fig.suptitle(
        f"hqml vs peers on {device_label(doc)}, {doc['threads']} threads ({doc['created']})",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def draw_panel(ax: Any, doc: dict[str, Any], name: str) -> None:
    """Workload ``name``'s panel: a line per framework over its sizes, or, when every framework
    has one size only (``--quick``), one bar per framework."""
    key = doc["workloads"][name]["size_key"]
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in doc["results"]:
        if r["workload"] == name and r["status"] == "ok":
            tag = r["framework"] + (f" {r['case']['dtype']}" if "dtype" in r["case"] else "")
            series[tag].append((r["case"][key], r["median_s"]))
    ax.set_yscale("log")
    if series and all(len(pts) == 1 for pts in series.values()):
        # one size only (e.g. --quick): bars per framework, not lines of a single point
        tags = sorted(series)
        ax.bar(
            range(len(tags)),
            [series[t][0][1] for t in tags],
            color=["C3" if t.startswith("hqml") else "C0" for t in tags],
        )
        ax.set_xticks(range(len(tags)), tags, rotation=45, ha="right", fontsize=7)
        size = {p[0][0] for p in series.values()}
        ax.set_xlabel(f"{'qubits' if key == 'n' else key} = {', '.join(map(str, size))}")
    else:
        for tag, pts in sorted(series.items()):
            pts.sort()
            style = "--" if tag.endswith("complex64") else "-"
            width = 2.5 if tag.startswith("hqml") else 1.2
            ax.plot(
                [p[0] for p in pts], [p[1] for p in pts], style, marker="o", lw=width, label=tag
            )
        ax.set_xlabel("qubits" if key == "n" else key)
        ax.legend(fontsize=7)
    ax.set_ylabel("median time (s)")
    ax.set_title(name)
    ax.grid(True, which="both", alpha=0.3)
