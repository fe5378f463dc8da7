"""Build the compiled layer kernels (``_hqml_kernels.so``) next to their C source.

Standard library only, so ``make native`` can run it as a script before the package is
installed: ``python src/hqml/sim/native/build.py`` (``--force`` rebuilds). The compiler is
``$CC`` (default ``gcc``); a failure prints one line and exits 0, and hqml then uses its torch
kernels.
"""

from __future__ import annotations

import logging
import os
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


def up_to_date(library: Path = LIBRARY) -> bool:
    """Whether ``library`` exists and is newer than every source file."""
    if not library.exists():
        return False
    built = library.stat().st_mtime
    return all(src.stat().st_mtime <= built for src in SOURCES if src.exists())


def build(force: bool = False, timeout: float = 120.0, library: Path = LIBRARY) -> Path | None:
    """Compile the kernels into ``library``; the path, or ``None`` when it cannot be built.

    The library is written to a temporary file and renamed, so processes building at the same
    time never load a half-written file.
    """
    if not force and up_to_date(library):
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
        os.replace(tmp, library)
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
