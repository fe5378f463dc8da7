"""The :class:`Dataset` container and the shared split / scaling step."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

SCALINGS = ("standard", "minmax", "none")


@dataclass(frozen=True)
class Dataset:
    """A train/test split. Features are ``(n, n_features)`` (images ``(n, 1, h, w)``); labels
    are integer class indices ``0..n_classes-1``.

    Attributes:
        x_train, y_train, x_test, y_test: arrays (NumPy) or tensors (after :meth:`tensors`).
        name: the dataset's name.
        n_classes: number of classes.
        info: how it was made (size, seed, scaling, generator parameters).
    """

    x_train: Any
    y_train: Any
    x_test: Any
    y_test: Any
    name: str
    n_classes: int
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return math.prod(self.x_train.shape[1:])

    def tensors(self, dtype: torch.dtype = torch.float32, device: Any = None) -> Dataset:
        """The same split as torch tensors (features ``dtype``, labels int64)."""

        def t(a: Any, dt: torch.dtype) -> torch.Tensor:
            return torch.as_tensor(np.asarray(a), dtype=dt, device=device)

        return replace(
            self,
            x_train=t(self.x_train, dtype),
            x_test=t(self.x_test, dtype),
            y_train=t(self.y_train, torch.int64),
            y_test=t(self.y_test, torch.int64),
        )

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, train={tuple(self.x_train.shape)},"
            f" test={tuple(self.x_test.shape)}, n_classes={self.n_classes})"
        )


def check_fraction(test_size: Any) -> float:
    if (
        isinstance(test_size, bool)
        or not isinstance(test_size, numbers.Real)
        or not 0 < test_size < 1
    ):
        raise ValueError(f"test_size must be a fraction in (0, 1), got {test_size!r}")
    return float(test_size)


def check_positive(value: Any, what: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def split_and_scale(
    x: np.ndarray,
    y: np.ndarray,
    *,
    name: str,
    test_size: float,
    seed: int,
    scale: str,
    as_tensors: bool,
    info: dict[str, Any] | None = None,
    n_classes: int | None = None,
) -> Dataset | Any:
    """Stratified split, then scaling fitted on the training part only.

    ``scale``: ``"standard"`` (zero mean, unit variance per feature), ``"minmax"`` (each
    feature to ``[0, pi]``, a natural range for rotation angles) or ``"none"``.
    """
    from sklearn.model_selection import train_test_split

    if scale not in SCALINGS:
        raise ValueError(f"scale must be one of {SCALINGS}, got {scale!r}")
    test_size = check_fraction(test_size)
    y = np.asarray(y)
    classes, y = np.unique(y, return_inverse=True)
    stratify = y if np.bincount(y).min() >= 2 else None
    x_tr, x_te, y_tr, y_te = train_test_split(
        np.asarray(x, dtype=np.float64),
        y,
        test_size=test_size,
        random_state=seed,
        stratify=stratify,
    )
    shape = x_tr.shape[1:]
    a, b = x_tr.reshape(len(x_tr), -1), x_te.reshape(len(x_te), -1)
    if scale == "standard":
        mu, sd = a.mean(0), a.std(0)
        sd = np.where(sd > 0, sd, 1.0)
        a, b = (a - mu) / sd, (b - mu) / sd
    elif scale == "minmax":
        lo, hi = a.min(0), a.max(0)
        span = np.where(hi > lo, hi - lo, 1.0)
        a, b = (a - lo) / span * np.pi, (b - lo) / span * np.pi
    info = dict(
        info or {},
        seed=seed,
        test_size=test_size,
        scale=scale,
        n_samples=len(x),
        classes=classes.tolist(),
    )
    ds = Dataset(
        a.reshape(-1, *shape),
        y_tr.astype(np.int64),
        b.reshape(-1, *shape),
        y_te.astype(np.int64),
        name,
        int(n_classes or len(classes)),
        info,
    )
    return ds.tensors() if as_tensors else ds
