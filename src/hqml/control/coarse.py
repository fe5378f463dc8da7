"""A coarse first stage for closed-loop calibration: fit the device, then jump near its optimum.

The first-order sequences of :data:`~.transmon.TRACKING` read the pulse's errors linearly only
for small errors (a detuning of 0.05 rad/ns turns the state by about 1 rad during a 20 ns pulse),
so a linear feedback law started far from the target can read the wrong sign and run away. This
stage does what an experimenter does first: fit the device to the measured outcomes. The model
is the one the feedback policy is trained on (a three-level transmon whose anharmonicity and
readout errors are known); its two unknowns are the qubit's frequency offset and the drive
line's scale, fitted by maximum likelihood (binomial shot noise) to the measured P(1) of every
sequence at every pulse tried so far: first on a grid that spans the spreads (the 12 second-order
sequences fix how far the pulse is, the 4 first-order ones the sign of the amplitude error,
two Ramsey-like ones of :data:`~.transmon.RAMSEY` the detuning), then refined locally. The
next pulse is the one that the fitted device says is best, within the action box. Every
measurement is an experiment on the device and costs its shots; the true fidelity is never used.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np

from .env import CalibrationTask
from .transmon import RAMSEY, Pulse, Transmon, gate_fidelity, sequence_probabilities

_GRID = (29, 21)  # offsets x drive scales of the first fit's grid
_MARGIN = (0.03, 0.1)  # the grid reaches this far beyond the task's spreads
_LOCAL, _LOCAL_SPAN = (7, 17), (0.015, 0.08)  # later fits: a grid around the last estimate


def model_device(task: CalibrationTask, offset: float, scale: float) -> Transmon:
    """The task's device (its known anharmonicity and readout errors) with a frequency offset
    and drive-line scale put in."""
    return replace(task.device, offset=float(offset), drive_scale=float(scale))


def coarse_sequences(task: CalibrationTask) -> dict[str, tuple[tuple[str, ...], float]]:
    """What a coarse experiment runs: the task's sequences and the two of :data:`RAMSEY`."""
    return {**task.sequences, **RAMSEY}


def predicted(task: CalibrationTask, pulse: Pulse, device: Transmon) -> np.ndarray:
    """P(reading 1) of every sequence of a coarse experiment, readout error included."""
    p = sequence_probabilities(pulse, device, coarse_sequences(task))
    return p * (1 - device.readout_10) + (1 - p) * device.readout_01


def _grid(task: CalibrationTask) -> tuple[np.ndarray, np.ndarray]:
    d = task.device
    offsets = d.offset + np.linspace(-1, 1, _GRID[0]) * (task.offset_spread + _MARGIN[0])
    scales = d.drive_scale * (1 + np.linspace(-1, 1, _GRID[1]) * (task.scale_spread + _MARGIN[1]))
    return offsets, scales


@lru_cache(maxsize=16)
def _grid_table(task: CalibrationTask, pulse: Pulse) -> np.ndarray:
    """Predicted P(1) on the grid: shape (offsets, scales, sequences). Cached, since every
    device of a bench starts from the same nominal pulse."""
    offsets, scales = _grid(task)
    return np.array(
        [[predicted(task, pulse, model_device(task, o, s)) for s in scales] for o in offsets]
    )


def _nll(p: np.ndarray, k: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Binomial negative log-likelihood of ``k`` ones in ``n`` shots, summed over the last axis."""
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return -np.sum(k * np.log(p) + (n - k) * np.log1p(-p), axis=-1)


class DeviceFit:
    """Measurements so far and the device they fit best.

    Args:
        task: the calibration task (its sequences, shots, spreads and known device parameters).
        start: an earlier estimate (offset, drive scale) to search around, e.g. from a coarse
            stage run before on the same (slowly drifting) device; None: search the spreads.

    Add each experiment with :meth:`add` (the pulse and the measured P(1) of every sequence of
    :func:`coarse_sequences`);
    :meth:`fit` returns the maximum-likelihood (offset, drive scale).
    """

    def __init__(self, task: CalibrationTask, start: tuple[float, float] | None = None):
        self.task = task
        self.data: dict[Pulse, np.ndarray] = {}  # pulse -> ones counted per sequence
        self.shots: dict[Pulse, int] = {}
        self.estimate = None if start is None else (float(start[0]), float(start[1]))

    def add(self, pulse: Pulse, measured: np.ndarray) -> None:
        """One coarse experiment at ``pulse``: the measured P(1) of :func:`coarse_sequences`."""
        if len(measured) != len(coarse_sequences(self.task)):
            raise ValueError(
                f"expected the P(1) of the {len(coarse_sequences(self.task))} coarse sequences, "
                f"got {len(measured)}"
            )
        k = np.rint(np.asarray(measured, dtype=np.float64) * self.task.shots)
        self.data[pulse] = self.data.get(pulse, 0) + k
        self.shots[pulse] = self.shots.get(pulse, 0) + self.task.shots

    def nll(self, offset: float, scale: float) -> float:
        """Negative log-likelihood of all measurements for a device with these parameters."""
        dev = model_device(self.task, offset, scale)
        return float(
            sum(_nll(predicted(self.task, p, dev), k, self.shots[p]) for p, k in self.data.items())
        )

    def fit(self) -> tuple[float, float]:
        """The (offset, drive scale) of highest likelihood: the best point of a grid (over the
        spreads for the first fit without ``start``, else around the last estimate), refined
        by Nelder-Mead."""
        from scipy.optimize import minimize

        if not self.data:
            raise ValueError("no measurements to fit: add() at least one experiment first")
        if self.estimate is None:  # the whole spread, on a grid cached per pulse
            offsets, scales = _grid(self.task)
            total = sum(
                _nll(_grid_table(self.task, p), k, self.shots[p]) for p, k in self.data.items()
            )
            step = (offsets[1] - offsets[0], scales[1] - scales[0])
        else:  # around the last estimate; wide in scale, since the second-order sequences
            # read an amplitude error of either sign alike (a mirror minimum)
            o, s = self.estimate
            offsets = o + np.linspace(-1, 1, _LOCAL[0]) * _LOCAL_SPAN[0]
            scales = s * (1 + np.linspace(-1, 1, _LOCAL[1]) * _LOCAL_SPAN[1])
            total = np.array([[self.nll(a, b) for b in scales] for a in offsets])
            step = (0.5 * (offsets[1] - offsets[0]), 0.5 * (scales[1] - scales[0]))
        i, j = np.unravel_index(np.argmin(total), total.shape)
        start = (offsets[i], scales[j])
        simplex = np.array([start, (start[0] + step[0], start[1]), (start[0], start[1] + step[1])])
        res = minimize(
            lambda v: self.nll(v[0], v[1]),
            np.array(start),
            method="Nelder-Mead",
            options={"initial_simplex": simplex, "xatol": 1e-5, "fatol": 1e-3},
        )
        self.estimate = (float(res.x[0]), float(res.x[1]))
        return self.estimate


@lru_cache(maxsize=8)
def _nominal_optimum(device: Transmon, duration: float) -> tuple[float, float, float]:
    """The best pulse (amplitude, detuning, DRAG) for ``device`` with no offset and unit scale;
    a device with offset o and scale s has it at (amplitude / s, detuning + o, DRAG)."""
    from scipy.optimize import minimize

    dev = replace(device, offset=0.0, drive_scale=1.0)
    res = minimize(
        lambda x: -gate_fidelity(Pulse(x[0], x[1], x[2], duration), dev),
        np.array([1.0, 0.0, 0.5]),
        method="Nelder-Mead",
        options={"xatol": 1e-6, "fatol": 1e-11},
    )
    return float(res.x[0]), float(res.x[1]), float(res.x[2])


def best_action(task: CalibrationTask, device: Transmon) -> np.ndarray:
    """The action in [-1, 1]^3 whose pulse has the highest model fidelity on ``device`` (a
    model, e.g. a fitted one; never the real device)."""
    from scipy.optimize import minimize

    a, d, g = _nominal_optimum(task.device, task.duration)
    guess = Pulse(a / device.drive_scale, d + device.offset, g, task.duration)
    x0 = np.clip(task.action(guess), -1.0, 1.0)
    if np.allclose(x0, task.action(guess)):  # the optimum lies inside the box
        return x0
    res = minimize(  # on the box's boundary: the best pulse there (DRAG makes up detuning)
        lambda x: -gate_fidelity(task.pulse(x), device),
        x0,
        method="Nelder-Mead",
        options={"xatol": 1e-4, "fatol": 1e-9},
    )
    return np.clip(res.x, -1.0, 1.0)
