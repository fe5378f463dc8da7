"""The run report: PNG plots and a Markdown page under the run's output folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)  # files only; never opens a window
    import matplotlib.pyplot as plt

    return plt


def plot_curves(histories: dict[str, dict[str, list[float]]], path: Path) -> Path:
    """Loss and accuracy per epoch (train dashed, test solid) for each model."""
    plt = _pyplot()
    fig, (ax_l, ax_a) = plt.subplots(1, 2, figsize=(10, 4))
    for (name, h), color in zip(
        histories.items(), ("tab:blue", "tab:orange", "tab:green"), strict=False
    ):
        epochs = range(1, len(h["train_loss"]) + 1)
        ax_l.plot(epochs, h["train_loss"], "--", color=color, label=f"{name} train")
        ax_l.plot(epochs, h["test_loss"], "-", color=color, label=f"{name} test")
        ax_a.plot(epochs, h["train_acc"], "--", color=color, label=f"{name} train")
        ax_a.plot(epochs, h["test_acc"], "-", color=color, label=f"{name} test")
    ax_l.set(xlabel="epoch", ylabel="cross-entropy", title="Loss")
    ax_a.set(xlabel="epoch", ylabel="accuracy", title="Accuracy", ylim=(0, 1.02))
    for ax in (ax_l, ax_a):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_circuit(drawing: str, path: Path, title: str = "Quantum circuit") -> Path:
    """Render the circuit's text drawing as a PNG."""
    plt = _pyplot()
    lines = drawing.splitlines() or [""]
    width = max(len(s) for s in lines)
    fig = plt.figure(figsize=(min(30, 0.4 + 0.07 * width), 0.5 + 0.15 * len(lines)))
    fig.text(0.01, 0.98, title + "\n" + drawing, family="monospace", fontsize=8, va="top")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_time_split(split: dict[str, float], path: Path, title: str) -> Path:
    """One horizontal stacked bar: seconds per epoch by category."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 2.8))
    left = 0.0
    colors = {
        "quantum simulation": "tab:purple",
        "classical compute": "tab:green",
        "data movement": "tab:gray",
    }
    total = sum(split.values()) or 1.0
    for label, sec in split.items():
        ax.barh(
            [0],
            [sec],
            left=left,
            color=colors.get(label),
            label=f"{label}: {sec:.3f} s ({100 * sec / total:.0f}%)",
        )
        left += sec
    ax.set_yticks([])
    ax.set_xlabel("seconds per epoch (mean)")
    ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.55), ncol=3, fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def summary_lines(results: dict[str, Any]) -> list[str]:
    """What a reader must know before comparing the accuracies: the chance level, any model
    that stayed at it, and how the baseline's shape was chosen (Markdown, one item a line)."""
    lines = []
    chance = results["data"].get("chance_accuracy")
    if chance is not None:
        lines.append(f"- Chance level (always the test split's most frequent class): {chance:.3f}.")
    for name, m in results["models"].items():
        if m.get("at_chance"):
            lines.append(
                f"- **{name} stayed at chance**: its test accuracy {m['test_acc']:.3f} is within"
                " one standard error of the chance level; it did not learn, and a comparison"
                " with it says nothing."
            )
    choice = results.get("baseline_choice")
    if choice:
        scores = ", ".join(f"{k} {v:.3f}" for k, v in choice.get("validation_accuracy", {}).items())
        lines.append(
            f"- Baseline shape: {choice['shape']} ({choice['rule']}"
            + (f"; validation accuracy: {scores}" if scores else "")
            + ")."
        )
    return lines


def truncation_line(t: dict[str, Any]) -> str:
    """One line on what the MPS backend discarded over the run."""
    if t["exact"]:
        if not t.get("full_rank", True):  # values exact, gradients possibly not (docs/mps.md)
            return (
                f"MPS backend: exact values (nothing discarded; max bond {t['max_bond']}), but"
                " cuts dropped zero singular values: gradients may have missed directions."
            )
        return f"MPS backend: exact (nothing discarded; max bond {t['max_bond']})."
    return (
        f"MPS backend: truncated; discarded weight up to {t['max_discarded_weight']:.3g},"
        f" fidelity estimate >= {t['min_fidelity_estimate']:.6f} (max bond {t['max_bond']})."
    )


def schedule_lines(log: dict[str, Any]) -> list[str]:
    """The report's lines on a training schedule (from the hybrid model's training log)."""
    out = []
    for kind in ("layerwise", "adaptive"):
        rec = log.get(kind)
        if rec:
            out.append(
                f"**{kind}** schedule: depth per epoch {rec['depth_per_epoch']}; parameters"
                f" {rec['parameters_full_before']} at full depth, {rec['parameters_after']} at"
                f" the end; {rec['gate_evaluations']:.3g} circuit gate evaluations"
                f" (full depth throughout: see `cost` in results.json)."
            )
            out += [f"- {e}" for e in rec.get("events", [])]
    rec = log.get("pruning")
    if rec:
        out.append(
            f"**pruning**: {rec['parameters_before']} trainable parameters before,"
            f" {rec['parameters_after']} after ({rec['pruned']} circuit parameters frozen)."
        )
    return out


def write_markdown(results: dict[str, Any], path: Path) -> Path:
    """A readable Markdown report of ``results`` (as written to results.json)."""
    cfg, models = results["config"], results["models"]
    out = [
        f"# hqml run: {cfg['name']}",
        "",
        f"Dataset **{results['data']['name']}** ({results['data']['n_train']} train /"
        f" {results['data']['n_test']} test samples, {results['data']['n_features']} features,"
        f" {results['data']['n_classes']} classes), seed {cfg['seed']}, pattern"
        f" **{cfg['model']['pattern']}**, backend `{cfg['model']['backend']}`.",
        "",
        "## Results",
        "",
        "| model | trainable parameters | test accuracy | test loss |"
        " train time (s) | mean epoch (s) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, m in models.items():
        flag = " (**at chance**)" if m.get("at_chance") else ""
        out.append(
            f"| {name} | {m['parameters']} | {m['test_acc']:.3f}{flag} | {m['test_loss']:.3f} |"
            f" {m['train_seconds']:.1f} | {m['mean_epoch_seconds']:.3f} |"
        )
    out += ["", *summary_lines(results), "", "![loss and accuracy](curves.png)", ""]
    schedule = schedule_lines(models["hybrid"].get("training_log") or {})
    if schedule:
        out += ["## Training schedule", "", *schedule, ""]
    if results.get("provider_calls"):
        out += ["## Quantum provider calls", "", results["provider_calls"]["summary"] + ".", ""]
    if results.get("truncation"):
        out += [truncation_line(results["truncation"]), ""]
    if results.get("circuit"):
        res = results["circuit"]
        out += [
            "## Circuit",
            "",
            f"{res['n_qubits']} qubits, {res['gates']} gates"
            f" ({res['two_qubit_gates']} two-qubit), depth {res['depth']},"
            f" {res['parameters']} circuit parameters.",
            "",
            "![circuit](circuit.png)",
            "",
        ]
    split = models["hybrid"]["time_split"]
    out += [
        "## Where an epoch's time goes (hybrid model)",
        "",
        "| part | seconds per epoch |",
        "|---|---:|",
    ]
    out += [f"| {k} | {v:.4f} |" for k, v in split.items()]
    out += [
        "",
        "![time split](time_split.png)",
        "",
        "Quantum simulation is the time spent inside"
        " quantum layers (forward and backward); data movement is shuffling, slicing and moving"
        " batches; classical compute is the rest of the training step.",
        "",
    ]
    path.write_text("\n".join(out), encoding="utf-8")
    return path
