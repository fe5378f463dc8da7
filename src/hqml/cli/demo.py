"""``hqml demo``: a VQC forward and gradient on random data, printed as a table."""

from __future__ import annotations

import time

import typer

from ..circuit.circuit import Circuit
from ..circuit.observables import Z
from ..execute import expval

# every differentiation method hqml has; "spsa" is a stochastic estimate (its difference from
# the adjoint gradient is expected), "best" the default choice
DIFF_METHODS = ("adjoint", "backprop", "parameter-shift", "finite-diff", "spsa", "best")


def demo(
    qubits: int = typer.Option(4, min=1, max=20, help="number of qubits"),
    layers: int = typer.Option(2, min=1, max=50, help="ansatz layers"),
    batch: int = typer.Option(64, min=1, max=100_000, help="samples"),
    seed: int = typer.Option(0, help="random seed"),
) -> None:
    """Run a small variational classifier forward and backward with every differentiation
    method."""
    import torch
    from rich import box
    from rich.console import Console
    from rich.table import Table

    torch.manual_seed(seed)
    c = Circuit(qubits)
    x = c.input("x", qubits)
    w = c.weight("w", (layers, qubits, 2))
    for i in range(qubits):
        c.ry(x[i], i)
    for layer in range(layers):
        for i in range(qubits):
            c.ry(w[layer, i, 0], i).rz(w[layer, i, 1], i)
        for i in range(qubits):
            c.cnot(i, (i + 1) % qubits)
    gen = torch.Generator().manual_seed(seed)
    data = torch.rand(batch, qubits, generator=gen) * torch.pi
    w0 = torch.rand(layers, qubits, 2, generator=gen) * 2 * torch.pi
    obs = [Z(i) for i in range(qubits)]
    console = Console()
    console.print(f"[bold]hqml demo[/]: {qubits} qubits, {layers} layers, batch {batch}")
    # folded at gate boundaries to the terminal's width; rich must not wrap it again mid-gate
    console.print(
        c.draw(max_width=max(40, console.width)), soft_wrap=True, markup=False, highlight=False
    )
    table = Table(
        title="VQC forward + gradient (loss = mean of sum_i <Z_i>^2)",
        caption="vs adjoint: max |grad - adjoint grad|; ms: forward + backward",
        box=box.SIMPLE_HEAD,
        padding=0,
    )  # fits 50 columns
    for col in ("diff method", "loss", "|grad|", "vs adjoint", "ms"):
        table.add_column(col, justify="right", no_wrap=True)
    ref = None
    for method in DIFF_METHODS:
        wt = w0.clone().requires_grad_(True)
        t0 = time.perf_counter()
        vals = expval(
            c,
            obs,
            inputs={"x": data},
            weights={"w": wt},
            diff_method=method,
            seed=seed if method == "spsa" else None,
        )
        loss = (vals**2).sum(dim=1).mean()
        loss.backward()
        ms = (time.perf_counter() - t0) * 1e3
        ref = wt.grad if ref is None else ref
        table.add_row(
            method,
            f"{loss.item():.4f}",
            f"{wt.grad.norm().item():.4f}",
            f"{(wt.grad - ref).abs().max().item():.2e}",
            f"{ms:.1f}",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
