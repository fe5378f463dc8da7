"""Build the compiled layer kernels (``_hqml_kernels.so``) next to their C source.

Standard library only, so ``make native`` can run it as a script before the package is
installed: ``python src/hqml/sim/native/build.py`` (``--force`` rebuilds). The compiler is
``$CC`` (default ``gcc``); a failure prints one line and exits 0, and hqml then uses its torch
kernels.

The code is tuned to the building CPU (``-march=native``), so a library is only loaded on a CPU
with the same instruction sets: each build records the CPU's fingerprint beside the library
(``_hqml_kernels.cpu``), and a process on another kind of CPU (a Ray worker on another node that
shares the installation, say) builds and loads its own ``_hqml_kernels-<fingerprint>.so`` instead
of dying on an illegal instruction.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = (HERE / "kernels.c", HERE / "kernels_impl.h", HERE / "small_impl.h")
LIBRARY = HERE / "_hqml_kernels.so"
FLAGS = ("-O3", "-march=native", "-fopenmp", "-pthread", "-shared", "-fPIC")

log = logging.getLogger(__name__)


def cpu_fingerprint(cpuinfo: str | None = None) -> str:
    """A short hash of what ``-march=native`` depends on: the architecture and the CPU's
    instruction-set flags (``/proc/cpuinfo``; elsewhere the processor's name)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            cpuinfo = platform.processor()
    flags = ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features", "isa"):  # x86, arm, risc-v
            flags = " ".join(sorted(set(value.split())))
            break
    text = "\n".join((platform.machine(), flags or cpuinfo.strip(), " ".join(FLAGS)))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def stamp_of(library: Path) -> Path:
    """Where the fingerprint of the CPU that built ``library`` is kept."""
    return library.with_suffix(".cpu")


def built_here(library: Path, fingerprint: str) -> bool:
    """Whether ``library`` was built on a CPU with this ``fingerprint``. A library without a
    record (built by an older hqml) counts as built here, as before."""
    stamp = stamp_of(library)
    try:
        return stamp.read_text().strip() == fingerprint
    except FileNotFoundError:
        return True
    except OSError:
        return False


def library_for(fingerprint: str | None = None, library: Path | None = None) -> Path:
    """The library a process on this CPU loads: ``library`` (default :data:`LIBRARY`) where it
    was built on the same kind of CPU (or not built yet), else a sibling named by the
    fingerprint."""
    fingerprint = fingerprint or cpu_fingerprint()
    library = LIBRARY if library is None else library
    if not library.exists() or built_here(library, fingerprint):
        return library
    return library.with_name(f"{library.stem}-{fingerprint}{library.suffix}")


def up_to_date(library: Path | None = None) -> bool:
    """Whether ``library`` (default :data:`LIBRARY`) exists and is newer than every source."""
    library = LIBRARY if library is None else library
    if not library.exists():
        return False
    built = library.stat().st_mtime
    return all(src.stat().st_mtime <= built for src in SOURCES if src.exists())


def build(
    force: bool = False, timeout: float = 120.0, library: Path | None = None
) -> Path | None:
    """Compile the kernels into ``library`` (default: :func:`library_for` this CPU); the path,
    or ``None`` when it cannot be built.

    The library is written to a temporary file and renamed, so processes building at the same
    time never load a half-written file; the CPU's fingerprint is recorded beside it.
    """
    fingerprint = cpu_fingerprint()
    library = library_for(fingerprint) if library is None else library
    if not force and up_to_date(library) and built_here(library, fingerprint):
        return library
    cc = os.environ.get("CC", "gcc")
    if shutil.which(cc) is None:
        log.debug("native kernels: no C compiler %r on PATH", cc)
        return None
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=library.parent)
    os.close(fd)
    cmd = [cc, *FLAGS, "-o", tmp, str(SOURCES[0]), "-lm"]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if res.returncode != 0:
            log.debug("native kernels: %s failed: %s", " ".join(cmd), res.stderr.strip())
            return None
        stamp = stamp_of(library)
        stamp_tmp = stamp.with_name(f"{stamp.name}.{os.getpid()}")
        stamp_tmp.write_text(fingerprint + "\n")
        os.replace(tmp, library)
        os.replace(stamp_tmp, stamp)
        return library
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.debug("native kernels: build failed: %s", exc)
        return None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = build(force="--force" in argv)
    if path is None:
        print(
            "hqml: could not build the native kernels (needs gcc with OpenMP); "
            "the torch kernels will be used",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
