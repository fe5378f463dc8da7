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
def test_a_library_from_another_cpu_is_never_loaded(tmp_path, monkeypatch):
    """The shared folder holds another CPU's library (here: not a library at all, so loading it
    would fail): this process builds its own beside it, loads it, and computes the reference."""
    foreign = tmp_path / build.library_name("another-cpu")
    foreign.write_bytes(b"not a library: loading it would fail")
    _fresh_native(monkeypatch, tmp_path, tmp_path / "cache")
    assert native.available()
    own = tmp_path / build.library_name()
    assert own.exists() and foreign.read_bytes().startswith(b"not a library")
    assert not (tmp_path / "cache").exists()
    _layer_matches_reference()
    built = own.stat().st_mtime_ns
    assert build.build() == own and own.stat().st_mtime_ns == built  # found, not rebuilt
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
