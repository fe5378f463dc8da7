"""``hqml qec bench``: a neural decoder beside PyMatching, logical error rate per round against p.

For each distance one neural decoder is trained on shots sampled over the whole p grid (training
seeds differ from test seeds), then every decoder decodes the same test shots of each (d, p).
Results: ``results.json``, ``report.md`` and ``ler_vs_p.png`` in the output folder, and the
metrics logged to MLflow when it is installed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .codes import SurfaceCodeMemory, logical_error_per_round
from .decoders import MatchingDecoder, NoFlipDecoder
from .registry import DECODERS

TRAIN_SEED, TEST_SEED = 1_000, 2_000_000  # disjoint seed ranges for training and test shots


@dataclass(frozen=True)
class QecBenchConfig:
    """What ``run_bench`` measures (defaults: the closing-run sizes, about 20 minutes of training
    per distance at d = 3 on one loaded core)."""

    distances: Sequence[int] = (3, 5)
    ps: Sequence[float] = (0.001, 0.003, 0.005, 0.007)
    train_ps: Sequence[float] | None = None  # p of the training shots (default: ps)
    decoder: str = "recurrent"
    basis: str = "z"
    noise: str = "depolarizing"
    train_shots: int = 2_000_000
    test_shots: int = 1_000_000
    epochs: int = 3
    batch_size: int = 1024
    lr: float = 5e-3
    seed: int = 0
    correlated_matching: bool = True
    fresh_shots: bool = False  # sample new training shots every step instead of reusing a set
    decoder_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {', '.join(DECODERS)}, got {self.decoder!r}")
        if not self.distances or not self.ps:
            raise ValueError("give at least one distance and one p")
        if self.train_ps is not None and not self.train_ps:
            raise ValueError("train_ps: give at least one p, or None to train on ps")
        for n, v in (
            ("train_shots", self.train_shots),
            ("test_shots", self.test_shots),
            ("epochs", self.epochs),
            ("batch_size", self.batch_size),
        ):
            if v < 1:
                raise ValueError(f"{n} must be positive, got {v}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")


def _train_set(cfg: QecBenchConfig, d: int) -> tuple[np.ndarray, np.ndarray]:
    ps = cfg.ps if cfg.train_ps is None else cfg.train_ps
    per_p = max(1, cfg.train_shots // len(ps))
    parts = [
        SurfaceCodeMemory(d, p, basis=cfg.basis, noise=cfg.noise).sample(
            per_p, seed=cfg.seed + TRAIN_SEED + 97 * d + k
        )
        for k, p in enumerate(ps)
    ]
    return (np.concatenate([s.detectors for s in parts]), np.concatenate([s.flips for s in parts]))


def fresh_shots(
    d: int,
    ps: Sequence[float],
    batch_size: int,
    seed: int,
    basis: str = "z",
    noise: str = "depolarizing",
    chunk: int = 64,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless batches of fresh training shots, evenly over ``ps``, sampled by Stim as needed.

    Each p has its own seeded sampler (seeds ``seed + k``); every ``chunk`` batches draw a
    block of shots from each sampler and shuffle them together, so no shot is ever repeated.
    """
    samplers = [
        SurfaceCodeMemory(d, p, basis=basis, noise=noise).circuit.compile_detector_sampler(
            seed=seed + k
        )
        for k, p in enumerate(ps)
    ]
    rng = np.random.default_rng(seed)
    per_p = max(1, chunk * batch_size // len(samplers))
    while True:
        parts = [s.sample(per_p, separate_observables=True) for s in samplers]
        det = np.concatenate([a for a, _ in parts])
        flips = np.concatenate([b[:, 0] for _, b in parts])
        order = rng.permutation(len(flips))
        for b in range(len(order) // batch_size):
            idx = order[b * batch_size : (b + 1) * batch_size]
            yield det[idx], flips[idx]


def _score(name: str, decoder: Any, det: np.ndarray, flips: np.ndarray, rounds: int) -> dict:
    t0 = time.perf_counter()
    pred = decoder.decode(det)
    seconds = time.perf_counter() - t0
    failures = int(np.count_nonzero(pred != flips))
    ler, err = logical_error_per_round(failures, len(flips), rounds)
    return {
        "decoder": name,
        "failures": failures,
        "shots": len(flips),
        "ler_per_round": ler,
        "ler_err": err,
        "latency_us_per_shot": 1e6 * seconds / len(flips),
    }


def _train_decoder(
    cfg: QecBenchConfig,
    d: int,
    model: Any,
    progress: Callable[[str, int, int], None] | None,
) -> dict[str, float]:
    """Train ``model`` for distance ``d`` as ``cfg`` says; returns what the training cost."""
    import torch

    t0, cpu0 = time.perf_counter(), time.process_time()
    if cfg.fresh_shots:
        steps = cfg.epochs * max(1, cfg.train_shots // cfg.batch_size)
        shots = steps * cfg.batch_size
        batches = fresh_shots(
            d,
            cfg.ps if cfg.train_ps is None else cfg.train_ps,
            cfg.batch_size,
            seed=cfg.seed + TRAIN_SEED + 97 * d,
            basis=cfg.basis,
            noise=cfg.noise,
        )
    else:
        det, flips = _train_set(cfg, d)
        steps = cfg.epochs * max(1, len(flips) // cfg.batch_size)
        shots = len(flips)
    report_step = (
        None
        if progress is None
        else lambda s, _loss, d=d, steps=steps: progress(f"d={d} training", s, steps)
    )
    if cfg.fresh_shots:
        model.fit_stream(batches, steps, lr=cfg.lr, progress=report_step)
    else:
        model.fit(
            det,
            flips,
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            lr=cfg.lr,
            seed=cfg.seed,
            progress=report_step,
        )
    return {
        "seconds": time.perf_counter() - t0,
        # CPU time of this process (sampling included): the cost on a shared machine
        "cpu_seconds": time.process_time() - cpu0,
        "shots": shots,
        "steps": steps,
        "parameters": sum(p.numel() for p in model.parameters()),
        "torch_threads": torch.get_num_threads(),  # training and decode latency ran on these
    }


def run_bench(
    cfg: QecBenchConfig,
    out_dir: str | Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Train and compare; returns the results dict (also written to ``out_dir`` if given).

    ``progress(label, done, total)`` is called as work advances.
    """
    import torch

    rows: list[dict[str, Any]] = []
    training: dict[int, dict[str, float]] = {}
    total = len(cfg.distances) * (1 + len(cfg.ps))
    done = 0
    for d in cfg.distances:
        layout = SurfaceCodeMemory(d, cfg.ps[0], basis=cfg.basis, noise=cfg.noise).layout
        model = DECODERS[cfg.decoder](layout, seed=cfg.seed, **cfg.decoder_options)
        training[d] = _train_decoder(cfg, d, model, progress)
        if out_dir is not None:
            Path(out_dir).mkdir(parents=True, exist_ok=True)
            torch.save(model.state_dict(), Path(out_dir) / f"model_d{d}.pt")
        done += 1
        for k, p in enumerate(cfg.ps):
            exp = SurfaceCodeMemory(d, p, basis=cfg.basis, noise=cfg.noise)
            test = exp.sample(cfg.test_shots, seed=cfg.seed + TEST_SEED + 97 * d + k)
            decoders: list[tuple[str, Any]] = [
                (cfg.decoder, model),
                ("pymatching", MatchingDecoder(exp)),
                ("no-flip", NoFlipDecoder()),
            ]
            if cfg.correlated_matching:
                decoders.insert(2, ("pymatching-correlated", MatchingDecoder(exp, True)))
            with torch.inference_mode():
                for name, dec in decoders:
                    rows.append(
                        {
                            "distance": d,
                            "p": p,
                            "rounds": exp.n_rounds,
                            **_score(name, dec, test.detectors, test.flips, exp.n_rounds),
                        }
                    )
            done += 1
            if progress is not None:
                progress(f"d={d} p={p:g}", done, total)
    results = {
        "config": {
            **asdict(cfg),
            "distances": list(cfg.distances),
            "ps": list(cfg.ps),
            "train_ps": list(cfg.ps if cfg.train_ps is None else cfg.train_ps),
        },
        "training": {str(k): v for k, v in training.items()},
        "rows": rows,
    }
    if out_dir is not None:
        write_outputs(results, Path(out_dir))
    return results


def write_outputs(results: dict[str, Any], out: Path) -> None:
    """results.json, report.md and ler_vs_p.png under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    plot(results, out / "ler_vs_p.png")
    (out / "report.md").write_text(report(results))


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["rows"]
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    styles = {"pymatching": "--", "pymatching-correlated": ":"}
    for k, d in enumerate(sorted({r["distance"] for r in rows})):
        for name in dict.fromkeys(r["decoder"] for r in rows):
            if name == "no-flip":
                continue
            sel = [r for r in rows if r["distance"] == d and r["decoder"] == name]
            ax.errorbar(
                [r["p"] for r in sel],
                [max(r["ler_per_round"], 1e-9) for r in sel],
                yerr=[r["ler_err"] for r in sel],
                ls=styles.get(name, "-"),
                marker="o",
                color=f"C{k}",
                ms=3,
                capsize=2,
                label=f"d={d} {name}",
            )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="physical error rate p",
        ylabel="logical error rate per round",
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report(results: dict[str, Any]) -> str:
    cfg, rows = results["config"], results["rows"]
    train_ps = cfg.get("train_ps") or cfg["ps"]
    lines = [
        "# Neural decoder vs PyMatching",
        "",
        f"Rotated surface-code memory ({cfg['basis'].upper()} basis, {cfg['noise']} noise, "
        f"d rounds). Decoder `{cfg['decoder']}` {cfg.get('decoder_options') or ''} trained on "
        f"{cfg['train_shots']} {'fresh ' if cfg.get('fresh_shots') else ''}shots at "
        f"p = {', '.join(f'{p:g}' for p in train_ps)} "
        f"({cfg['epochs']} epochs, batch {cfg.get('batch_size', '?')}, peak learning rate "
        f"{cfg.get('lr', '?')}); {cfg['test_shots']} test shots per point, separate seeds.",
        "",
        "| d | p | decoder | failures | LER / round | ± 1σ | latency µs/shot |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['distance']} | {r['p']:g} | {r['decoder']} | {r['failures']} | "
            f"{r['ler_per_round']:.3e} | {r['ler_err']:.1e} | "
            f"{r['latency_us_per_shot']:.2f} |"
        )
    lines += ["", "Training:", ""]
    for d, t in results["training"].items():
        lines.append(
            f"- d = {d}: {t['parameters']} parameters, {t['shots']} shots, {t['seconds']:.1f} s "
            f"({t.get('cpu_seconds', float('nan')):.1f} s CPU) "
            f"on {t.get('torch_threads', '?')} torch thread(s)"
        )
    lines += ["", "![logical error rate per round](ler_vs_p.png)", ""]
    return "\n".join(lines)
