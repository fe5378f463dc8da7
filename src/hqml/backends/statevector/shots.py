"""Shot estimates of Z-type expectation values from exact states, on any engine.

An expval with shots whose words are all Z words is measured, as on hardware, from one set of
``shots`` outcomes of the wires the words touch (per row of theta). Those outcomes' counts are
all the estimates depend on, so they are drawn at once from the exact marginal probabilities
(:func:`hqml.sim.measure.sample_counts`, a multinomial draw) and each word's estimate is its
signed count over ``shots``. The exact states come from whichever engine the chooser picks for
the exact request (the compiled interpreter on small registers): this is how a parameter-shift
gradient with shots runs all its shifted circuits and samples in one engine call and one draw.
"""

from __future__ import annotations

from typing import Any

import torch

from ...circuit.observables import z_only
from ...sim import measure
from ..base import Expval, State, Task
from .torch_plan import expval_terms


def sampled_z_expval(task: Task, choose: Any) -> torch.Tensor | None:
    """The task's shot estimates ``(B, O)`` when its measurement is an expval of Z words with
    shots (``None`` otherwise; the caller runs it as it is). ``choose(task)`` gives the engine
    for the exact state."""
    m = task.measurement
    if task.shots is None or not isinstance(m, Expval):
        return None
    words, coeffs, _ = expval_terms(m.observables)
    if not words or not z_only([w for w in words if w]):
        return None
    n = task.circuit.n_qubits
    wires = sorted({w for word in words for w, _ in word})
    exact = Task(task.circuit, task.theta, State(), task.dtype, None, task.generator,
                 task.varying, task.options, task.needs_grad)  # fmt: skip
    state = choose(exact).forward(exact, False)[0]
    probs = measure.probabilities(state, n, wires)
    counts = measure.sample_counts(probs, task.shots, task.generator)
    signs = measure.word_signs(len(wires), [[wires.index(w) for w, _ in word] for word in words])
    values = counts @ torch.from_numpy(signs).to(counts) / task.shots  # (B, T)
    rdt = state.real.dtype
    return values.to(rdt) @ torch.as_tensor(coeffs, dtype=rdt, device=values.device)
