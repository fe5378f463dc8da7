"""Build the compiled layer kernels next to their C source.

Standard library only, so ``make native`` can run it as a script before the package is
installed: ``python src/hqml/sim/native/build.py`` (``--force`` rebuilds). The compiler is
``$CC`` (default ``gcc``); a failure prints one line and exits 0, and hqml then uses its torch
kernels.

The code is tuned to the building CPU (``-march=native``; the C source then picks its vector
width and the interpreter's lanes from the compiler's instruction-set macros: 64 bytes with
AVX-512, 32 with AVX2, 16 otherwise), so the library's file name carries the CPU's fingerprint
(``_hqml_kernels-<fingerprint>.so``, :func:`cpu_fingerprint`): a process on another kind of CPU
(a Ray worker on another node sharing the installation, a checkout moved to another machine)
looks for its own file and builds it on first use, never loading code that could die on an
illegal instruction. Where the package folder cannot be written (a read-only
installation), the library goes to the user's cache (``$XDG_CACHE_HOME/hqml/native``, by default
``~/.cache/hqml/native``).

``HQML_NATIVE_VARIANT`` picks another build than ``native``: ``avx512``, ``avx2`` (x86-64 with
those instruction sets) or ``portable`` (SSE2 on x86-64, the baseline elsewhere); a variant this
CPU cannot execute is refused. :func:`build_variant` builds any of them into a given folder (the
tests check every variant the machine can run).
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
SOURCES = (HERE / "kernels.c", HERE / "kernels_impl.h", HERE / "small_impl.h", HERE / "traj_impl.h")
STEM = "_hqml_kernels"
BASE_FLAGS = ("-O3", "-fopenmp", "-pthread", "-shared", "-fPIC", "-Wno-psabi")
FLAGS = (*BASE_FLAGS, "-march=native")  # the default build, for the running CPU
# x86-64 builds and the /proc/cpuinfo flags each needs; "portable" runs on any CPU of its kind
_X86_VARIANTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "avx512": (
        ("-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq", "-mavx2", "-mfma"),
        ("avx512f", "avx512vl", "avx512bw", "avx512dq", "avx2", "fma"),
    ),
    "avx2": (("-mavx2", "-mfma"), ("avx2", "fma")),
    "portable": (("-march=x86-64", "-mtune=generic"), ()),
}
VARIANT_ENV = "HQML_NATIVE_VARIANT"
_NOTICE = "hqml: building native kernels for this CPU (once) ..."

log = logging.getLogger(__name__)


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return platform.processor()


def cpu_flags(cpuinfo: str | None = None) -> list[str]:
    """The CPU's instruction-set flags (``/proc/cpuinfo``'s flags/Features/isa line), sorted."""
    for line in (_cpuinfo() if cpuinfo is None else cpuinfo).splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features", "isa"):  # x86, arm, risc-v
            return sorted(set(value.split()))
    return []


def cpu_model(cpuinfo: str | None = None) -> str:
    """The CPU's model name (``/proc/cpuinfo``; elsewhere the processor's name)."""
    for line in (_cpuinfo() if cpuinfo is None else cpuinfo).splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("model name", "hardware", "cpu model", "uarch"):
            return value.strip()
    return platform.processor() or platform.machine()


def variants(cpuinfo: str | None = None) -> list[str]:
    """The builds this CPU can execute, widest first: ``native`` plus, on x86-64, each of
    ``avx512``, ``avx2`` whose instruction sets it has, and ``portable``."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return ["native", "portable"]
    have = set(cpu_flags(cpuinfo))
    return ["native"] + [v for v, (_, need) in _X86_VARIANTS.items() if have.issuperset(need)]


def variant_flags(variant: str = "native") -> tuple[str, ...]:
    """The compiler flags of a build (see :func:`variants`)."""
    if variant == "native":
        return FLAGS
    if platform.machine().lower() in ("x86_64", "amd64") and variant in _X86_VARIANTS:
        return (*BASE_FLAGS, *_X86_VARIANTS[variant][0])
    if variant == "portable":
        return BASE_FLAGS  # the compiler's baseline for this architecture (NEON on arm64)
    raise ValueError(
        f"{variant!r} is not a native kernel build on {platform.machine()}; "
        f"choose one of {', '.join(variants())}"
    )


def requested_variant() -> str:
    """The build ``$HQML_NATIVE_VARIANT`` asks for (default ``native``), refused with a one-line
    error when this CPU cannot execute it."""
    variant = os.environ.get(VARIANT_ENV, "").strip().lower() or "native"
    if variant not in ("native", *_X86_VARIANTS):
        raise ValueError(
            f"{VARIANT_ENV}={variant!r} is not a native kernel build; "
            f"choose one of {', '.join(variants())} or unset it"
        )
    if variant not in variants():
        raise ValueError(
            f"{VARIANT_ENV}={variant!r} cannot run on this CPU ({cpu_model()}); "
            f"choose one of {', '.join(variants())} or unset it"
        )
    return variant


def cpu_fingerprint(cpuinfo: str | None = None, variant: str = "native") -> str:
    """A short hash of what the build depends on: the architecture, the CPU's instruction-set
    flags (``/proc/cpuinfo``; elsewhere the processor's name), and the variant's flags."""
    if cpuinfo is None:
        cpuinfo = _cpuinfo()
    flags = " ".join(cpu_flags(cpuinfo))
    text = "\n".join(
        (platform.machine(), flags or cpuinfo.strip(), " ".join(variant_flags(variant)))
    )
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
    """This CPU's library (the build :func:`requested_variant` names), compiled unless an
    up-to-date one is found (or ``force``); ``None`` when it cannot be built.

    The library is written to the package folder, or to :func:`cache_dir` where that cannot be
    written. It is compiled under a temporary name and renamed, so processes building at the
    same time never load a half-written file. Starting a build prints one line to stderr (it
    takes seconds), and so does finding no C compiler.
    """
    variant = requested_variant()
    fingerprint = cpu_fingerprint(variant=variant)
    found = None if force else find(fingerprint)
    if found is not None:
        return found
    name = library_name(fingerprint)
    for folder in (HERE, cache_dir()):
        path = _compile(folder / name, timeout, variant_flags(variant), announce=True)
        if path is not None or not _unwritable(folder):
            return path
    return None


def build_variant(variant: str, folder: Path, timeout: float = 120.0) -> Path | None:
    """Compile ``variant`` (see :func:`variants`) into ``folder``, whatever is there; ``None``
    when it cannot be built. Nothing is printed."""
    name = library_name(cpu_fingerprint(variant=variant))
    return _compile(Path(folder) / name, timeout, variant_flags(variant), announce=False)


def _unwritable(folder: Path) -> bool:
    return folder.exists() and not os.access(folder, os.W_OK | os.X_OK)


def _compile(library: Path, timeout: float, flags: tuple[str, ...], announce: bool) -> Path | None:
    cc = os.environ.get("CC", "gcc")
    if shutil.which(cc) is None:
        log.debug("native kernels: no C compiler %r on PATH", cc)
        if announce:
            print(
                f"hqml: no C compiler ({cc!r}) found, so hqml uses its torch kernels (slower from "
                "6 qubits); install gcc or set CC to build the native kernels",
                file=sys.stderr,
            )
        return None
    if announce:
        print(_NOTICE, file=sys.stderr, flush=True)
    tmp = None
    try:
        library.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{STEM}-", suffix=".so", dir=library.parent)
        os.close(fd)
        cmd = [cc, *flags, "-o", tmp, str(SOURCES[0]), "-lm"]
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
    try:
        path = build(force="--force" in argv)
    except ValueError as exc:  # a bad HQML_NATIVE_VARIANT
        print(f"hqml: {exc}", file=sys.stderr)
        return 2
    if path is None and shutil.which(os.environ.get("CC", "gcc")) is not None:
        print(
            "hqml: could not build the native kernels (needs gcc with OpenMP); "
            "the torch kernels will be used",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
