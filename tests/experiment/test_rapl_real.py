"""The RAPL energy counters of this machine, read for real where /sys/class/powercap holds
readable package zones (skipped elsewhere: containers and most CI runners hide them, and
recent kernels let only root read ``energy_uj``)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from hqml.experiment.scale.measure import RAPL, EnergyMeter


def _packages() -> list[tuple[Path, int]]:
    """The package zones, found here independently of hqml: ``intel-rapl:N`` (not its
    ``:N:M`` sub-zones) named ``package-*``, with readable counters."""
    out = []
    for d in sorted(Path("/sys/class/powercap").glob("*rapl:*")):
        try:
            if re.fullmatch(r"[a-z-]*rapl:\d+", d.name) and (d / "name").read_text().startswith(
                "package"
            ):
                int((d / "energy_uj").read_text())
                out.append((d / "energy_uj", int((d / "max_energy_range_uj").read_text())))
        except (OSError, ValueError):
            continue
    return out


PACKAGES = _packages() if RAPL == Path("/sys/class/powercap") else []


@pytest.mark.skipif(not PACKAGES, reason="no readable RAPL package counters on this machine")
def test_rapl_counters_of_this_machine_measure_a_busy_spell():
    meter = EnergyMeter(10.0)
    assert meter.method.startswith("rapl")
    assert [f for f, _ in meter.files] == [f for f, _ in PACKAGES]
    before = [int(f.read_text()) for f, _ in PACKAGES]
    t0 = time.perf_counter()
    start = meter.start()
    x = 0
    while time.perf_counter() - t0 < 0.3:  # keep a core busy
        x += 1
    joules = meter.joules(start)
    elapsed = time.perf_counter() - t0
    after = [int(f.read_text()) for f, _ in PACKAGES]
    spans = zip(before, after, PACKAGES, strict=True)
    outer = sum(((b - a) % (top + 1)) / 1e6 for a, b, (_, top) in spans)
    assert 0 < joules <= outer  # inside the span the test's own readings bracket
    assert 0.05 < joules / elapsed < 5000  # a package's power, in watts
