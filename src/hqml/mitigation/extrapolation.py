"""Zero-noise extrapolation fits: linear, Richardson, polynomial and exponential.

Values are tensors ``(S, ...)`` (one slice per scale factor); every element is fitted on its own.
Linear, Richardson and polynomial fits are linear in the values (``y0 = sum_i w_i y_i``), so the
extrapolated value is differentiable; the exponential fit with a known asymptote is a weighted
log-linear fit (also differentiable); without one it is a nonlinear least-squares fit (SciPy;
no gradient).

>>> import torch
>>> round(float(extrapolate([1, 2, 3], torch.tensor([0.8, 0.6, 0.4]), "linear").value), 6)
1.0
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

EXTRAPOLATIONS = ("linear", "richardson", "polynomial", "exponential")


@dataclass
class Fit:
    """An extrapolation: the zero-noise value and how it was obtained."""

    method: str
    value: torch.Tensor
    scale_factors: tuple[float, ...]
    weights: np.ndarray | None = None  # y0 = sum_i weights[i] * y_i (linear-in-y methods)
    coefficients: torch.Tensor | None = None  # polynomial coefficients, lowest order first
    params: dict[str, Any] = field(default_factory=dict)


def _vandermonde(x: np.ndarray, degree: int) -> np.ndarray:
    return np.stack([x**k for k in range(degree + 1)], axis=1)


def _polynomial(x: np.ndarray, y: torch.Tensor, degree: int, method: str) -> Fit:
    if len(x) < degree + 1:
        raise ValueError(
            f"{method} extrapolation of degree {degree} needs at least {degree + 1} scale"
            f" factors, got {len(x)}"
        )
    if len(set(np.round(x, 12))) < degree + 1:
        raise ValueError(
            f"{method} extrapolation needs {degree + 1} distinct scale factors, got {list(x)}"
        )
    pinv = np.linalg.pinv(_vandermonde(x, degree))  # (degree+1, S)
    p = torch.as_tensor(pinv, dtype=y.dtype, device=y.device)
    coeffs = torch.tensordot(p, y, dims=1)
    return Fit(method, coeffs[0], tuple(x), pinv[0].copy(), coeffs, {"degree": degree})


def _exponential(x: np.ndarray, y: torch.Tensor, asymptote: float | None) -> Fit:
    """Mitiq's ``ExpFactory``: ``y = a + s exp(z0 + z1 x)``."""
    if len(x) < 2 + (asymptote is None):
        raise ValueError(
            f"exponential extrapolation needs at least {2 + (asymptote is None)} scale"
            f" factors{'' if asymptote is not None else ' without an asymptote'}"
        )
    v = _vandermonde(x, 1)
    slope_icpt = torch.tensordot(
        torch.as_tensor(np.linalg.pinv(v), dtype=y.dtype, device=y.device), y, dims=1
    )
    if asymptote is not None:
        sign = torch.sign(slope_icpt[0] - asymptote)
        sign = torch.where(sign == 0, torch.ones_like(sign), sign)
        shifted = (sign * (y - asymptote)).clamp_min(1e-12)
        z = torch.log(shifted)
        w = shifted.detach().sqrt()  # Mitiq weights residuals by sqrt(|y - a|)
        vt = torch.as_tensor(v, dtype=y.dtype, device=y.device)
        flat_z = z.reshape(len(x), -1).T  # (E, S)
        flat_w = w.reshape(len(x), -1).T
        a = vt[None] * flat_w[..., None]  # (E, S, 2)
        sol = torch.linalg.lstsq(a, (flat_z * flat_w)[..., None]).solution[..., 0]  # (E, 2)
        value = asymptote + sign * torch.exp(sol[:, 0].reshape(y.shape[1:]))
        return Fit(
            "exponential",
            value,
            tuple(x),
            None,
            None,
            {"asymptote": asymptote, "log_coefficients": sol.reshape(y.shape[1:] + (2,))},
        )
    from scipy.optimize import OptimizeWarning, curve_fit

    def model(t: np.ndarray, c0: float, c1: float, c2: float) -> np.ndarray:
        return c0 + c1 * np.exp(c2 * t)

    ys = y.detach().cpu().double().reshape(len(x), -1).numpy()
    signs = -np.sign(slope_icpt[1].detach().cpu().double().reshape(-1).numpy())
    out, params = np.zeros(ys.shape[1]), np.zeros((ys.shape[1], 3))
    for e in range(ys.shape[1]):
        s = signs[e] if signs[e] != 0 else 1.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            try:
                c, _ = curve_fit(model, x, ys[:, e], p0=[0.0, s, -1.0], maxfev=20000)
            except RuntimeError as err:
                raise ValueError(
                    f"exponential extrapolation did not converge ({err}); give an"
                    " asymptote or use another extrapolation"
                ) from None
        params[e] = c
        out[e] = c[0] + c[1]
    value = torch.as_tensor(out, dtype=y.dtype, device=y.device).reshape(y.shape[1:])
    return Fit(
        "exponential",
        value,
        tuple(x),
        None,
        None,
        {"asymptote": None, "coefficients": params.reshape(tuple(y.shape[1:]) + (3,))},
    )


def extrapolate(
    scale_factors: Sequence[float],
    values: Any,
    method: str = "richardson",
    *,
    order: int | None = None,
    asymptote: float | None = None,
) -> Fit:
    """Fit ``values`` against ``scale_factors`` and evaluate the fit at zero noise.

    Args:
        scale_factors: the noise scales ``(S,)``.
        values: ``(S, ...)`` tensor (or array) of measured values.
        method: ``"linear"`` (least-squares line), ``"richardson"`` (the polynomial of degree
            ``S - 1`` through all points), ``"polynomial"`` (least squares of degree ``order``)
            or ``"exponential"`` (``a + b exp(-c x)``; ``asymptote`` fixes ``a``).
        order: the degree for ``"polynomial"``.
        asymptote: the infinite-noise limit for ``"exponential"`` (e.g. 0 for Pauli words
            under depolarizing noise).

    Returns:
        A :class:`Fit`; ``fit.value`` has the shape of one slice of ``values``.
    """
    x = np.asarray(scale_factors, dtype=float)
    y = (
        values
        if isinstance(values, torch.Tensor)
        else torch.as_tensor(np.asarray(values, dtype=float))
    )
    if y.shape[:1] != (len(x),):
        raise ValueError(
            f"values must have one slice per scale factor ({len(x)}), got shape {tuple(y.shape)}"
        )
    if method == "linear":
        return _polynomial(x, y, 1, method)
    if method == "richardson":
        return _polynomial(x, y, len(x) - 1, method)
    if method == "polynomial":
        if order is None or isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise ValueError(
                f"polynomial extrapolation needs order= a positive integer, got {order!r}"
            )
        return _polynomial(x, y, order, method)
    if method == "exponential":
        return _exponential(x, y, asymptote)
    raise ValueError(f"unknown extrapolation {method!r}; choose one of {', '.join(EXTRAPOLATIONS)}")
