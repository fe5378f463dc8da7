"""The compiled kernels are tuned to the CPU that built them (-march=native): each kind of CPU
loads only a library built for its own fingerprint (a Ray worker on another node sharing the
installation builds its own), and a read-only installation builds into the user's cache."""

import os
import tempfile

import numpy as np
import pytest
import torch
from helpers import np_layer

from hqml.sim import native
from hqml.sim.native import build

X86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx2 {extra}\nbogomips\t: 1\n"


def test_fingerprint_follows_the_instruction_sets_only():
    a = build.cpu_fingerprint(X86.format(extra="avx512f"))
    assert a == build.cpu_fingerprint(X86.format(extra="avx512f").replace("sse2 avx2", "avx2 sse2"))
    assert a == build.cpu_fingerprint(X86.format(extra="avx512f").replace("bogomips\t: 1", "x: 2"))
    assert a != build.cpu_fingerprint(X86.format(extra=""))
    assert len(a) == 12 and build.library_name(a) == f"_hqml_kernels-{a}.so"


def test_find_takes_an_up_to_date_library_of_this_cpu_only(tmp_path):
    pkg, cache = tmp_path / "pkg", tmp_path / "cache"
    pkg.mkdir(), cache.mkdir()
    newest = max(src.stat().st_mtime for src in build.SOURCES)
    (pkg / build.library_name("other")).write_bytes(b"")
    assert build.find("mine", (pkg, cache)) is None  # another CPU's library is never taken
    stale = cache / build.library_name("mine")
    stale.write_bytes(b"")
    os.utime(stale, (newest - 10, newest - 10))
    assert build.find("mine", (pkg, cache)) is None  # older than the sources
    os.utime(stale, (newest + 10, newest + 10))
    assert build.find("mine", (pkg, cache)) == stale
    (pkg / build.library_name("mine")).write_bytes(b"")
    assert build.find("mine", (pkg, cache)) == pkg / build.library_name("mine")  # package first


def _fresh_native(monkeypatch, here, cache):
    monkeypatch.setattr(build, "HERE", here)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setattr(native, "_state", {"lib": None, "tried": False})
    monkeypatch.setenv("HQML_NATIVE", "1")


def _layer_matches_reference():
    rng = np.random.default_rng(0)
    n = 6
    psi = torch.tensor(rng.normal(size=(2, 2**n)) + 1j * rng.normal(size=(2, 2**n)))
    mats = torch.tensor(rng.normal(size=(2, 2, 2)) + 1j * rng.normal(size=(2, 2, 2)))
    got = native.apply_layer(psi.clone(), n, [1, 4], mats)
    np.testing.assert_allclose(got.numpy(), np_layer(psi, n, [1, 4], mats), atol=1e-12)


@pytest.mark.skipif(not native.available(), reason="the native kernels cannot be built here")
def test_a_library_from_another_cpu_is_never_loaded(tmp_path, monkeypatch, capsys):
    """The shared folder holds another CPU's library (here: not a library at all, so loading it
    would fail): this process builds its own beside it, loads it, and computes the reference.
    The build (seconds) says so on stderr, once."""
    foreign = tmp_path / build.library_name("another-cpu")
    foreign.write_bytes(b"not a library: loading it would fail")
    _fresh_native(monkeypatch, tmp_path, tmp_path / "cache")
    looked_up = []
    real_which = build.shutil.which
    monkeypatch.setattr(build.shutil, "which", lambda cc: looked_up.append(cc) or real_which(cc))
    assert native.available()
    assert looked_up  # the build went through the (patched) compiler lookup
    assert capsys.readouterr().err == "hqml: building native kernels for this CPU (once) ...\n"
    assert native.available() and capsys.readouterr().err == ""  # once per process
    own = tmp_path / build.library_name()
    assert own.exists() and foreign.read_bytes().startswith(b"not a library")
    assert not (tmp_path / "cache").exists()
    _layer_matches_reference()
    built = own.stat().st_mtime_ns
    assert build.build() == own and own.stat().st_mtime_ns == built  # found, not rebuilt
    assert capsys.readouterr().err == ""  # finding the library prints nothing
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


@pytest.mark.skipif(not native.available(), reason="the native kernels cannot be built here")
def test_a_read_only_installation_builds_into_the_user_cache(tmp_path, monkeypatch):
    pkg, cache = tmp_path / "pkg", tmp_path / "cache"
    pkg.mkdir()
    real_mkstemp, real_access = tempfile.mkstemp, os.access

    def mkstemp(*args, dir=None, **kw):  # noqa: A002 (tempfile's own keyword)
        if dir is not None and os.path.samefile(dir, pkg):
            raise PermissionError(13, "Permission denied", str(pkg))
        return real_mkstemp(*args, dir=dir, **kw)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(os, "access", lambda p, m: str(p) != str(pkg) and real_access(p, m))
    _fresh_native(monkeypatch, pkg, cache)
    assert native.available()  # no exception escapes the first call
    assert (cache / "hqml" / "native" / build.library_name()).exists()
    assert list(pkg.iterdir()) == []
    _layer_matches_reference()


def test_no_compiler_says_the_torch_kernels_are_used(tmp_path, monkeypatch, capsys):
    _fresh_native(monkeypatch, tmp_path / "pkg", tmp_path / "cache")
    (tmp_path / "pkg").mkdir()
    monkeypatch.setattr(build.shutil, "which", lambda cc: None)
    assert not native.available()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no C compiler ('gcc') found" in err
    assert "torch kernels" in err and "install gcc" in err
    assert not native.available() and capsys.readouterr().err == ""  # said once
    assert not native.usable("cpu", torch.complex128, 10)  # and the torch path runs
    assert list((tmp_path / "pkg").iterdir()) == []


def test_variants_follow_the_cpu_flags(monkeypatch):
    monkeypatch.setattr(build.platform, "machine", lambda: "x86_64")
    assert build.variants(X86.format(extra="avx512f avx512vl avx512bw avx512dq fma")) == [
        "native", "avx512", "avx2", "portable",
    ]  # fmt: skip
    assert build.variants(X86.format(extra="fma")) == ["native", "avx2", "portable"]
    assert build.variants(X86.format(extra="").replace("avx2 ", "")) == ["native", "portable"]
    assert "-march=native" in build.variant_flags("native")
    assert "-mavx2" in build.variant_flags("avx2") and "-mavx512f" not in build.variant_flags(
        "avx2"
    )
    fingerprints = {build.cpu_fingerprint(X86.format(extra=""), v) for v in ("native", "avx2")}
    assert len(fingerprints) == 2  # each build has its own file
    with pytest.raises(ValueError, match="not a native kernel build"):
        build.variant_flags("avx1024")


def test_a_variant_this_cpu_cannot_run_is_refused(monkeypatch, capsys):
    monkeypatch.setattr(build, "variants", lambda cpuinfo=None: ["native", "portable"])
    monkeypatch.setenv("HQML_NATIVE_VARIANT", "avx512")
    monkeypatch.setattr(native, "_state", {"lib": None, "tried": False})
    with pytest.raises(ValueError, match="HQML_NATIVE_VARIANT='avx512' cannot run on this CPU"):
        native.available()
    assert build.main([]) == 2  # the build script: one line, no traceback
    assert "HQML_NATIVE_VARIANT='avx512' cannot run" in capsys.readouterr().err
    monkeypatch.setenv("HQML_NATIVE_VARIANT", "portable")
    assert build.requested_variant() == "portable"
