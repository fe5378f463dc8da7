"""``hqml run`` picks its thread count from the machine's load unless told."""

from __future__ import annotations

import os

import pytest

from hqml.cli.run import choose_threads


@pytest.fixture
def machine(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)

    def set_load(load):
        monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))

    return set_load


@pytest.mark.parametrize("load, expected", [(0.2, 4), (1.4, 3), (2.6, 1), (9.6, 1)])
def test_threads_follow_the_free_cores(machine, load, expected):
    machine(load)
    n, why = choose_threads(None, default=4)
    assert n == expected
    assert why == ("default" if expected == 4 else f"load {load:.1f} on 4 cores")


def test_never_more_than_the_default(machine):
    machine(0.0)
    assert choose_threads(None, default=2) == (2, "default")


def test_explicit_choices_win(machine, monkeypatch):
    machine(9.0)
    assert choose_threads(3, default=4) == (3, "--threads")
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    assert choose_threads(None, default=4) == (4, "OMP_NUM_THREADS")
