"""Import TorchQuantum 0.1.8 without torchvision.

``import torchquantum`` imports its MNIST/CIFAR dataset helpers, which import torchvision at
module level. The PyPI torchvision wheel is a CUDA build that does not load beside a CPU torch,
and the benchmarks never touch those datasets, so when torchvision is missing this installs
placeholder modules that carry the few names imported at load time and fail loudly if used.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any


def _unavailable(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("torchvision is not installed in the TorchQuantum benchmark venv")


def import_torchquantum() -> Any:
    """``import torchquantum``, with torchvision placeholders when torchvision is absent."""
    missing = "torchvision" not in sys.modules and importlib.util.find_spec("torchvision") is None
    if missing:
        names = (
            "torchvision",
            "torchvision.datasets",
            "torchvision.datasets.utils",
            "torchvision.transforms",
        )
        mods = {name: types.ModuleType(name) for name in names}
        root = mods["torchvision"]
        root.datasets = mods["torchvision.datasets"]
        root.transforms = mods["torchvision.transforms"]
        root.datasets.utils = mods["torchvision.datasets.utils"]
        root.datasets.VisionDataset = type("VisionDataset", (), {"__init__": _unavailable})
        root.datasets.utils.download_url = _unavailable
        modes = ("nearest", "bilinear", "bicubic", "box", "hamming", "lanczos")
        root.transforms.InterpolationMode = types.SimpleNamespace(**{m.upper(): m for m in modes})
        for name, mod in mods.items():
            sys.modules.setdefault(name, mod)
    import torchquantum

    return torchquantum
