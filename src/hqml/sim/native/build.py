"""Build the compiled layer kernels next to their C source.

Standard library only, so ``make native`` can run it as a script before the package is
installed: ``python src/hqml/sim/native/build.py`` (``--force`` rebuilds). The compiler is
``$CC`` (default ``gcc``); a failure prints one line and exits 0, and hqml then uses its torch
kernels.

The code is tuned to the building CPU (``-march=native``), so the library's file name carries the
CPU's fingerprint (``_hqml_kernels-<fingerprint>.so``, :func:`cpu_fingerprint`): a process on
another kind of CPU (a Ray worker on another node sharing the installation, a checkout moved to
another machine) looks for its own file and builds it on first use, never loading code that could
die on an illegal instruction. Where the package folder cannot be written (a read-only
installation), the library goes to the user's cache (``$XDG_CACHE_HOME/hqml/native``, by default
``~/.cache/hqml/native``).
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
STEM = "_hqml_kernels"
FLAGS = ("-O3", "-march=native", "-fopenmp", "-pthread", "-shared", "-fPIC")

log = logging.getLogger(__name__)


def cpu_fingerprint(cpuinfo: str | None = None) -> str:
    """A short hash of what ``-march=native`` depends on: the architecture and the CPU's
    instruction-set flags (``/proc/cpuinfo``; elsewhere the processor's name), and the flags."""
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


def cache_dir() -> Path:
    """Where libraries go when the package folder cannot be written."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "hqml" / "native"


def library_name(fingerprint: str | None = None) -> str:
    """The file name of the library for a CPU with this ``fingerprint`` (default: this CPU)."""
    return f"{STEM}-{fingerprint or cpu_fingerprint()}.so"


def up_to_date(library: Path) -> bool:
    """Whether ``library`` exists and is newer than every source file."""
    if not library.exists():
        return False
    built = library.stat().st_mtime
    return all(src.stat().st_mtime <= built for src in SOURCES if src.exists())


def find(fingerprint: str | None = None, folders: tuple[Path, ...] | None = None) -> Path | None:
    """This CPU's up-to-date library in the package folder or the user's cache, if built."""
    name = library_name(fingerprint)
    for folder in folders or (HERE, cache_dir()):
        if up_to_date(folder / name):
            return folder / name
    return None


def build(force: bool = False, timeout: float = 120.0) -> Path | None:
    """This CPU's library, compiled unless an up-to-date one is found (or ``force``); ``None``
    when it cannot be built.

    The library is written to the package folder, or to :func:`cache_dir` where that cannot be
    written. It is compiled under a temporary name and renamed, so processes building at the
    same time never load a half-written file.
    """
    fingerprint = cpu_fingerprint()
    found = None if force else find(fingerprint)
    if found is not None:
        return found
    name = library_name(fingerprint)
    for folder in (HERE, cache_dir()):
        path = _compile(folder / name, timeout)
        if path is not None or not _unwritable(folder):
            return path
    return None


def _unwritable(folder: Path) -> bool:
    return folder.exists() and not os.access(folder, os.W_OK | os.X_OK)


def _compile(library: Path, timeout: float) -> Path | None:
    cc = os.environ.get("CC", "gcc")
    if shutil.which(cc) is None:
        log.debug("native kernels: no C compiler %r on PATH", cc)
        return None
    tmp = None
    try:
        library.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{STEM}-", suffix=".so", dir=library.parent)
        os.close(fd)
        cmd = [cc, *FLAGS, "-o", tmp, str(SOURCES[0]), "-lm"]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if res.returncode != 0:
            log.debug("native kernels: %s failed: %s", " ".join(cmd), res.stderr.strip())
            return None
        os.chmod(tmp, 0o755)  # mkstemp makes it private; others sharing the folder load it too
        os.replace(tmp, library)
        return library
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.debug("native kernels: build of %s failed: %s", library, exc)
        return None
    finally:
        if tmp is not None and os.path.exists(tmp):
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
