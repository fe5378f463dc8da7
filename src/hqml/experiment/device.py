"""The torch device a run trains on (``training.device``): ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or
``"auto"`` (CUDA when torch sees a GPU, else the CPU). The model, its data and its quantum
layers' simulation all live there (a quantum layer simulates on its weights' device)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from .config import ConfigError, check_device_name


def resolve_device(name: str) -> torch.device:
    """The device of a ``training.device`` setting; CUDA asked for where torch sees none (or
    not that many GPUs) is refused in one line (``ConfigError``), never run on the CPU."""
    check_device_name(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        why = "torch was built without CUDA" if torch.version.cuda is None else "no GPU is visible"
        raise ConfigError(
            f"training.device = {name!r} but CUDA is not available here ({why});"
            " set training.device = 'cpu' or 'auto'"
        )
    device = torch.device(name)
    count = torch.cuda.device_count()
    if device.index is not None and device.index >= count:
        raise ConfigError(
            f"training.device = {name!r} but torch sees {count} GPU(s) (indices 0..{count - 1})"
        )
    return device


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (a CUDA timing must not stop at a kernel launch)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of a model's first parameter or buffer (the CPU for an empty model)."""
    for t in (*model.parameters(), *model.buffers()):
        return t.device
    return torch.device("cpu")


def dataset_to(ds: Any, device: torch.device) -> Any:
    """A tensor dataset (``Dataset.tensors()``) with its four arrays on ``device``."""
    if device.type == "cpu":
        return ds
    return replace(
        ds,
        x_train=ds.x_train.to(device),
        y_train=ds.y_train.to(device),
        x_test=ds.x_test.to(device),
        y_test=ds.y_test.to(device),
    )


__all__ = ["resolve_device", "check_device_name", "synchronize", "model_device", "dataset_to"]
