"""Count the hqml source files a call touches and how often the call moves between files.

Runs two requests under ``sys.setprofile`` (calls and returns of Python functions; C functions
are ignored) and prints, for each, the distinct files under ``src/hqml`` entered and the number of
switches between consecutive events that lie in different hqml files (events outside hqml are
skipped, so a torch call inside one module counts as no switch):

    a) a 4-qubit expval on the generic path (``HQML_FASTCALL=0``, set before the call);
    b) a 14-qubit expval with an adjoint gradient (forward and backward).

Each request runs once untraced (to warm caches: planning and compiling are one-off work) and
then once traced. Usage: ``python tools/trace_path.py [--files]``.
"""

from __future__ import annotations

import os
import sys

os.environ["HQML_FASTCALL"] = "0"

import torch  # noqa: E402

import hqml  # noqa: E402

ROOT = os.path.dirname(hqml.__file__) + os.sep


def _layer_circuit(n: int, layers: int) -> tuple[hqml.Circuit, list]:
    c = hqml.Circuit(n)
    x = c.input("x", n)
    w = c.weight("w", (layers, n))
    for i in range(n):
        c.ry(x[i], i)
    for layer in range(layers):
        for i in range(n):
            c.rz(w[layer, i], i)
            c.ry(w[layer, i] * 0.5, i)
        for i in range(n):
            c.cnot(i, (i + 1) % n)
    return c, [hqml.Z(i) for i in range(n)]


def trace(fn) -> tuple[list[str], int]:
    files: list[str] = []
    seen: set[str] = set()
    switches = 0
    last: list[str | None] = [None]

    def prof(frame, event, arg):  # noqa: ANN001
        if event not in ("call", "return"):
            return
        f = frame.f_code.co_filename
        if not f.startswith(ROOT):
            return
        nonlocal switches
        if last[0] is not None and f != last[0]:
            switches += 1
        last[0] = f
        if f not in seen:
            seen.add(f)
            files.append(f[len(ROOT) :])

    sys.setprofile(prof)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return files, switches


def case_small():
    """The circuit and tensors are built outside the trace: only the call is traced."""
    c, obs = _layer_circuit(4, 2)
    x = torch.rand(8, 4, generator=torch.Generator().manual_seed(0))
    w = torch.rand(2, 4, generator=torch.Generator().manual_seed(1))
    return lambda: hqml.expval(c, obs, inputs={"x": x}, weights={"w": w})


def case_grad14():
    c, obs = _layer_circuit(14, 2)
    x = torch.rand(4, 14, generator=torch.Generator().manual_seed(0))
    w = torch.rand(2, 14, generator=torch.Generator().manual_seed(1)).requires_grad_()

    def run() -> None:
        out = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w}, diff_method="adjoint")
        out.sum().backward()

    return run


def main() -> None:
    show = "--files" in sys.argv
    for label, make in (("4q generic expval", case_small), ("14q adjoint grad", case_grad14)):
        run = make()
        run()  # warm: plans, compiled programs and the native library are built once
        files, switches = trace(run)
        print(f"{label}: {len(files)} files, {switches} switches")
        if show:
            for f in files:
                print("   ", f)


if __name__ == "__main__":
    main()
