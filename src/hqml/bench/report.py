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
from hqml.bench.registry import HQML_FORWARD, checkout_root


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


def wait_label(doc: dict[str, Any]) -> str:
    """``", OpenMP wait <policy>"`` of a document (nothing for documents that predate it)."""
    policy = doc.get("omp_wait_policy")
    return f", OpenMP wait {policy}" if policy else ""


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


def _ok_median(cell: dict[str, Any] | None) -> float | None:
    return cell.get("median_s") if cell and cell.get("status") == "ok" else None


def summary_rows(doc: dict[str, Any], workload: str) -> list[dict[str, Any]]:
    """Per case: hqml's median, each peer's median and hqml/peer ratio, the peer hqml leads
    least (``fastest_peer``, ``speedup_vs_fastest``: its time over hqml's).

    Like for like: a peer that computes only some outputs (``outputs`` in its result, e.g. qsim's
    energy without a gradient) is set against :data:`HQML_FORWARD` (hqml computing those outputs
    only) when the case has it, its ratio marked ``"against"``; ``ratio_full`` keeps the ratio
    to hqml's full step. Without that run the ratio is hqml's full step against the peer's part,
    marked ``like_for_like: False`` (also on the row when it decides ``speedup_vs_fastest``).
    """
    cases, frameworks, cells = _by_case(doc, workload)
    rows = []
    for label in cases:
        full = _ok_median(cells.get((label, "hqml")))
        part = _ok_median(cells.get((label, HQML_FORWARD)))
        row: dict[str, Any] = {"case": label, "hqml_s": full, "peers": {}}
        if part is not None:
            row["hqml_forward_s"] = part
        best: tuple[float, str, bool] | None = None
        for fw in frameworks:
            r = cells.get((label, fw))
            if fw.startswith("hqml") or r is None:
                continue
            t = _ok_median(r)
            partial = bool(r.get("outputs"))
            against = HQML_FORWARD if partial and part is not None else "hqml"
            base = part if against == HQML_FORWARD else full
            like = not partial or against == HQML_FORWARD
            p = row["peers"][fw] = {
                "median_s": t,
                "ratio": base / t if t and base else None,
                "against": against,
                "like_for_like": like,
                "status": r["status"],
                "detail": r.get("detail", ""),
            }
            if partial and full and t:
                p["ratio_full"] = full / t
            if t is not None and base and (best is None or t / base < best[0]):
                best = (t / base, fw, like)
        if best is not None:
            row["fastest_peer"] = best[1]
            row["fastest_peer_s"] = row["peers"][best[1]]["median_s"]
            row["speedup_vs_fastest"] = best[0]
            row["like_for_like"] = best[2]
        rows.append(row)
    return rows


def _peer_cell(p: dict[str, Any]) -> str:
    if p["median_s"] is None:
        return p["status"].upper() if p["status"] == "disagrees" else p["status"]
    if not p["ratio"]:
        return fmt_time(p["median_s"])
    if p["against"] == HQML_FORWARD:
        full = f"; full step {p['ratio_full']:.2f}" if p.get("ratio_full") else ""
        return f"{fmt_time(p['median_s'])} ({p['ratio']:.2f} forward{full})"
    mark = "" if p["like_for_like"] else " *"
    return f"{fmt_time(p['median_s'])} ({p['ratio']:.2f}{mark})"


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


def _print_table(doc: dict[str, Any], name: str, meta: dict[str, Any], console: Any) -> None:
    """One workload's table of medians and ratios (like for like, see :func:`summary_rows`)."""
    from rich.table import Table

    frameworks = _by_case(doc, name)[1]
    peers = [f for f in frameworks if not f.startswith("hqml")]
    rows = summary_rows(doc, name)
    forward = HQML_FORWARD in frameworks
    table = Table(title=f"{name} on {device_label(doc)}: {meta['title']}", title_justify="left")
    table.add_column("case")
    table.add_column("hqml", justify="right")
    if forward:
        table.add_column("hqml\nforward only", justify="right")
    for fw in peers:
        table.add_column(f"{fw}\n(hqml/peer)", justify="right")
    table.add_column("hqml speed-up vs\nfastest peer", justify="right")
    for row in rows:
        line = [row["case"], fmt_time(row["hqml_s"])]
        if forward:
            line.append(fmt_time(row.get("hqml_forward_s")))
        for fw in peers:
            p = row["peers"].get(fw)
            line.append("-" if p is None else _peer_cell(p))
        s = row.get("speedup_vs_fastest")
        mark = "" if row.get("like_for_like", True) else " *"
        line.append(f"{s:.2f}x ({row['fastest_peer']}){mark}" if s else "-")
        table.add_row(*line)
    console.print(table)
    if forward:
        console.print(
            "  peers without a gradient are set against hqml's forward-only run (ratio"
            " 'forward'); 'full step': hqml's forward and gradient against their forward"
        )
    if any(not p["like_for_like"] for row in rows for p in row["peers"].values()):
        console.print("  * the peer computes only part of hqml's step (not like for like)")


def print_report(doc: dict[str, Any], console: Any = None) -> None:
    """Print the summary tables, the targets' checks, the bandwidth bound (the limit) and the
    peers not in the suite."""
    from rich.console import Console

    console = console or Console()
    console.print(f"device: {device_label(doc)}{wait_label(doc)}", highlight=False)
    for name, meta in doc["workloads"].items():
        _print_table(doc, name, meta, console)
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
            ok = all(r["first_call_s"] < FIRST_CALL_TARGET_S for r in hq)
            console.print(
                f"  {name} first {'step' if name == 'W1' else 'call'} < {FIRST_CALL_TARGET_S:g} s"
                f" at every n: {'yes' if ok else 'NO'}"
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
        f"hqml vs peers on {device_label(doc)}, {doc['threads']} threads"
        f"{wait_label(doc)} ({doc['created']})",
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
