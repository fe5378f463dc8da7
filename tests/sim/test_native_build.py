"""The compiled kernels are tuned to the CPU that built them: a process on another kind of CPU
(a Ray worker on another node sharing the installation) builds and loads its own library."""

import shutil

import numpy as np
import pytest
import torch

from hqml.sim import native
from hqml.sim.native import build

X86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx2 {extra}\nbogomips\t: 1\n"


def test_fingerprint_follows_the_instruction_sets_only():
    a = build.cpu_fingerprint(X86.format(extra="avx512f"))
    assert a == build.cpu_fingerprint(X86.format(extra="avx512f").replace("sse2 avx2", "avx2 sse2"))
    assert a == build.cpu_fingerprint(X86.format(extra="avx512f").replace("bogomips\t: 1", "x: 2"))
    assert a != build.cpu_fingerprint(X86.format(extra=""))
    assert len(a) == 12 and build.cpu_fingerprint() == build.cpu_fingerprint()


def test_library_for_picks_a_sibling_on_another_cpu(tmp_path):
    lib = tmp_path / "_k.so"
    assert build.library_for("aaa", lib) == lib  # nothing built yet
    lib.write_bytes(b"")
    assert build.library_for("aaa", lib) == lib  # an older build without a record
    build.stamp_of(lib).write_text("aaa\n")
    assert build.library_for("aaa", lib) == lib
    assert build.library_for("bbb", lib) == tmp_path / "_k-bbb.so"


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_a_library_from_another_cpu_is_never_loaded(tmp_path, monkeypatch):
    """The shared library carries another CPU's record: this process builds its own beside it,
    loads that, and computes the same layer as the torch reference."""
    lib = tmp_path / "_hqml_kernels.so"
    lib.write_bytes(b"not a library: loading it would fail")
    build.stamp_of(lib).write_text("another-cpu\n")
    monkeypatch.setattr(build, "LIBRARY", lib)
    monkeypatch.setattr(native, "_state", {"lib": None, "tried": False})
    monkeypatch.setenv("HQML_NATIVE", "1")
    assert native.available()
    own = tmp_path / f"_hqml_kernels-{build.cpu_fingerprint()}.so"
    assert own.exists() and build.stamp_of(own).read_text().strip() == build.cpu_fingerprint()
    assert lib.read_bytes().startswith(b"not a library")  # the other CPU's build is left alone

    rng = np.random.default_rng(0)
    n = 6
    psi = torch.tensor(rng.normal(size=(2, 2**n)) + 1j * rng.normal(size=(2, 2**n)))
    mats = torch.tensor(rng.normal(size=(2, 2, 2)) + 1j * rng.normal(size=(2, 2, 2)))
    got = native.apply_layer(psi.clone(), n, [1, 4], mats)
    ref = psi.reshape((2,) + (2,) * n)
    for wire, m in zip([1, 4], mats, strict=True):
        ref = torch.movedim(torch.tensordot(m, ref, dims=([1], [wire + 1])), 0, wire + 1)
    torch.testing.assert_close(got, ref.reshape(2, 2**n))

    # a second process on this CPU finds its library built and up to date
    assert build.library_for() == lib.with_name(own.name)
    assert build.build(library=own) == own
